"""Dev tooling: the embedded Temporal dev server (:mod:`core.dev.server`) and the pytest plugin
(:mod:`core.dev.testing`)."""
