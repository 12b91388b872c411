"""Whether one check passed, and how a monitor's state moves with it. Pure functions: the activity
does the HTTP and the database, these decide."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Transition", "evaluate", "transition"]


def evaluate(
    status: int | None, body: str | None, *, expected_status: int, keyword: str | None
) -> str | None:
    """``None`` when the answer is what the monitor expects, else what was wrong."""
    if status is None:
        return "no answer"
    if status != expected_status:
        return f"HTTP {status}, expected {expected_status}"
    if keyword and keyword not in (body or ""):
        return f"keyword {keyword!r} not in the response"
    return None


@dataclass(frozen=True)
class Transition:
    status: str
    """The monitor's status after the check: ``up`` or ``down``."""
    consecutive_failures: int
    open_incident: bool = False
    resolve_incident: bool = False


def transition(status: str, consecutive_failures: int, *, ok: bool, threshold: int) -> Transition:
    """A check's effect: ``threshold`` failures in a row open an incident (once); the first
    success after that resolves it. A monitor is ``up`` until an incident is open."""
    if ok:
        return Transition("up", 0, resolve_incident=status == "down")
    failures = consecutive_failures + 1
    if status != "down" and failures >= threshold:
        return Transition("down", failures, open_incident=True)
    return Transition("down" if status == "down" else "up", failures)
