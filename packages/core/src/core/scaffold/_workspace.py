"""The workspace root's ``pyproject.toml``, edited as text so its comments and layout survive.

A new member appears in four places: the root's dependencies (so ``uv sync`` installs it), its
``[tool.uv.sources]`` (from the workspace, not an index), mypy's ``mypy_path`` and ruff's
first-party list. Each edit is an insertion into a list the file already has; a file that lacks
one says so instead of guessing.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ScaffoldError", "add_member"]


class ScaffoldError(ValueError):
    """``lanes new`` cannot write what was asked; the message says why and what to do."""


def add_member(root: Path, name: str, package: str) -> Path:
    """Add domain ``name`` (import ``package``) to the workspace root's pyproject; its path."""
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    text = _append_to_list(text, "dependencies", f'"lanes-{name}"', path)
    text = _append_to_list(text, "mypy_path", f'"packages/{name}/src"', path)
    text = _append_to_list(text, "known-first-party", f'"{package}"', path)
    sources = re.search(r"^\[tool\.uv\.sources\]\n(?:[^\[\n].*\n)*", text, re.MULTILINE)
    if sources is None:
        raise ScaffoldError(f"{path} has no [tool.uv.sources] table to add lanes-{name} to")
    line = f"lanes-{name} = {{ workspace = true }}\n"
    block = sources.group(0).rstrip("\n") + "\n" + line
    text = text[: sources.start()] + block + text[sources.end() :]
    path.write_text(text, encoding="utf-8")
    return path


def _append_to_list(text: str, key: str, item: str, path: Path) -> str:
    """``key = [...]`` (first occurrence) with ``item`` added, in the list's own layout."""
    found = re.search(rf"^{re.escape(key)} = \[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    if found is None:
        raise ScaffoldError(f"{path} has no `{key} = [...]` list to add {item} to")
    body = found.group(1)
    if item in body:
        return text
    if "\n" in body:  # one item per line
        new_body = body.rstrip() + ("" if body.rstrip().endswith(",") else ",")
        new_body += f"\n    {item},\n"
    else:
        items = [i.strip() for i in body.split(",") if i.strip()]
        new_body = ", ".join([*items, item])
    return text[: found.start(1)] + new_body + text[found.end(1) :]
