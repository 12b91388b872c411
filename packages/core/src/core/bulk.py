"""``dispatch_many``: durable bulk dispatch of many small jobs of one registered activity.

One workflow per job costs the server a start, two workflow tasks and about eleven history events
per job. For a campaign's sends or a backfill, ``dispatch_many`` groups the jobs into
:class:`~core.workflows.batch.BatchWorkflow` runs of up to ``batch_size`` jobs (and at most
256 KiB of input each, so no start event nears the payload limits). Each job keeps the activity's
retry policy, its own result or error, and its key as idempotency key. Jobs of an activity that
runs locally (declared ``local=True``, or ``options={"local": True}``: the one rule,
:meth:`~core.activities.ActivityConfig.runs_local`) run many to a local activity
(:mod:`core.workflows._local`), which is what makes bulk work fast; other jobs are an activity
each::

    bulk = await dispatch_many("send_email", messages, keys=[m.message_id for m in messages])
    print(await bulk.progress())           # BatchProgress(total=..., done=..., failed=...)
    for job in await bulk.results():       # in input order
        if not job.ok: ...

Idempotency works at two levels: ``bulk_id`` names the batch workflows (``<bulk_id>/00000``...),
so dispatching the same bulk again while it runs or after it succeeded starts nothing; and each
job's key is its activity id (``activity.info().activity_id``), the key for the activity's own
side-effect ledger. A worker killed mid-batch loses nothing: the batch resumes on another worker
from its history; a job whose completion was not yet recorded runs again, so the activity must be
idempotent, as every activity must.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
import pydantic_core
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core import activities
from core._jobs import DispatchError, encode_input, job_options, resolve_activity
from core.activities import ActivityOptions
from core.client import get_client
from core.workflows.batch import (
    MAX_BATCH_SIZE,
    BatchInput,
    BatchJob,
    BatchProgress,
    BatchResult,
    BatchWorkflow,
    JobResult,
)

__all__ = ["Batch", "BulkDispatch", "dispatch_many"]

DEFAULT_BATCH_SIZE = 200
"""Jobs per batch workflow unless told otherwise."""

MAX_BATCH_BYTES = 256 * 1024
"""Largest encoded input of one batch; Temporal warns at 512 KiB per payload, refuses at 2 MiB."""


@dataclass
class Batch:
    """One batch workflow of a bulk dispatch."""

    workflow_id: str
    keys: list[str]
    started: bool
    handle: WorkflowHandle[Any, Any] = field(repr=False)


@dataclass
class BulkDispatch:
    """The batches of one ``dispatch_many`` call."""

    bulk_id: str
    activity: str
    task_queue: str
    batches: list[Batch]
    output_type: Any = field(default=None, repr=False)

    @property
    def total(self) -> int:
        """Number of jobs."""
        return sum(len(b.keys) for b in self.batches)

    @property
    def started(self) -> int:
        """Batches this call started (the others already existed)."""
        return sum(b.started for b in self.batches)

    async def results(self, *, max_waiting: int = 100) -> list[JobResult]:
        """Wait for every batch; every job's result in input order, typed when known here.

        At most ``max_waiting`` batches are awaited at once: each wait is a long poll, and the
        server limits them per namespace.
        """
        slots = asyncio.Semaphore(max_waiting)

        async def one(batch: Batch) -> BatchResult:
            async with slots:
                raw = await batch.handle.result()
            return BatchResult.model_validate(raw)

        per_batch = await asyncio.gather(*(one(b) for b in self.batches))
        results = [job for batch in per_batch for job in batch.results]
        if self.output_type is not None:
            adapter = activities.type_adapter(self.output_type)
            for job in results:
                if job.ok and job.result is not None:
                    job.result = adapter.validate_python(job.result)
        return results

    async def progress(self) -> BatchProgress:
        """Jobs done and failed so far, over all batches (a query per batch)."""
        parts = await asyncio.gather(
            *(b.handle.query(BatchWorkflow.progress) for b in self.batches)
        )
        return BatchProgress(
            total=self.total,
            done=sum(p.done for p in parts),
            failed=sum(p.failed for p in parts),
        )


async def dispatch_many(
    activity: str | Callable[..., Any],
    inputs: Iterable[Any],
    *,
    keys: Sequence[str] | None = None,
    bulk_id: str | None = None,
    task_queue: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int = 50,
    options: ActivityOptions | Mapping[str, Any] | None = None,
    client: Client | None = None,
    max_starting: int = 20,
) -> BulkDispatch:
    """Start many jobs of one activity as batch workflows; returns once all batches started.

    Args:
        activity: Registered activity name or function.
        inputs: One input per job. Every input is validated before anything starts.
        keys: One idempotency key per job, unique. Default: the job's position.
        bulk_id: Idempotency key of the whole bulk; batch ``n`` is workflow ``<bulk_id>/<n>``.
            Default: ``<activity>-bulk-<uuid>``.
        task_queue: Queue of the batch workflows. Default: the activity's registered queue.
        batch_size: Jobs per batch workflow (1 to 1,000). Default: 200.
        concurrency: Jobs of one batch running at once. Default: 50.
        options: Per-call overrides of the activity's config (``{"local": False}``...).
        client: Client to use. Default: the process's cached client.
        max_starting: Batch starts in flight at once. Default: 20.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise DispatchError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
    config = resolve_activity(activity)
    name = config.name if config else str(activity)
    queue = task_queue or (config.queue if config else None)
    if not queue:
        raise DispatchError(f"no task queue known for {name!r}; pass task_queue=")
    encoded = [encode_input(config, value) for value in inputs]
    job_keys = [str(i) for i in range(len(encoded))] if keys is None else [str(k) for k in keys]
    if len(job_keys) != len(encoded):
        raise DispatchError(f"{len(job_keys)} keys for {len(encoded)} inputs; give one key per job")
    if len(set(job_keys)) != len(job_keys):
        raise DispatchError("job keys must be unique within one dispatch_many call")
    try:
        overrides = ActivityOptions.model_validate(options) if options is not None else None
    except pydantic.ValidationError as err:
        raise DispatchError(f"invalid options for {name!r}: {err}") from None
    resolved = job_options(config, overrides, queue)
    bulk_id = bulk_id or f"{name}-bulk-{uuid.uuid4()}"
    client = client or await get_client()
    chunks = _chunks(
        [BatchJob(key=k, input=v) for k, v in zip(job_keys, encoded, strict=True)], batch_size
    )
    slots = asyncio.Semaphore(max_starting)

    async def start(index: int, jobs: list[BatchJob]) -> Batch:
        workflow_id = f"{bulk_id}/{index:05d}"
        batch = BatchInput(activity=name, jobs=jobs, options=resolved, concurrency=concurrency)
        async with slots:
            try:
                handle = await client.start_workflow(
                    BatchWorkflow.run,
                    batch,
                    id=workflow_id,
                    task_queue=queue,
                    # As for dispatch: a batch that succeeded is not run again; one that failed
                    # (only a bad activity name fails a whole batch) may be.
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                    static_summary=f"{name}: {len(jobs)} jobs",
                )
                started = True
            except WorkflowAlreadyStartedError as err:
                handle = client.get_workflow_handle(workflow_id, run_id=err.run_id)
                started = False
        return Batch(workflow_id, [j.key for j in jobs], started, handle)

    batches = await asyncio.gather(*(start(i, jobs) for i, jobs in enumerate(chunks)))
    return BulkDispatch(bulk_id, name, queue, list(batches), config.output_type if config else None)


def _chunks(jobs: list[BatchJob], batch_size: int) -> list[list[BatchJob]]:
    """Split by count and by encoded size, keeping order."""
    chunks: list[list[BatchJob]] = []
    current: list[BatchJob] = []
    size = 0
    for job in jobs:
        job_size = len(pydantic_core.to_json(job.input)) + len(job.key) + 32
        if job_size > MAX_BATCH_BYTES:
            raise DispatchError(
                f"the input of job {job.key!r} is {job_size} bytes; bulk inputs must stay under "
                f"{MAX_BATCH_BYTES} bytes — store large data elsewhere and pass a reference"
            )
        if current and (len(current) >= batch_size or size + job_size > MAX_BATCH_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(job)
        size += job_size
    if current:
        chunks.append(current)
    return chunks
