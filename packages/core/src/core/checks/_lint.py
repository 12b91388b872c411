"""An AST lint of workflow files: what would make a workflow non-deterministic or stuck.

Workflow code is replayed: every worker that picks a run up re-executes it from the start against
its recorded history, so it must take the same path every time. The sandbox catches some of the
rules below at run time — as a stuck workflow task, after deploy. This finds them before.

Each rule names what to do instead. A line that really needs an exception says so in a comment:
``# lanes: allow[rule]`` (several: ``allow[clock,random]``).

Names are resolved through the file's imports (``from datetime import datetime as dt`` then
``dt.now()`` is ``datetime.datetime.now``); code that hides a call behind another name is out of
reach of any lint and is the sandbox's to catch.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RULES", "Finding", "lint_file", "lint_source"]

RULES: dict[str, str] = {
    "io-import": "do I/O in an activity and run it with core.durable.run_activity",
    "clock": "use workflow.now() (or workflow.time()): the clock must replay the same",
    "random": "use workflow.random(): a seeded generator that replays the same",
    "uuid": "use workflow.uuid4(): deterministic across replays",
    "sleep": "use `await asyncio.sleep(...)` or `await workflow.sleep(...)`: a durable timer",
    "threads": "workflow code runs on the workflow's own event loop; move blocking work to an "
    "activity, run concurrent steps with asyncio tasks or child workflows",
    "open": "read and write files in an activity",
    "environ": "pass configuration in the workflow input, or read it in an activity",
    "structlog": "log with workflow.logger (replay-safe; structlog raises in the sandbox)",
    "set-iteration": "iterate sorted(...): a set's order changes between processes, so a replay "
    "on another worker could take another path",
}
"""Every lint rule and what to do instead."""

_IO_MODULES = frozenset(
    {
        "aiohttp", "aiosmtplib", "aiosqlite", "asyncpg", "boto3", "ftplib", "glob", "grpc",
        "http", "httpx", "io", "os", "pathlib", "psycopg", "psycopg2", "redis", "requests",
        "select", "selectors", "shutil", "smtplib", "socket", "sqlalchemy", "sqlite3", "ssl",
        "subprocess", "tempfile", "urllib", "urllib3",
    }
)  # fmt: skip
_THREAD_MODULES = frozenset({"threading", "_thread", "multiprocessing", "concurrent"})
_RANDOM_MODULES = frozenset({"random", "secrets"})
_CLOCK_CALLS = frozenset(
    {
        "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
        "datetime.date.today", "time.time", "time.time_ns", "time.monotonic",
        "time.monotonic_ns", "time.perf_counter", "time.perf_counter_ns", "time.localtime",
        "time.gmtime", "time.ctime", "time.process_time",
    }
)  # fmt: skip
_UUID_CALLS = frozenset({"uuid.uuid1", "uuid.uuid4"})
_SLEEP_CALLS = frozenset({"time.sleep"})
_THREAD_CALLS = frozenset({"asyncio.to_thread"})
_OPEN_CALLS = frozenset({"open", "io.open", "builtins.open"})
_ENVIRON = frozenset({"os.environ", "os.getenv", "os.putenv", "os.environb", "os.getenvb"})
_SET_BUILDERS = frozenset({"set", "frozenset"})
_ALLOW = re.compile(r"#\s*lanes:\s*allow\[([^\]]*)\]")


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where, which rule, and what to do instead."""

    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def lint_file(path: Path, *, display: str | None = None) -> list[Finding]:
    """Lint one workflow file."""
    return lint_source(path.read_text(encoding="utf-8"), display or str(path))


def lint_source(source: str, path: str = "<workflow>") -> list[Finding]:
    """Lint the source of one workflow file; findings opted out by a comment are left out."""
    tree = ast.parse(source, filename=path)
    visitor = _Visitor(path)
    visitor.visit(tree)
    lines = source.splitlines()
    kept = []
    for finding in visitor.findings:
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        allowed = {r.strip() for m in _ALLOW.finditer(text) for r in m.group(1).split(",")}
        if finding.rule not in allowed:
            kept.append(finding)
    return sorted(set(kept))


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}
        """Local name → qualified name, from the file's imports."""
        self.set_names: list[set[str]] = [set()]
        """Per scope: names last bound to a set."""

    def add(self, node: ast.AST, rule: str, what: str) -> None:
        line = getattr(node, "lineno", 1)
        self.findings.append(Finding(self.path, line, rule, f"{what}: {RULES[rule]}"))

    # imports -------------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            local = alias.asname or alias.name.split(".", 1)[0]
            self.aliases[local] = alias.name if alias.asname else local
            self._check_module(node, alias.name, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:  # relative: the domain's own modules
            return
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
        names = ", ".join(a.name for a in node.names)
        self._check_module(node, module, f"from {module} import {names}")

    def _check_module(self, node: ast.AST, module: str, text: str) -> None:
        top = module.split(".", 1)[0]
        if top in _IO_MODULES:
            self.add(node, "io-import", f"`{text}` in workflow code")
        elif top in _THREAD_MODULES:
            self.add(node, "threads", f"`{text}` in workflow code")
        elif top in _RANDOM_MODULES:
            self.add(node, "random", f"`{text}` in workflow code")
        elif top == "structlog" or module == "core.telemetry":
            self.add(node, "structlog", f"`{text}` in workflow code")

    # calls and names ---------------------------------------------------------------------

    def qualified(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualified(node.func)
        if name in _CLOCK_CALLS:
            self.add(node, "clock", f"`{name}()`")
        elif name in _UUID_CALLS:
            self.add(node, "uuid", f"`{name}()`")
        elif name in _SLEEP_CALLS:
            self.add(node, "sleep", f"`{name}()` blocks the worker")
        elif name in _THREAD_CALLS or (
            isinstance(node.func, ast.Attribute) and node.func.attr == "run_in_executor"
        ):
            self.add(node, "threads", f"`{name or node.func.attr}()`")  # type: ignore[attr-defined]
        elif name in _OPEN_CALLS:
            self.add(node, "open", f"`{name}()`")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.qualified(node)
        if name in _ENVIRON:
            self.add(node, "environ", f"`{name}`")
            return  # os.environ.get: one finding, not one per attribute
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        name = self.aliases.get(node.id)
        if name in _ENVIRON:
            self.add(node, "environ", f"`{name}`")

    # iteration over sets -----------------------------------------------------------------

    def _is_set(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Set | ast.SetComp):
            return True
        if isinstance(node, ast.Call) and self.qualified(node.func) in _SET_BUILDERS:
            return True
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, ast.BitOr | ast.BitAnd | ast.Sub | ast.BitXor
        ):
            return self._is_set(node.left) or self._is_set(node.right)
        return isinstance(node, ast.Name) and node.id in self.set_names[-1]

    def _set_annotation(self, annotation: ast.expr | None) -> bool:
        if annotation is None:
            return False
        base = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        return self.qualified(base) in {*_SET_BUILDERS, "typing.Set", "typing.FrozenSet"}

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        names = {
            a.arg
            for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            if self._set_annotation(a.annotation)
        }
        self.set_names.append(names)
        self.generic_visit(node)
        self.set_names.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for target in node.targets:
            if isinstance(target, ast.Name):
                if self._is_set(node.value):
                    self.set_names[-1].add(target.id)
                else:
                    self.set_names[-1].discard(target.id)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.generic_visit(node)
        if isinstance(node.target, ast.Name):
            is_set = self._set_annotation(node.annotation) or (
                node.value is not None and self._is_set(node.value)
            )
            (self.set_names[-1].add if is_set else self.set_names[-1].discard)(node.target.id)

    def _iteration(self, node: ast.For | ast.AsyncFor | ast.comprehension, iter_: ast.expr) -> None:
        if self._is_set(iter_):
            self.add(iter_, "set-iteration", "iterating over a set")

    def visit_For(self, node: ast.For) -> None:
        self._iteration(node, node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._iteration(node, node.iter)
        self.generic_visit(node)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        # A set built from a set has no order to depend on.
        for generator in node.generators:
            self.generic_visit(generator)
        self.visit(node.elt)
