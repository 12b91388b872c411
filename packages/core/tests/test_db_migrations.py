"""Migrations: core's branch and a domain's branch found in their own folders, applied, undone
and written by autogenerate, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, get_engine, migrations

DEMO_BASE = '''"""demo: items"""

import sqlalchemy as sa
from alembic import op

revision = "demo0001"
down_revision = None
branch_labels = ("demo",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demo_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("demo_items")
'''


class DemoWidget(Base):
    """A model of the throwaway "demo" domain, for autogenerate."""

    __tablename__ = "demo_widgets"
    __table_args__ = {"info": {"domain": "demo"}}  # noqa: RUF012 - SQLAlchemy's own API

    id: Mapped[int] = mapped_column(primary_key=True)
    colour: Mapped[str] = mapped_column(sa.String(20), index=True)


@pytest.fixture
def demo(tmp_path: Path) -> dict[str, Path]:
    """Core's migrations plus a throwaway domain "demo" whose scripts live in a temp folder."""
    versions = tmp_path / "demo" / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "demo0001_items.py").write_text(DEMO_BASE)
    return {"core": migrations.locations()["core"], "demo": versions}


async def tables(url: str) -> set[str]:
    async with get_engine(url).connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_upgrade_downgrade_base_upgrade_round_trips(
    database_url: str, demo: dict[str, Path]
) -> None:
    assert await tables(database_url) == set()

    status = await migrations.upgrade(url=database_url, where=demo)
    assert status.up_to_date
    assert set(status.heads) == {"core", "demo"}
    assert {"lanes_idempotency", "demo_items", "alembic_version"} <= await tables(database_url)

    status = await migrations.downgrade("base", url=database_url, where=demo)
    assert sorted(status.behind) == ["core", "demo"]
    assert await tables(database_url) <= {"alembic_version"}

    status = await migrations.upgrade(url=database_url, where=demo)
    assert status.up_to_date
    assert {"lanes_idempotency", "demo_items"} <= await tables(database_url)


async def test_one_domain_can_be_downgraded_alone(database_url: str, demo: dict[str, Path]) -> None:
    await migrations.upgrade(url=database_url, where=demo)

    status = await migrations.downgrade("demo@base", url=database_url, where=demo)

    assert status.behind == ["demo"]
    found = await tables(database_url)
    assert "demo_items" not in found
    assert "lanes_idempotency" in found


async def test_autogenerate_writes_only_the_domains_own_tables(
    database_url: str, demo: dict[str, Path]
) -> None:
    await migrations.upgrade(url=database_url, where=demo)

    path = await migrations.revision("demo", "add widgets", url=database_url, where=demo)

    assert path.parent == demo["demo"]
    script = path.read_text()
    assert 'down_revision: str | Sequence[str] | None = "demo0001"' in script
    assert 'op.create_table(\n        "demo_widgets"' in script
    assert "ix_demo_widgets_colour" in script  # the naming convention at work
    assert "lanes_idempotency" not in script
    # In the database under the domain's prefix and in none of its models: the domain's to drop.
    assert 'op.drop_table("demo_items")' in script

    status = await migrations.current(url=database_url, where=demo)
    assert status.behind == ["demo"]
    await migrations.upgrade(url=database_url, where=demo)
    assert "demo_widgets" in await tables(database_url)


async def test_a_domain_first_revision_starts_its_branch(database_url: str, tmp_path: Path) -> None:
    where = {"core": migrations.locations()["core"], "fresh": tmp_path / "fresh" / "versions"}

    path = await migrations.revision(
        "fresh", "start", autogenerate=False, url=database_url, where=where
    )

    assert 'branch_labels: str | Sequence[str] | None = ("fresh",)' in path.read_text()
    status = await migrations.upgrade(url=database_url, where=where)
    assert status.up_to_date
    assert set(status.branches) == {"core", "fresh"}


async def test_unknown_domain_is_a_clear_error(database_url: str) -> None:
    with pytest.raises(migrations.MigrationError, match=r"unknown domain 'nosuch'; known: .*sync"):
        await migrations.revision("nosuch", "x", url=database_url)


async def test_autogenerate_against_an_old_schema_says_to_upgrade_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "late" / "migrations" / "versions"
    where = {"core": migrations.locations()["core"], "late": folder}

    with pytest.raises(migrations.MigrationError, match=r"not up to date; run `lanes db upgrade`"):
        await migrations.revision("late", "too early", url=database_url, where=where)
    assert not folder.parent.exists()


async def test_a_failing_migration_is_one_clear_error(database_url: str, tmp_path: Path) -> None:
    versions = tmp_path / "broken" / "versions"
    versions.mkdir(parents=True)
    (versions / "broken01.py").write_text(
        'revision = "broken01"\ndown_revision = None\nbranch_labels = ("broken",)\n'
        "depends_on = None\n\n\ndef upgrade():\n"
        '    from alembic import op\n\n    op.execute("CREATE TABLE broken_x (")\n\n\n'
        "def downgrade():\n    pass\n"
    )
    where = {"broken": versions}

    failed = r"a migration failed on .*: (incomplete input|syntax error)"  # SQLite | PostgreSQL
    with pytest.raises(migrations.MigrationError, match=failed):
        await migrations.upgrade(url=database_url, where=where)


def test_a_domain_s_tables_carry_its_import_package_as_prefix() -> None:
    from core.db._alembic_env import table_prefix

    # The email domain's package is `mail` (`email` is the standard library's).
    assert (table_prefix("email"), table_prefix("sync"), table_prefix("core")) == (
        "mail_",
        "sync_",
        "lanes_",
    )
