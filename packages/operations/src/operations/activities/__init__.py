"""Activities of the operations domain: each `@activities.defn` here is served."""
