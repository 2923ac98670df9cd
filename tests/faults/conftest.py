"""Private database servers for the fault suite, and the helpers its scenarios share.

The fault tests stop, freeze (SIGSTOP) and kill servers, so they never touch the shared
ones: each xdist worker that runs them starts its own PostgreSQL 15 and MariaDB 10.11 on
free ports in temporary directories (a few seconds), and stops them at the end. Tests on
one private server share an ``xdist_group``, so they run one after another on one worker.
A server that cannot start fails the tests loudly, with the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MARIADB_INSTALL = "mariadb-install-db"
MARIADBD = "/usr/sbin/mariadbd"
HOST = "127.0.0.1"

# Round counts: the defaults keep the suite within its budget; raise them for a soak run.
ROUNDS = int(os.environ.get("KEEL_FAULT_ROUNDS", "50"))
SEED = int(os.environ.get("KEEL_FAULT_SEED", "20261204"))

# xdist groups: tests on one private server run on one worker, one after another.
ON_PRIVATE_PG = pytest.mark.xdist_group("faults-postgres")
ON_PRIVATE_MYSQL = pytest.mark.xdist_group("faults-mariadb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the fields follow it.
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found.extend(kids)
        todo.extend(kids)
    return found


def _log_tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-15:])
    except OSError as exc:
        return f"(no log: {exc})"


@dataclass
class Server:
    """A private database server this test session owns."""

    kind: str  # "postgres" or "mysql"
    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    # -- life cycle ----------------------------------------------------------------------
    def init(self) -> None:
        if self.kind == "postgres":
            data = self.root / "data"
            shutil.chown(self.root, "postgres")
            self._check(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-N",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                "initdb",
            )
        else:
            self._check(
                [
                    MARIADB_INSTALL,
                    "--no-defaults",
                    f"--datadir={self.root / 'data'}",
                    "--user=root",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                "mariadb-install-db",
            )

    def _as_owner(self) -> dict[str, Any]:
        """PostgreSQL refuses to run as root: its programs run as the postgres user (not
        through runuser, which stops itself when its child is stopped by SIGSTOP)."""
        if self.kind != "postgres" or os.geteuid() != 0:
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def _check(self, argv: list[str], what: str) -> None:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=120, cwd=self.root, **self._as_owner()
        )
        if done.returncode != 0:
            pytest.fail(
                f"the private {self.kind} server could not be created: {what} exited "
                f"{done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}",
                pytrace=False,
            )

    def start(self) -> None:
        """Start the server and wait until it takes connections (fails loudly otherwise)."""
        if self.kind == "postgres":
            argv = [
                str(PG_BIN / "postgres"),
                "-D", str(self.root / "data"), "-p", str(self.port), "-k", str(self.root),
                "-c", f"listen_addresses={HOST}", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200", "-c", "shared_buffers=32MB",
            ]  # fmt: skip
        else:
            argv = [
                MARIADBD, "--no-defaults", f"--datadir={self.root / 'data'}",
                f"--port={self.port}", f"--socket={self.root / 'mysqld.sock'}",
                f"--pid-file={self.root / 'mysqld.pid'}", "--user=root",
                f"--bind-address={HOST}", "--skip-name-resolve", "--skip-log-bin",
                "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
                "--innodb-flush-log-at-trx-commit=0", "--max-connections=200",
            ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, **self._as_owner()
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.admin("SELECT 1")
                return
            except Exception:
                time.sleep(0.1)
        self.kill()
        pytest.fail(
            f"the private {self.kind} server on port {self.port} did not start:\n"
            f"{_log_tail(self.log)}",
            pytrace=False,
        )

    def server_pid(self) -> int:
        """The postmaster's or mariadbd's pid."""
        assert self.process is not None
        return self.process.pid

    def processes(self) -> list[int]:
        pid = self.server_pid()
        return [pid, *children(pid)]

    def stop(self) -> None:
        """A clean shutdown, as an administrator does (PostgreSQL's fast mode, SIGTERM)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        os.kill(self.server_pid(), signal.SIGINT if self.kind == "postgres" else signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP the server and every process of it: it accepts TCP (the kernel does)
        but answers nothing."""
        for pid in self.processes():
            # A backend may end between the listing and the signal (a client that left).
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    # -- SQL -----------------------------------------------------------------------------
    def connect(self, database: str | None = None) -> Any:
        if self.kind == "postgres":
            import psycopg

            return psycopg.connect(
                host=HOST, port=self.port, user="postgres", dbname=database or "postgres",
                autocommit=True, connect_timeout=5,
            )  # fmt: skip
        import pymysql

        return pymysql.connect(
            host=HOST, port=self.port, user="root", database=database, autocommit=True,
            connect_timeout=5, read_timeout=30,
        )  # fmt: skip

    def admin(self, sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
        """One statement as the superuser, in autocommit mode; its rows, if any."""
        conn = self.connect(database)
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def url(self, database: str) -> str:
        scheme = "postgresql://postgres" if self.kind == "postgres" else "mysql://root"
        return f"{scheme}@{HOST}:{self.port}/{database}"

    def new_database(self) -> str:
        name = f"keel_f_{uuid.uuid4().hex[:10]}"
        quoted = f'"{name}"' if self.kind == "postgres" else f"`{name}`"
        self.admin(f"CREATE DATABASE {quoted}")
        return name


def _server(kind: str) -> Iterator[Server]:
    root = Path(tempfile.mkdtemp(prefix=f"keel-fault-{kind}-"))
    server = Server(kind, root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def private_pg() -> Iterator[Server]:
    """A PostgreSQL 15 of this session's own, on a free port."""
    yield from _server("postgres")


@pytest.fixture(scope="session")
def private_mysql() -> Iterator[Server]:
    """A MariaDB 10.11 of this session's own, on a free port."""
    yield from _server("mysql")


def _param(dialect: str) -> Any:
    marks = {"postgres": [ON_PRIVATE_PG], "mysql": [ON_PRIVATE_MYSQL]}.get(dialect, [])
    return pytest.param(dialect, marks=marks, id=dialect)


DIALECTS = ("sqlite", "postgres", "mysql")
# Tests taking ``dialect`` run once per dialect: the server ones in their server's group.
ALL_DIALECTS = pytest.mark.parametrize(
    "dialect", [_param(d) for d in ("sqlite", "postgres", "mysql")]
)
SERVER_DIALECTS = pytest.mark.parametrize("dialect", [_param(d) for d in ("postgres", "mysql")])


@pytest.fixture
def server(dialect: str, request: pytest.FixtureRequest) -> Server | None:
    """The private server of the test's dialect (None for SQLite), running and thawed."""
    if dialect == "sqlite":
        return None
    s: Server = request.getfixturevalue(
        {"postgres": "private_pg", "mysql": "private_mysql"}[dialect]
    )
    if s.process is None or s.process.poll() is not None:  # a test before it stopped it
        s.start()
    s.thaw()
    return s


@pytest.fixture
def target(dialect: str, server: Server | None, tmp_path: Path) -> Target:
    """A fresh database of the test's dialect, with the tables migrations count into."""
    return make_target(dialect, tmp_path, server)


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    path = tmp_path / "migrations"
    path.mkdir()
    return path


# ---------------------------------------------------------------------------------------
# A target database and the migrations the scenarios run


@dataclass
class Target:
    """One database under test, with a direct connection for checking what keel did."""

    dialect: str  # "postgres", "mysql" or "sqlite"
    url: str
    server: Server | None = None
    database: str = ""

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.server is not None:
            return self.server.admin(sql, self.database)
        import sqlite3
        from contextlib import closing

        path = self.url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as conn:
            return list(conn.execute(sql).fetchall())

    def tables(self) -> set[str]:
        if self.dialect == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        elif self.dialect == "mysql":
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        else:
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        return {str(r[0]) for r in self.query(sql)}

    def versions(self) -> list[tuple[str, str]]:
        """(version, state) of every versioned history row, in insertion order."""
        return [
            (str(v), str(s))
            for v, s in self.query(
                "SELECT version, state FROM keel_history WHERE version IS NOT NULL ORDER BY id"
            )
        ]

    def counter(self) -> list[int]:
        """One entry per time a migration's body ran and committed."""
        return sorted(int(r[0]) for r in self.query("SELECT version FROM fault_counter"))


def sleep_sql(dialect: str, seconds: float) -> str:
    """A statement that keeps the server busy for about ``seconds``."""
    if dialect == "postgres":
        return f"SELECT pg_sleep({seconds})"
    if dialect == "mysql":
        return f"DO SLEEP({seconds})"
    # SQLite has no sleep(): a recursive count keeps the statement busy (3-5 M rows/s here).
    rows = max(1, int(seconds * 3_000_000))
    return (
        f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) "
        "SELECT count(*) FROM c"
    )


def counted_migration(dialect: str, n: int, *, seconds: float = 0.0, ddl: bool = True) -> str:
    """Migration ``n``: one row in fault_counter (two rows if it ran twice), ``seconds`` of
    server time, and a table t_n. On MySQL/MariaDB a migration with DDL runs outside a
    transaction, so ``ddl=False`` keeps it transactional: a row in fault_tables instead."""
    body = [f"INSERT INTO fault_counter (version) VALUES ({n});"]
    if seconds:
        body.append(sleep_sql(dialect, seconds) + ";")
    if ddl:
        # IF NOT EXISTS: a second run of the file must show as two counter rows (counted),
        # not stop at "already exists".
        body.append(f"CREATE TABLE IF NOT EXISTS t_{n} (id integer);")
        rollback = f"DROP TABLE t_{n};"
    else:
        body.append(f"INSERT INTO fault_tables (version) VALUES ({n});")
        rollback = f"DELETE FROM fault_tables WHERE version = {n};"
    rollback += f"\nDELETE FROM fault_counter WHERE version = {n};"
    return "-- upgrade\n" + "\n".join(body) + "\n-- rollback\n" + rollback + "\n"


def prepare_target(target: Target) -> None:
    """The tables migrations count into, made outside keel (so rollbacks keep them)."""
    target.query("CREATE TABLE fault_counter (version integer NOT NULL)")
    target.query("CREATE TABLE fault_tables (version integer NOT NULL)")


def make_target(dialect: str, tmp_path: Path, server: Server | None) -> Target:
    if dialect == "sqlite":
        target = Target("sqlite", f"sqlite:///{tmp_path / 'fault.db'}")
    else:
        assert server is not None
        database = server.new_database()
        target = Target(dialect, server.url(database), server, database)
    prepare_target(target)
    return target


def keel(target: Target, migrations: Path, *args: str) -> subprocess.Popen[str]:
    """``keel --url URL --dir MIGRATIONS ARGS`` as a real process; no configuration leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "sqlkeel", "--url", target.url, "--dir", str(migrations), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@dataclass
class Finished:
    code: int | None  # None: it had to be killed after the deadline
    stdout: str
    stderr: str
    seconds: float


def finish(proc: subprocess.Popen[str], timeout: float, started: float | None = None) -> Finished:
    """Wait up to ``timeout`` s; a process still running then is killed (code None)."""
    start = time.monotonic() if started is None else started
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        code = None
    return Finished(code, out, err, time.monotonic() - start)


def one_paragraph(stderr: str) -> bool:
    """Whether stderr holds exactly one error report and no traceback."""
    return "Traceback" not in stderr and stderr.count("keel: error:") == 1


def rng(name: str) -> random.Random:
    """A random source per scenario, from the suite's seed (KEEL_FAULT_SEED)."""
    return random.Random(f"{SEED}:{name}")
