"""A connection that breaks with no word from the server (a network cut, a proxy or load
balancer dropping it) while a migration runs: keel says so, names the file and the server,
exits 2, and never claims the migration left no trace when its COMMIT may have arrived."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import SERVERS, Database, keel_process
from sqlkeel.dialects import dialect_for
from sqlkeel.urls import parse_url

pytestmark = pytest.mark.slow


class Proxy:
    """A TCP proxy to ``port`` on 127.0.0.1 whose connections ``cut`` closes at once."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)

    def cut(self) -> None:
        for s in self.sockets:
            with contextlib.suppress(OSError):
                # SO_LINGER 0: close with a reset, as a dropped network path would look.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1, 0, 0, 0, 0, 0, 0, 0]))
                s.close()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        self.cut()


@pytest.fixture
def proxy(db: Database) -> Iterator[Proxy]:
    port = urlsplit(db.url).port or db.harness.capabilities.default_port
    assert port is not None, db.url
    p = Proxy(port)
    try:
        yield p
    finally:
        p.close()


def _through(url: str, port: int) -> str:
    scheme, rest = url.split("://", 1)
    user, path = rest.split("@", 1)
    return f"{scheme}://{user}@127.0.0.1:{port}/{path.split('/', 1)[1]}"


@SERVERS
def test_a_connection_cut_mid_migration_is_exit_2_naming_the_file_and_server(
    db_url: str, db: Database, proxy: Proxy, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    sleep = db.harness.slow_statement(2)
    (migrations / "V1__slow.sql").write_text(f"CREATE TABLE marks (v integer);\n{sleep}\n")
    url = _through(db_url, proxy.port)
    # A migration in a transaction sent whole (BEGIN to COMMIT in one round trip): the
    # COMMIT may have arrived before the cut.
    sent_whole = (
        db.has_transactional_ddl
        and dialect_for(parse_url(url), table="keel_history", schema=None).one_round_trip
        is not None
    )
    proc = keel_process(url, migrations, "upgrade")
    time.sleep(1.2)  # inside V1's sleep: start-up and the lock take well under a second here
    proxy.cut()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert "Traceback" not in err and "keel's own SQL" not in err, err
    assert "V1__slow.sql" in err and f"127.0.0.1:{proxy.port}" in err, err
    assert "was lost" in err
    if sent_whole:  # keel cannot know whether it committed
        assert "cannot tell whether its COMMIT took effect" in err, err
        assert "left no trace" not in err
