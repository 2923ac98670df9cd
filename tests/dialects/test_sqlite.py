"""SQLite's own promises, beyond the conformance suite: its file and its page cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlkeel.dialects import dialect_for
from sqlkeel.dialects.base import Dialect
from sqlkeel.history import HistoryStore
from sqlkeel.urls import parse_url


def make(url: str) -> Dialect:
    return dialect_for(parse_url(url), table="keel_history", schema=None)


def test_connecting_to_a_missing_sqlite_directory_is_a_clear_error(tmp_path: Path) -> None:
    from sqlkeel.errors import ConnectionFailed

    with pytest.raises(ConnectionFailed, match="does not exist"):
        make(f"sqlite:///{tmp_path / 'nope' / 'x.db'}").connect()


def test_reading_keels_tables_leaves_the_connections_settings_as_they_were(tmp_path: Path) -> None:
    # The history is read through a small page cache (10 000 rows would fill SQLite's
    # default one); the migrations that follow run with the connection's own setting.
    dialect = make(f"sqlite:///{tmp_path / 'a.db'}")
    session = dialect.connect()
    before = session.query("PRAGMA cache_size")
    store = HistoryStore(session)
    store.ensure()
    assert store.read() == ()
    assert session.query("PRAGMA cache_size") == before
    session.close()
