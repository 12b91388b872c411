"""Uptime checks: whether a check passed and what it changes (:mod:`~operations.uptime.evaluate`,
pure code), and the HTTP checks themselves (:mod:`~operations.uptime.probe`, httpx)."""
