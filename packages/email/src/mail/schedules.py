"""Periodic work of the email domain, declared as data and synced when its worker starts."""

SCHEDULES: list[object] = []
