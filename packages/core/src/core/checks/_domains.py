"""Checks of every installed domain as a worker would load it: activities, workflows, schedules.

Unlike the lint (:mod:`core.checks._lint`), these import the domains: an activity declaration is
validated by its decorator, a schedule by its ``Schedule(...)`` and the registry. Each problem
becomes a :class:`Finding` pointing at the file to change.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core import domains
from core.checks._lint import Finding, lint_file
from core.domains import Domain, DomainError
from core.schedules import ScheduleError, load_schedules

__all__ = [
    "STRUCTURE_RULES",
    "check_activities",
    "check_domains",
    "check_schedules",
    "check_workflow_file",
    "workflow_files",
]

STRUCTURE_RULES: dict[str, str] = {
    "activity": "an activity declaration that cannot work (the decorator's message says why)",
    "workflow-file": "a workflows/ file holds exactly one @workflow.defn class, named after "
    "the file (sync_all.py → SyncAllWorkflow)",
    "workflow-export": "every workflow class is re-exported from workflows/__init__.py, or "
    "no worker registers it",
    "schedule": "every schedule loads, its target is registered and served on its queue, and "
    "the server accepts its cron string",
}


def check_domains(names: Iterable[str] | None = None) -> list[Finding]:
    """Every finding for the installed domains (default: all), core's own workflows included."""
    findings: list[Finding] = []
    loaded: list[Domain] = []
    packages = domains.installed()
    for name in sorted(names or packages):
        try:
            loaded.append(domains.load(name))
        except (DomainError, ValueError, TypeError, ImportError) as err:
            where, line = _origin(err, packages.get(name, name))
            findings.append(Finding(where, line, "activity", f"domain {name!r}: {err}"))
    for loaded_domain in loaded:
        findings.extend(check_activities(loaded_domain))
    served = {q: d for d in loaded for q in d.queues}
    for package in ["core", *(packages[n] for n in sorted(names or packages) if n in packages)]:
        domain = next((d for d in loaded if d.package == package), None)
        for path in workflow_files(package):
            findings.extend(lint_file(path, display=_display(path)))
            findings.extend(check_workflow_file(path, domain))
    for domain in loaded:
        findings.extend(check_schedules(domain, served))
    return sorted(findings)


def check_activities(domain: Domain) -> list[Finding]:
    """What an activity's decorator cannot refuse but a caller would trip over: an input with no
    type (nothing to validate a dispatch or a schedule against)."""
    findings = []
    for config in domain.activities:
        if config.input_type is Any:
            path = inspect.getsourcefile(config.fn) or config.module
            line = inspect.getsourcelines(config.fn)[1] if path != config.module else 1
            findings.append(
                Finding(
                    _display(Path(path)), line, "activity",
                    f"activity {config.name!r}: its input has no type annotation; annotate it "
                    "with a pydantic model or dataclass so dispatch and schedules validate it",
                )
            )  # fmt: skip
    return findings


def workflow_files(package: str) -> list[Path]:
    """The ``.py`` files of ``<package>.workflows`` (its ``__init__`` excluded)."""
    spec = importlib.util.find_spec(f"{package}.workflows")
    if spec is None or not spec.submodule_search_locations:
        return []
    found: list[Path] = []
    for location in spec.submodule_search_locations:
        found.extend(p for p in sorted(Path(location).rglob("*.py")) if p.name != "__init__.py")
    return found


def check_workflow_file(path: Path, domain: Domain | None = None) -> list[Finding]:
    """One workflow class per file, named after it, exported by ``domain`` when given."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and _is_workflow(n)]
    where = _display(path)
    stem = path.stem
    expected = "".join(part.capitalize() for part in stem.split("_"))
    if not expected.endswith("Workflow"):
        expected += "Workflow"
    if not classes and path.name.startswith("_"):
        return []  # a private helper module of the workflows (still linted for determinism)
    if not classes:
        return [
            Finding(
                where, 1, "workflow-file",
                f"no @workflow.defn class in {path.name}: a workflows/ file holds one workflow "
                f"({expected}); move other code out of workflows/ or into a private _module.py",
            )
        ]  # fmt: skip
    findings = []
    for extra in classes[1:]:
        findings.append(
            Finding(
                where, extra.lineno, "workflow-file",
                f"{extra.name} is the second workflow in {path.name}: one workflow per file; "
                f"move it to {_snake(extra.name)}.py",
            )
        )  # fmt: skip
    first = classes[0]
    if first.name != expected:
        findings.append(
            Finding(
                where, first.lineno, "workflow-file",
                f"{first.name} in {path.name}: name the file after the class "
                f"({_snake(first.name)}.py) or the class {expected}",
            )
        )  # fmt: skip
    if domain is not None:
        exported = {w.__name__ for w in domain.workflows}
        for cls in classes:
            if cls.name not in exported:
                findings.append(
                    Finding(
                        where, cls.lineno, "workflow-export",
                        f"{cls.name} is not exported from {domain.package}.workflows, so no "
                        "worker registers it: import it in workflows/__init__.py and add it to "
                        "__all__",
                    )
                )  # fmt: skip
    return findings


def check_schedules(domain: Domain, served: dict[str, Domain]) -> list[Finding]:
    """``domain``'s schedules load; each runs on a ``served`` queue that registers its target."""
    spec = importlib.util.find_spec(f"{domain.package}.schedules")
    path = Path(spec.origin) if spec is not None and spec.origin else None
    where = _display(path) if path else f"{domain.package}/schedules.py"
    try:
        declared = load_schedules(domain.package)
    except ScheduleError as err:
        return [Finding(where, _line_of(path, str(err)), "schedule", str(err))]
    findings = []
    for schedule in declared:
        resolved = schedule.resolve()
        line = _line_of(path, f"'{schedule.id}'")
        queue = resolved.task_queue
        target_domain = served.get(queue)
        if target_domain is None:
            findings.append(
                Finding(
                    where, line, "schedule",
                    f"schedule {schedule.id!r} runs on queue {queue!r}, which no installed "
                    f"domain serves (served: {', '.join(sorted(served)) or 'none'}); "
                    "set task_queue= to a served queue",
                )
            )  # fmt: skip
        elif isinstance(schedule.target, type) and schedule.target not in target_domain.workflows:
            findings.append(
                Finding(
                    where, line, "schedule",
                    f"schedule {schedule.id!r} starts workflow {schedule.target.__name__}, which "
                    f"the {queue!r} worker does not register: export it from "
                    f"{target_domain.package}.workflows or set task_queue=",
                )
            )  # fmt: skip
    return findings


def _is_workflow(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (
            isinstance(target, ast.Attribute)
            and target.attr == "defn"
            and isinstance(target.value, ast.Name)
            and target.value.id == "workflow"
        ):
            return True
    return False


def _snake(name: str) -> str:
    base = name.removesuffix("Workflow") or name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _line_of(path: Path | None, text: str) -> int:
    """The line of ``path`` that holds the quoted schedule id named in ``text`` (or 1)."""
    if path is None:
        return 1
    ids = re.findall(r"'([^']+)'", text)
    lines = path.read_text(encoding="utf-8").splitlines()
    for wanted in ids[:1]:
        for number, line in enumerate(lines, 1):
            if f'"{wanted}"' in line or f"'{wanted}'" in line:
                return number
    return 1


def _origin(err: BaseException, package: str) -> tuple[str, int]:
    """The file and line of the domain's own code the error came from."""
    top = package.split(".", 1)[0]
    frames = traceback.extract_tb(err.__traceback__)
    for frame in reversed(frames):
        if f"/{top}/" in frame.filename.replace("\\", "/"):
            return _display(Path(frame.filename)), frame.lineno or 1
    return f"<domain {package}>", 1
