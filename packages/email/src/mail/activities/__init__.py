"""Activities of the email domain: each `@activities.defn` here is served."""
