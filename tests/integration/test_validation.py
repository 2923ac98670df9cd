"""SPEC 4 against real databases: every check refuses with exit 1, names each offending
file and its fix, reports all problems at once, and runs nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from conftest import Run, history_rows, ok

if TYPE_CHECKING:
    from conftest import Database, Outcome, Project


USERS = "CREATE TABLE users (id integer);\n-- rollback\nDROP TABLE users;\n"
ORDERS = "CREATE TABLE orders (id integer);\n-- rollback\nDROP TABLE orders;\n"
ITEMS = "CREATE TABLE items (id integer);\n-- rollback\nDROP TABLE items;\n"
PATTERN = "V<version>__<description>.sql"


def refused(outcome: Outcome) -> str:
    """A validation refusal: exit 1, nothing on stdout, one error report on stderr."""
    assert outcome.exit_code == 1, (outcome.stdout, outcome.stderr)
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.stderr.startswith("keel: error: validation failed:")
    return outcome.stderr


def assert_nothing_ran(keel: Run, db: Database) -> None:
    """A refused first run leaves the database untouched: not even keel's own tables."""
    assert db.tables() == set()
    assert history_rows(keel) == []


# ---------------------------------------------------------------------------------------
# file problems: refused before anything runs


def test_two_files_with_the_same_version_are_refused_naming_both(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__a.sql", USERS)
    project.write("V1.0__b.sql", ORDERS)
    err = refused(keel("upgrade"))
    assert "V1__a.sql" in err
    assert "V1.0__b.sql" in err
    assert "own version" in err and "rename" in err
    assert_nothing_ran(keel, db)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("V1_x.sql", id="single_underscore"),
        pytest.param("v1__x.sql", id="lower_case_v"),
        pytest.param("V1.a__x.sql", id="letter_in_version"),
        pytest.param("V__x.sql", id="no_version"),
        pytest.param("V1__bad-name.sql", id="dash_in_description"),
    ],
)
def test_a_malformed_file_name_is_refused_with_the_expected_pattern(
    keel: Run, project: Project, db: Database, name: str
) -> None:
    project.write("V1__users.sql", USERS)
    project.write(name, "CREATE TABLE never (id integer);\n")
    err = refused(keel("upgrade"))
    assert f"{name}: file name '{name}' is not a migration file name." in err
    assert PATTERN in err
    assert "V1__users.sql" not in err
    assert_nothing_ran(keel, db)


def test_files_with_other_extensions_are_ignored(keel: Run, project: Project) -> None:
    project.write("V1__users.sql", USERS)
    project.write("README.md", "# notes\n")
    project.write("V2__draft.sql.bak", "garbage")
    ok(keel("upgrade"))
    assert [r["version"] for r in history_rows(keel)] == ["1"]


def test_an_unterminated_quote_is_refused_with_its_line(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    project.write("V2__broken.sql", "INSERT INTO users VALUES (1);\n\nSELECT 'oops;\nSELECT 2;\n")
    err = refused(keel("upgrade"))
    assert "V2__broken.sql:3: unterminated" in err
    assert "Fix:" in err
    assert_nothing_ran(keel, db)


def test_an_unknown_directive_is_refused_with_its_line(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", "-- users\n-- keel: transactions=off\n" + USERS)
    err = refused(keel("upgrade"))
    assert "V1__users.sql:2: unknown or malformed '-- keel:' directive" in err
    assert "transaction=off" in err  # the fix names the real directives
    assert_nothing_ran(keel, db)


def test_every_problem_is_reported_at_once(keel: Run, project: Project, db: Database) -> None:
    project.write("V1__users.sql", USERS)
    project.write("V2_orders.sql", ORDERS)
    project.write("V3__items.sql", "SELECT 'x;\n")
    err = refused(keel("upgrade"))
    assert err.startswith("keel: error: validation failed: 2 problems\n")
    assert "V2_orders.sql" in err
    assert "V3__items.sql:1" in err
    assert len([line for line in err.splitlines() if line.startswith("  - ")]) == 2
    assert_nothing_ran(keel, db)


# ---------------------------------------------------------------------------------------
# history problems


@pytest.fixture
def applied_two(keel: Run, project: Project) -> Project:
    """V1 and V2 applied."""
    project.write("V1__users.sql", USERS)
    project.write("V2__orders.sql", ORDERS)
    ok(keel("upgrade"))
    return project


def test_a_missing_applied_file_is_refused(keel: Run, applied_two: Project, db: Database) -> None:
    (applied_two.migrations / "V1__users.sql").unlink()
    applied_two.write("V3__items.sql", ITEMS)
    err = refused(keel("upgrade"))
    assert "V1__users.sql: migration 1 is applied but its file is missing." in err
    assert "repair --missing" in err
    assert "items" not in db.tables()
    status = json.loads(ok(keel("status", "--json")).stdout)
    assert [(m["version"], m["state"]) for m in status["migrations"]] == [
        ("1", "missing"),
        ("2", "applied"),
        ("3", "pending"),
    ]
    assert [p["code"] for p in status["problems"]] == ["missing-file"]


def test_an_edited_applied_file_is_refused(keel: Run, applied_two: Project, db: Database) -> None:
    applied_two.write("V2__orders.sql", ORDERS.replace("id integer", "id bigint"))
    applied_two.write("V3__items.sql", ITEMS)
    err = refused(keel("upgrade"))
    assert "V2__orders.sql: applied migration 2 was edited since it ran" in err
    assert "repair --checksums" in err
    assert "items" not in db.tables()
    assert refused(keel("rollback"))  # rollback validates too
    assert "orders" in db.tables()


def test_formatting_changes_to_an_applied_file_are_not_an_edit(
    keel: Run, applied_two: Project
) -> None:
    applied_two.write(
        "V2__orders.sql", "-- orders\r\nCREATE  TABLE orders (id integer) ;\r\n-- rollback\r\n"
    )
    ok(keel("validate"))


def test_a_new_file_below_the_head_is_refused(
    keel: Run, applied_two: Project, db: Database
) -> None:
    applied_two.write("V1.5__late.sql", ITEMS)
    err = refused(keel("upgrade"))
    assert "V1.5__late.sql: pending migration 1.5 is at or below the head 2" in err
    assert "rename it above the head, e.g. V3__late.sql" in err
    assert "items" not in db.tables()


def test_history_problems_and_file_problems_are_reported_together(
    keel: Run, applied_two: Project
) -> None:
    (applied_two.migrations / "V1__users.sql").unlink()
    applied_two.write("V2__orders.sql", "SELECT 1;\n" + ORDERS)
    applied_two.write("v3__items.sql", ITEMS)
    err = refused(keel("validate"))
    assert "3 problems" in err
    for path in ("V1__users.sql", "V2__orders.sql", "v3__items.sql"):
        assert path in err


def test_a_failed_row_makes_upgrade_refuse_until_repaired(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    project.write(
        "V2__half.sql",
        "-- keel: transaction=off\nCREATE TABLE half (id integer);\n\nINSERT INTO nowhere\n"
        "VALUES (1);\n",
    )
    assert keel("upgrade").exit_code == 1
    err = refused(keel("upgrade"))
    assert "V2__half.sql:4: migration 2 is recorded as failed at statement 2 (line 4)" in err
    assert "repair --failed" in err
    err = refused(keel("validate"))
    assert "recorded as failed" in err


# ---------------------------------------------------------------------------------------
# keel validate


def test_validate_passes_a_clean_project_online(keel: Run, applied_two: Project) -> None:
    out = ok(keel("validate"))
    assert out.stdout == "OK: 2 migration files checked (files and history); no problems.\n"


def test_validate_online_catches_history_problems_that_offline_cannot_see(
    keel: Run, keel_cli: Run, applied_two: Project
) -> None:
    (applied_two.migrations / "V2__orders.sql").unlink()
    assert "missing" in refused(keel("validate"))
    offline = keel_cli(
        "validate", "--offline", "--dir", str(applied_two.migrations), cwd=applied_two.root
    )
    assert offline.exit_code == 0, offline.stderr
    assert "(files)" in offline.stdout


def test_validate_json_lists_every_problem_as_data(keel: Run, applied_two: Project) -> None:
    (applied_two.migrations / "V1__users.sql").unlink()
    applied_two.write("V1.5__late.sql", ITEMS)
    out = keel("validate", "--json")
    assert out.exit_code == 1
    assert out.stderr == ""
    data = json.loads(out.stdout)
    assert data["ok"] is False
    assert [(p["code"], p["path"]) for p in data["problems"]] == [
        ("missing-file", "V1__users.sql"),
        ("below-head", "V1.5__late.sql"),
    ]
    assert all(p["fix"] and p["message"] for p in data["problems"])


@pytest.fixture
def offline(keel_cli: Run, project: Project) -> Run:
    """keel with a migrations directory and no database URL anywhere."""

    def run(*args: str) -> Outcome:
        return keel_cli(*args, "--dir", str(project.migrations), cwd=project.root)

    return run


def test_validate_offline_needs_no_url(offline: Run, project: Project) -> None:
    project.write("V1__users.sql", USERS)
    project.write("R__views.sql", "CREATE VIEW v AS SELECT 1;\n")
    out = offline("validate", "--offline")
    assert out.exit_code == 0, out.stderr
    assert out.stdout == "OK: 2 migration files checked (files); no problems.\n"
    assert offline("validate").exit_code == 2  # online needs a URL


def test_validate_offline_does_not_connect_to_the_configured_server(
    offline: Run, project: Project
) -> None:
    project.write("V1__users.sql", USERS)
    out = offline("validate", "--offline", "--url", "postgresql://u:s3cretpw@127.0.0.1:1/x")
    assert out.exit_code == 0, out.stderr
    assert "s3cretpw" not in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("V1_x.sql", "SELECT 1;\n", "V1_x.sql: file name", id="bad_name"),
        pytest.param(
            "V2__q.sql", "SELECT 1;\n\n'\n", "V2__q.sql:3: unterminated", id="unterminated_quote"
        ),
        pytest.param(
            "V1.0__again.sql", "SELECT 1;\n", "2 files share version", id="duplicate_version"
        ),
        pytest.param(
            "V3__d.sql",
            "SELECT 1;\n-- keel: transaction=off\n",
            "V3__d.sql:2: a '-- keel:' directive appears after the first statement",
            id="late_directive",
        ),
        pytest.param(
            "R__v.sql",
            "SELECT 1;\n-- rollback\nSELECT 2;\n",
            "R__v.sql:2: a repeatable migration has a '-- rollback' section",
            id="repeatable_with_rollback",
        ),
    ],
)
def test_validate_offline_catches_file_problems(
    offline: Run, project: Project, name: str, text: str, expected: str
) -> None:
    project.write("V1__users.sql", USERS)
    project.write(name, text)
    out = offline("validate", "--offline")
    assert out.exit_code == 1
    assert expected in out.stderr
    assert "Fix:" in out.stderr
    assert out.stdout == ""


def test_validate_offline_with_an_unreachable_url_still_catches_file_problems(
    offline: Run, project: Project
) -> None:
    project.write("V1__a.sql", USERS)
    project.write("V1.0__b.sql", ORDERS)
    out = offline("validate", "--offline", "--url", "postgresql://u:s3cretpw@127.0.0.1:1/x")
    assert out.exit_code == 1
    assert "V1__a.sql" in out.stderr and "V1.0__b.sql" in out.stderr
    assert "s3cretpw" not in out.stdout + out.stderr


def test_validate_offline_splits_files_the_way_the_configured_database_would(
    offline: Run, project: Project
) -> None:
    # A dollar-quoted body with a lone quote parses only with PostgreSQL's rules.
    project.write(
        "V1__comment.sql", "CREATE TABLE t (id integer);\nCOMMENT ON TABLE t IS $$it's here$$;\n"
    )
    out = offline("validate", "--offline", "--url", "postgresql://u:s3cretpw@127.0.0.1:1/x")
    assert out.exit_code == 0, out.stderr
    assert "1 migration file checked" in out.stdout


def test_validate_offline_reads_sub_folders(offline: Run, project: Project) -> None:
    project.write("2026/V1__users.sql", USERS)
    project.write("2027/V1__again.sql", ORDERS)
    out = offline("validate", "--offline")
    assert out.exit_code == 1
    assert "2026/V1__users.sql" in out.stderr and "2027/V1__again.sql" in out.stderr


def test_an_empty_migrations_directory_is_valid(offline: Run) -> None:
    out = offline("validate", "--offline")
    assert out.exit_code == 0
    assert "0 migration files" in out.stdout


def test_a_nul_byte_is_refused_at_validation_naming_file_and_line(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__a.sql", "CREATE TABLE a (id integer);\n")
    (project.migrations / "V2__nul.sql").write_bytes(
        b"CREATE TABLE b (id integer);\n\nINSERT INTO b VALUES (1);\x00\n"
    )
    for args in (["validate", "--offline"], ["upgrade"]):
        out = keel(*args)
        assert out.exit_code == 1, out.stderr
        assert "V2__nul.sql:3: the file holds a NUL byte (column 26)" in out.stderr
        assert "Fix: remove it" in out.stderr
    assert "b" not in db.tables() and "a" not in db.tables()


def test_an_applied_file_that_no_longer_parses_is_a_parse_error_and_not_missing(
    keel: Run, applied_two: Project, db: Database
) -> None:
    (applied_two.migrations / "V2__orders.sql").write_text(
        "CREATE TABLE orders (note text DEFAULT 'unterminated);\n", encoding="utf-8"
    )
    for args in (["validate"], ["upgrade"]):
        out = keel(*args)
        assert out.exit_code == 1, out.stderr
        assert "V2__orders.sql:1: unterminated" in out.stderr
        assert "missing" not in out.stderr
        assert "repair --missing" not in out.stderr
    status = keel("status", "--json")
    assert status.exit_code == 0, status.stderr
    doc = json.loads(status.stdout)
    assert [p["code"] for p in doc["problems"]] == ["parse-error"]
    states = {m["version"]: m["state"] for m in doc["migrations"]}
    assert states == {"1": "applied", "2": "invalid"}
    text = keel("status")
    assert "repair --missing" not in text.stdout
    assert "missing" not in text.stdout
