"""The measuring loop: interleaved rounds, each tool's plan on fresh databases.

Round r runs every tool once, in an order rotated by r (A B C D, then B C D A, ...), so
slow drifts of the machine spread over all tools. A tool's plan for one database:

    fresh db: status with MAIN pending
    fresh db: upgrade MAIN -> no-op upgrade -> status -> rollback all
    fresh db: upgrade SMALL
    the BIG database (applied once before the rounds): status

Every timed run is followed by a check of the database; a non-zero exit, a timeout or a
failed check is recorded as a Failure (printed at once) and ends that plan for the round.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from adapters import Adapter, Database, Kind, Project

from harness import checks, process
from harness.databases import AdminError, Databases, PostgresServer
from harness.options import Options
from harness.results import Cell, Failure, Results, Sample


class Abort(Exception):
    """--fail-fast: stop the whole run."""


class Runner:
    def __init__(
        self,
        options: Options,
        adapters: list[Adapter],
        projects: Callable[[Adapter, int], Project],
        databases: Databases,
        server: PostgresServer | None,
        results: Results,
    ) -> None:
        self.options = options
        self.adapters = adapters
        self.projects = projects
        self.databases = databases
        self.server = server
        self.results = results
        self.big: dict[tuple[str, str], Database] = {}
        self.launchers: list[process.Launcher] = []
        self.local = threading.local()
        for adapter in adapters:
            for kind, reason in adapter.unsupported.items():
                results.not_available.setdefault(adapter.name, {})[kind.value] = reason

    # -- the plan -------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.warm_up()
            self.set_up_big()
            for r in range(1, self.options.repeat + 1):
                shift = (r - 1) % len(self.adapters)
                order = self.adapters[shift:] + self.adapters[:shift]
                _say(f"round {r}/{self.options.repeat}: {' '.join(a.name for a in order)}")
                for adapter in order:
                    self.measure(adapter, Kind.HELP, self.options.main, "-", None, r, 0)
                for dialect in self.options.dbs:
                    for adapter in order:
                        if dialect in adapter.databases:
                            self.cycle(adapter, dialect, r)
        finally:
            for launcher in self.launchers:
                launcher.close()
            self.databases.close()

    def launcher(self) -> process.Launcher:
        """This thread's launcher (setup runs on two threads, everything else on one)."""
        launcher: process.Launcher | None = getattr(self.local, "launcher", None)
        if launcher is None:
            launcher = self.local.launcher = process.Launcher()
            self.launchers.append(launcher)
        return launcher

    def warm_up(self) -> None:
        """One untimed --help per tool, so every later run starts with a warm page cache."""
        for adapter in self.adapters:
            if adapter.supports(Kind.HELP):
                project = self.projects(adapter, self.options.main)
                command = adapter.command(Kind.HELP.action, None, project)
                self.launcher().run(command.argv, command.cwd, command.env, self.options.timeout)

    def set_up_big(self) -> None:
        """Apply BIG migrations once per tool and database, kept for the status runs.

        Untimed for the table: with --setup-jobs 2 (the default) two setups run at once,
        so only their peak RSS is reported. The floor has no status, so it takes part
        only when setups run one at a time and their wall time is shown.
        """
        big = self.options.big
        if big is None:
            return
        jobs = [
            (adapter, dialect)
            for dialect in self.options.big_on
            if dialect in self.options.dbs
            for adapter in self.adapters
            if dialect in adapter.databases
            and (adapter.supports(Kind.STATUS) or self.options.setup_jobs == 1)
        ]
        _say(f"setup: applying {big} migrations once per tool, {self.options.setup_jobs} at a time")
        with ThreadPoolExecutor(max_workers=self.options.setup_jobs) as pool:
            for future in [pool.submit(self.set_up_one, a, d, big) for a, d in jobs]:
                future.result()  # re-raises Abort

    def set_up_one(self, adapter: Adapter, dialect: str, big: int) -> None:
        db = self.fresh(adapter, dialect, Kind.UPGRADE, big, 0)
        if db is None:
            return
        ok = self.measure(adapter, Kind.UPGRADE, big, dialect, db, 0, big)
        if ok and adapter.supports(Kind.STATUS):
            self.big[(adapter.name, dialect)] = db
        else:
            self.drop(db)

    def cycle(self, adapter: Adapter, dialect: str, r: int) -> None:
        main, small = self.options.main, self.options.small
        if adapter.supports(Kind.STATUS_EMPTY):
            db = self.fresh(adapter, dialect, Kind.STATUS_EMPTY, main, r)
            if db is not None:
                self.measure(adapter, Kind.STATUS_EMPTY, main, dialect, db, r, 0)
                self.drop(db)

        db = self.fresh(adapter, dialect, Kind.UPGRADE, main, r)
        if db is not None:
            steps = [
                (Kind.UPGRADE, main),
                (Kind.NOOP_UPGRADE, main),
                (Kind.STATUS, main),
                (Kind.ROLLBACK_ALL, 0),
            ]
            for kind, applied_after in steps:
                if not adapter.supports(kind):
                    continue
                if not self.measure(adapter, kind, main, dialect, db, r, applied_after):
                    break  # the database is in an unknown state
            self.drop(db)

        if small is not None:
            db = self.fresh(adapter, dialect, Kind.UPGRADE, small, r)
            if db is not None:
                self.measure(adapter, Kind.UPGRADE, small, dialect, db, r, small)
                self.drop(db)

        big_db = self.big.get((adapter.name, dialect))
        if big_db is not None and self.options.big is not None:
            big = self.options.big
            self.measure(adapter, Kind.STATUS, big, dialect, big_db, r, big)

    # -- one timed run --------------------------------------------------------------------

    def measure(
        self,
        adapter: Adapter,
        kind: Kind,
        size: int,
        dialect: str,
        db: Database | None,
        r: int,
        applied_after: int,
    ) -> bool:
        """Time one command, then check the database; record a Sample or a Failure."""
        cell = Cell(adapter.name, dialect, kind.value, size)
        if not adapter.supports(kind):
            return True
        command = adapter.command(kind.action, db, self.projects(adapter, size))
        try:
            outcome = self.launcher().run(
                command.argv, command.cwd, command.env, self.options.timeout
            )
        except process.LauncherError as error:
            return self.fail(cell, r, str(error), command.argv)
        except process.Timeout:
            return self.fail(cell, r, f"killed after {self.options.timeout:.0f} s", command.argv)
        if outcome.exit_code != 0:
            message = f"exit code {outcome.exit_code}\n{outcome.tail()}"
            return self.fail(cell, r, message, command.argv)
        try:
            if db is None:
                if not outcome.stdout.strip():
                    raise checks.CheckFailed("printed nothing on stdout")
            else:
                checks.expect_applied(db, self.databases, adapter.history_table, applied_after)
        except (checks.CheckFailed, AdminError) as error:
            return self.fail(cell, r, f"check failed after exit 0: {error}", command.argv)
        self.results.samples.append(Sample(cell, r, outcome.seconds, outcome.max_rss_kib))
        rss = outcome.max_rss_kib / 1024
        _say(f"  {dialect:10} {adapter.name:8} {_label(kind, size):28} "
             f"{outcome.seconds:8.3f} s {rss:6.0f} MiB")  # fmt: skip
        return True

    def fail(self, cell: Cell, r: int, message: str, argv: tuple[str, ...]) -> bool:
        self.results.failures.append(Failure(cell, r, message))
        where = f"{cell.tool} {cell.db} {cell.kind} {cell.size} (round {r})"
        _say(f"\n*** FAILED: {where}: {message}\n*** command: {' '.join(argv)}\n")
        if self.options.fail_fast:
            raise Abort(where)
        return False

    # -- databases ------------------------------------------------------------------------

    def fresh(
        self, adapter: Adapter, dialect: str, kind: Kind, size: int, r: int
    ) -> Database | None:
        try:
            return self.databases.fresh(dialect, adapter.name)
        except AdminError as error:
            self.fail(Cell(adapter.name, dialect, kind.value, size), r, str(error), ())
            return None

    def drop(self, db: Database) -> None:
        try:
            self.databases.drop(db)
        except AdminError as error:
            _say(f"warning: could not drop {db.name or db.path}: {error}")


def _label(kind: Kind, size: int) -> str:
    return f"{kind.value} {size}" if kind is not Kind.HELP else "--help"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def project_cache(workdir: Path) -> Callable[[Adapter, int], Project]:
    """project(adapter, size): the workload in that tool's format, written on first use."""
    cache: dict[tuple[str, int], Project] = {}

    def project(adapter: Adapter, size: int) -> Project:
        key = (adapter.name, size)
        if key not in cache:
            cache[key] = adapter.write_project(
                workdir / "projects" / f"{adapter.name}-{size}", size
            )
        return cache[key]

    return project
