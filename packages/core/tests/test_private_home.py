"""``.lanes/`` is private: the folder 0700, its state files 0600, also when it existed before."""

import stat
from pathlib import Path

from core.dev.server import DevServer
from core.settings import LanesSettings, private_home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_home_and_the_dev_servers_files_are_private(tmp_path: Path) -> None:
    old = tmp_path / ".lanes"
    old.mkdir(mode=0o755)
    (old / "temporal.log").write_text("from an older version\n")
    (old / "temporal.log").chmod(0o644)

    home = private_home(LanesSettings(home=old))
    assert mode(home) == 0o700
    assert mode(home / "temporal.log") == 0o600
    assert mode(home / "lanes.db") == 0o600

    server = DevServer(ui_port=None, db_file=home / "temporal.db", log_file=home / "temporal.log")
    await server.start()
    await server.stop()
    files = sorted(p for p in home.iterdir())
    assert home / "temporal.db" in files and (home / "temporal.db").stat().st_size > 0
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
