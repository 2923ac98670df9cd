"""Each family's test harness does what the shared tests ask of it (``sqlkeel.testing``):
a new family's harness is checked here before the fault suite leans on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from conftest import SERVERS, Database, families, holding_lock
from sqlkeel.dialects import dialect_for
from sqlkeel.dialects.base import Dialect
from sqlkeel.urls import parse_url


def _dialect(url: str) -> Dialect:
    return dialect_for(parse_url(url), table="keel_history", schema=None)


def _wait_for(check: Callable[[], object], what: str, timeout: float = 15) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(what)


def test_the_lock_file_is_named_where_the_lock_is_a_file(db: Database) -> None:
    """A family with an OS file lock names the file, and keel's lock holder is in it while
    the lock is held (the fault suite waits on it); a server family names none."""
    lock_file = db.harness.lock_file(db.url)
    if db.harness.capabilities.lock != "file":
        assert lock_file is None
        return
    assert lock_file is not None
    with holding_lock(_dialect(db.url)):
        assert lock_file.exists() and lock_file.read_text()


@SERVERS
def test_the_lock_session_is_the_one_holding_keels_lock(db: Database) -> None:
    assert db.harness.lock_session(db.url) is None
    with holding_lock(_dialect(db.url)):
        assert db.harness.lock_session(db.url) is not None
    assert db.harness.lock_session(db.url) is None


@SERVERS
def test_a_running_statement_is_found_by_its_text_and_can_be_ended(db: Database) -> None:
    slow = db.harness.slow_statement(20)
    ended: list[BaseException | None] = []

    def run() -> None:
        try:
            db.harness.query(db.url, slow)
            ended.append(None)
        except Exception as exc:  # the driver's error for a session the server ended
            ended.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    found = _wait_for(
        lambda: db.harness.running_sessions(db.url, slow.rstrip(";").upper()), "never ran"
    )
    assert isinstance(found, list) and len(found) == 1
    db.harness.end_session(db.url, found[0])
    thread.join(timeout=15)
    assert not thread.is_alive() and time.monotonic() - started < 15
    _wait_for(lambda: db.harness.running_sessions(db.url, slow.rstrip(";")) == [], "still runs")


def test_an_index_is_dropped_with_the_harness_statement(db: Database) -> None:
    db.query("CREATE TABLE t (id integer)")
    db.query("CREATE INDEX t_id ON t (id)")
    db.query(db.harness.drop_index_statement("t_id", "t"))
    db.query("CREATE INDEX t_id ON t (id)")  # the name is free again


def test_concatenation_joins_text(db: Database) -> None:
    joined = db.harness.concatenation("'it''s '", "'%'", "'?'")
    assert db.query(f"SELECT {joined}") == [("it's %?",)]


@families(lambda h: not h.is_server)
def test_nothing_runs_on_a_server_for_a_file_family(db: Database) -> None:
    assert db.harness.running_sessions(db.url, "anything") == []
