"""Bad input a new user may give keel (issue 10, section 2): folders keel cannot read or
write, files that are not what they seem, URLs and names that mean something else. Each
gets one paragraph naming the path and the fix, with the right exit code, and never advice
that would erase history.

Permission tests and root: the suite runs as root, for whom a ``chmod 000`` folder is
still readable (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH). ``keel_restricted`` runs keel as
a real process with those two capabilities dropped from its bounding set (``setpriv``):
it stays uid 0, so it reaches the test's root-owned 0700 temporary folders, but the
kernel checks permission bits for it as for any user, and a ``chmod 000`` folder really
fails with EACCES (errno 13). When the suite is not run as root, no setpriv is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import Database, Run

if TYPE_CHECKING:
    from conftest import Project

Unreadable = Callable[[Path], None]

# Root without the two capabilities that bypass permission bits (see the module docstring).
_WITHOUT_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def keel_restricted(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``keel ARGS`` as a process subject to permission bits even when the suite is root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.pop("DATABASE_URL", None)
    prefix = _WITHOUT_OVERRIDE if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "sqlkeel", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_paragraph(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The process exited ``code`` with one 'keel: error:' line holding every fragment."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert "bug in keel" not in result.stderr
    assert result.stderr.startswith("keel: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result.stderr


@pytest.fixture
def unreadable() -> Iterator[Unreadable]:
    """``unreadable(folder)``: chmod 000 now, readable again after the test (for cleanup)."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        folder.chmod(0)
        made.append(folder)

    yield make
    for folder in made:
        folder.chmod(0o755)


def _a_table(name: str) -> str:
    return f"-- upgrade\nCREATE TABLE {name} (id INTEGER);\n-- rollback\nDROP TABLE {name};\n"


# ---------------------------------------------------------------------------------------
# 2.2 an unreadable migrations folder or sub-folder is an error, never an empty folder


def test_the_permission_tests_really_meet_permission_denied(
    tmp_path: Path, unreadable: Unreadable
) -> None:
    """The premise of the tests below: keel_restricted cannot list a chmod 000 folder."""
    (tmp_path / "closed").mkdir()
    unreadable(tmp_path / "closed")
    prefix = _WITHOUT_OVERRIDE if os.geteuid() == 0 else []
    listing = subprocess.run(
        [*prefix, "ls", str(tmp_path / "closed")], capture_output=True, text=True
    )
    assert listing.returncode != 0
    assert "Permission denied" in listing.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["upgrade"], id="upgrade"),
        pytest.param(["validate", "--offline"], id="validate_offline"),
        pytest.param(["validate"], id="validate"),
        pytest.param(["status"], id="status"),
        pytest.param(["repair", "--missing"], id="repair_missing"),
    ],
)
def test_an_unreadable_sub_folder_stops_keel_naming_the_folder_and_errno(
    project: Project, tmp_path: Path, unreadable: Unreadable, args: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    project.write("V1__a.sql", _a_table("a"))
    project.write("sub/V2__b.sql", _a_table("b"))
    up = keel_restricted(project.root, "--url", url, "upgrade")
    assert up.returncode == 0, up.stderr
    unreadable(project.migrations / "sub")
    result = keel_restricted(project.root, "--url", url, *args)
    stderr = one_paragraph(
        result,
        2,
        f"cannot read folder {project.migrations / 'sub'}: Permission denied (errno 13)",
        "Fix:",
    )
    # keel could not read the files: it must never offer to forget them.
    assert "repair --missing" not in stderr + result.stdout
    assert "missing" not in result.stdout
    rows = Database(url).query("SELECT version FROM keel_history ORDER BY id")
    assert rows == [("1",), ("2",)]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["upgrade"], id="upgrade"),
        pytest.param(["validate", "--offline"], id="validate_offline"),
        pytest.param(["status"], id="status"),
    ],
)
def test_an_unreadable_migrations_folder_stops_keel_naming_it(
    project: Project, tmp_path: Path, unreadable: Unreadable, args: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    project.write("V1__a.sql", _a_table("a"))
    assert keel_restricted(project.root, "--url", url, "upgrade").returncode == 0
    unreadable(project.migrations)
    result = keel_restricted(project.root, "--url", url, *args)
    one_paragraph(
        result, 2, f"cannot read folder {project.migrations}: Permission denied (errno 13)"
    )
    assert "Nothing to do" not in result.stdout
    assert "OK" not in result.stdout


def test_a_migrations_folder_inside_an_unsearchable_folder_is_not_called_missing(
    project: Project, tmp_path: Path, unreadable: Unreadable
) -> None:
    project.write("V1__a.sql", _a_table("a"))
    unreadable(project.root)
    result = keel_restricted(tmp_path, "--dir", str(project.migrations), "validate", "--offline")
    stderr = one_paragraph(
        result, 2, f"cannot read folder {project.migrations}: Permission denied (errno 13)"
    )
    assert "does not exist" not in stderr


def test_an_unreadable_migration_file_is_named_with_its_errno(
    project: Project, tmp_path: Path
) -> None:
    path = project.write("V1__a.sql", _a_table("a"))
    path.chmod(0)
    result = keel_restricted(project.root, "validate", "--offline")
    one_paragraph(result, 2, "V1__a.sql: cannot read the migration file", "(errno 13)")


# ---------------------------------------------------------------------------------------
# 2.13 (e) symbolic links to folders are followed like links to files; loops are refused


def test_a_symlinked_sub_folder_is_read_as_a_symlinked_file_is(
    keel_cli: Run, project: Project, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "V2__shared.sql").write_text(_a_table("shared"), encoding="utf-8")
    (tmp_path / "V3__linked.sql").write_text(_a_table("linked"), encoding="utf-8")
    project.write("V1__a.sql", _a_table("a"))
    os.symlink(shared, project.migrations / "shared")
    os.symlink(tmp_path / "V3__linked.sql", project.migrations / "V3__linked.sql")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    out = keel_cli("--url", url, "upgrade", cwd=project.root)
    assert out.exit_code == 0, out.stderr
    rows = Database(url).query("SELECT version, script FROM keel_history ORDER BY id")
    assert rows == [("1", "V1__a.sql"), ("2", "shared/V2__shared.sql"), ("3", "V3__linked.sql")]


@pytest.mark.parametrize(
    ("link", "target", "words"),
    [
        pytest.param("sub/back", ".", "a symbolic link loop", id="loop_to_the_top"),
        pytest.param("sub/again", "sub", "a symbolic link loop", id="loop_to_its_parent"),
        pytest.param("twice", "sub", "is the folder", id="one_folder_reached_twice"),
    ],
)
def test_a_folder_reached_twice_through_a_symlink_is_refused_naming_the_link(
    keel_cli: Run, project: Project, link: str, target: str, words: str
) -> None:
    project.write("sub/V1__a.sql", _a_table("a"))
    os.symlink(project.migrations / target, project.migrations / link)
    for args in (["validate", "--offline"], ["new", "more"]):
        out = keel_cli(*args, cwd=project.root)
        assert out.exit_code == 2, out.stderr
        assert out.stderr.count("\n") == 1, out.stderr
        assert words in out.stderr
        assert str(project.migrations / link) in out.stderr
        assert "Fix: remove or re-point that link" in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["upgrade"], id="upgrade"),
        pytest.param(["validate", "--offline"], id="validate_offline"),
        pytest.param(["status"], id="status"),
        pytest.param(["repair", "--missing"], id="repair_missing"),
    ],
)
def test_a_symlinked_folder_keel_cannot_reach_stops_keel_naming_link_target_and_errno(
    project: Project, tmp_path: Path, unreadable: Unreadable, args: list[str]
) -> None:
    """os.walk takes a link it cannot stat for a plain file and skips the files behind it:
    keel would call them missing and offer to forget them (issue 10, 2.2 through a link)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    restricted = tmp_path / "restricted"
    (restricted / "sub").mkdir(parents=True)
    (restricted / "sub" / "V2__shared.sql").write_text(_a_table("shared"), encoding="utf-8")
    project.write("V1__a.sql", _a_table("a"))
    link = project.migrations / "shared"
    os.symlink(restricted / "sub", link)
    up = keel_restricted(project.root, "--url", url, "upgrade")
    assert up.returncode == 0, up.stderr
    unreadable(restricted)
    result = keel_restricted(project.root, "--url", url, *args)
    stderr = one_paragraph(
        result,
        2,
        f"{link} -> {restricted / 'sub'}",
        "Permission denied (errno 13)",
        "Fix:",
    )
    assert "repair --missing" not in stderr + result.stdout
    assert "missing" not in result.stdout
    assert "OK" not in result.stdout
    rows = Database(url).query("SELECT version FROM keel_history ORDER BY id")
    assert rows == [("1",), ("2",)]


def test_a_symlinked_migration_file_keel_cannot_reach_is_named_with_its_target(
    project: Project, tmp_path: Path, unreadable: Unreadable
) -> None:
    (tmp_path / "restricted").mkdir()
    target = tmp_path / "restricted" / "V2__b.sql"
    target.write_text(_a_table("b"), encoding="utf-8")
    project.write("V1__a.sql", _a_table("a"))
    os.symlink(target, project.migrations / "V2__b.sql")
    unreadable(tmp_path / "restricted")
    result = keel_restricted(project.root, "validate", "--offline")
    one_paragraph(
        result, 2, f"{project.migrations / 'V2__b.sql'} -> {target}", "(errno 13)", "Fix:"
    )


def test_a_dangling_symlink_named_like_a_migration_is_refused_naming_it(
    keel_cli: Run, project: Project, tmp_path: Path
) -> None:
    project.write("V1__a.sql", _a_table("a"))
    link = project.migrations / "V2__gone.sql"
    os.symlink(tmp_path / "elsewhere" / "V2__gone.sql", link)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    for args in (["validate", "--offline"], ["--url", url, "status"], ["new", "more"]):
        out = keel_cli(*args, cwd=project.root)
        assert out.exit_code == 2, (args, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1, out.stderr
        assert "Traceback" not in out.stderr
        assert f"{link} -> {tmp_path / 'elsewhere' / 'V2__gone.sql'}" in out.stderr
        assert "does not exist" in out.stderr
        assert "Fix:" in out.stderr
    assert not (project.migrations / "V2__more.sql").exists()


def test_a_dangling_symlink_not_named_like_a_migration_is_ignored(
    keel_cli: Run, project: Project, tmp_path: Path
) -> None:
    project.write("V1__a.sql", _a_table("a"))
    os.symlink(tmp_path / "gone", project.migrations / "notes")
    out = keel_cli("validate", "--offline", cwd=project.root)
    assert out.exit_code == 0, out.stderr


def test_a_symlink_loop_of_links_is_refused_naming_the_link_and_errno(
    keel_cli: Run, project: Project
) -> None:
    project.write("V1__a.sql", _a_table("a"))
    os.symlink(project.migrations / "b", project.migrations / "a")
    os.symlink(project.migrations / "a", project.migrations / "b")
    out = keel_cli("validate", "--offline", cwd=project.root)
    assert out.exit_code == 2, out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert f"{project.migrations / 'a'} -> {project.migrations / 'b'}" in out.stderr
    assert "(errno 40)" in out.stderr


# ---------------------------------------------------------------------------------------
# 2.5 version 0 is refused everywhere: `rollback --to 0` means "roll back everything"


@pytest.mark.parametrize("version", ["0", "0.0", "00"])
def test_keel_new_refuses_version_0(keel_cli: Run, project: Project, version: str) -> None:
    out = keel_cli("new", "init", "--version", version, cwd=project.root)
    assert out.exit_code == 2, out.stderr
    assert f"version {version} is 0" in out.stderr
    assert "rollback --to 0" in out.stderr
    assert "Fix: pick a version above 0, e.g. --version 1" in out.stderr
    assert list(project.migrations.iterdir()) == []


def test_a_version_0_file_is_refused_naming_it_and_the_new_name(
    keel_cli: Run, project: Project, tmp_path: Path
) -> None:
    project.write("V0__init.sql", _a_table("a"))
    project.write("V1__b.sql", _a_table("b"))
    url = f"sqlite:///{tmp_path / 'app.db'}"
    for args in (["validate", "--offline"], ["upgrade"]):
        out = keel_cli("--url", url, *args, cwd=project.root)
        assert out.exit_code == 1, out.stderr
        assert "V0__init.sql: version 0 is not a migration version" in out.stderr
        assert "Fix: rename it to V0.1__init.sql" in out.stderr
    assert not (tmp_path / "app.db").exists()
    out = keel_cli("--url", url, "baseline", "0", cwd=project.root)
    assert out.exit_code == 2, out.stderr
    assert "version 0 is 0" in out.stderr


def test_rollback_to_0_rolls_back_every_migration(
    keel: Run, project: Project, db: Database
) -> None:
    project.write("V1__a.sql", _a_table("a"))
    project.write("V1.5__b.sql", _a_table("b"))
    assert keel("upgrade").exit_code == 0
    out = keel("rollback", "--to", "0")
    assert out.exit_code == 0, out.stderr
    assert "now at version none" in out.stdout
    assert db.tables() == {"keel_history", "keel_log"}


# ---------------------------------------------------------------------------------------
# 2.12 a PostgreSQL URL must name its database, as a MySQL URL must


@pytest.mark.parametrize("tail", ["", "/"], ids=["no_path", "empty_path"])
@pytest.mark.parametrize("command", ["upgrade", "status"])
def test_a_postgresql_url_without_a_database_is_refused(
    keel_cli: Run, project: Project, pg_url: str, tail: str, command: str
) -> None:
    server = pg_url.rsplit("/", 1)[0]
    project.write("V1__a.sql", _a_table("keel_t_no_database"))
    default = Database(server + "/postgres")  # the database the server would choose
    try:
        out = keel_cli("--url", server + tail, command, cwd=project.root)
        assert out.exit_code == 2, (out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1
        assert f"the PostgreSQL URL {server + tail} names no database" in out.stderr
        assert "add it after the host, e.g. postgresql://app@db.example.com:5432/app" in (
            out.stderr
        )
        assert "keel_t_no_database" not in default.tables()
    finally:  # undo what a keel that migrated the default database did there
        if "keel_t_no_database" in default.tables():
            default.query("DROP TABLE keel_t_no_database, keel_history, keel_log")


def test_a_postgresql_url_may_name_its_database_as_a_parameter(
    keel_cli: Run, project: Project, pg_url: str
) -> None:
    server, name = pg_url.rsplit("/", 1)
    project.write("V1__a.sql", _a_table("a"))
    out = keel_cli("--url", f"{server}/?dbname={name}", "upgrade", cwd=project.root)
    assert out.exit_code == 0, out.stderr
    assert "a" in Database(pg_url).tables()


# ---------------------------------------------------------------------------------------
# 2.3 an SQLite folder or file keel may not write, and init in a read-only folder: exit 2


def _read_only(folder: Path) -> Iterator[Path]:
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    yield from _read_only(tmp_path / "read-only")


@pytest.mark.parametrize("before", ["nothing", "database", "database_and_lock_file"])
def test_an_sqlite_database_in_a_folder_keel_cannot_write_is_exit_2_naming_the_folder(
    project: Project, tmp_path: Path, read_only_folder: Path, before: str
) -> None:
    url = f"sqlite:///{read_only_folder / 'app.db'}"
    project.write("V1__a.sql", _a_table("a"))
    if before != "nothing":  # made by an earlier run, before the folder became read-only
        read_only_folder.chmod(0o755)
        assert keel_restricted(project.root, "--url", url, "upgrade").returncode == 0
        if before == "database":
            (read_only_folder / "app.db.keel-lock").unlink()
        read_only_folder.chmod(0o555)
        project.write("V2__b.sql", _a_table("b"))
    # (With no database yet there is nothing to roll back: that says so, exit 0.)
    writing = (
        [["upgrade"], ["baseline", "1"]] if before == "nothing" else [["upgrade"], ["rollback"]]
    )
    for args in writing:
        result = keel_restricted(project.root, "--url", url, *args)
        one_paragraph(
            result,
            2,
            f"the folder {read_only_folder} of the SQLite database is not writable",
            f"Fix: let keel's user write to {read_only_folder}",
        )
        assert "rollback section" not in result.stderr
    # Reading needs no writing.
    status = keel_restricted(project.root, "--url", url, "status")
    assert status.returncode == 0, status.stderr


def test_a_read_only_sqlite_file_is_exit_2_and_still_readable(
    project: Project, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    project.write("V1__a.sql", _a_table("a"))
    assert keel_restricted(project.root, "--url", url, "upgrade").returncode == 0
    (tmp_path / "app.db").chmod(0o444)
    project.write("V2__b.sql", _a_table("b"))
    result = keel_restricted(project.root, "--url", url, "upgrade")
    one_paragraph(
        result,
        2,
        f"the SQLite database file {tmp_path / 'app.db'} is read-only",
        f"Fix: chmod u+w {tmp_path / 'app.db'}",
    )
    assert "Fix the statement" not in result.stderr
    status = keel_restricted(project.root, "--url", url, "status")
    assert status.returncode == 0, status.stderr
    assert Database(url).query("SELECT version FROM keel_history") == [("1",)]


def test_an_sqlite_database_where_no_file_can_be_made_is_exit_2_naming_the_lock_file(
    keel_cli: Run, project: Project
) -> None:
    project.write("V1__a.sql", _a_table("a"))
    out = keel_cli("--url", "sqlite:////proc/x.db", "upgrade", cwd=project.root)
    assert out.exit_code == 2, out.stderr
    assert out.stderr.count("\n") == 1
    assert "bug in keel" not in out.stderr
    assert "/proc/x.db.keel-lock: No such file or directory (errno 2)" in out.stderr
    assert "Fix:" in out.stderr


def test_init_in_a_read_only_folder_is_exit_2_naming_what_it_could_not_create(
    read_only_folder: Path,
) -> None:
    result = keel_restricted(read_only_folder, "init")
    one_paragraph(
        result,
        2,
        f"cannot create {read_only_folder / 'migrations'}: Permission denied (errno 13)",
        "Fix: run 'keel init' in a folder keel's user may write to",
    )


# ---------------------------------------------------------------------------------------
# 2.11 keel's table name taken by something else, a file that is no database: each named


@pytest.mark.parametrize("command", ["upgrade", "status", "history"])
def test_a_history_table_made_by_another_tool_is_named_with_the_table_setting_as_fix(
    keel: Run, project: Project, db: Database, command: str
) -> None:
    db.query("CREATE TABLE keel_history (installed_rank INTEGER, script VARCHAR(100))")
    project.write("V1__a.sql", _a_table("a"))
    out = keel(command)
    assert out.exit_code == 2, (out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1
    assert "keel_history was not made by keel" in out.stderr
    assert "it lacks keel's columns id, version, kind, checksum, state" in out.stderr
    assert 'Fix: set table = "keel_migrations"' in out.stderr
    assert "run 'keel status'" not in out.stderr
    assert db.tables() == {"keel_history"}  # nothing created, the other tool's table intact
    assert [len(row) for row in db.query("SELECT * FROM keel_history")] == []
    db.query("INSERT INTO keel_history VALUES (1, 'x')")
    assert db.query("SELECT * FROM keel_history") == [(1, "x")]  # no column was added


def test_a_log_table_made_by_another_tool_is_named_too(
    keel_cli: Run, project: Project, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    db = Database(url)
    db.query("CREATE TABLE keel_log (message TEXT)")
    project.write("V1__a.sql", _a_table("a"))
    out = keel_cli("--url", url, "upgrade", cwd=project.root)
    assert out.exit_code == 2, out.stderr
    assert "the table keel_log was not made by keel: it lacks keel's columns id, action" in (
        out.stderr
    )
    assert "a" not in db.tables()
    assert db.query("SELECT * FROM keel_log") == []


@pytest.mark.parametrize("command", ["upgrade", "status"])
def test_a_view_named_like_the_history_table_is_named_as_a_view(
    keel: Run, project: Project, db: Database, command: str
) -> None:
    db.query("CREATE VIEW keel_history AS SELECT 1 AS x")
    project.write("V1__a.sql", _a_table("a"))
    out = keel(command)
    assert out.exit_code == 2, (out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1
    assert "keel_history is a view, not a table" in out.stderr
    assert 'Fix: set table = "keel_migrations"' in out.stderr
    assert "a" not in db.tables()


@pytest.mark.parametrize("command", ["upgrade", "status", "history"])
def test_a_file_that_is_not_an_sqlite_database_is_named_so(
    keel_cli: Run, project: Project, tmp_path: Path, command: str
) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    project.write("V1__a.sql", _a_table("a"))
    out = keel_cli("--url", f"sqlite:///{notes}", command, cwd=project.root)
    assert out.exit_code == 2, (out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1
    assert f"{notes} is not an SQLite database file" in out.stderr
    assert "Fix: check the path in the URL" in out.stderr
    assert notes.read_text(encoding="utf-8").startswith("these are my notes")


def test_new_in_a_read_only_migrations_folder_is_exit_2_naming_the_file(
    project: Project,
) -> None:
    project.migrations.chmod(0o555)
    try:
        result = keel_restricted(project.root, "new", "add users", "--version", "1")
    finally:
        project.migrations.chmod(0o755)
    one_paragraph(
        result,
        2,
        f"cannot create {project.migrations / 'V1__add_users.sql'}: Permission denied (errno 13)",
        "Fix:",
    )


def test_lock_status_with_an_unreadable_sqlite_lock_file_is_exit_2_naming_it(
    project: Project, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    project.write("V1__a.sql", _a_table("a"))
    assert keel_restricted(project.root, "--url", url, "upgrade").returncode == 0
    lock = tmp_path / "app.db.keel-lock"
    lock.chmod(0)
    result = keel_restricted(project.root, "--url", url, "lock-status")
    one_paragraph(result, 2, f"cannot read keel's lock file {lock}: Permission denied (errno 13)")
