"""``lanes new``: write a domain, an activity, a workflow or a schedule the way ``sync`` is written.

What it writes passes ``lanes check``, ruff, mypy and its own test as written. A new domain is a
workspace member found through its ``lanes.domains`` entry point (its name is the queue), so no
core file changes; the workspace root's ``pyproject.toml`` gains the member (dependency, source,
mypy path, isort's first-party list) and ``uv lock`` is rerun.

Nothing is overwritten: a file that exists already is an error naming it.
"""

from __future__ import annotations

import ast
import importlib.util
import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from core.scaffold import _templates as t
from core.scaffold._workspace import ScaffoldError, add_member

__all__ = [
    "ScaffoldError",
    "Target",
    "domain_target",
    "new_activity",
    "new_domain",
    "new_schedule",
    "new_workflow",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Target:
    """Where a domain lives: its name (queue), import package and source folder."""

    name: str
    package: str
    source: Path
    """``packages/<dir>/src/<package>``."""

    @property
    def tests(self) -> Path:
        return self.source.parent.parent / "tests"


def new_domain(root: Path, name: str, package: str | None = None) -> list[Path]:
    """Write ``packages/<name>`` and add it to the workspace; the files written."""
    package = package or name
    _check_name(name, "domain")
    _check_name(package, "package")
    if package in sys.stdlib_module_names or importlib.util.find_spec(package) is not None:
        raise ScaffoldError(
            f"the import package {package!r} is taken (the standard library or an installed "
            "package owns it); pass --package with another name, as the email domain uses `mail`"
        )
    folder = root / "packages" / name
    if folder.exists():
        raise ScaffoldError(f"{folder} exists already; pick another name")
    src = folder / "src" / package
    values = {"name": name, "package": package}
    files = {
        folder / "pyproject.toml": t.DOMAIN_PYPROJECT,
        src / "__init__.py": t.DOMAIN_INIT,
        src / "activities" / "__init__.py": t.ACTIVITIES_INIT,
        src / "workflows" / "__init__.py": t.WORKFLOWS_INIT,
        src / "schedules.py": t.SCHEDULES,
        src / "worker.py": t.WORKER,
        folder / "tests" / f"test_{name}_worker.py": t.SMOKE_TEST,
    }
    written = [_write(path, template.format(**values)) for path, template in files.items()]
    written.append(add_member(root, name, package))
    return written


def new_activity(target: Target, name: str) -> list[Path]:
    """Write ``activities/<name>.py`` and its test."""
    _check_name(name, "activity")
    values = {
        "name": name,
        "camel": _camel(name),
        "title": name.replace("_", " ").capitalize(),
        "domain": target.name,
        "package": target.package,
    }
    return [
        _write(target.source / "activities" / f"{name}.py", t.ACTIVITY.format(**values)),
        _write(target.tests / f"test_{name}.py", t.ACTIVITY_TEST.format(**values)),
    ]


def new_workflow(target: Target, name: str) -> list[Path]:
    """Write ``workflows/<name>.py`` (class ``<Name>Workflow``), export it, and its test."""
    name = name.removesuffix("_workflow")
    _check_name(name, "workflow")
    camel = _camel(name)
    values = {"name": name, "camel": camel, "domain": target.name, "package": target.package}
    written = [
        _write(target.source / "workflows" / f"{name}.py", t.WORKFLOW.format(**values)),
        _write(target.tests / f"test_{name}_workflow.py", t.WORKFLOW_TEST.format(**values)),
    ]
    init = target.source / "workflows" / "__init__.py"
    _export(init, f"{target.package}.workflows.{name}", f"{camel}Workflow")
    return [*written, init]


def new_schedule(target: Target, entry: str, imports: list[str]) -> Path:
    """Add ``entry`` (the text of one ``Schedule(...)``) to the domain's ``SCHEDULES``."""
    path = target.source / "schedules.py"
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    assignment = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            and any(
                isinstance(n, ast.Name) and n.id == "SCHEDULES"
                for n in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
        ),
        None,
    )
    if assignment is None or not isinstance(assignment.value, ast.List):
        raise ScaffoldError(f"{path} has no `SCHEDULES = [...]` list to add to")
    lines = source.splitlines(keepends=True)
    end = assignment.value
    assert end.end_lineno is not None and end.end_col_offset is not None
    # Insert before the closing bracket, one entry per block, as ruff formats it.
    before = (
        "".join(lines[: end.end_lineno - 1]) + lines[end.end_lineno - 1][: end.end_col_offset - 1]
    )
    after = lines[end.end_lineno - 1][end.end_col_offset - 1 :] + "".join(lines[end.end_lineno :])
    body = before.rstrip()
    if not body.endswith("[") and not body.endswith(","):
        body += ","
    text = f"{body}\n    {entry},\n{after}"
    missing = [line for line in imports if line not in text]
    if missing:
        header_end = _imports_end(tree)
        head_lines = text.splitlines(keepends=True)
        text = "".join(
            [*head_lines[:header_end], *(f"{m}\n" for m in missing), *head_lines[header_end:]]
        )
    path.write_text(text, encoding="utf-8")
    return path


def domain_target(name: str) -> Target:
    """The installed domain ``name``'s package and source folder."""
    from core import domains

    installed = domains.installed()
    if name not in installed:
        known = ", ".join(sorted(installed)) or "none"
        raise ScaffoldError(
            f"domain {name!r} is not installed (installed: {known}); "
            "create it with `lanes new domain` and run `uv sync`"
        )
    package = installed[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ScaffoldError(f"cannot find the source of package {package!r}")
    return Target(name, package, Path(next(iter(spec.submodule_search_locations))))


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{what} name {name!r} must be a lower-case Python identifier "
            "(letters, digits, underscores; e.g. `billing`, `send_invoice`)"
        )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _write(path: Path, text: str) -> Path:
    if path.exists():
        raise ScaffoldError(f"{path} exists already; nothing was written over it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _export(init: Path, module: str, cls: str) -> None:
    """Import ``cls`` in a ``workflows/__init__.py`` and list it in ``__all__``."""
    source = init.read_text(encoding="utf-8")
    tree = ast.parse(source)
    exported: list[str] = []
    imports: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            imports.extend(f"from {node.module} import {a.name}" for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            if isinstance(value, ast.List | ast.Tuple):
                exported.extend(str(e.value) for e in value.elts if isinstance(e, ast.Constant))
    docstring = ast.get_docstring(tree)
    imports.append(f"from {module} import {cls}")
    names = sorted({*exported, cls})
    listed = "\n".join(f'    "{n}",' for n in names)
    head = f'"""{docstring}"""\n\n' if docstring else ""
    init.write_text(f"{head}{chr(10).join(sorted(set(imports)))}\n\n__all__ = [\n{listed}\n]\n")


def _imports_end(tree: ast.Module) -> int:
    """The line after the module's last top-level import."""
    last = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last = node.end_lineno or node.lineno
    return last
