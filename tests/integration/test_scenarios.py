"""End-to-end scenarios on SQLite and PostgreSQL: the real CLI (and the API) against a fresh
database, checked by looking at the database itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import holding_lock, user_tables
from sqlkeel import Keel
from sqlkeel.testing import harnesses

if TYPE_CHECKING:
    from conftest import Database, Outcome, Project

Run = Callable[..., "Outcome"]

# Four versioned files whose order matters (1.10 needs 1.9's table on PostgreSQL) and one
# repeatable that records each of its runs in the table of V2.
EXAMPLE = {
    "V1__create_users.sql": """
        -- upgrade
        CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);

        -- rollback
        DROP TABLE users;
        """,
    "V1.9__create_orders.sql": """
        CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES users (id));
        -- rollback
        DROP TABLE orders;
        """,
    "V1.10__create_order_notes.sql": """
        -- upgrade
        CREATE TABLE order_notes (
            order_id integer REFERENCES orders (id),
            note text
        );
        -- rollback
        DROP TABLE order_notes;
        """,
    "sub/V2__create_runs.sql": """
        -- upgrade
        CREATE TABLE runs (what text NOT NULL);
        -- rollback
        DROP TABLE runs;
        """,
    "R__user_emails.sql": """
        DROP VIEW IF EXISTS user_emails;
        CREATE VIEW user_emails AS SELECT email FROM users;
        INSERT INTO runs (what) VALUES ('view');
        """,
}
VERSION_TABLES = {"1": "users", "1.9": "orders", "1.10": "order_notes", "2": "runs"}


@pytest.fixture
def example(project: Project) -> Project:
    for name, sql in EXAMPLE.items():
        project.write(name, sql)
    return project


@pytest.fixture
def keel(keel_cli: Run, db_url: str, example: Project) -> Run:
    """``keel <args> --url <db> --dir <migrations>``: global options after the command."""

    def run(*args: str) -> Outcome:
        return keel_cli(*args, "--url", db_url, "--dir", str(example.migrations), cwd=example.root)

    return run


def ok(outcome: Outcome) -> Outcome:
    assert outcome.exit_code == 0, outcome.stderr
    assert "Traceback" not in outcome.stdout + outcome.stderr
    return outcome


def as_json(outcome: Outcome) -> Any:
    """stdout must be exactly one JSON document and stderr empty."""
    ok(outcome)
    assert outcome.stderr == ""
    return json.loads(outcome.stdout)


def history_versions(keel: Run) -> list[str | None]:
    return [m["version"] for m in as_json(keel("history", "--json"))["migrations"]]


def runs(db: Database) -> list[str]:
    return [str(r[0]) for r in db.query("SELECT what FROM runs")]


# ---------------------------------------------------------------------------------------


def test_upgrade_applies_every_file_in_version_order_then_the_repeatable(
    keel: Run, db: Database
) -> None:
    out = ok(keel("upgrade"))
    assert "Applied 5 migrations" in out.stdout
    assert "now at version 2." in out.stdout
    assert user_tables(db) == {"users", "orders", "order_notes", "runs"}
    assert "keel_history" in db.tables()
    assert history_versions(keel) == ["1", "1.9", "1.10", "2", None]
    assert runs(db) == ["view"]
    assert db.query("SELECT count(*) FROM user_emails") == [(0,)]


def test_upgrade_prints_one_line_per_migration_in_run_order(keel: Run) -> None:
    lines = ok(keel("upgrade")).stdout.splitlines()
    applied = [line.split()[:2] for line in lines if line.startswith("applied")]
    assert applied == [
        ["applied", "1"],
        ["applied", "1.9"],
        ["applied", "1.10"],
        ["applied", "2"],
        ["applied", "R"],
    ]
    assert "create order notes" in lines[2]


def test_a_second_upgrade_has_nothing_to_do(keel: Run, db: Database) -> None:
    ok(keel("upgrade"))
    out = ok(keel("upgrade"))
    assert out.stdout.strip() == "Nothing to do: the database is up to date."
    assert runs(db) == ["view"]


def test_status_lists_applied_then_pending_with_their_order_numbers(keel: Run) -> None:
    ok(keel("upgrade", "--count", "2"))
    status = as_json(keel("status", "--json"))
    assert status["head"] == "1.9"
    assert status["problems"] == []
    assert [(m["version"], m["kind"], m["state"], m["order"]) for m in status["migrations"]] == [
        ("1", "versioned", "applied", None),
        ("1.9", "versioned", "applied", None),
        ("1.10", "versioned", "pending", 1),
        ("2", "versioned", "pending", 2),
        (None, "repeatable", "pending", 3),
    ]
    applied = status["migrations"][0]
    assert applied["applied_at"] and applied["applied_by"]
    assert applied["execution_ms"] >= 0
    assert status["migrations"][3]["script"] == "sub/V2__create_runs.sql"


def test_status_as_text_shows_the_same_order_and_a_summary(keel: Run) -> None:
    ok(keel("upgrade", "--count", "2"))
    text = ok(keel("status")).stdout
    rows = [line.split() for line in text.splitlines()[1:6]]
    assert [r[0] for r in rows] == ["1", "1.9", "1", "2", "3"]  # pending rows lead with order
    assert [r[1] for r in rows[2:]] == ["1.10", "2", "R"]
    assert "Head: 1.9. 2 applied, 3 pending." in text


def test_current_prints_none_then_the_head(keel: Run) -> None:
    assert ok(keel("current")).stdout == "none\n"
    assert as_json(keel("current", "--json")) == {"current": None}
    ok(keel("upgrade", "--to", "1.10"))
    assert ok(keel("current")).stdout == "1.10\n"
    assert as_json(keel("current", "--json")) == {"current": "1.10"}


def test_history_shows_each_applied_migration_with_when_by_whom_and_how_long(
    keel: Run,
) -> None:
    assert "No migrations applied yet." in ok(keel("history")).stdout
    ok(keel("upgrade"))
    text = ok(keel("history")).stdout
    header, *rows = text.splitlines()
    for column in ("Version", "Applied at (UTC)", "By", "Time", "State", "File"):
        assert column in header
    assert [r.split()[0] for r in rows] == ["1", "1.9", "1.10", "2", "R"]
    assert all("applied" in r and " ms" in r for r in rows)
    data = as_json(keel("history", "--json"))["migrations"]
    assert {m["state"] for m in data} == {"applied"}
    assert all(m["applied_at"] and m["applied_by"] and m["checksum"] for m in data)


def test_rollback_undoes_only_the_last_migration(keel: Run, db: Database) -> None:
    ok(keel("upgrade"))
    out = ok(keel("rollback"))
    assert "Rolled back 1 migration; now at version 1.10." in out.stdout
    assert "runs" not in db.tables()
    assert user_tables(db) == {"users", "orders", "order_notes"}
    assert history_versions(keel) == ["1", "1.9", "1.10", None]
    assert ok(keel("current")).stdout == "1.10\n"


def test_rollback_to_a_version_keeps_that_version_applied(keel: Run, db: Database) -> None:
    ok(keel("upgrade"))
    out = ok(keel("rollback", "--to", "1.9"))
    assert "Rolled back 2 migrations; now at version 1.9." in out.stdout
    assert user_tables(db) == {"users", "orders"}
    assert history_versions(keel) == ["1", "1.9", None]


def test_rollback_count_undoes_that_many_newest_first(keel: Run, db: Database) -> None:
    ok(keel("upgrade"))
    out = ok(keel("rollback", "--count", "2"))
    lines = [line.split()[:3] for line in out.stdout.splitlines() if line.startswith("rolled")]
    assert lines == [["rolled", "back", "2"], ["rolled", "back", "1.10"]]
    assert user_tables(db) == {"users", "orders"}
    assert ok(keel("current")).stdout == "1.9\n"


def test_rollback_to_0_undoes_every_version_and_upgrade_redoes_them(
    keel: Run, db: Database
) -> None:
    ok(keel("upgrade", "--to", "1.10"))
    ok(keel("rollback", "--to", "0"))
    assert user_tables(db) == set()
    assert ok(keel("current")).stdout == "none\n"
    assert "Nothing to roll back." in ok(keel("rollback")).stdout
    ok(keel("upgrade"))
    assert ok(keel("current")).stdout == "2\n"
    assert user_tables(db) == {"users", "orders", "order_notes", "runs"}


def test_rollback_with_nothing_applied_is_nothing_to_do(keel: Run) -> None:
    assert "Nothing to roll back." in ok(keel("rollback")).stdout


@pytest.mark.parametrize(
    ("target", "tables"),
    [
        pytest.param("1", {"users"}, id="to_1"),
        pytest.param("1.9", {"users", "orders"}, id="to_1.9_not_lexically_after_1.10"),
        pytest.param("1.10", {"users", "orders", "order_notes"}, id="to_1.10"),
    ],
)
def test_upgrade_to_a_version_stops_after_it_and_skips_repeatables(
    keel: Run, db: Database, target: str, tables: set[str]
) -> None:
    ok(keel("upgrade", "--to", target))
    assert user_tables(db) == tables
    assert ok(keel("current")).stdout == f"{target}\n"
    assert None not in history_versions(keel)


@pytest.mark.parametrize(
    ("count", "versions"),
    [
        pytest.param(1, ["1"], id="count_1"),
        pytest.param(3, ["1", "1.9", "1.10"], id="count_3"),
        pytest.param(4, ["1", "1.9", "1.10", "2", None], id="count_reaching_the_end"),
    ],
)
def test_upgrade_count_applies_that_many_versions(
    keel: Run, count: int, versions: list[str | None]
) -> None:
    ok(keel("upgrade", "--count", str(count)))
    assert history_versions(keel) == versions


def test_upgrade_dry_run_prints_the_plan_and_sql_and_changes_nothing(
    keel: Run, db: Database
) -> None:
    out = ok(keel("upgrade", "--dry-run"))
    header = "-- plan: upgrade 5 migrations, each in its own transaction"
    if db.has_transactional_ddl:
        assert f"{header}\n" in out.stdout
    else:  # MySQL: the DDL files run statement by statement, and the plan says so
        unsafe = "[statement by statement: the database cannot roll it back]"
        assert f"{header} unless marked {unsafe}\n" in out.stdout
        assert f"(V1__create_users.sql) {unsafe}\n" in out.stdout
    for name in EXAMPLE:
        assert f"({name})" in out.stdout
    assert "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);" in out.stdout
    assert "CREATE TABLE order_notes (\n    order_id integer" in out.stdout
    assert out.stdout.index("V1.9__") < out.stdout.index("V1.10__") < out.stdout.index("V2__")
    assert db.tables() == set()
    assert as_json(keel("history", "--json")) == {"migrations": []}


def test_upgrade_dry_run_after_a_partial_upgrade_plans_only_the_rest(
    keel: Run, db: Database
) -> None:
    ok(keel("upgrade", "--to", "1.9"))
    before = as_json(keel("history", "--json"))
    out = ok(keel("upgrade", "--dry-run", "--count", "1"))
    assert "-- plan: upgrade 1 migration," in out.stdout
    assert "V1.10__create_order_notes.sql" in out.stdout
    assert "V2__" not in out.stdout
    assert as_json(keel("history", "--json")) == before
    assert user_tables(db) == {"users", "orders"}


def test_rollback_dry_run_prints_the_plan_and_sql_and_changes_nothing(
    keel: Run, db: Database
) -> None:
    ok(keel("upgrade"))
    history_before = as_json(keel("history", "--json"))
    log_before = as_json(keel("history", "--log", "--json"))
    out = ok(keel("rollback", "--dry-run", "--count", "2"))
    assert "-- plan: rollback 2 migrations" in out.stdout
    assert "DROP TABLE runs;" in out.stdout
    assert "DROP TABLE order_notes;" in out.stdout
    assert out.stdout.index("DROP TABLE runs;") < out.stdout.index("DROP TABLE order_notes;")
    assert "DROP TABLE orders;" not in out.stdout
    assert as_json(keel("history", "--json")) == history_before
    assert as_json(keel("history", "--log", "--json")) == log_before
    assert user_tables(db) >= {"users", "orders", "order_notes", "runs"}


def test_nothing_to_do_dry_runs_say_so(keel: Run) -> None:
    assert "Nothing to roll back." in ok(keel("rollback", "--dry-run")).stdout
    ok(keel("upgrade"))
    assert "Nothing to do" in ok(keel("upgrade", "--dry-run")).stdout


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("before", id="options_before_the_command"),
        pytest.param("after", id="options_after_the_command"),
        pytest.param("split", id="url_before_dir_after"),
    ],
)
def test_global_options_are_accepted_before_or_after_the_command(
    keel_cli: Run, db_url: str, example: Project, db: Database, layout: str
) -> None:
    url, where = ["--url", db_url], ["--dir", str(example.migrations)]
    args = {
        "before": [*url, *where, "upgrade", "--to", "1.9"],
        "after": ["upgrade", "--to", "1.9", *url, *where],
        "split": [*url, "upgrade", *where, "--to", "1.9"],
    }[layout]
    ok(keel_cli(*args, cwd=example.root))
    assert user_tables(db) == {"users", "orders"}
    out = ok(keel_cli(*url, "-q", "current", *where, cwd=example.root))
    assert out.stdout == "1.9\n"


def test_a_global_option_given_after_the_command_wins(
    keel_cli: Run, db_url: str, example: Project, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    ok(keel_cli("--url", db_url, "--dir", str(example.migrations), "upgrade", "--to", "1"))
    out = ok(
        keel_cli(
            "--url",
            f"sqlite:///{tmp_path}/no/such/dir/x.db",
            "--dir",
            str(elsewhere),
            "current",
            "--url",
            db_url,
            "--dir",
            str(example.migrations),
            cwd=example.root,
        )
    )
    assert out.stdout == "1\n"


def test_dry_runs_take_no_lock(keel: Run, db_url: str, example: Project, db: Database) -> None:
    ok(keel("upgrade", "--to", "1.9"))
    with (
        Keel(url=db_url, migrations_dir=example.migrations, environ={}, cwd=example.root) as holder,
        holding_lock(holder.dialect),
    ):
        planned = ok(keel("upgrade", "--dry-run", "--no-wait")).stdout
        assert "-- plan: upgrade 3 migrations" in planned
        planned = ok(keel("rollback", "--dry-run", "--no-wait")).stdout
        assert "-- plan: rollback 1 migration" in planned
        blocked = keel("upgrade", "--no-wait")
        assert blocked.exit_code == 3, blocked.stderr
        assert "--no-wait" in blocked.stderr
    assert user_tables(db) == {"users", "orders"}


# Where reading the history never waits for a running migration (Capabilities).
@pytest.mark.parametrize(
    "db_url", [h.id for h in harnesses() if h.capabilities.reads_beside_writers], indirect=True
)
def test_an_upgrade_with_nothing_pending_needs_no_lock(
    keel: Run, db_url: str, example: Project, db: Database
) -> None:
    ok(keel("upgrade"))
    with (
        Keel(url=db_url, migrations_dir=example.migrations, environ={}, cwd=example.root) as holder,
        holding_lock(holder.dialect),
    ):
        # The usual deploy: everything applied. It must not wait for (or fail on) a lock
        # it does not need.
        idle = ok(keel("upgrade", "--no-wait"))
        assert "Nothing to do" in idle.stdout
        # Anything that would run is still refused while another process holds the lock.
        (example.migrations / "V9__later.sql").write_text(
            "CREATE TABLE later (id int);\n-- rollback\nDROP TABLE later;\n"
        )
        blocked = keel("upgrade", "--no-wait")
        assert blocked.exit_code == 3, blocked.stderr
        blocked = keel("rollback", "--no-wait")
        assert blocked.exit_code == 3, blocked.stderr
    assert "later" not in user_tables(db)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("pending", [True, False], ids=["pending", "nothing_pending"])
def test_no_wait_is_prompt_while_a_sqlite_migration_holds_the_database(
    keel: Run, db_url: str, example: Project, pending: bool
) -> None:
    """SQLite readers wait for a writer's commit: keel must not read the history before it
    has the lock, or --no-wait would sit in the driver's busy timeout."""
    import sqlite3
    import time

    ok(keel("upgrade", "--to", "1.9") if pending else keel("upgrade"))
    with (
        Keel(url=db_url, migrations_dir=example.migrations, environ={}, cwd=example.root) as holder,
        holding_lock(holder.dialect),
    ):
        writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        writer.execute("BEGIN EXCLUSIVE")  # as a running migration's commit would
        try:
            started = time.monotonic()
            blocked = keel("upgrade", "--no-wait")
            assert time.monotonic() - started < 5
            assert blocked.exit_code == 3, blocked.stderr
            assert "--no-wait" in blocked.stderr
        finally:
            writer.execute("ROLLBACK")
            writer.close()


def test_quiet_upgrade_prints_nothing(keel: Run, db: Database) -> None:
    out = ok(keel("-q", "upgrade"))
    assert out.stdout == ""
    assert "runs" in db.tables()


@pytest.mark.parametrize(
    ("command", "keys"),
    [
        pytest.param(
            ["status"], {"head", "database_exists", "migrations", "problems"}, id="status"
        ),
        pytest.param(["history"], {"migrations"}, id="history"),
        pytest.param(["history", "--log"], {"log"}, id="history_log"),
        pytest.param(["current"], {"current"}, id="current"),
        pytest.param(["validate"], {"ok", "files", "offline", "problems"}, id="validate"),
        pytest.param(
            ["validate", "--offline"], {"ok", "files", "offline", "problems"}, id="validate_offline"
        ),
        pytest.param(["lock-status"], {"mode", "held", "holder", "since"}, id="lock_status"),
    ],
)
def test_json_output_is_one_document_on_stdout_and_nothing_else(
    keel: Run, command: list[str], keys: set[str]
) -> None:
    ok(keel("upgrade", "--count", "3"))
    data = as_json(keel(*command, "--json"))
    assert isinstance(data, dict)
    assert set(data) == keys


def test_json_documents_carry_the_state(keel: Run) -> None:
    ok(keel("upgrade", "--count", "3"))
    assert as_json(keel("validate", "--json")) == {
        "ok": True,
        "files": 5,
        "offline": False,
        "problems": [],
    }
    lock = as_json(keel("lock-status", "--json"))
    assert lock == {"mode": "session", "held": False, "holder": None, "since": None}
    log = as_json(keel("history", "--log", "--json"))["log"]
    assert [(r["action"], r["version"], r["outcome"]) for r in log] == [
        ("upgrade", "1", "success"),
        ("upgrade", "1.9", "success"),
        ("upgrade", "1.10", "success"),
    ]


def test_a_repeatable_runs_again_only_when_its_checksum_changes(
    keel: Run, db: Database, example: Project
) -> None:
    ok(keel("upgrade"))
    ok(keel("upgrade"))
    assert runs(db) == ["view"]
    # Comments and whitespace do not change the checksum.
    example.write("R__user_emails.sql", "-- the view\n" + EXAMPLE["R__user_emails.sql"] + "\n\n")
    assert "Nothing to do" in ok(keel("upgrade")).stdout
    assert runs(db) == ["view"]
    example.write(
        "R__user_emails.sql",
        EXAMPLE["R__user_emails.sql"].replace(
            "SELECT email FROM users", "SELECT id, email FROM users"
        ),
    )
    status = as_json(keel("status", "--json"))["migrations"]
    assert [(m["kind"], m["state"], m["order"]) for m in status if m["version"] is None] == [
        ("repeatable", "applied", None),
        ("repeatable", "pending", 1),
    ]
    out = ok(keel("upgrade"))
    assert "Applied 1 migration " in out.stdout
    assert runs(db) == ["view", "view"]
    assert db.query("SELECT count(*) FROM user_emails WHERE id IS NULL") == [(0,)]
    assert history_versions(keel).count(None) == 1


def test_a_run_always_file_runs_on_every_upgrade_that_reaches_the_end(
    keel: Run, db: Database, example: Project
) -> None:
    example.write("RA__stamp.sql", "INSERT INTO runs (what) VALUES ('always');\n")
    ok(keel("upgrade"))
    assert runs(db) == ["view", "always"]
    ok(keel("upgrade"))
    assert runs(db) == ["view", "always", "always"]
    example.write("V3__a.sql", "CREATE TABLE a (id integer);\n-- rollback\nDROP TABLE a;\n")
    example.write("V4__b.sql", "CREATE TABLE b (id integer);\n-- rollback\nDROP TABLE b;\n")
    ok(keel("upgrade", "--count", "1"))
    assert runs(db) == ["view", "always", "always"]
    ok(keel("upgrade"))
    assert runs(db) == ["view", "always", "always", "always"]
    assert history_versions(keel) == ["1", "1.9", "1.10", "2", None, "3", "4", None]


def test_versions_run_in_numeric_order_whatever_the_file_names_sort_like(
    keel_cli: Run, db_url: str, project: Project, db: Database
) -> None:
    project.write("V10__ten.sql", "INSERT INTO seen VALUES ('10');\n")
    project.write("V2__two.sql", "INSERT INTO seen VALUES ('2');\n")
    project.write("V1.10__one_ten.sql", "INSERT INTO seen VALUES ('1.10');\n")
    project.write("V1.9__one_nine.sql", "INSERT INTO seen VALUES ('1.9');\n")
    project.write("a/V1__one.sql", "CREATE TABLE seen (v text);\n")
    project.write("z/V1.2.3__deep.sql", "INSERT INTO seen VALUES ('1.2.3');\n")
    ok(keel_cli("upgrade", "--url", db_url, "--dir", str(project.migrations), cwd=project.root))
    assert [r[0] for r in db.query("SELECT v FROM seen")] == ["1.2.3", "1.9", "1.10", "2", "10"]


def test_history_log_shows_the_audit_trail_of_every_action(keel: Run) -> None:
    assert "The log is empty" in ok(keel("history", "--log")).stdout
    ok(keel("upgrade", "--to", "1.9"))
    ok(keel("rollback"))
    text = ok(keel("history", "--log")).stdout
    header, *rows = text.splitlines()
    for column in ("At (UTC)", "Action", "Version", "File", "By", "Outcome"):
        assert column in header
    assert [r.split()[2:4] for r in rows] == [
        ["upgrade", "1"],
        ["upgrade", "1.9"],
        ["rollback", "1.9"],
    ]
    log = as_json(keel("history", "--log", "--json"))["log"]
    assert [(r["action"], r["version"], r["script"], r["outcome"]) for r in log] == [
        ("upgrade", "1", "V1__create_users.sql", "success"),
        ("upgrade", "1.9", "V1.9__create_orders.sql", "success"),
        ("rollback", "1.9", "V1.9__create_orders.sql", "success"),
    ]
    assert all(r["by"] and r["at"] for r in log)
    assert [r["id"] for r in log] == sorted(r["id"] for r in log)


# ---------------------------------------------------------------------------------------
# The same through the Python API


def test_the_api_upgrades_reports_status_and_rolls_back(
    db_url: str, example: Project, db: Database
) -> None:
    with Keel(
        url=db_url, migrations_dir=example.migrations, environ={}, cwd=example.root, user="api@test"
    ) as keel:
        assert keel.current() is None
        result = keel.upgrade(to="1.10")
        assert [s.path for s in result.applied] == [
            "V1__create_users.sql",
            "V1.9__create_orders.sql",
            "V1.10__create_order_notes.sql",
        ]
        assert all(s.direction == "upgrade" for s in result.applied)
        assert str(keel.current()) == "1.10"

        status = keel.status()
        assert status.head == "1.10"
        assert status.problems == ()
        assert [(e.version, e.state, e.order) for e in status.entries] == [
            ("1", "applied", None),
            ("1.9", "applied", None),
            ("1.10", "applied", None),
            ("2", "pending", 1),
            (None, "pending", 2),
        ]

        result = keel.upgrade()
        assert [s.version for s in result.applied] == ["2", None]

        back = keel.rollback(count=2)
        assert [s.version for s in back.rolled_back] == ["2", "1.10"]
        assert str(keel.current()) == "1.9"
        assert {r.applied_by for r in keel.history().rows} == {"api@test"}
        assert [r.action for r in keel.log().rows] == ["upgrade"] * 5 + ["rollback"] * 2
    assert user_tables(db) == {"users", "orders"}


def test_the_api_dry_run_returns_the_plan_and_changes_nothing(
    db_url: str, example: Project, db: Database
) -> None:
    with Keel(url=db_url, migrations_dir=example.migrations, environ={}, cwd=example.root) as keel:
        result = keel.upgrade(dry_run=True)
        assert result.dry_run
        assert result.applied == ()
        assert [s.migration.path for s in result.plan.steps] == list(EXAMPLE)
    assert db.tables() == set()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_each_postgres_schema_has_its_own_history_lock_and_tables(
    db_url: str, project: Project, db: Database
) -> None:
    """Two services sharing one database, each in its own schema (the `schema` setting)."""
    project.write("V1__users.sql", "CREATE TABLE users (id int);\n-- rollback\nDROP TABLE users;\n")
    with (
        Keel(url=db_url, migrations_dir=project.migrations, schema="billing") as billing,
        Keel(url=db_url, migrations_dir=project.migrations, schema="shop") as shop,
    ):
        assert [s.version for s in billing.upgrade().applied] == ["1"]
        assert shop.current() is None
        with holding_lock(billing.dialect):
            assert shop.lock_status().holder is None  # independent locks
        assert [s.version for s in shop.upgrade().applied] == ["1"]
        billing.rollback()
        assert billing.current() is None and str(shop.current()) == "1"
    rows = db.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('billing', 'shop') ORDER BY 1, 2"
    )
    assert rows == [
        ("billing", "keel_history"),
        ("billing", "keel_log"),
        ("shop", "keel_history"),
        ("shop", "keel_log"),
        ("shop", "users"),
    ]
