"""Cron strings checked offline, the way the Temporal server reads them.

The server compiles ``cron_expressions`` into calendar specs when a schedule is created, so a typo
would otherwise surface only at sync time, on a worker, as an RPC error. Checking here makes a bad
cron string fail when ``schedules.py`` is loaded (``lanes check``, tests, the worker's start).

The rules are the server's own (``service/worker/scheduler/calendar.go``, ``makeRange`` and
``parseValue``), so a string is refused here exactly when the server would refuse it:

- 5 fields ``minute hour day-of-month month day-of-week``; 6 fields add ``year``; 7 fields put
  ``second`` first and ``year`` last;
- per field, comma-separated items: ``*``, ``N``, ``N-M``, each optionally ``/step`` (``N/step``
  runs from N to the field's end);
- month names as any prefix of the English name of at least three letters (``jan``,
  ``January``, ``sept``), day names as any prefix of at least two (``mo``, ``MON``, ``monday``),
  any case;
- the aliases (lower case) ``@yearly @annually @monthly @weekly @daily @midnight @hourly``.

Two things the server takes are refused on purpose, with what to write instead: ``@every`` (use
``every=``) and a ``TZ=`` prefix (use ``timezone=``).
"""

from __future__ import annotations

import re

__all__ = ["cron_problem"]

_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")

_Field = tuple[str, int, int, str]
"""Label, lowest and highest value, which names the field takes ("", "month", "day")."""

_SECOND: _Field = ("second", 0, 59, "")
_MINUTE: _Field = ("minute", 0, 59, "")
_HOUR: _Field = ("hour", 0, 23, "")
_DAY_OF_MONTH: _Field = ("day of month", 1, 31, "")
_MONTH: _Field = ("month", 1, 12, "month")
# 7 is Sunday again, as in most crons.
_DAY_OF_WEEK: _Field = ("day of week", 0, 7, "day")
_YEAR: _Field = ("year", 2000, 2100, "")

_LAYOUTS: dict[int, tuple[_Field, ...]] = {
    5: (_MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK),
    6: (_MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR),
    7: (_SECOND, _MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR),
}
_INT = re.compile(r"^[+-]?[0-9]+$")  # what Go's strconv.Atoi accepts


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
        for item in raw.split(","):
            problem = _item_problem(item, low, high, names)
            if problem:
                return f"{label} field {raw!r}: {problem}"
    return None


def _item_problem(item: str, low: int, high: int, names: str) -> str | None:
    """The server's ``makeRange`` for one comma-separated item."""
    has_step = "/" in item
    if has_step:
        parts = item.split("/")
        if len(parts) != 2:
            return f"{item!r} has more than one /step"
        item, step = parts
        if not _INT.match(step) or int(step) < 1:
            return f"step {step!r} must be a whole number of at least 1"
    if item == "*":
        return None
    if "-" in item:
        bounds = item.split("-")
        if len(bounds) != 2:
            return f"{item!r} is not N, N-M, * or one of them with /step"
        start = _value(bounds[0], low, high, names)
        if isinstance(start, str):
            return start
        end = _value(bounds[1], low, high, names)
        if isinstance(end, str):
            return end
        if end < start:
            return f"range {item!r} runs backwards"
        return None
    value = _value(item, low, high, names)
    return value if isinstance(value, str) else None


def _value(text: str, low: int, high: int, names: str) -> int | str:
    """The server's ``parseValue``: a number, or a name prefix; a problem as a string."""
    lowered = text.lower()
    table = {"month": _MONTH_NAMES, "day": _DAY_NAMES}.get(names, ())
    shortest = 3 if names == "month" else 2
    if len(lowered) >= shortest:
        for index, name in enumerate(table):
            if name.startswith(lowered):
                value = index + 1 if names == "month" else index
                return value if low <= value <= high else f"{text!r} is out of range"
    if not _INT.match(text):
        kind = {"month": "a month name", "day": "a day name"}.get(names)
        return f"{text!r} is not a number" + (f" or {kind}" if kind else "")
    value = int(text)
    if not low <= value <= high:
        return f"{value} is not in range {low}-{high}"
    return value
