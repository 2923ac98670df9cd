"""PostgreSQL's test harness (``sqlkeel.testing``): a database of its own on the server at
``KEEL_TEST_PG`` (an admin URL; default the local server's ``postgres`` database)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from sqlkeel.testing import DialectHarness, HarnessUnavailable

ADMIN_URL = os.environ.get("KEEL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise HarnessUnavailable(
            f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}. Start it with "
            "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' "
            "(.ci/run does this), or point KEEL_TEST_PG at a server."
        ) from exc


class Harness(DialectHarness):
    id = "postgres"
    holder_mentions = "pid"
    reports_error_position = True
    is_server = True
    admin_url = ADMIN_URL
    # The fault suite's private server takes 200 connections: 32 keels (two sessions each)
    # fit, and a server serialises them quickly.
    concurrent_processes = 32

    def create_database(self, tmp_path: Path) -> str:
        name = f"keel_t_{uuid.uuid4().hex[:12]}"
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql)
            return list(cur.fetchall()) if cur.description else []

    def tables(self, url: str) -> set[str]:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        return {str(r[0]) for r in self.query(url, sql)}

    def slow_statement(self, seconds: float) -> str:
        return f"SELECT pg_sleep({seconds});"

    def running_sessions(self, url: str, fragment: str) -> list[object]:
        like = fragment.replace("'", "''")
        sql = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            f"AND state = 'active' AND query ILIKE '%{like}%' AND pid <> pg_backend_pid()"
        )
        return [r[0] for r in self.query(url, sql)]

    def lock_session(self, url: str) -> object | None:
        # keel's lock is an advisory lock (sqlkeel.dialects.postgres): the session holding
        # it is the one pg_locks shows it granted to.
        rows = self.query(
            url,
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        return rows[0][0] if rows else None

    def end_session(self, url: str, session: object) -> None:
        self.query(url, f"SELECT pg_terminate_backend({int(str(session))})")

    def release_locks_statement(self) -> str:
        return "SELECT pg_advisory_unlock_all();"
