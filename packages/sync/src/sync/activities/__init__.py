"""Activities of the sync domain: each `@activities.defn` here is served."""
