"""lanes-core's pytest plugin loads in every project that shares the environment: it must not
break one that has no pytest-asyncio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# pytest with pytest-asyncio made unimportable and its own plugin off: a project without it.
# (The plugin under test is the installed entry point, as in any other project.)
WITHOUT_PYTEST_ASYNCIO = """
import sys


class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pytest_asyncio":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Uninstalled())
import pytest
# --assert=plain: pytest's assertion-rewriting import hook would otherwise sit in front of ours
# and import pytest_asyncio for rewriting.
args = ["-p", "no:asyncio", "-p", "no:cacheprovider", "--assert=plain", "-q", "test_plain.py"]
sys.exit(pytest.main(args))
"""


def test_a_project_without_pytest_asyncio_still_runs_its_tests(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the repository's configuration
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PYTEST_ASYNCIO],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
