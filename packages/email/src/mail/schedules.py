"""Periodic work of the email domain, declared as data and synced when its worker starts."""

from datetime import timedelta

from core.schedules import Schedule
from mail.activities.warming import raise_warming_limits

SCHEDULES: list[Schedule] = [
    Schedule(
        id="mail.raise_warming_limits",
        target=raise_warming_limits,
        every=timedelta(hours=1),
        # Hourly, though a domain moves at most one step per UTC day (the activity checks the
        # date): a missed or failed run is made up within the hour instead of a day later.
        description="Raise each warming sending domain's daily limit one step along the ramp.",
    ),
]
