"""Shared fixtures: real databases, one fresh database per test, and a CLI runner.

PostgreSQL and MariaDB must be reachable (the CI script starts them); a test that needs a
server it cannot reach fails loudly instead of skipping.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sqlkeel.testing import DialectHarness, HarnessUnavailable, harness_of, harnesses
from sqlkeel.testing import holding_lock as holding_lock  # tests import it from here


def _harness(id_: str) -> DialectHarness:
    for harness in harnesses():
        if harness.id == id_:
            return harness
    raise LookupError(f"no harness with id {id_!r}")


HARNESS_IDS = [h.id for h in harnesses()]


@contextmanager
def _fresh(harness: DialectHarness, tmp_path: Path) -> Iterator[str]:
    """A fresh database of ``harness``'s family for this test, dropped afterwards; a server
    that cannot be reached fails the test loudly instead of skipping it."""
    try:
        url = harness.create_database(tmp_path)
    except HarnessUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield url
    finally:
        harness.drop_database(url)


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    with _fresh(_harness("postgres"), tmp_path) as url:
        yield url


PG_ADMIN_URL = _harness("postgres").admin_url  # type: ignore[attr-defined]
MYSQL_ADMIN: dict[str, Any] = _harness("mysql").admin  # type: ignore[attr-defined]


def mysql_database_url(name: str) -> str:
    return f"mysql://root@{MYSQL_ADMIN['host']}:{MYSQL_ADMIN['port']}/{name}"


def mysql_admin(sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
    """Run one statement as MariaDB's root, in autocommit mode; its rows, if any."""
    from sqlkeel.dialects.mysql.harness import admin_query

    return admin_query(sql, database)


@pytest.fixture
def mysql_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty MariaDB database for this test, dropped afterwards."""
    with _fresh(_harness("mysql"), tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database file for this test: the CLI's tests run on it, the cheapest."""
    with _fresh(_harness("sqlite"), tmp_path) as url:
        yield url


@pytest.fixture(params=HARNESS_IDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once per registered family (its harness), against a fresh
    database; ``parametrize("db_url", [ids], indirect=True)`` picks families."""
    with _fresh(_harness(request.param), tmp_path) as url:
        yield url


@pytest.fixture
def harness(db_url: str) -> DialectHarness:
    """The harness of the family ``db_url`` is a database of."""
    return harness_of(db_url)


def families(select: Callable[[DialectHarness], bool]) -> pytest.MarkDecorator:
    """Run a test taking ``db_url`` once per registered family whose harness ``select``
    accepts (by what the family can do, never by its name)."""
    ids = [h.id for h in harnesses() if select(h)]
    return pytest.mark.parametrize("db_url", ids, indirect=True)


# For a test of what a failed transaction undoes: on families whose DDL commits implicitly
# (MySQL/MariaDB), tests of their own say what happens there instead.
TRANSACTIONAL_DDL = families(lambda h: h.capabilities.transactional_ddl)
# For a test of what DDL that committed at once leaves when a migration fails part-way.
NON_TRANSACTIONAL_DDL = families(lambda h: not h.capabilities.transactional_ddl)


# For a test of what happens on a database server (sessions the server runs, ends or
# keeps locks for), as opposed to a file this process opens.
SERVERS = families(lambda h: h.is_server)


@dataclass
class Project:
    """A migrations directory the test writes files into."""

    root: Path

    @property
    def migrations(self) -> Path:
        return self.root / "migrations"

    def write(self, name: str, sql: str) -> Path:
        path = self.migrations / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(sql).lstrip("\n"), encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    p = Project(tmp_path / "project")
    p.migrations.mkdir(parents=True)
    return p


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def keel_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Outcome]:
    """Run keel in-process through the real entry point; no configuration leaks in.

    ``run(*args, cwd=..., env=...)`` calls ``main(args)``, the console script's entry point,
    with stdout and stderr captured apart (neither is a terminal, so no colour) and returns
    the exit code it ends with; ``env`` applies to that call only, a value of None removing
    the variable; ``cwd`` stays for the rest of the test.
    """
    from sqlkeel.cli.app import main

    for var in list(os.environ):
        if var.startswith("KEEL_") or var == "DATABASE_URL":
            monkeypatch.delenv(var)

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None
    ) -> Outcome:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        stdout, stderr = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as scoped:
            for name, value in (env or {}).items():
                if value is None:
                    scoped.delenv(name, raising=False)
                else:
                    scoped.setenv(name, value)
            scoped.setattr(sys, "stdout", stdout)
            scoped.setattr(sys, "stderr", stderr)
            try:
                main(list(args))
            except SystemExit as exc:  # how main ends, always: with the exit code
                code = exc.code
            else:
                raise AssertionError("keel's main() returned instead of exiting")
        assert isinstance(code, int), code
        return Outcome(code, stdout.getvalue(), stderr.getvalue())

    return run


@dataclass
class Database:
    """Looks at a test database directly through its driver, independently of keel."""

    url: str
    harness: DialectHarness = field(init=False)

    def __post_init__(self) -> None:
        self.harness = harness_of(self.url)

    @property
    def has_transactional_ddl(self) -> bool:
        """Whether a failed migration's DDL is rolled back (not on MySQL/MariaDB)."""
        return self.harness.capabilities.transactional_ddl

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Run one statement in autocommit mode; its rows, if it returns any."""
        return self.harness.query(self.url, sql)

    def tables(self) -> set[str]:
        """Names of the user tables (keel's own included)."""
        return self.harness.tables(self.url)


@pytest.fixture
def db(db_url: str) -> Database:
    """Direct access to the ``db_url`` database, for checking what keel really did."""
    return Database(db_url)


Run = Callable[..., Outcome]


@pytest.fixture
def keel(keel_cli: Run, db_url: str, project: Project) -> Run:
    """``keel <args> --url <db_url> --dir <migrations>`` run from the project's folder."""

    def run(*args: str) -> Outcome:
        return keel_cli(*args, "--url", db_url, "--dir", str(project.migrations), cwd=project.root)

    return run


def keel_process(url: str, migrations: Path, *args: str) -> subprocess.Popen[str]:
    """``keel --url URL --dir MIGRATIONS ARGS`` as a real process; no configuration leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "sqlkeel", "--url", url, "--dir", str(migrations), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def ok(outcome: Outcome) -> Outcome:
    """A success: exit 0 and no traceback anywhere."""
    assert outcome.exit_code == 0, outcome.stderr
    assert "Traceback" not in outcome.stdout + outcome.stderr
    return outcome


def history_rows(keel: Run) -> list[dict[str, Any]]:
    """``keel history --json`` as data."""
    import json

    rows: list[dict[str, Any]] = json.loads(ok(keel("history", "--json")).stdout)["migrations"]
    return rows


KEEL_TABLES = {"keel_history", "keel_log"}


def user_tables(db: Database) -> set[str]:
    """The tables migrations made: everything but keel's own."""
    return db.tables() - KEEL_TABLES


def failed(outcome: Outcome) -> str:
    """A migration failure: exit 1, one report on stderr, never a traceback; returns the
    report (after any notes that came before the run, as on MySQL)."""
    assert outcome.exit_code == 1, (outcome.stdout, outcome.stderr)
    assert "Traceback" not in outcome.stdout + outcome.stderr
    report = "".join(
        line
        for line in outcome.stderr.splitlines(keepends=True)
        if not line.startswith("keel: note: ")
    )
    assert report.startswith("keel: error: ")
    assert report.count("keel: error:") == 1
    return report


def log(keel: Run) -> list[tuple[str, str | None, str]]:
    """``keel history --log --json`` as (action, version, outcome)."""
    import json

    rows = json.loads(ok(keel("history", "--log", "--json")).stdout)["log"]
    return [(r["action"], r["version"], r["outcome"]) for r in rows]


# ---------------------------------------------------------------------------------------
# PgBouncer in transaction pooling mode, in front of the local PostgreSQL (SPEC 10)

PGBOUNCER = os.environ.get("KEEL_TEST_PGBOUNCER", "/usr/sbin/pgbouncer")


@dataclass
class Pooler:
    """A PgBouncer of this test session's own: ``url(database)`` reaches a database of the
    local PostgreSQL through it."""

    port: int
    root: Path

    def url(self, pg_url: str) -> str:
        """``pg_url`` (a database of the local server) through the pooler."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(pg_url)
        user = f"{parts.username}@" if parts.username else ""
        host = f"{user}127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[Pooler]:
    """PgBouncer on a free port, ``pool_mode = transaction``, in front of 127.0.0.1:5432;
    started here and stopped at the end. A missing binary fails loudly (the CI script
    installs the Debian package ``pgbouncer``). PgBouncer refuses to run as root: it runs
    as the postgres user, from a folder that user owns."""
    import shutil
    import tempfile
    import time
    from urllib.parse import urlsplit

    if not os.access(PGBOUNCER, os.X_OK):
        pytest.fail(
            f"PgBouncer is not installed at {PGBOUNCER}: the table lock mode tests need it. "
            "Fix: apt-get install -y pgbouncer (.ci/run does this), or set KEEL_TEST_PGBOUNCER.",
            pytrace=False,
        )
    server = urlsplit(PG_ADMIN_URL)
    root = Path(tempfile.mkdtemp(prefix="keel-pgbouncer-"))
    port = _free_port()
    (root / "userlist.txt").write_text('"postgres" ""\n', encoding="utf-8")
    (root / "pgbouncer.ini").write_text(
        textwrap.dedent(
            f"""\
            [databases]
            * = host={server.hostname or "127.0.0.1"} port={server.port or 5432}
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir = {root}
            auth_type = trust
            auth_file = {root / "userlist.txt"}
            pool_mode = transaction
            max_client_conn = 500
            default_pool_size = 40
            logfile = {root / "pgbouncer.log"}
            """
        ),
        encoding="utf-8",
    )
    owner: dict[str, Any] = {}
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        for name in ("userlist.txt", "pgbouncer.ini"):
            shutil.chown(root / name, "postgres")
        owner = {"user": "postgres", "group": "postgres", "extra_groups": []}
    process = subprocess.Popen(
        [PGBOUNCER, str(root / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        cwd=root,
        **owner,
    )
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(
                    host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                    connect_timeout=2, prepare_threshold=None,
                ).close()  # fmt: skip
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log_file = root / "pgbouncer.log"
                    tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                    pytest.fail(f"PgBouncer did not start on port {port}:\n{tail}", pytrace=False)
                time.sleep(0.1)
        yield Pooler(port, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
