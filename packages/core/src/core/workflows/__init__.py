"""Workflows shipped by core and registered on every worker.

``SingleActivityWorkflow`` and ``BatchWorkflow`` run *outside* the workflow sandbox
(``sandboxed=False``). The sandbox re-enters its isolated module state for every payload it
converts; profiled on a bulk of 2,000 no-op jobs that was half the worker's CPU, and taking it away
raised ``dispatch_many`` from ~330 to ~500-700 jobs/s on the project's 2-core machine. These two
workflows are what every scheduled job, every ``dispatch_many`` job and every job under
``LANES_DISPATCH_MODE=workflow`` passes through, are a few dozen lines each, do no I/O, read no
clock or randomness, and import only passed-through modules; replay tests
(``test_core_workflows_replay.py``) check that their histories replay deterministically. Domain
workflows stay in the sandbox: there it catches mistakes in code that is written every day.
"""

from core.workflows.batch import BatchWorkflow
from core.workflows.single_activity import SingleActivityInput, SingleActivityWorkflow

__all__ = ["BatchWorkflow", "SingleActivityInput", "SingleActivityWorkflow"]
