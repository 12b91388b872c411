"""Cron strings checked offline, the way the Temporal server reads them.

The server compiles ``cron_expressions`` into calendar specs when a schedule is created, so a typo
would otherwise surface only at sync time, on a worker, as an RPC error. Checking here makes a bad
cron string fail when ``schedules.py`` is loaded (``lanes check``, tests, the worker's start).

Accepted (what the server accepts, minus what it rejects such as ``L`` and ``?``):

- 5 fields ``minute hour day-of-month month day-of-week``; 6 fields add ``year``; 7 fields put
  ``second`` first and ``year`` last;
- per field: ``*``, ``N``, ``N-M``, each optionally ``/step``, comma-separated;
- month names ``JAN``-``DEC`` and day names ``SUN``-``SAT``, any case;
- the aliases (lower case) ``@yearly @annually @monthly @weekly @daily @midnight @hourly``.
"""

from __future__ import annotations

import re

__all__ = ["cron_problem"]

_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}

_Field = tuple[str, int, int, dict[str, int]]
"""Label, lowest and highest value, names for values."""

_SECOND: _Field = ("second", 0, 59, {})
_MINUTE: _Field = ("minute", 0, 59, {})
_HOUR: _Field = ("hour", 0, 23, {})
_DAY_OF_MONTH: _Field = ("day of month", 1, 31, {})
_MONTH: _Field = ("month", 1, 12, _MONTHS)
# 7 is Sunday again, as in most crons.
_DAY_OF_WEEK: _Field = ("day of week", 0, 7, _DAYS)
_YEAR: _Field = ("year", 2000, 2100, {})

_LAYOUTS: dict[int, tuple[_Field, ...]] = {
    5: (_MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK),
    6: (_MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR),
    7: (_SECOND, _MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR),
}
_ITEM = re.compile(r"^(?:(\*)|([0-9a-z]+)(?:-([0-9a-z]+))?)(?:/([0-9]+))?$")


def cron_problem(expression: str) -> str | None:
    """What is wrong with ``expression``, or ``None`` when the server will accept it."""
    text = expression.strip()
    if not text:
        return "the cron string is empty"
    if text.startswith("@"):
        known = " ".join(sorted(_ALIASES))
        if text.startswith("@every"):
            return "use every=timedelta(...) instead of @every"
        # The server knows the aliases in lower case only.
        return None if text in _ALIASES else f"unknown cron alias {text!r} (known: {known})"
    if text.upper().startswith(("CRON_TZ=", "TZ=")):
        return "put the time zone in timezone=, not in the cron string"
    fields = text.split()
    layout = _LAYOUTS.get(len(fields))
    if layout is None:
        return (
            f"a cron string has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)} in {expression!r}"
        )
    for raw, (label, low, high, names) in zip(fields, layout, strict=True):
        for item in raw.lower().split(","):
            problem = _item_problem(item, low, high, names)
            if problem:
                return f"{label} field {raw!r}: {problem}"
    return None


def _item_problem(item: str, low: int, high: int, names: dict[str, int]) -> str | None:
    match = _ITEM.match(item)
    if match is None:
        return f"{item!r} is not N, N-M, * or one of them with /step"
    star, start, end, step = match.groups()
    if step is not None and int(step) == 0:
        return "a step must be at least 1"
    if star:
        return None
    values = []
    for part in (start, end):
        if part is None:
            continue
        value = names.get(part) if not part.isdigit() else int(part)
        if value is None:
            return f"{part!r} is not a number or a known name"
        if not low <= value <= high:
            return f"{value} is not in range {low}-{high}"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"range {item!r} runs backwards"
    return None
