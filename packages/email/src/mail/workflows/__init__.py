"""Workflows of the email domain, one class per file, re-exported here for the worker."""

__all__: list[str] = []
