"""The workflow lint of `lanes check`: every rule finds its case and leaves the safe form alone."""

import textwrap

import pytest

from core.checks import RULES, lint_source

HEADER = "from temporalio import workflow\n"

# rule -> (code the rule must flag, the safe way to write it)
CASES: dict[str, tuple[str, str]] = {
    "io-import": (
        "import httpx\n",
        "with workflow.unsafe.imports_passed_through():\n    from sync.activities import x\n",
    ),
    "clock": (
        "from datetime import datetime\n\ndef f():\n    return datetime.now()\n",
        "def f():\n    return workflow.now()\n",
    ),
    "random": ("import random\n", "def f():\n    return workflow.random().random()\n"),
    "uuid": (
        "import uuid\n\ndef f():\n    return uuid.uuid4()\n",
        "import uuid\n\ndef f():\n    return workflow.uuid4() or uuid.UUID(int=0)\n",
    ),
    "sleep": (
        "import time\n\nasync def f():\n    time.sleep(1)\n",
        "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n",
    ),
    "threads": (
        "import threading\n",
        "import asyncio\n\nasync def f(a, b):\n    await asyncio.gather(a, b)\n",
    ),
    "open": (
        "def f(p):\n    return open(p).read()\n",
        "def f(p):\n    return p.open\n",
    ),
    "environ": (
        "from os import environ\n\ndef f():\n    return environ.get('X')\n",
        "def f(input):\n    return input.x\n",
    ),
    "structlog": (
        "import structlog\n",
        "def f():\n    workflow.logger.info('hi')\n",
    ),
    "set-iteration": (
        "async def f(ids: set[int]):\n    for i in ids:\n        await g(i)\n",
        "async def f(ids: set[int]):\n    for i in sorted(ids):\n        await g(i)\n",
    ),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_flags_the_unsafe_form(rule: str) -> None:
    bad, _ = CASES[rule]
    findings = lint_source(HEADER + bad, "wf.py")
    assert rule in {f.rule for f in findings}, findings
    finding = next(f for f in findings if f.rule == rule)
    # file:line: rule: what to do instead
    assert str(finding).startswith(f"wf.py:{finding.line}: {rule}: ")
    assert RULES[rule] in str(finding)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_leaves_the_safe_form_alone(rule: str) -> None:
    _, good = CASES[rule]
    assert lint_source(HEADER + good, "wf.py") == []


@pytest.mark.parametrize("rule", sorted(CASES))
def test_a_line_opts_out_of_one_rule(rule: str) -> None:
    bad, _ = CASES[rule]
    line = next(f.line for f in lint_source(HEADER + bad) if f.rule == rule)
    lines = (HEADER + bad).splitlines()
    lines[line - 1] += f"  # lanes: allow[{rule}]"
    assert rule not in {f.rule for f in lint_source("\n".join(lines))}
    lines[line - 1] += "  # lanes: allow[some-other-rule]"
    other = (HEADER + bad).splitlines()
    other[line - 1] += "  # lanes: allow[not-this-one]"
    assert rule in {f.rule for f in lint_source("\n".join(other))}


def test_names_resolve_through_import_aliases() -> None:
    source = textwrap.dedent(
        """
        import datetime as dt
        from time import time as now

        def f():
            return dt.datetime.utcnow(), now()
        """
    )
    assert [f.rule for f in lint_source(source)] == ["clock", "clock"]


def test_sets_built_in_the_function_and_set_comprehensions() -> None:
    source = textwrap.dedent(
        """
        def f(items):
            seen = {i.key for i in items}
            ordered = [k for k in seen]
            keys = {k.upper() for k in seen}
            seen = sorted(seen)
            for k in seen:
                pass
            return ordered, keys
        """
    )
    findings = lint_source(source)
    # the list built from the set is flagged; a set built from a set has no order; after
    # `seen = sorted(seen)` the name is a list
    assert [(f.rule, f.line) for f in findings] == [("set-iteration", 4)]
