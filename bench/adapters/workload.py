"""The workload every tool runs: migration n creates table t<n>, fills it, and drops it.

The same statements for every tool and for the floor, so only the tools differ.
"""

from __future__ import annotations

ROWS_PER_TABLE = 10


def table_name(n: int) -> str:
    return f"t{n}"


def create_statement(n: int) -> str:
    return f"CREATE TABLE {table_name(n)} (id integer PRIMARY KEY, name text);"


def insert_statement(n: int) -> str:
    """One INSERT of ROWS_PER_TABLE rows."""
    values = ", ".join(f"({i}, 'row {i} of {table_name(n)}')" for i in range(1, 1 + ROWS_PER_TABLE))
    return f"INSERT INTO {table_name(n)} (id, name) VALUES {values};"


def upgrade_statements(n: int) -> list[str]:
    return [create_statement(n), insert_statement(n)]


def rollback_statements(n: int) -> list[str]:
    return [f"DROP TABLE {table_name(n)};"]


def upgrade_sql(n: int) -> str:
    return "\n".join(upgrade_statements(n)) + "\n"


def rollback_sql(n: int) -> str:
    return "\n".join(rollback_statements(n)) + "\n"


def version_width(size: int) -> int:
    """Digits needed to zero-pad versions 1..size, for tools that order names as text."""
    return len(str(size))
