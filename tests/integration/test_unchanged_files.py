"""Files byte for byte as applied are trusted from their history row's checksums (issue 3:
``status`` with 10 000 files); any other byte change is parsed and checked (SPEC 2, 4)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import Run, ok
from sqlkeel import discovery
from sqlkeel.api import Keel
from sqlkeel.core.model import Direction
from sqlkeel.core.splitter import POSTGRES, SQLITE
from sqlkeel.discovery import FileReadError, discover

if TYPE_CHECKING:
    from conftest import Database, Project

USERS = "CREATE TABLE users (id integer);\n-- rollback\nDROP TABLE users;\n"


def digests(db: Database) -> list[object]:
    return [row[0] for row in db.query("SELECT digest FROM keel_history ORDER BY id")]


def sha256(project: Project, name: str, db: Database) -> str:
    """SHA-256 of the file's bytes and of the checksums its row records."""
    checksum, rollback = db.query(
        f"SELECT checksum, rollback_checksum FROM keel_history WHERE script = '{name}'"
    )[0]
    content = (project.migrations / name).read_bytes()
    return hashlib.sha256(content + f"\0{checksum}\0{rollback or ''}".encode()).hexdigest()


def test_each_applied_row_records_the_digest_of_its_file(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    project.write("V2__orders.sql", "CREATE TABLE orders (id integer);\n")
    ok(keel("upgrade"))
    assert digests(db) == [
        sha256(project, "V1__users.sql", db),
        sha256(project, "V2__orders.sql", db),
    ]


def test_a_checksum_rewritten_behind_keels_back_is_checked_again(
    keel: Run, project: Project, db: Database
) -> None:
    # The row's checksums only stand in for the file while they are the ones keel recorded
    # with its digest (an older keel's repair, or a hand edit, changes one without the other).
    project.write("V1__users.sql", USERS)
    ok(keel("upgrade"))
    db.query("UPDATE keel_history SET checksum = '" + "0" * 64 + "'")
    outcome = keel("validate")
    assert outcome.exit_code == 1
    assert "V1__users.sql" in outcome.stderr and "edited" in outcome.stderr


def test_a_history_table_from_before_the_digest_column_still_works(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__users.sql", USERS)
    ok(keel("upgrade"))
    # As an older keel left it: nor was there a unique key on the version (some databases
    # drop no column of an indexed table).
    db.query(db.harness.drop_index_statement("keel_history_version_key", "keel_history"))
    db.query("ALTER TABLE keel_history DROP COLUMN digest")
    ok(keel("status"))
    ok(keel("validate"))
    ok(keel("upgrade"))  # nothing to do: the layout stays as it is
    project.write(
        "V2__orders.sql", "CREATE TABLE orders (id integer);\n-- rollback\nDROP TABLE orders;\n"
    )
    ok(keel("upgrade"))  # writes: the column is added, the new row gets its digest
    assert digests(db) == [None, sha256(project, "V2__orders.sql", db)]
    ok(keel("rollback", "--to", "0"))
    assert db.tables() & {"users", "orders"} == set()


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
    assert digests(db) == [sha256(project, "V1__users.sql", db)]
    ok(keel("validate"))


def test_discovered_files_keep_no_text_and_split_their_statements_from_the_file_again(
    tmp_path: Path,
) -> None:
    # 10 000 files' texts held until the run would be most of keel's memory: a section's
    # statements are read from its file by the source, and only if it is the one checked.
    (tmp_path / "V1__users.sql").write_text(USERS, encoding="utf-8")
    discovered = discover(tmp_path, [SQLITE])
    (found,) = discovered.files
    source = discovered.source
    upgrade = source.statements(found, Direction.UPGRADE)
    assert [s.sql for s in upgrade] == ["CREATE TABLE users (id integer)"]
    assert upgrade[0].line == 1
    assert [s.sql for s in source.statements(found, Direction.ROLLBACK)] == ["DROP TABLE users"]
    assert source.parse(found) == found
    (tmp_path / "V1__users.sql").write_text(USERS.replace("users", "people"), encoding="utf-8")
    with pytest.raises(FileReadError, match="changed while keel was running"):
        source.statements(found, Direction.UPGRADE)


def test_the_status_stream_makes_the_entries_status_returns(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for n in range(1, 4):
        (migrations / f"V{n}__t{n}.sql").write_text(USERS.replace("users", f"t{n}"))
    with Keel(url=f"sqlite:///{tmp_path / 'a.db'}", migrations_dir=migrations) as keel:
        keel.upgrade(count=2)
        (migrations / "V2__t2.sql").write_text(USERS.replace("users", "edited"))
        result, stream = keel.status(), keel.status_stream()
        assert list(stream.entries()) == list(stream.entries()) == list(result.entries)
        assert [e.state for e in result.entries] == ["applied", "mismatched", "pending"]
        assert (stream.problems, stream.head) == (result.problems, result.head) != ((), None)


def test_a_discovered_files_section_is_split_again_without_parsing_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "-- keel test\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n\n" + (
        "-- rollback\nDROP TABLE b;\nDROP TABLE a;\n"
    )
    (tmp_path / "V1__ab.sql").write_text(text, encoding="utf-8")
    discovered = discover(tmp_path, [POSTGRES, SQLITE])
    (found,) = discovered.files
    source = discovered.source
    whole = source.parse(found)
    assert whole.rollback is not None
    monkeypatch.setattr(discovery, "_parse", None)  # an upgrade splits only what runs
    assert source.statements(found, Direction.UPGRADE) == whole.upgrade.statements
    rollback = source.statements(found, Direction.ROLLBACK)
    assert rollback == whole.rollback.statements
    assert [(s.sql, s.line) for s in rollback] == [("DROP TABLE b", 6), ("DROP TABLE a", 7)]


def test_a_discovered_file_reads_its_checksums_from_the_file_only_when_first_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Status of pending files asks for neither checksums nor digest: discovery keeps no
    # text for them, nor computes them while parsing (issue 3).
    text = "CREATE TABLE a (id int);\n-- rollback\nDROP TABLE a;\n"
    (tmp_path / "V1__a.sql").write_text(text, encoding="utf-8")
    discovered = discover(tmp_path, [SQLITE])
    (found,) = discovered.files
    source = discovered.source
    whole = source.parse(found)
    reads: list[str] = []
    real = discovery.read_bytes

    def read_bytes(directory: Path, path: str, directory_fd: int | None = None) -> bytes:
        reads.append(path)
        return real(directory, path, directory_fd)

    monkeypatch.setattr(discovery, "read_bytes", read_bytes)
    assert found.can_roll_back and not found.is_noop and not found.has_checksums
    assert whole.rollback is not None
    assert (found.line(Direction.UPGRADE), found.line(Direction.ROLLBACK)) == (
        whole.upgrade.line,
        whole.rollback.line,
    )
    assert reads == []
    known = source.with_checksums(found)
    assert reads == ["V1__a.sql"]
    assert known == found and known.has_checksums and not found.has_checksums
    assert (known.checksum, known.rollback_checksum, known.digest) == (
        whole.checksum,
        whole.rollback_checksum,
        whole.digest,
    )
    assert known.digest is not None and reads == ["V1__a.sql"]  # read once, then kept


def test_a_discovered_file_changed_before_its_checksums_are_read_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "V1__a.sql").write_text("CREATE TABLE a (id int);\n", encoding="utf-8")
    discovered = discover(tmp_path, [SQLITE])
    (found,) = discovered.files
    (tmp_path / "V1__a.sql").write_text("CREATE TABLE b (id int);\n", encoding="utf-8")
    with pytest.raises(FileReadError, match="changed while keel was running"):
        discovered.source.with_checksums(found)
