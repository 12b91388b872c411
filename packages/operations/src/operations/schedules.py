"""Periodic work of the operations domain, declared as data and synced when its worker starts."""

SCHEDULES: list[object] = []
