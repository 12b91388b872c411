"""Periodic work of the sync domain, declared as data and synced when its worker starts."""

from core.schedules import Schedule

SCHEDULES: list[Schedule] = []
