"""Migration files are honest values, found once per directory (issue 11, part 2):
comparing, hashing and showing a file reads nothing; its statements and unknown checksums
come through the set it was found in, which any number of databases and threads share."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from sqlkeel import discovery
from sqlkeel.api import Keel
from sqlkeel.core.model import ChecksumsUnknown, Direction, HistoryRow
from sqlkeel.core.plan import EVERYTHING, plan_rollback, plan_upgrade
from sqlkeel.core.splitter import SQLITE
from sqlkeel.discovery import MigrationSet


def table(n: int) -> str:
    return (
        f"CREATE TABLE t{n} (id integer);\nINSERT INTO t{n} VALUES ({n});\n"
        f"-- rollback\nDROP TABLE t{n};\n"
    )


def write(directory: Path, count: int) -> None:
    directory.mkdir(exist_ok=True)
    for n in range(1, count + 1):
        (directory / f"V{n}__t{n}.sql").write_text(table(n), encoding="utf-8")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file read through discovery, by path."""
    seen: list[str] = []
    real = discovery.read_bytes

    def read_bytes(directory: Path, path: str, directory_fd: int | None = None) -> bytes:
        seen.append(path)
        return real(directory, path, directory_fd)

    monkeypatch.setattr(discovery, "read_bytes", read_bytes)
    return seen


def applied_history(
    tmp_path: Path, migrations: Path, name: str, count: int
) -> tuple[HistoryRow, ...]:
    """The history of a real SQLite database with the first ``count`` migrations applied."""
    with Keel(url=f"sqlite:///{tmp_path / name}", migrations_dir=migrations) as keel:
        keel.upgrade(count=count)
        return keel.history().rows


def test_comparing_hashing_and_showing_a_file_reads_nothing(
    tmp_path: Path, reads: list[str]
) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, 2)
    history = applied_history(tmp_path, migrations, "a.db", 1)
    files = MigrationSet(migrations, [SQLITE]).match(history).files
    again = MigrationSet(migrations, [SQLITE]).match().files  # V1 parsed this time
    reads.clear()
    for path in ("V1__t1.sql", "V2__t2.sql"):
        (migrations / path).unlink()  # nothing left to read
    applied, pending = files
    assert applied == applied and pending == pending  # f == f: the point
    assert files == again and hash(files) == hash(again)
    assert len({*files, *again}) == 2
    assert "V2__t2.sql" in repr(pending) and "fingerprint=" in repr(pending)
    assert applied != pending
    assert not pending.has_checksums  # pending: never computed, and == did not need them
    with pytest.raises(ChecksumsUnknown):
        _ = pending.checksum
    assert reads == []


def test_a_file_whose_bytes_change_is_another_value(tmp_path: Path) -> None:
    write(tmp_path, 1)
    before = MigrationSet(tmp_path, [SQLITE]).match().files
    (tmp_path / "V1__t1.sql").write_text(table(1).replace("VALUES (1)", "VALUES (2)"))
    after = MigrationSet(tmp_path, [SQLITE]).match().files
    assert before != after


def test_one_set_serves_two_databases_each_matched_to_its_own_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, 4)
    first = applied_history(tmp_path, migrations, "a.db", 1)
    second = applied_history(tmp_path, migrations, "b.db", 3)
    parsed: list[str] = []
    real = discovery.outline_migration

    def outline_migration(path: str, *args: object, **kwargs: object) -> object:
        parsed.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(discovery, "outline_migration", outline_migration)
    found = MigrationSet(migrations, [SQLITE])
    a, b = found.match(first), found.match(second)
    # A file exactly as its row recorded it is not parsed; one parse serves both databases.
    assert sorted(parsed) == ["V2__t2.sql", "V3__t3.sql", "V4__t4.sql"]
    assert a.files == b.files
    assert [s.migration.path for s in plan_upgrade(a.files, first, support=EVERYTHING).steps] == [
        "V2__t2.sql",
        "V3__t3.sql",
        "V4__t4.sql",
    ]
    assert [s.migration.path for s in plan_upgrade(b.files, second, support=EVERYTHING).steps] == [
        "V4__t4.sql"
    ]
    # Files with a row have their checksums known, to be compared; pending ones do not.
    assert [f.has_checksums for f in b.files] == [True, True, True, False]
    assert found.match(first).files == a.files and sorted(parsed) == sorted(set(parsed))


def test_two_threads_share_one_set(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, 30)
    histories = (
        applied_history(tmp_path, migrations, "a.db", 10),
        applied_history(tmp_path, migrations, "b.db", 25),
    )
    found = MigrationSet(migrations, [SQLITE])

    def work(history: tuple[HistoryRow, ...]) -> list[object]:
        files = found.match(history).files
        plan = plan_upgrade(files, history, support=EVERYTHING)
        undo = plan_rollback(files, history, support=EVERYTHING, count=len(history))
        return [
            files,
            [found.checksums(s.migration) for s in plan.steps],
            [found.statements(s.migration, Direction.UPGRADE) for s in plan.steps],
            [found.statements(s.migration, Direction.ROLLBACK) for s in undo.steps],
        ]

    expected = [work(history) for history in histories]
    results: dict[int, list[list[object]]] = {0: [], 1: []}
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            for _ in range(20):
                results[index].append(work(histories[index]))
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(r == expected[0] for r in results[0])
    assert all(r == expected[1] for r in results[1])
    assert len(expected[0][1]) == 20 and len(expected[1][1]) == 5  # type: ignore[arg-type]


def test_discovery_leaves_the_garbage_collector_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, 3)

    def refuse() -> None:
        raise AssertionError("library code switched the process-wide garbage collector")

    monkeypatch.setattr(gc, "disable", refuse)
    monkeypatch.setattr(gc, "enable", refuse)
    assert len(MigrationSet(tmp_path, [SQLITE]).match().files) == 3
    assert gc.isenabled()


def test_keels_of_two_databases_share_one_set_through_the_api(tmp_path: Path) -> None:
    """``Keel(migrations=...)``: the folder is listed and parsed once for a fleet."""
    from sqlkeel import Keel
    from sqlkeel import MigrationSet as Exported

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__t1.sql").write_text("CREATE TABLE t1 (id int);\n")
    shared = Exported(migrations, [SQLITE])
    (migrations / "V2__t2.sql").write_text("CREATE TABLE t2 (id int);\n")  # after the listing
    for name in ("a", "b"):
        with Keel(f"sqlite:///{tmp_path / name}.db", migrations=shared, cwd=tmp_path) as keel:
            assert [s.migration.path for s in keel.upgrade().plan.steps] == ["V1__t1.sql"]


def test_a_shared_set_of_another_folder_or_other_split_rules_is_refused(tmp_path: Path) -> None:
    from sqlkeel import Keel, UsageError
    from sqlkeel.core.splitter import MYSQL

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    other = tmp_path / "other"
    other.mkdir()
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with (
        Keel(url, migrations, migrations=MigrationSet(other, [SQLITE]), cwd=tmp_path) as keel,
        pytest.raises(UsageError, match=r"lists .*other.*migrations_dir"),
    ):
        keel.status()
    with (
        Keel(url, migrations, migrations=MigrationSet(migrations, [MYSQL]), cwd=tmp_path) as keel,
        pytest.raises(UsageError, match="splits files for other databases"),
    ):
        keel.status()
