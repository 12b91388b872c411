"""Analyzers behind one interface: the built-in heuristics and the LLM.

:func:`current_analyzer` picks from the settings: the LLM when ``LANES_LLM_MODEL`` is set, the
built-in analyzer otherwise (the embedded default). One instance per process, settings and event
loop (an HTTP client's connections belong to the loop that opened them), so the OpenAI client's
connection pool and the concurrency limit are shared by every activity the worker runs.

The LLM analyzer's module (pydantic-ai and the OpenAI SDK, most of a worker's start-up time and
memory when imported at start) is imported on the first call that needs it: a worker with no
model configured never loads it. That import runs in a thread (:func:`core.activities.preload`),
so the event loop keeps serving meanwhile (heartbeats, polls, other activities); they share the
GIL with it, so they run slower while it lasts, but none of them waits for all of it. The activity
that waits for it heartbeats meanwhile: the import comes before its own heartbeat task starts, and
under load it can take longer than a short heartbeat timeout.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from analysis.analyzers.base import Analyzer, CallRecord, CallRecorder
from analysis.analyzers.builtin import BuiltinAnalyzer
from analysis.settings import AnalysisSettings, analysis_settings
from core import activities

if TYPE_CHECKING:
    from analysis.analyzers.llm import LlmAnalyzer

__all__ = ["Analyzer", "CallRecord", "CallRecorder", "current_analyzer"]

_LLM_MODULE = "analysis.analyzers.llm"

_current: tuple[AnalysisSettings, asyncio.AbstractEventLoop, Analyzer] | None = None


async def current_analyzer() -> Analyzer:
    """The analyzer the settings ask for (built once per process, settings and event loop)."""
    global _current
    settings = analysis_settings()
    loop = asyncio.get_running_loop()
    if _current is not None and _current[0] is settings and _current[1] is loop:
        return _current[2]
    if settings.llm_model is None:
        analyzer: Analyzer = BuiltinAnalyzer()
    else:
        await activities.preload(_LLM_MODULE)
        from analysis.analyzers import llm

        # Another activity may have built it while this one waited for the import.
        if _current is not None and _current[0] is settings and _current[1] is loop:
            return _current[2]
        analyzer = _llm(llm.LlmAnalyzer, settings)
    _current = (settings, loop, analyzer)
    return analyzer


def _llm(cls: type[LlmAnalyzer], settings: AnalysisSettings) -> LlmAnalyzer:
    # Bounds model calls per worker process over all its activities (LANES_ANALYSIS_CONCURRENCY).
    return cls(settings, asyncio.Semaphore(settings.analysis_concurrency))
