"""The ``lanes`` command: one module per command group, plus the plugin API for domains.

- :mod:`core.cli.main` — the ``lanes`` group and its entry point.
- :mod:`core.cli.support` — what a domain's command group uses (``LanesError``, ``run_async``);
  domains add groups through the ``lanes.cli`` entry point (:mod:`core.cli.plugins`).
"""
