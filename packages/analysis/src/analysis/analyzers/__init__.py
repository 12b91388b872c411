"""Analyzers behind one interface: the built-in heuristics and the LLM.

:func:`current_analyzer` picks from the settings: the LLM when ``LANES_LLM_MODEL`` is set, the
built-in analyzer otherwise (the embedded default). One instance per process and settings, so
the OpenAI client's connection pool and the concurrency limit are shared by every activity the
worker runs.
"""

from __future__ import annotations

import asyncio

from analysis.analyzers.base import Analyzer, CallRecord, CallRecorder
from analysis.analyzers.builtin import BuiltinAnalyzer

# At import (worker start), not in the first activity: loading pydantic-ai and the OpenAI SDK
# takes seconds of CPU that would block the worker's event loop mid-job.
from analysis.analyzers.llm import LlmAnalyzer
from analysis.settings import AnalysisSettings, analysis_settings

__all__ = ["Analyzer", "CallRecord", "CallRecorder", "current_analyzer"]

_current: tuple[AnalysisSettings, Analyzer] | None = None


def current_analyzer() -> Analyzer:
    """The analyzer the settings ask for (built once per process and settings)."""
    global _current
    settings = analysis_settings()
    if _current is None or _current[0] is not settings:
        _current = (settings, _build(settings))
    return _current[1]


def _build(settings: AnalysisSettings) -> Analyzer:
    if settings.llm_model is None:
        return BuiltinAnalyzer()
    # Bounds model calls per worker process over all its activities (LANES_ANALYSIS_CONCURRENCY).
    return LlmAnalyzer(settings, asyncio.Semaphore(settings.analysis_concurrency))
