"""What the analysis worker imports: pydantic-ai and the OpenAI SDK only when a model is used.

They were most of the worker's start-up time and memory, and a worker with the built-in analyzer
(the default) never needs them. Checked in a fresh interpreter: this test process has imported
everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import asyncio, json, os, sys, threading

    HEAVY = ("pydantic_ai", "openai")
    on_main_thread = {}

    class Spy:
        # Notes which thread first imports each heavy package; finds nothing itself.
        def find_spec(self, name, path=None, target=None):
            if name in HEAVY and name not in on_main_thread:
                on_main_thread[name] = threading.current_thread() is threading.main_thread()
            return None

    sys.meta_path.insert(0, Spy())

    def loaded():
        return sorted(m for m in HEAVY if m in sys.modules)

    # What `analysis-worker` imports before it polls: the entry point, then the domain
    # (every module of activities/ and workflows/) and its schedules.
    import analysis.worker
    from core import domains
    domains.load("analysis")
    import analysis.schedules
    at_start = loaded()

    from analysis.analyzers import current_analyzer
    from analysis.settings import analysis_settings

    async def main():
        builtin = (await current_analyzer()).name
        with_builtin = loaded()
        os.environ["LANES_LLM_MODEL"] = "probe-model"
        analysis_settings.cache_clear()
        llm = (await current_analyzer()).name
        return builtin, with_builtin, llm

    builtin, with_builtin, llm = asyncio.run(main())
    print(json.dumps({
        "at_start": at_start, "builtin": builtin, "with_builtin": with_builtin, "llm": llm,
        "with_llm": loaded(), "on_main_thread": on_main_thread,
    }))
    """
)


def test_the_worker_imports_the_llm_client_only_when_a_model_is_used() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANES_LLM_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["at_start"] == []
    assert (seen["builtin"], seen["with_builtin"]) == ("builtin", [])
    assert (seen["llm"], seen["with_llm"]) == ("llm:probe-model", ["openai", "pydantic_ai"])
    # Imported in a thread: the worker's event loop (heartbeats, polls) kept running meanwhile.
    assert seen["on_main_thread"] == {"openai": False, "pydantic_ai": False}
