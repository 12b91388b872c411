"""Uptime checks: what counts as up (pure code) and what a run of checks changes."""
