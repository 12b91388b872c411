"""Every Python example in the README names only code that exists, and compiles.

For each ```python block:

- it compiles (top-level ``await`` allowed: examples run inside a service's coroutine);
- every ``import`` / ``from ... import`` resolves: the module imports and has the names;
- every other name it uses is defined in the block, a builtin, or listed in a ``# given: a, b``
  comment (what the snippet assumes its reader already has, e.g. ``rows``);
- a block whose first line names a file (``# packages/sync/src/sync/activities/x.py``) shows code
  that is in that file: the file exists and defines every function and class the block defines.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import re
import symtable
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
GIVEN = re.compile(r"^# given: (.+)$", re.MULTILINE)
FILE = re.compile(r"^# (packages/\S+\.py)\s*$")


def _blocks() -> list[tuple[int, str]]:
    text = (ROOT / "README.md").read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


BLOCKS = _blocks()


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"README.md:{n}" for n, _ in BLOCKS])
def test_readme_example(line: int, code: str) -> None:
    compile(code, f"README.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or _is_module(f"{node.module}.{alias.name}"), (
                    f"README.md:{line}: {node.module} has no {alias.name}"
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)

    given = {n.strip() for m in GIVEN.finditer(code) for n in m.group(1).split(",")}
    undefined = _free_names(code) - given - set(dir(builtins))
    assert not undefined, (
        f"README.md:{line} uses {sorted(undefined)} without defining or importing them "
        "(list deliberate placeholders in a `# given: ...` comment)"
    )

    shown = FILE.match(code.splitlines()[0])
    if shown:
        path = ROOT / shown.group(1)
        assert path.is_file(), f"README.md:{line} shows {shown.group(1)}, which does not exist"
        defined = {
            n.name
            for n in ast.parse(path.read_text()).body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        in_block = {
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        assert in_block <= defined, (
            f"README.md:{line}: {sorted(in_block - defined)} not in {shown.group(1)}"
        )


def _is_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _free_names(code: str) -> set[str]:
    """Names the block reads but never binds (wrapped in a function so ``await`` is legal)."""
    wrapped = "async def __block__():\n" + textwrap.indent(code, "    ") + "\n    pass\n"
    found: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        for symbol in table.get_symbols():
            if symbol.is_referenced() and symbol.is_global():
                found.add(symbol.get_name())
        for child in table.get_children():
            visit(child)

    visit(symtable.symtable(wrapped, "README.md", "exec"))
    return found - {"__block__"}
