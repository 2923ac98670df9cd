"""``keel repair`` and ``keel baseline`` against real databases: each deliberate change to
the history is printed, logged in keel_log, and does exactly what it says."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from conftest import Run, history_rows, ok, user_tables

if TYPE_CHECKING:
    from conftest import Database, Project

USERS = "CREATE TABLE users (id integer PRIMARY KEY);\n-- rollback\nDROP TABLE users;\n"
ORDERS = "CREATE TABLE orders (id integer);\n-- rollback\nDROP TABLE orders;\n"
ITEMS = "CREATE TABLE items (id integer);\n-- rollback\nDROP TABLE items;\n"
NOTES = "CREATE TABLE notes (id integer);\n-- rollback\nDROP TABLE notes;\n"


def log(keel: Run) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(ok(keel("history", "--log", "--json")).stdout)["log"]
    return rows


@pytest.fixture
def applied_two(keel: Run, project: Project) -> Project:
    project.write("V1__users.sql", USERS)
    project.write("V2__orders.sql", ORDERS)
    ok(keel("upgrade"))
    return project


# ---------------------------------------------------------------------------------------
# repair --checksums


def test_repair_checksums_accepts_the_edited_file_prints_and_logs_it(
    keel: Run, applied_two: Project, db: Database
) -> None:
    before = history_rows(keel)
    applied_two.write("V2__orders.sql", ORDERS.replace("(id integer)", "(id integer, n int)"))
    assert keel("validate").exit_code == 1
    out = ok(keel("repair", "--checksums"))
    old, new = before[1]["checksum"][:12], history_rows(keel)[1]["checksum"][:12]
    assert old != new
    assert out.stdout == (
        f"accept the current contents of V2__orders.sql for migration 2 (checksum {old} -> {new})\n"
    )
    ok(keel("validate"))
    assert "Nothing to do" in ok(keel("upgrade")).stdout  # accepted, not re-run
    assert db.query("SELECT count(*) FROM orders") == [(0,)]
    entry = log(keel)[-1]
    assert (entry["action"], entry["version"], entry["script"], entry["outcome"]) == (
        "repair",
        "2",
        "V2__orders.sql",
        "success",
    )
    assert entry["detail"] == out.stdout.strip()
    after = history_rows(keel)
    assert [r["applied_at"] for r in after] == [r["applied_at"] for r in before]


def test_repair_checksums_also_records_a_changed_rollback_section(
    keel: Run, applied_two: Project
) -> None:
    applied_two.write(
        "V2__orders.sql", ORDERS.replace("DROP TABLE orders;", "DROP TABLE orders;\nSELECT 1;")
    )
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert [m["rollback_changed"] for m in status["migrations"]] == [False, True]
    assert "rollback section changed" in ok(keel("status")).stdout
    ok(keel("repair", "--checksums"))
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert [m["rollback_changed"] for m in status["migrations"]] == [False, False]


def test_repair_dry_run_says_what_it_would_do_and_changes_nothing(
    keel: Run, applied_two: Project
) -> None:
    applied_two.write("V2__orders.sql", "SELECT 1;\n" + ORDERS)
    log_before = log(keel)
    out = ok(keel("repair", "--checksums", "--dry-run"))
    assert out.stdout.startswith("would accept the current contents of V2__orders.sql")
    assert log(keel) == log_before
    assert keel("validate").exit_code == 1


# ---------------------------------------------------------------------------------------
# repair --missing


def test_repair_missing_forgets_rows_whose_files_are_gone(
    keel: Run, applied_two: Project, db: Database
) -> None:
    (applied_two.migrations / "V1__users.sql").unlink()
    assert keel("upgrade").exit_code == 1
    out = ok(keel("repair", "--missing"))
    assert out.stdout == "forget applied migration 1 (V1__users.sql): its file is gone\n"
    assert [r["version"] for r in history_rows(keel)] == ["2"]
    assert "users" in user_tables(db)  # the schema itself is not touched
    ok(keel("validate"))
    entry = log(keel)[-1]
    assert (entry["action"], entry["version"], entry["outcome"]) == ("repair", "1", "success")
    assert "forget applied migration 1" in entry["detail"]


def test_repair_only_touches_the_chosen_kind_of_problem(keel: Run, applied_two: Project) -> None:
    (applied_two.migrations / "V1__users.sql").unlink()
    applied_two.write("V2__orders.sql", "SELECT 1;\n" + ORDERS)
    out = ok(keel("repair", "--checksums"))
    assert out.stdout.startswith("accept the current contents of V2__orders.sql")
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]
    err = keel("validate").stderr
    assert "1 problem" in err and "V1__users.sql" in err
    out = ok(keel("repair", "--missing"))
    assert [r["version"] for r in history_rows(keel)] == ["2"]
    assert [e["action"] for e in log(keel)][-2:] == ["repair", "repair"]


def test_repair_with_two_flags_prints_each_change(keel: Run, applied_two: Project) -> None:
    (applied_two.migrations / "V1__users.sql").unlink()
    applied_two.write("V2__orders.sql", "SELECT 1;\n" + ORDERS)
    out = ok(keel("repair", "--checksums", "--missing"))
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("forget applied migration 1")
    assert lines[1].startswith("accept the current contents of V2__orders.sql")
    assert len([e for e in log(keel) if e["action"] == "repair"]) == 2


# ---------------------------------------------------------------------------------------
# repair --failed

HALF = """
    -- keel: transaction=off
    CREATE TABLE half (id integer);
    INSERT INTO nowhere VALUES (1);
    """


def test_repair_failed_clears_the_failed_row_so_the_fixed_file_runs_again(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    project.write("V2__half.sql", HALF)
    project.write("V3__items.sql", ITEMS)
    assert keel("upgrade").exit_code == 1
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "failed"),
    ]
    assert keel("upgrade").exit_code == 1  # refused until repaired
    # The manual fix: undo what ran, correct the file.
    db.query("DROP TABLE half")
    project.write("V2__half.sql", HALF.replace("INSERT INTO nowhere", "INSERT INTO half"))
    out = ok(keel("repair", "--failed"))
    assert out.stdout == (
        "clear failed migration 2 (V2__half.sql); it will run again on the next upgrade\n"
    )
    assert [r["version"] for r in history_rows(keel)] == ["1"]
    entry = log(keel)[-1]
    assert (entry["action"], entry["version"], entry["outcome"]) == ("repair", "2", "success")
    ok(keel("upgrade"))
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "applied"),
        ("3", "applied"),
    ]
    assert db.query("SELECT id FROM half") == [(1,)]
    assert [e["action"] for e in log(keel)] == [
        "upgrade",
        "upgrade",
        "repair",
        "upgrade",
        "upgrade",
    ]
    assert [e["outcome"] for e in log(keel)] == [
        "success",
        "failed",
        "success",
        "success",
        "success",
    ]


def test_repair_failed_is_needed_even_when_the_file_was_fixed(keel: Run, project: Project) -> None:
    project.write("V1__half.sql", HALF)
    assert keel("upgrade").exit_code == 1
    project.write("V1__half.sql", "CREATE TABLE half2 (id integer);\n")
    out = keel("upgrade")
    assert out.exit_code == 1
    assert "recorded as failed" in out.stderr
    assert "repair --failed" in out.stderr


# ---------------------------------------------------------------------------------------
# repair: refusals


def test_repair_without_a_kind_is_a_usage_error(keel: Run, applied_two: Project) -> None:
    out = keel("repair")
    assert out.exit_code == 2
    assert "--checksums" in out.stderr and "--missing" in out.stderr
    assert all(e["action"] != "repair" for e in log(keel))


def test_repair_with_nothing_to_repair_changes_nothing(keel: Run, applied_two: Project) -> None:
    before = log(keel)
    out = ok(keel("repair", "--checksums", "--missing", "--failed"))
    assert out.stdout == "Nothing to repair.\n"
    assert log(keel) == before


def test_repair_refuses_while_files_are_malformed(keel: Run, applied_two: Project) -> None:
    (applied_two.migrations / "V1__users.sql").unlink()
    applied_two.write("V3_items.sql", ITEMS)
    out = keel("repair", "--missing")
    assert out.exit_code == 1
    assert "V3_items.sql" in out.stderr
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]


# ---------------------------------------------------------------------------------------
# baseline


@pytest.fixture
def four(project: Project) -> Project:
    project.write("V1__users.sql", USERS)
    project.write("V2__orders.sql", ORDERS)
    project.write("V3__items.sql", ITEMS)
    project.write("V4__notes.sql", NOTES)
    return project


def test_baseline_records_files_up_to_the_version_without_running_them(
    keel: Run, four: Project, db: Database
) -> None:
    out = ok(keel("baseline", "2"))
    assert out.stdout == (
        "recorded V1__users.sql as applied (not run)\n"
        "recorded V2__orders.sql as applied (not run)\n"
        "Baselined at version 2.\n"
    )
    assert user_tables(db) == set()
    assert [(r["version"], r["state"]) for r in history_rows(keel)] == [
        ("1", "applied"),
        ("2", "applied"),
    ]
    assert ok(keel("current")).stdout == "2\n"
    (entry,) = log(keel)
    assert (entry["action"], entry["version"], entry["outcome"]) == ("baseline", "2", "success")
    assert "2 migration(s) up to 2" in entry["detail"]
    ok(keel("validate"))


def test_upgrade_after_baseline_runs_only_the_files_above_it(
    keel: Run, four: Project, db: Database
) -> None:
    db.query("CREATE TABLE users (id integer PRIMARY KEY)")  # the existing database
    ok(keel("baseline", "1"))
    out = ok(keel("upgrade"))
    assert "Applied 3 migrations" in out.stdout
    assert user_tables(db) == {"users", "orders", "items", "notes"}
    assert [r["version"] for r in history_rows(keel)] == ["1", "2", "3", "4"]
    assert [e["action"] for e in log(keel)] == ["baseline", "upgrade", "upgrade", "upgrade"]


def test_baseline_accepts_the_version_with_its_v_prefix(keel: Run, four: Project) -> None:
    ok(keel("baseline", "V2"))
    assert [r["version"] for r in history_rows(keel)] == ["1", "2"]


@pytest.mark.parametrize(
    ("setup", "version", "code", "words"),
    [
        pytest.param(
            "upgraded", "3", 1, ["already", "versioned history"], id="database_already_has_history"
        ),
        pytest.param("fresh", "0.5", 2, ["no migration file", "0.5"], id="below_every_file"),
        pytest.param("fresh", "2.5", 2, ["no migration file", "2.5"], id="between_files"),
        pytest.param("fresh", "99", 2, ["no migration file", "99"], id="above_every_file"),
        pytest.param("fresh", "abc", 2, ["not a version"], id="not_a_version"),
    ],
)
def test_baseline_refuses_what_it_cannot_do(
    keel: Run,
    four: Project,
    db: Database,
    setup: str,
    version: str,
    code: int,
    words: list[str],
) -> None:
    if setup == "upgraded":
        ok(keel("upgrade", "--to", "1"))
    before = history_rows(keel)
    out = keel("baseline", version)
    assert out.exit_code == code, out.stderr
    for word in words:
        assert word in out.stderr
    assert history_rows(keel) == before
    assert all(e["action"] != "baseline" for e in log(keel))
