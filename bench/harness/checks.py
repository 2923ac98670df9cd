"""After every timed run: is the database in the state the command promised?

A tool that silently skipped work must not win, so the check counts the workload
tables, the rows of that tool's history table and the rows of a few sampled tables.
"""

from __future__ import annotations

from adapters import Database, workload

from harness.databases import Databases, read_state


class CheckFailed(Exception):
    """The database is not in the expected state after a run."""


def expect_applied(db: Database, databases: Databases, history: str, applied: int) -> None:
    """Migrations 1..applied present (tables, history rows, 10 rows each), none other.

    Raises CheckFailed describing every difference.
    """
    picks = {1, (applied + 1) // 2, applied} if applied else set()
    sample = [workload.table_name(n) for n in sorted(picks)]
    state = read_state(db, databases, history, sample)
    problems = []
    if state.tables != applied:
        problems.append(f"{state.tables} workload tables, expected {applied}")
    if state.history_rows != applied:
        problems.append(f"{state.history_rows} rows in {history}, expected {applied}")
    for name in sample:
        rows = state.sampled_rows.get(name)
        if rows != workload.ROWS_PER_TABLE:
            found = "missing" if rows is None else f"{rows} rows"
            problems.append(f"table {name}: {found}, expected {workload.ROWS_PER_TABLE} rows")
    if problems:
        raise CheckFailed("; ".join(problems))
