"""Helpers for workflow code: run registered activities and child workflows with their config.

Workflow code calls ``await durable.run_activity(sync_repository, SyncRepositoryInput(...))``
instead of repeating queue, retry policy and timeouts at every call site; the registry
(:mod:`core.activities`) holds them once. Overrides are per call and never change the registry.

Children come in three shapes, matching what a Celery user would reach for:

- :func:`execute_child` — run a child workflow and wait for its result (a sub-task);
- :func:`start_child` — start one and get a handle, to await later or signal (a group);
- :func:`start_detached_child` — fire and forget: the child keeps running after the parent
  closes (``ParentClosePolicy.ABANDON``), like ``apply_async`` from inside a task.

This module is workflow-safe; import it through ``workflow.unsafe.imports_passed_through()``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

from core import activities
from core.activities import ActivityConfig, ActivityOptions, job_options

__all__ = ["execute_child", "run_activity", "start_child", "start_detached_child"]


async def run_activity(
    activity: str | Callable[..., Any],
    input: Any = None,
    *,
    options: ActivityOptions | None = None,
    result_type: type | None = None,
) -> Any:
    """Run a registered activity from workflow code with its registered config (plus overrides).

    The result is decoded to ``result_type``, or to the activity's declared return type when the
    activity is given as a function.
    """
    config = _config(activity)
    # The queue: this workflow's own when the activity is declared in the same package (the
    # domain's own activities; a test's) or runs on every queue (lanes.ping), else the
    # activity's registered one. Decided from declarations and this workflow's own code only,
    # never from which worker happens to replay it.
    queue = workflow.info().task_queue
    if config.queue is not None and _package(config.module) != _package(_workflow_module()):
        queue = config.queue
    try:
        resolved = config.resolve(options, task_queue=queue)
    except ValueError as err:
        raise ApplicationError(str(err), type="InvalidOptions", non_retryable=True) from None
    args = [] if config.input_type is None else [input]
    if result_type is None and callable(activity):
        result_type = config.output_type
    # A local activity runs inside this worker: an activity of another domain cannot, whatever
    # its declaration says, so it goes through its own queue.
    if resolved.local and queue == workflow.info().task_queue:
        return await workflow.execute_local_activity(
            config.name, args=args, result_type=result_type, **job_options(resolved, local=True)
        )
    return await workflow.execute_activity(
        config.name, args=args, result_type=result_type, **job_options(resolved, local=False)
    )


async def execute_child(
    workflow_type: Any,
    input: Any = None,
    *,
    id: str | None = None,
    task_queue: str | None = None,
    execution_timeout: timedelta | None = None,
    **kwargs: Any,
) -> Any:
    """Run a child workflow and return its result. ``workflow_type`` is the run method of a
    workflow class (``SyncRepositoryWorkflow.run``) or a workflow type name."""
    args = [] if input is None else [input]
    return await workflow.execute_child_workflow(
        workflow_type,
        args=args,
        id=id or _child_id(workflow_type),
        task_queue=task_queue,
        execution_timeout=execution_timeout,
        **kwargs,
    )


async def start_child(
    workflow_type: Any,
    input: Any = None,
    *,
    id: str | None = None,
    task_queue: str | None = None,
    **kwargs: Any,
) -> ChildWorkflowHandle[Any, Any]:
    """Start a child workflow and return its handle once the server has accepted it."""
    args = [] if input is None else [input]
    return await workflow.start_child_workflow(
        workflow_type,
        args=args,
        id=id or _child_id(workflow_type),
        task_queue=task_queue,
        **kwargs,
    )


async def start_detached_child(
    workflow_type: Any,
    input: Any = None,
    *,
    id: str | None = None,
    task_queue: str | None = None,
    **kwargs: Any,
) -> str:
    """Start a child that keeps running after this workflow closes; returns its workflow id.

    Returns once the server has accepted the start, so the parent may complete right after.
    """
    handle = await start_child(
        workflow_type,
        input,
        id=id,
        task_queue=task_queue,
        parent_close_policy=ParentClosePolicy.ABANDON,
        **kwargs,
    )
    return handle.id


def _config(activity: str | Callable[..., Any]) -> ActivityConfig:
    config = activities.config_of(activity)
    if config is None:
        name = activity if isinstance(activity, str) else getattr(activity, "__name__", activity)
        raise ApplicationError(
            f"activity {name!r} is not registered in this worker; declare it with "
            "@activities.defn and import its module",
            type="UnknownActivity",
            non_retryable=True,
        )
    return config


def _child_id(workflow_type: Any) -> str:
    # Deterministic: derived from the parent's id and workflow.uuid4(), which replays identically.
    name = getattr(workflow_type, "__qualname__", str(workflow_type)).split(".")[0]
    return f"{workflow.info().workflow_id}/{name}-{workflow.uuid4().hex[:12]}"


def _workflow_module() -> str:
    return type(workflow.instance()).__module__


def _package(module: str) -> str:
    return module.split(".", 1)[0]
