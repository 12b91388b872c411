"""Activities of the analysis domain: each `@activities.defn` here is served."""
