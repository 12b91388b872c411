"""``sync_schedules``: make the server hold exactly one owner's declared schedules.

How it decides, per owner (a domain name):

- **Ownership** is recorded on the schedule itself, in its memo (``lanes_owner``), when Lanes
  creates it. Listing schedules returns memos, so no custom search attribute has to be registered
  on the cluster. A schedule without that memo (made by hand, by the UI or the ``temporal`` CLI) or
  with another owner is never updated or deleted; a declared id that collides with one is reported
  as a conflict.
- **Changed** means the fingerprint of the declaration (a hash of its canonical JSON, see
  :meth:`ResolvedSchedule.canonical`) differs from the one stored with the schedule. The server
  rewrites what it is given (a cron string comes back as calendar specs), so comparing
  descriptions field by field would report changes that are not there. The fingerprint lives in the
  memo of the schedule's start-workflow action (``lanes_schedule``), because the SDK's schedule
  update can replace the action but not the schedule's own memo; each run then also records which
  declaration started it. An edit made on the server by hand is kept until the declaration changes.
- **Deletion** finds this owner's schedules through the server's schedule list, which is
  eventually consistent: a schedule created a moment ago may only be listed, and so deleted, by
  the next sync. Before deleting, the schedule is described (strongly consistent) to confirm the
  owner.
- **Pause.** A declaration with ``paused=True`` pauses the schedule. Otherwise an update keeps the
  pause state and note an operator set, except that lifting a pause the code itself declared
  unpauses it.
- **Replicas.** Every worker replica of a domain syncs on start, so two may race. A create that
  finds the schedule already there re-reads it and carries on; an update is computed from a fresh
  description inside the SDK's update call and skipped when the fingerprint already matches; a
  delete of a schedule that is already gone is fine. Two replicas with the same code converge;
  during a rolling deploy the last replica to start wins, which is the new code.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.client import Schedule as TemporalSchedule
from temporalio.service import RPCError, RPCStatusCode

import core.ping  # noqa: F401 - registers lanes.ping so schedules can name it
from core.schedules._declaration import ResolvedSchedule, Schedule, ScheduleError

__all__ = [
    "DECLARATION_MEMO",
    "OWNER_MEMO",
    "SyncSummary",
    "build_schedule",
    "declaration_memo",
    "describe_or_none",
    "load_schedules",
    "owned_schedule_ids",
    "owner_of",
    "resolve_all",
    "sync_domain_schedules",
    "sync_schedules",
]

OWNER_MEMO = "lanes_owner"
"""Schedule memo key holding the owner (domain) that created it."""
DECLARATION_MEMO = "lanes_schedule"
"""Action memo key holding the declaration's fingerprint, owner and declared pause."""

log = logging.getLogger("lanes.schedules")


@dataclass
class SyncSummary:
    """What one sync did (or, with ``dry_run``, would do) for one owner."""

    owner: str
    dry_run: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)
    """Declared ids the sync left alone because someone else holds them: id → why."""

    def lines(self) -> list[str]:
        """One line per schedule: ``create ops.heartbeat`` (the plan, in dry-run wording)."""
        verbs = (
            ("create", "created", self.created),
            ("update", "updated", self.updated),
            ("keep", "unchanged", self.unchanged),
            ("delete", "deleted", self.deleted),
        )
        out = [f"{plan if self.dry_run else done:<9} {i}" for plan, done, ids in verbs for i in ids]
        out += [f"{'conflict':<9} {i}: {why}" for i, why in self.conflicts.items()]
        return out

    def __str__(self) -> str:
        to = "to " if self.dry_run else ""
        counts = (
            f"{len(self.created)} {to}create{'' if to else 'd'}, "
            f"{len(self.updated)} {to}update{'' if to else 'd'}, "
            f"{len(self.unchanged)} unchanged, "
            f"{len(self.deleted)} {to}delete{'' if to else 'd'}"
        )
        if self.conflicts:
            counts += f", {len(self.conflicts)} conflicts"
        return f"schedules of {self.owner!r}{' (dry run)' if self.dry_run else ''}: {counts}"


def resolve_all(schedules: Iterable[Schedule]) -> list[ResolvedSchedule]:
    """Validate a schedule list against the registry; ``ScheduleError`` on the first problem."""
    resolved: list[ResolvedSchedule] = []
    seen: set[str] = set()
    for schedule in schedules:
        if not isinstance(schedule, Schedule):
            raise ScheduleError(f"{schedule!r} is not a core.schedules.Schedule")
        if schedule.id in seen:
            raise ScheduleError(f"schedule {schedule.id!r} is declared twice")
        seen.add(schedule.id)
        resolved.append(schedule.resolve())
    return resolved


def load_schedules(package: str) -> list[Schedule]:
    """``<package>.schedules.SCHEDULES``, validated; an empty list when the module is absent."""
    module_name = f"{package}.schedules"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            return []
        raise
    except ScheduleError as err:
        raise ScheduleError(f"{module_name}: {err}") from None
    except Exception as err:  # a typo in the file (unknown keyword...) is a declaration error too
        raise ScheduleError(f"{module_name} failed to import: {type(err).__name__}: {err}") from err
    declared = getattr(module, "SCHEDULES", None)
    if not isinstance(declared, list | tuple):
        raise ScheduleError(f"{module_name} must define SCHEDULES as a list of Schedule")
    try:
        resolve_all(declared)
    except ScheduleError as err:
        raise ScheduleError(f"{module_name}: {err}") from None
    return list(declared)


async def sync_schedules(
    client: Client, schedules: Sequence[Schedule], *, owner: str, dry_run: bool = False
) -> SyncSummary:
    """Create, update and delete ``owner``'s schedules on the server to match ``schedules``."""
    if not owner:
        raise ValueError("sync_schedules needs an owner (the domain name)")
    resolved = resolve_all(schedules)
    summary = SyncSummary(owner, dry_run)
    outcomes = await asyncio.gather(*(_sync_one(client, r, owner, dry_run) for r in resolved))
    for r, (outcome, why) in zip(resolved, outcomes, strict=True):
        if outcome == "conflict":
            summary.conflicts[r.id] = why
            log.warning("schedule %r not synced: %s", r.id, why)
        else:
            getattr(summary, outcome).append(r.id)
    declared = {r.id for r in resolved}
    stale = [i for i in await owned_schedule_ids(client, owner) if i not in declared]
    for schedule_id in stale:
        if await _delete_owned(client.get_schedule_handle(schedule_id), owner, dry_run):
            summary.deleted.append(schedule_id)
    return summary


async def owned_schedule_ids(client: Client, owner: str) -> list[str]:
    """Ids of the schedules the server lists as created by ``owner``."""
    found = []
    async for entry in await client.list_schedules():
        try:
            if await entry.memo_value(OWNER_MEMO, default=None) == owner:
                found.append(entry.id)
        except Exception:  # noqa: S112 - a memo we cannot decode is not ours
            continue
    return sorted(found)


async def sync_domain_schedules(client: Client, domains: Iterable[Any]) -> list[SyncSummary]:
    """Sync each domain's ``schedules.py`` (owner = domain name); log failures, never raise.

    Called by the worker bootstrap on start: a bad declaration or an unreachable schedule API
    must be loud in the log but must not stop the domain's activities from being served.
    """
    summaries = []
    for domain in domains:
        if not domain.package:
            continue
        try:
            schedules = load_schedules(domain.package)
            summary = await sync_schedules(client, schedules, owner=domain.name)
        except (ScheduleError, RPCError) as err:
            log.error("schedules of domain %r were NOT synced: %s", domain.name, _text(err))
            continue
        except Exception:
            log.exception("schedules of domain %r were NOT synced: unexpected error", domain.name)
            continue
        log.info("%s", summary)
        summaries.append(summary)
    return summaries


async def _sync_one(
    client: Client, r: ResolvedSchedule, owner: str, dry_run: bool
) -> tuple[str, str]:
    handle = client.get_schedule_handle(r.id)
    for _ in range(2):  # a second pass only after losing a create race to another replica
        description = await describe_or_none(handle)
        if description is None:
            if dry_run:
                return "created", ""
            try:
                await client.create_schedule(
                    r.id,
                    build_schedule(r, owner, paused=r.declared.paused, note=_note(r)),
                    memo={OWNER_MEMO: owner},
                )
                return "created", ""
            except ScheduleAlreadyRunningError:
                continue
        holder = await owner_of(description)
        if holder != owner:
            who = f"owner {holder!r}" if holder else "no Lanes owner (made by hand?)"
            return "conflict", f"a schedule with this id exists with {who}; rename one of them"
        if (await declaration_memo(client, description)).get("fingerprint") == r.fingerprint():
            return "unchanged", ""
        if dry_run or await _update(client, handle, r, owner):
            return "updated", ""
        return "unchanged", ""
    raise RuntimeError(f"schedule {r.id!r} was created and deleted while syncing; sync again")


async def _update(client: Client, handle: ScheduleHandle, r: ResolvedSchedule, owner: str) -> bool:
    changed = False

    async def updater(update: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal changed
        current = update.description
        previous = await declaration_memo(client, current)
        # Re-checked on the fresh description: another replica may have done it meanwhile.
        if await owner_of(current) != owner or previous.get("fingerprint") == r.fingerprint():
            return None
        state = current.schedule.state
        if r.declared.paused:
            paused, note = True, state.note if state.paused else _note(r)
        elif previous.get("paused"):  # the code paused it before and no longer does
            paused, note = False, _note(r)
        else:  # keep what an operator did
            paused, note = state.paused, state.note
        changed = True
        schedule = build_schedule(r, owner, paused=paused, note=note)
        schedule.state.limited_actions = state.limited_actions
        schedule.state.remaining_actions = state.remaining_actions
        return ScheduleUpdate(schedule=schedule)

    await handle.update(updater)
    return changed


async def _delete_owned(handle: ScheduleHandle, owner: str, dry_run: bool) -> bool:
    # Listing is eventually consistent; the description is not. Check before deleting.
    description = await describe_or_none(handle)
    if description is None or await owner_of(description) != owner:
        return False
    if dry_run:
        return True
    try:
        await handle.delete()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False  # another replica deleted it first
        raise
    return True


def build_schedule(
    r: ResolvedSchedule, owner: str, *, paused: bool, note: str | None
) -> TemporalSchedule:
    """The Temporal schedule for a resolved declaration."""
    s = r.declared
    return TemporalSchedule(
        action=ScheduleActionStartWorkflow(
            r.workflow,
            args=list(r.args),
            id=r.id,
            task_queue=r.task_queue,
            memo={
                DECLARATION_MEMO: {
                    "owner": owner,
                    "fingerprint": r.fingerprint(),
                    "paused": s.paused,
                    "spec": r.spec_text,
                    "target": r.target_name,
                }
            },
            static_summary=f"{r.target_name} (schedule {r.id})",
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=s.every)] if s.every is not None else [],
            cron_expressions=[s.cron] if s.cron is not None else [],
            jitter=s.jitter,
            time_zone_name=s.timezone,
        ),
        policy=SchedulePolicy(
            overlap=s.overlap_policy,
            catchup_window=s.catchup_window,
            pause_on_failure=s.pause_on_failure,
        ),
        state=ScheduleState(paused=paused, note=note),
    )


async def describe_or_none(handle: ScheduleHandle) -> ScheduleDescription | None:
    """The schedule's description, or ``None`` when there is no such schedule."""
    try:
        return await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def declaration_memo(client: Client, description: ScheduleDescription) -> dict[str, Any]:
    """What Lanes recorded about the declaration on the schedule's action (empty if nothing)."""
    action = description.schedule.action
    memo = getattr(action, "memo", None) or {}
    raw = memo.get(DECLARATION_MEMO)
    if raw is None:
        return {}
    try:
        # Read back from the server the memo is raw payloads, still encoded by the codec if any.
        [value] = await client.data_converter.decode([raw])
    except Exception:
        return {}
    return value if isinstance(value, dict) else {}


async def owner_of(description: ScheduleDescription) -> str | None:
    """The Lanes owner recorded on the schedule, or ``None`` (not created by Lanes)."""
    try:
        value = await description.memo_value(OWNER_MEMO, default=None)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _note(r: ResolvedSchedule) -> str:
    return r.declared.description or f"declared in code: {r.target_name} {r.spec_text}"


def _text(err: Exception) -> str:
    return err.message if isinstance(err, RPCError) else str(err)
