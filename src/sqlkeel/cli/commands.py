"""The keel commands: each takes the global options and its parsed arguments, calls the API,
renders the result and returns the exit code. Parsers and help live in sqlkeel.cli.app.

Heavy modules (the API, pathlib, json, the drivers) load inside the functions that use them.
"""

from __future__ import annotations

import sys
import time

from sqlkeel.cli import render
from sqlkeel.cli.render import echo

TYPE_CHECKING = False  # see sqlkeel.cli.app
if TYPE_CHECKING:
    from argparse import Namespace
    from typing import Any

    from sqlkeel.api import Keel
    from sqlkeel.cli.app import GlobalOptions
    from sqlkeel.core.model import Plan, Step
    from sqlkeel.dialects.base import Holder
    from sqlkeel.execute import Listener


def _say(opts: GlobalOptions, message: str = "") -> None:
    """A line of normal output on stdout, unless --quiet."""
    if not opts.quiet:
        echo(message)


def _make_listener(opts: GlobalOptions) -> Listener:
    from sqlkeel.execute import Listener, is_noop_step

    class CliListener(Listener):
        def lock_waiting(self, holder: Holder | None) -> None:
            echo(
                f"keel: waiting for the migration lock, held by {holder or 'another process'}",
                err=True,
            )

        def lock_taken_over(self, owner: str, age: float) -> None:
            echo(
                f"keel: took over the migration lock's lease from {owner}: its last "
                f"heartbeat was {age:.0f} s ago, so that run is gone (logged as lock-takeover)",
                err=True,
            )

        def database_busy(self, text: str) -> None:
            echo(f"keel: waiting: {text}", err=True)

        def notice(self, text: str) -> None:
            if not opts.quiet:
                echo(f"keel: note: {text}", err=True)

        def step_finished(self, step: Step, duration_ms: int) -> None:
            if opts.quiet or opts.json:
                return
            f = step.migration
            verb = "applied" if step.direction.value == "upgrade" else "rolled back"
            colour = render.use_colour(sys.stdout)
            noop = ", no-op" if is_noop_step(step) else ""
            echo(
                f"{render.paint(verb, 'green', colour)} {f.label:<10} "
                f"{f.description.replace('_', ' ')}  "
                f"{render.paint('(' + render.duration(duration_ms) + noop + ')', 'dim', colour)}"
            )

    return CliListener()


def _keel(
    opts: GlobalOptions, lock_timeout: float | None = None, args: Namespace | None = None
) -> Keel:
    """The API object for one command; ``args`` gives the lock options it has, if any."""
    from sqlkeel.api import Keel

    keel = Keel(
        url=opts.url,
        migrations_dir=opts.dir,
        config=opts.config,
        lock_timeout=lock_timeout,  # validated with the other settings
        lock_mode=getattr(args, "lock_mode", None),
        lock_lease=getattr(args, "lock_lease", None),
        listener=_make_listener(opts),
    )
    if opts.verbose:
        s = keel.settings
        where = f" ({s.config_file})" if s.config_file else ""
        echo(
            f"keel: url {s.url or 'not set'} [{s.sources['url']}], migrations "
            f"{s.migrations_dir} [{s.sources['migrations_dir']}], table {s.table}, "
            f"lock_timeout {s.lock_timeout:g} s, lock_mode {s.lock_mode}"
            + (f", lock_lease {s.lock_lease:g} s" if s.lock_mode == "table" else "")
            + f"; config file{where or ': none'}",
            err=True,
        )
    return keel


def _mode_mark(step: Step) -> str:
    """How the dry run marks a step's mode, as the plan decided it: nothing for a
    transaction (the plan's header says which), else the mode and why."""
    from sqlkeel.core.model import Mode

    if step.mode is not Mode.STATEMENT_BY_STATEMENT:
        return ""
    if not step.migration.transactional:
        return " [transaction=off]"
    return " [statement by statement: the database cannot roll it back]"


def _print_dry_run(opts: GlobalOptions, plan: Plan, head: str | None) -> None:
    """The plan and its SQL, as comments and statements a reviewer can read or paste; each
    step marked with its mode (the plan's: the dry run decides nothing)."""
    count = len(plan.steps)
    if not count:
        _say(
            opts,
            "Nothing to do: no pending migrations."
            if plan.direction.value == "upgrade"
            else "Nothing to roll back.",
        )
        return
    from sqlkeel.execute import is_noop_step

    steps = []
    for step in plan.steps:
        f = step.migration
        section = f.upgrade if step.direction.value == "upgrade" else f.rollback
        statements = section.statements if section else ()
        steps.append((f, statements, _mode_mark(step)))
    if plan.single_transaction:
        layout = "all in one transaction"
    elif all(not mode for _f, _statements, mode in steps):
        layout = "each in its own transaction"
    else:
        marks = sorted({mode.strip() for _f, _statements, mode in steps if mode})
        layout = "each in its own transaction unless marked " + " or ".join(marks)
    _say(
        opts,
        f"-- plan: {plan.direction.value} {count} migration{'s' if count != 1 else ''}, {layout}",
    )
    for n, (f, statements, mode) in enumerate(steps, start=1):
        step = plan.steps[n - 1]
        noop = " [no-op]" if is_noop_step(step) else ""
        _say(
            opts,
            f"-- [{n}/{count}] {f.label} {f.description.replace('_', ' ')} ({f.path}){mode}{noop}",
        )
        if noop:
            # No statement to print: say why, rather than leave an empty block to puzzle over.
            _say(opts, f"-- its {step.direction.value} section holds only comments: nothing runs")
        for statement in statements:
            _say(opts, f"{statement.sql};")
        _say(opts)
    _say(opts, f"-- dry run: nothing was changed; afterwards the head would be {head or 'none'}.")


# ---------------------------------------------------------------------------------------
# One function per command, named after it (dashes as underscores).


def init(opts: GlobalOptions, args: Namespace) -> int:
    from pathlib import Path

    from sqlkeel.api import init_project

    result = init_project(Path.cwd(), migrations_dir=opts.dir, url=opts.url)
    source = result.migrations_source
    note = f" (migrations_dir from {source})" if source is not None else ""
    for path in result.created:
        _say(opts, f"created {path}{note if path == result.migrations else ''}")
    for path in result.existing:
        _say(opts, f"kept existing {path}{note if path == result.migrations else ''}")
    if result.unwritten:
        echo(
            f"keel: note: keel.toml already exists and was left unchanged: "
            f"{' and '.join(result.unwritten)} {'was' if len(result.unwritten) == 1 else 'were'} "
            "not written into it; edit it by hand to change its settings.",
            err=True,
        )
    if result.parent_config is not None:
        echo(
            f"keel: note: {result.parent_config} already configures keel for an enclosing "
            "folder; from here down, the keel.toml of this folder is used instead.",
            err=True,
        )
    return 0


def new(opts: GlobalOptions, args: Namespace) -> int:
    path = _keel(opts).new(args.description, version=args.version)
    _say(opts, f"created {path}")
    return 0


def upgrade(opts: GlobalOptions, args: Namespace) -> int:
    started = time.perf_counter()
    keel = _keel(opts, args.lock_timeout, args)
    result = keel.upgrade(
        to=args.to,
        count=args.count,
        dry_run=args.dry_run,
        single_transaction=args.single_transaction,
        wait=args.wait,
    )
    if args.dry_run:
        _print_dry_run(opts, result.plan, result.head)
        return 0
    if not result.applied:
        _say(opts, "Nothing to do: the database is up to date.")
        return 0
    # Wall time of the whole command: per-migration times above exclude commits and setup.
    total = round((time.perf_counter() - started) * 1000)
    _say(
        opts,
        f"Applied {len(result.applied)} migration{'s' if len(result.applied) != 1 else ''} "
        f"in {render.duration(total)}; now at version {result.head or 'none'}.",
    )
    return 0


def rollback(opts: GlobalOptions, args: Namespace) -> int:
    keel = _keel(opts, args.lock_timeout, args)
    result = keel.rollback(to=args.to, count=args.count, dry_run=args.dry_run, wait=args.wait)
    if args.dry_run:
        _print_dry_run(opts, result.plan, result.head)
        return 0
    if not result.rolled_back:
        _say(opts, "Nothing to roll back.")
        return 0
    n = len(result.rolled_back)
    _say(
        opts,
        f"Rolled back {n} migration{'s' if n != 1 else ''}; now at version "
        f"{result.head or 'none'}.",
    )
    return 0


def _status_json(result: Any) -> dict[str, Any]:
    return {
        "head": result.head,
        "database_exists": result.database_exists,
        "migrations": [
            {
                "version": e.version,
                "kind": e.kind,
                "description": e.description,
                "script": e.script,
                "state": e.state,
                "order": e.order,
                "applied_at": e.applied_at.isoformat() if e.applied_at else None,
                "applied_by": e.applied_by,
                "execution_ms": e.execution_ms,
                "rollback_changed": e.rollback_changed,
                "has_rollback": e.has_rollback,
                "noop": e.is_noop,
                "rollback_noop": e.rollback_is_noop,
            }
            for e in result.entries
        ],
        "problems": [_problem_json(p) for p in result.problems],
    }


def _problem_json(p: Any) -> dict[str, Any]:
    return {
        "code": p.code,
        "path": p.path,
        "line": p.line or None,
        "message": p.message,
        "fix": p.fix,
    }


_STATUS_HEADERS = (
    "Next",
    "Version",
    "Description",
    "State",
    "Applied at (UTC)",
    "By",
    "Time",
    "File",
)


def _state_notes(e: Any) -> str:
    """What the State column adds to an entry's state: ' (no-op, rollback no-op)'."""
    if not (e.is_noop or e.rollback_is_noop or e.rollback_changed):  # nearly every entry
        return ""
    notes = [
        note
        for note, shown in (
            ("no-op", e.is_noop),
            ("rollback no-op", e.rollback_is_noop),
            ("rollback section changed", e.rollback_changed),
        )
        if shown
    ]
    return f" ({', '.join(notes)})" if notes else ""


def _status_cells(e: Any) -> list[str]:
    note = _state_notes(e)
    return [
        str(e.order) if e.order else "",
        e.label,
        e.description.replace("_", " "),
        ("rollback failed" if e.state == "rollback-failed" else e.state) + note,
        render.when(e.applied_at),
        e.applied_by or "",
        render.duration(e.execution_ms),
        e.script,
    ]


def status(opts: GlobalOptions, args: Namespace) -> int:
    keel = _keel(opts)
    if opts.json:
        render.emit_json(_status_json(keel.status()))
        return 0
    # Entries made and printed one at a time, twice (for the column widths, then to
    # print), rather than kept with their cells and the table's text: for 10 000
    # migrations those would be a third of keel's memory.
    result = keel.status_stream()
    colour = render.use_colour(sys.stdout)
    widths = render.column_widths(_STATUS_HEADERS, map(_status_cells, result.entries()))
    pending = applied = shown = 0
    write = sys.stdout.write
    for e in result.entries():
        pending += e.state == "pending"
        applied += e.state == "applied"
        if opts.quiet:
            continue
        if not shown:
            header = render.table_line(_STATUS_HEADERS, widths)
            write(render.paint(header, "bold", colour) + "\n")
        shown += 1
        colours = render.STATE_COLOURS.get(e.state)
        write(render.table_line(_status_cells(e), widths, colours, 3, colour) + "\n")
    if shown:
        write("\n")
    sys.stdout.flush()
    _say(
        opts,
        f"Head: {result.head or 'none'}. {applied} applied, {pending} pending"
        f"{', ' + str(len(result.problems)) + ' problem(s)' if result.problems else ''}.",
    )
    if not result.database_exists:
        _say(opts, "The database does not exist yet; 'keel upgrade' creates it.")
    for p in result.problems:
        _say(opts, render.paint(f"problem: {p}", "red", colour))
    return 0


def history(opts: GlobalOptions, args: Namespace) -> int:
    keel = _keel(opts)
    if args.log:
        log = keel.log()
        if opts.json:
            render.emit_json(
                {
                    "log": [
                        {
                            "id": r.id,
                            "action": r.action,
                            "version": r.version,
                            "script": r.script,
                            "at": r.at.isoformat(),
                            "by": r.by,
                            "duration_ms": r.duration_ms,
                            "outcome": r.outcome,
                            "detail": r.detail,
                        }
                        for r in log.rows
                    ]
                }
            )
            return 0
        if not log.rows:
            _say(opts, "The log is empty: keel has not changed this database yet.")
            return 0
        colour = render.use_colour(sys.stdout)
        _say(
            opts,
            render.table(
                ["At (UTC)", "Action", "Version", "File", "By", "Time", "Outcome", "Detail"],
                [
                    [
                        render.when(r.at),
                        r.action,
                        r.version or "",
                        r.script or "",
                        r.by,
                        render.duration(r.duration_ms),
                        r.outcome,
                        r.detail.splitlines()[0] if r.detail else "",
                    ]
                    for r in log.rows
                ],
                colours=[render.STATE_COLOURS.get(r.outcome, "red") for r in log.rows],
                colour_column=6,
                enabled=colour,
            ),
        )
        return 0
    rows = keel.history().rows
    if opts.json:
        render.emit_json(
            {
                "migrations": [
                    {
                        "version": str(r.version) if r.version else None,
                        "kind": r.kind.value,
                        "description": r.description,
                        "script": r.script,
                        "state": r.state.value,
                        "applied_at": r.applied_at.isoformat(),
                        "applied_by": r.applied_by,
                        "execution_ms": r.execution_ms,
                        "checksum": r.checksum,
                        "noop": r.is_noop,
                        "failed_statement": r.failed_statement,
                        "failed_line": r.failed_line,
                        "error": r.error,
                        "failed_direction": (
                            r.failed_direction.value if r.failed_direction else None
                        ),
                    }
                    for r in rows
                ]
            }
        )
        return 0
    if not rows:
        _say(opts, "No migrations applied yet.")
        return 0
    colour = render.use_colour(sys.stdout)
    _say(
        opts,
        render.table(
            ["Version", "Description", "Applied at (UTC)", "By", "Time", "State", "File"],
            [
                [
                    r.label,
                    r.description.replace("_", " "),
                    render.when(r.applied_at),
                    r.applied_by,
                    render.duration(r.execution_ms),
                    r.state_text + (" (no-op)" if r.is_noop else ""),
                    r.script,
                ]
                for r in rows
            ],
            colours=[render.STATE_COLOURS.get(r.state.value) for r in rows],
            colour_column=5,
            enabled=colour,
        ),
    )
    return 0


def current(opts: GlobalOptions, args: Namespace) -> int:
    version = _keel(opts).current()
    if opts.json:
        render.emit_json({"current": str(version) if version is not None else None})
    else:
        echo(str(version) if version is not None else "none")
    return 0


def validate(opts: GlobalOptions, args: Namespace) -> int:
    from sqlkeel.errors import ValidationFailed

    try:
        result = _keel(opts).validate(offline=args.offline)
    except ValidationFailed as exc:
        if opts.json:
            render.emit_json({"ok": False, "problems": [_problem_json(p) for p in exc.problems]})
            return exc.exit_code
        raise
    if opts.json:
        render.emit_json(
            {"ok": True, "files": result.files, "offline": args.offline, "problems": []}
        )
    else:
        where = "files" if args.offline else "files and history"
        _say(
            opts,
            f"OK: {result.files} migration file{'s' if result.files != 1 else ''} checked "
            f"({where}); no problems.",
        )
    return 0


def repair(opts: GlobalOptions, args: Namespace) -> int:
    result = _keel(opts, args.lock_timeout, args).repair(
        checksums=args.checksums,
        missing=args.missing,
        failed=args.failed,
        rolled_back=args.rolled_back,
        dry_run=args.dry_run,
        wait=args.wait,
    )
    if not result.actions:
        _say(opts, "Nothing to repair.")
        return 0
    prefix = "would " if args.dry_run else ""
    for action in result.actions:
        _say(opts, f"{prefix}{action.description}")
    return 0


def baseline(opts: GlobalOptions, args: Namespace) -> int:
    result = _keel(opts, args.lock_timeout, args).baseline(args.version, wait=args.wait)
    for path in result.recorded:
        _say(opts, f"recorded {path} as applied (not run)")
    _say(opts, f"Baselined at version {result.version}.")
    return 0


def lock_status(opts: GlobalOptions, args: Namespace) -> int:
    result = _keel(opts, args=args).lock_status()
    holder = result.holder
    if opts.json:
        render.emit_json(
            {
                "mode": result.mode,
                "held": holder is not None,
                "holder": holder.description if holder else None,
                "since": holder.since.isoformat() if holder and holder.since else None,
            }
        )
    elif holder is None:
        echo("The migration lock is free.")
    else:
        echo(f"The migration lock is held by {holder}.")
    return 0


def unlock(opts: GlobalOptions, args: Namespace) -> int:
    result = _keel(opts, args=args).unlock(force=args.force)
    if result.mode == "session":
        echo(
            "Nothing to unlock: the session lock is released by the database as soon as its "
            "holder's connection ends, even if keel crashed."
        )
    elif result.removed is None:
        echo("Nothing to unlock: no run holds the lease.")
    elif result.forced:
        echo(
            f"Deleted the lease of {result.removed} (--force), whose last heartbeat was "
            f"{result.age:.0f} s ago; logged as unlock."
        )
    else:
        echo(
            f"Deleted the stale lease of {result.removed}, whose last heartbeat was "
            f"{result.age:.0f} s ago; logged as unlock."
        )
    return 0
