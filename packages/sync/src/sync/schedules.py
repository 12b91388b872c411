"""Periodic work of the sync domain, declared as data and synced when its worker starts."""

SCHEDULES: list[object] = []
