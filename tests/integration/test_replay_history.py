"""A realistic history of 247 migrations (tests/fixtures/realistic_history.py) replayed up,
down and up again on each database, checking the real schema and keel's rows after each
phase (issue 10, SPEC 12: real histories carry no-op sections)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.realistic_history import (
    ENTITIES,
    FLAVOURS,
    Migration,
    expected,
    realistic_history,
    write_history,
)
from sqlkeel import Keel

if TYPE_CHECKING:
    from conftest import Database

KEEL_TABLES = ("keel_history", "keel_log")


def _names(db: Database, sql: str) -> set[str]:
    return {str(r[0]) for r in db.query(sql)}


def _sqlite_schema(db: Database) -> set[str]:
    objects = {
        f"{kind}:{name}"
        for kind, name, table in db.query("SELECT type, name, tbl_name FROM sqlite_master")
        if table not in KEEL_TABLES and not name.startswith("sqlite_")
    }
    for table in [o.split(":", 1)[1] for o in objects if o.startswith("table:")]:
        objects |= {
            f"column:{table}.{c}"
            for c in _names(db, f"SELECT name FROM pragma_table_info('{table}')")
        }
    return objects


def _postgres_schema(db: Database) -> set[str]:
    here = "= current_schema()"
    tables = _names(db, f"SELECT tablename FROM pg_tables WHERE schemaname {here}")
    tables -= set(KEEL_TABLES)
    objects = {f"table:{t}" for t in tables}
    for table, column in db.query(
        f"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema {here}"
    ):
        if table in tables:
            objects.add(f"column:{table}.{column}")
    for table, index in db.query(
        f"SELECT tablename, indexname FROM pg_indexes WHERE schemaname {here}"
    ):
        if table in tables and not str(index).endswith("_pkey"):
            objects.add(f"index:{index}")
    objects |= {
        f"view:{v}" for v in _names(db, f"SELECT viewname FROM pg_views WHERE schemaname {here}")
    }
    objects |= {
        f"trigger:{t}" for t in _names(db, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    }
    objects |= {
        f"function:{f}"
        for f in _names(
            db,
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE n.nspname {here}",
        )
    }
    types = db.query(
        "SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_namespace n ON n.oid = "
        f"t.typnamespace LEFT JOIN pg_enum e ON e.enumtypid = t.oid WHERE n.nspname {here} "
        "AND t.typtype = 'e'"
    )
    for name, label in types:
        objects.add(f"type:{name}")
        objects.add(f"enum:{str(name).removesuffix('_state')}.{label}")
    return objects


def _mysql_schema(db: Database) -> set[str]:
    here = "= DATABASE()"
    tables = db.tables() - set(KEEL_TABLES)
    objects = {f"table:{t}" for t in tables}
    columns = db.query(
        "SELECT table_name, column_name, column_type FROM information_schema.columns "
        f"WHERE table_schema {here}"
    )
    for table, column, kind in columns:
        if table not in tables:
            continue
        objects.add(f"column:{table}.{column}")
        if str(kind).startswith("enum("):
            objects |= {f"enum:{table}.{v}" for v in re.findall(r"'([^']*)'", str(kind))}
    for table, index in db.query(
        "SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
        f"WHERE table_schema {here} AND index_name <> 'PRIMARY'"
    ):
        if table in tables:
            objects.add(f"index:{index}")
    views = _names(db, f"SELECT table_name FROM information_schema.views WHERE table_schema {here}")
    objects |= {f"view:{v}" for v in views}
    triggers = _names(
        db, f"SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema {here}"
    )
    return objects | {f"trigger:{t}" for t in triggers}


# How each flavour's schema is read back, by harness id: the catalogs are each family's.
SCHEMA_OF: dict[str, Callable[[Database], set[str]]] = {
    "sqlite": _sqlite_schema,
    "postgres": _postgres_schema,
    "mysql": _mysql_schema,
}
assert set(SCHEMA_OF) == set(FLAVOURS)


def schema(db: Database) -> set[str]:
    """The objects the database holds now, named as the fixture names them, and the ids of
    the rows of its tables."""
    objects = SCHEMA_OF[db.harness.id](db)
    tables = [o.split(":", 1)[1] for o in objects if o.startswith("table:")]
    if tables:
        union = " UNION ALL ".join(f"SELECT '{t}', id FROM {t}" for t in tables)
        objects |= {f"row:{t}.{i}" for t, i in db.query(union)}
    return objects


NOOP = "no-op: its {} section holds only comments"


def history(keel: Keel) -> list[tuple[str, str, bool]]:
    return [(str(r.version), r.state.value, r.is_noop) for r in keel.history().rows]


def applied(migrations: list[Migration]) -> list[tuple[str, str, bool]]:
    return [(m.version, "applied", m.is_noop) for m in migrations]


def log_since(keel: Keel, start: int) -> list[tuple[str, str | None, str, str]]:
    return [(r.action, r.version, r.outcome, r.detail) for r in keel.log().rows[start:]]


def upgrades(migrations: list[Migration]) -> list[tuple[str, str | None, str, str]]:
    return [
        ("upgrade", m.version, "success", NOOP.format("upgrade") if m.is_noop else "")
        for m in migrations
    ]


def rollbacks(migrations: list[Migration]) -> list[tuple[str, str | None, str, str]]:
    return [
        ("rollback", m.version, "success", NOOP.format("rollback") if m.rollback_is_noop else "")
        for m in reversed(migrations)
    ]


# The history is written in each family's SQL: it runs on the families it has a flavour for.
@pytest.mark.parametrize("db_url", FLAVOURS, indirect=True)
def test_a_realistic_history_of_247_migrations_replays_up_down_and_up(
    db: Database, tmp_path: Path
) -> None:
    migrations = realistic_history(db.harness.id)
    assert len(migrations) >= 200
    assert any(m.is_noop for m in migrations) and any(m.rollback_is_noop for m in migrations)
    write_history(tmp_path / "migrations", migrations)
    everything = expected(migrations, len(migrations))
    assert len([o for o in everything if o.startswith("table:")]) == len(ENTITIES)
    # The middle of a table's block: its seed (rollback left blank on even tables) and its
    # enum value (PostgreSQL: rollback left blank) are rolled back, its table stays.
    middle = (
        next(
            i
            for i, m in enumerate(migrations)
            if m.path.endswith("__index_session_devices_name.sql")
        )
        + 1
    )
    total = len(migrations)
    with Keel(url=db.url, migrations_dir=tmp_path / "migrations", environ={}, cwd=tmp_path) as keel:
        # Up.
        assert len(keel.upgrade().applied) == total
        assert schema(db) == everything
        assert history(keel) == applied(migrations)
        assert log_since(keel, 0) == upgrades(migrations)
        assert keel.status().problems == ()

        # Down, in two steps: to the middle, where no-op rollbacks leave their effects ...
        rolled = keel.rollback(to=migrations[middle - 1].version).rolled_back
        assert [r.version for r in rolled] == [m.version for m in reversed(migrations[middle:])]
        assert [r.is_noop for r in rolled] == [
            m.rollback_is_noop for m in reversed(migrations[middle:])
        ]
        state = schema(db)
        assert state == expected(migrations, middle, total)
        kept = {f"row:session_devices.{i}" for i in (1, 2, 3)}  # seeded, rollback left blank
        assert kept <= state and "table:session_devices" in state
        assert history(keel) == applied(migrations[:middle])
        assert log_since(keel, total) == rollbacks(migrations[middle:])
        # ... then all the way.
        keel.rollback(to="0")
        assert schema(db) == set()
        assert history(keel) == []
        assert log_since(keel, 2 * total - middle) == rollbacks(migrations[:middle])

        # Up again, from files that ran before (trusted from their rows where unchanged).
        assert len(keel.upgrade().applied) == total
        assert schema(db) == everything
        assert history(keel) == applied(migrations)
        assert log_since(keel, 2 * total) == upgrades(migrations)
        assert keel.status().problems == ()
        keel.validate()
