"""A validator that is not installed must not pass for a check that ran."""

from __future__ import annotations

from typing import Any

import pytest


def test_missing_tool_fails_under_ci(tool: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"not installed.*run `uv sync`"):
        tool("kubectl-that-is-not-there")


def test_missing_tool_skips_locally_with_the_reason(
    tool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        tool("kubectl-that-is-not-there")


def test_the_validators_come_with_the_dev_group(tool: Any) -> None:
    # They are wheels in the root dev group, so `uv sync` alone provides them.
    for name in ("kubectl", "kubernetes-validate", "check-jsonschema", "hadolint"):
        assert tool(name)
