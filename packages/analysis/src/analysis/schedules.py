"""Periodic work of the analysis domain, declared as data and synced when its worker starts."""

SCHEDULES: list[object] = []
