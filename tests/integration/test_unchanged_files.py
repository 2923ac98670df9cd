"""Files byte for byte as applied are trusted from their history row's checksums (issue 3:
``status`` with 10 000 files); any other byte change is parsed and checked (SPEC 2, 4)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from conftest import Run, ok

if TYPE_CHECKING:
    from conftest import Database, Project

USERS = "CREATE TABLE users (id integer);\n-- rollback\nDROP TABLE users;\n"


def digests(db: Database) -> list[object]:
    return [row[0] for row in db.query("SELECT digest FROM keel_history ORDER BY id")]


def sha256(project: Project, name: str) -> str:
    return hashlib.sha256((project.migrations / name).read_bytes()).hexdigest()


def test_each_applied_row_records_the_sha256_of_its_file(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    project.write("V2__orders.sql", "CREATE TABLE orders (id integer);\n")
    ok(keel("upgrade"))
    assert digests(db) == [sha256(project, "V1__users.sql"), sha256(project, "V2__orders.sql")]


def test_an_unparsed_applied_file_still_rolls_back_from_its_own_file(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    ok(keel("upgrade"))
    ok(keel("status"))
    ok(keel("rollback", "--dry-run"))
    assert "DROP TABLE users" in ok(keel("rollback", "--dry-run")).stdout
    ok(keel("rollback"))
    assert "users" not in db.tables()


def test_an_edit_is_caught_even_when_the_row_has_no_digest(
    keel: Run, project: Project, db: Database
) -> None:
    # Rows written before the digest column existed hold NULL: such files are parsed.
    project.write("V1__users.sql", USERS)
    ok(keel("upgrade"))
    db.query("UPDATE keel_history SET digest = NULL")
    ok(keel("validate"))
    project.write("V1__users.sql", USERS.replace("id integer", "id bigint"))
    outcome = keel("validate")
    assert outcome.exit_code == 1
    assert "V1__users.sql" in outcome.stderr and "edited" in outcome.stderr


def test_a_layout_only_edit_is_parsed_and_accepted_and_repair_records_the_new_bytes(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    ok(keel("upgrade"))
    before = digests(db)
    project.write(
        "V1__users.sql",
        "-- users\nCREATE  TABLE users (id integer) ;\n-- rollback\nDROP TABLE users;\n",
    )
    ok(keel("validate"))  # comments and whitespace are not edits (SPEC 2)
    assert digests(db) == before
    project.write("V1__users.sql", USERS.replace("id integer", "id bigint"))
    ok(keel("repair", "--checksums"))
    assert digests(db) == [sha256(project, "V1__users.sql")]
    ok(keel("validate"))
