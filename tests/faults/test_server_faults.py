"""Fault suite, scenario 5 and issue 10 point 2.9: a server that is down, frozen or stopped.

keel must give up within a stated bound, exit 2 naming the host:port that failed, and a
later upgrade (after the server is back) must complete correctly. The bound: every
connect and handshake is limited by the URL's connect_timeout (default 10 s), so keel
ends within CONNECT_BOUND seconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.conftest import (
    HOST,
    SERVER_DIALECTS,
    Finished,
    Server,
    Target,
    counted_migration,
    finish,
    keel,
    one_paragraph,
)
from sqlkeel.testing import DialectHarness, harness_of, harnesses

pytestmark = pytest.mark.slow

# The default connect_timeout (10 s), plus keel's own start-up, plus slack for a busy machine.
CONNECT_BOUND = 16.0


def write_migrations(migrations: Path, target: Target, count: int, seconds: float) -> None:
    harness = target.harness
    for n in range(1, count + 1):
        sql = counted_migration(
            harness, n, seconds=seconds, ddl=harness.capabilities.transactional_ddl
        )
        (migrations / f"V{n}__step_{n}.sql").write_text(sql, encoding="utf-8")


def assert_applied_once(target: Target, count: int) -> None:
    expected = list(range(1, count + 1))
    assert target.versions() == [(str(n), "applied") for n in expected]
    assert target.counter() == expected


def recovers(target: Target, migrations: Path, count: int) -> None:
    """A later upgrade completes, and every migration ran exactly once."""
    again = finish(keel(target, migrations, "upgrade"), timeout=60)
    assert again.code == 0, again.stderr
    assert_applied_once(target, count)


def refused_naming(result: Finished, address: str, bound: float) -> None:
    """Exit 2 within ``bound`` seconds, one paragraph naming ``address``."""
    assert result.code == 2, (result.code, result.stderr)
    assert result.seconds < bound, result.seconds
    assert address in result.stderr, result.stderr
    assert one_paragraph(result.stderr), result.stderr


@SERVER_DIALECTS
def test_a_server_that_is_down_at_start_is_named_and_a_later_upgrade_recovers(
    dialect: str, server: Server, target: Target, migrations: Path
) -> None:
    """With the server stopped, `upgrade` exits 2 at once (well within the connect bound)
    naming host:port; after a restart the next upgrade applies everything once."""
    write_migrations(migrations, target, 3, 0.0)
    server.stop()
    try:
        result = finish(keel(target, migrations, "upgrade"), timeout=60)
    finally:
        server.start()
    refused_naming(result, server.address, CONNECT_BOUND)
    recovers(target, migrations, 3)


@SERVER_DIALECTS
def test_a_frozen_server_at_start_is_given_up_on_within_the_connect_bound(
    dialect: str, server: Server, target: Target, migrations: Path
) -> None:
    """With every server process stopped by SIGSTOP (the kernel still accepts TCP), keel
    gives up within the connect bound, exit 2 naming host:port; after SIGCONT the next
    upgrade applies everything once."""
    write_migrations(migrations, target, 3, 0.0)
    server.freeze()
    try:
        result = finish(keel(target, migrations, "upgrade"), timeout=60)
    finally:
        server.thaw()
    refused_naming(result, server.address, CONNECT_BOUND)
    recovers(target, migrations, 3)


def _wait_for_slow_statement(target: Target, seconds: float, deadline: float) -> None:
    """Until a migration's slow statement of ``seconds`` runs on the target's database."""
    slow = target.harness.slow_statement(seconds).rstrip(";")
    while time.monotonic() < deadline:
        if target.harness.running_sessions(target.url, slow):
            return
        time.sleep(0.05)
    raise AssertionError("no migration started in time")


@SERVER_DIALECTS
def test_a_server_stopped_mid_run_ends_keel_naming_it_and_a_restart_recovers(
    dialect: str, server: Server, target: Target, migrations: Path
) -> None:
    """The server shut down (PostgreSQL fast mode, MariaDB SIGTERM) while a migration
    sleeps: keel exits 2 within the bound naming host:port, in one paragraph; after the
    restart the next upgrade applies every migration exactly once (the interrupted one
    left nothing behind)."""
    write_migrations(migrations, target, 4, 1.0)
    proc = keel(target, migrations, "upgrade")
    started = time.monotonic()
    _wait_for_slow_statement(target, 1.0, started + 30)
    server.stop()
    stopped = time.monotonic()
    try:
        result = finish(proc, timeout=60, started=stopped)
    finally:
        server.start()
    refused_naming(result, server.address, CONNECT_BOUND)
    recovers(target, migrations, 4)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on a free port that accepts connections and never says a word, as a
    frozen database does; its port."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(16)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize("harness", [pytest.param(h, id=h.id) for h in harnesses() if h.is_server])
def test_a_server_that_accepts_but_never_answers_is_named_within_the_connect_bound(
    harness: DialectHarness, silent_server: int, tmp_path: Path
) -> None:
    """Point 2.9: a server that accepts the TCP connection but never answers (a frozen
    one) makes keel give up within the connect bound, on every server family, exit 2
    naming the host:port that did not answer; before the fix MariaDB's handshake waited
    forever."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__one.sql").write_text("CREATE TABLE one (id integer);\n")
    target = Target(harness, f"{harness.family}://root@{HOST}:{silent_server}/app")
    result = finish(keel(target, migrations, "upgrade"), timeout=40)
    refused_naming(result, f"{HOST}:{silent_server}", CONNECT_BOUND)
    assert "did not answer" in result.stderr, result.stderr


# PyMySQL's read timeout: a MySQL driver matter.
def test_a_migration_may_outlast_the_connect_timeout_on_mysql(
    mysql_url: str, tmp_path: Path
) -> None:
    """The handshake's bound (2.9) ends with the handshake: with connect_timeout=1 a
    migration that sleeps 2 s still completes, as PyMySQL's read timeout is off again."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__slow.sql").write_text("DO SLEEP(2);\n")
    target = Target(harness_of(mysql_url), mysql_url + "?connect_timeout=1")
    result = finish(keel(target, migrations, "upgrade"), timeout=60)
    assert result.code == 0, result.stderr
    assert "applied 1" in result.stdout
