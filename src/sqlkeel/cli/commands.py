"""The keel commands: each parses its options, calls the API and renders the result."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from sqlkeel.cli import render
from sqlkeel.cli.app import GlobalOptions, global_options, json_option

if TYPE_CHECKING:
    from sqlkeel.api import Keel
    from sqlkeel.core.model import Plan, Step
    from sqlkeel.dialects.base import Holder
    from sqlkeel.execute import Listener


def _opts() -> GlobalOptions:
    return click.get_current_context().ensure_object(GlobalOptions)


def _say(message: str = "", *, err: bool = False) -> None:
    if not _opts().quiet or err:
        click.echo(message, err=err)


def _make_listener() -> Listener:
    from sqlkeel.execute import Listener

    opts = _opts()

    class CliListener(Listener):
        def lock_waiting(self, holder: Holder | None) -> None:
            click.echo(
                f"keel: waiting for the migration lock, held by {holder or 'another process'}",
                err=True,
            )

        def step_finished(self, step: Step, duration_ms: int) -> None:
            if opts.quiet or opts.json:
                return
            f = step.migration
            verb = "applied" if step.direction.value == "upgrade" else "rolled back"
            colour = render.use_colour(sys.stdout)
            click.echo(
                f"{render.paint(verb, 'green', colour)} {f.label:<10} "
                f"{f.description.replace('_', ' ')}  "
                f"{render.paint('(' + render.duration(duration_ms) + ')', 'dim', colour)}"
            )

    return CliListener()


def _keel(lock_timeout: float | None = None) -> Keel:
    from sqlkeel.api import Keel

    opts = _opts()
    keel = Keel(
        url=opts.url,
        migrations_dir=opts.dir,
        config=opts.config,
        lock_timeout=lock_timeout,  # validated with the other settings
        listener=_make_listener(),
    )
    if opts.verbose:
        s = keel.settings
        where = f" ({s.config_file})" if s.config_file else ""
        click.echo(
            f"keel: url {s.url or 'not set'} [{s.sources['url']}], migrations "
            f"{s.migrations_dir} [{s.sources['migrations_dir']}], table {s.table}, "
            f"lock_timeout {s.lock_timeout:g} s; config file{where or ': none'}",
            err=True,
        )
    return keel


def _print_dry_run(plan: Plan, head: str | None) -> None:
    """The plan and its SQL, as comments and statements a reviewer can read or paste."""
    count = len(plan.steps)
    if not count:
        _say(
            "Nothing to do: no pending migrations."
            if plan.direction.value == "upgrade"
            else "Nothing to roll back."
        )
        return
    if plan.single_transaction:
        layout = "all in one transaction"
    elif all(s.migration.transactional for s in plan.steps):
        layout = "each in its own transaction"
    else:
        layout = "each in its own transaction unless marked [transaction=off]"
    _say(f"-- plan: {plan.direction.value} {count} migration{'s' if count != 1 else ''}, {layout}")
    for n, step in enumerate(plan.steps, start=1):
        f = step.migration
        section = f.upgrade if step.direction.value == "upgrade" else f.rollback
        mode = "" if f.transactional else " [transaction=off]"
        _say(f"-- [{n}/{count}] {f.label} {f.description.replace('_', ' ')} ({f.path}){mode}")
        for statement in section.statements if section else ():
            _say(f"{statement.sql};")
        _say()
    _say(f"-- dry run: nothing was changed; afterwards the head would be {head or 'none'}.")


# ---------------------------------------------------------------------------------------
@click.command()
@global_options
def init() -> None:
    """Create migrations/ and a commented keel.toml in the current directory."""
    from pathlib import Path

    from sqlkeel.api import init_project

    result = init_project(Path.cwd())
    for path in result.created:
        _say(f"created {path}")
    for path in result.existing:
        _say(f"kept existing {path}")
    if result.parent_config is not None:
        click.echo(
            f"keel: note: {result.parent_config} already configures keel for an enclosing "
            "folder; from here down, the keel.toml of this folder is used instead.",
            err=True,
        )


@click.command()
@click.argument("description")
@click.option(
    "--version",
    "version",
    metavar="V",
    help="Version to use instead of the UTC timestamp yyyymmdd.hhmmss.",
)
@global_options
def new(description: str, version: str | None) -> None:
    """Create V<version>__<description>.sql with empty upgrade and rollback sections.

    Example: keel new "add users"
    """
    path = _keel().new(description, version=version)
    _say(f"created {path}")


def _write_options(func: Any) -> Any:
    func = click.option(
        "--lock-timeout",
        type=float,
        metavar="S",
        help="Seconds to wait for the migration lock (default 60).",
    )(func)
    func = click.option(
        "--no-wait", is_flag=True, help="Fail at once (exit 3) if another process holds the lock."
    )(func)
    return func


@click.command()
@click.option("--to", "to", metavar="V", help="Stop after version V.")
@click.option("--count", type=int, metavar="N", help="Apply at most N versioned migrations.")
@click.option(
    "--dry-run", is_flag=True, help="Print the plan and its SQL; change nothing, take no lock."
)
@click.option(
    "--single-transaction",
    is_flag=True,
    help="All pending migrations in one transaction (PostgreSQL, SQLite).",
)
@_write_options
@global_options
def upgrade(
    to: str | None,
    count: int | None,
    dry_run: bool,
    single_transaction: bool,
    lock_timeout: float | None,
    no_wait: bool,
) -> None:
    """Apply pending migrations in version order.

    Examples: keel upgrade; keel upgrade --to 3; keel upgrade --dry-run
    """
    started = time.perf_counter()
    keel = _keel(lock_timeout)
    result = keel.upgrade(
        to=to,
        count=count,
        dry_run=dry_run,
        single_transaction=single_transaction,
        wait=not no_wait,
    )
    if dry_run:
        _print_dry_run(result.plan, result.head)
        return
    if not result.applied:
        _say("Nothing to do: the database is up to date.")
        return
    # Wall time of the whole command: per-migration times above exclude commits and setup.
    total = round((time.perf_counter() - started) * 1000)
    _say(
        f"Applied {len(result.applied)} migration{'s' if len(result.applied) != 1 else ''} "
        f"in {render.duration(total)}; now at version {result.head or 'none'}."
    )


@click.command()
@click.option(
    "--to", "to", metavar="V", help="Roll back every version above V (V stays applied; 0 = all)."
)
@click.option("--count", type=int, metavar="N", help="Roll back the last N migrations (default 1).")
@click.option(
    "--dry-run", is_flag=True, help="Print the plan and its SQL; change nothing, take no lock."
)
@_write_options
@global_options
def rollback(
    to: str | None, count: int | None, dry_run: bool, lock_timeout: float | None, no_wait: bool
) -> None:
    """Roll back the last migration, using the '-- rollback' section of its file.

    Examples: keel rollback; keel rollback --count 2; keel rollback --to 3
    """
    keel = _keel(lock_timeout)
    result = keel.rollback(to=to, count=count, dry_run=dry_run, wait=not no_wait)
    if dry_run:
        _print_dry_run(result.plan, result.head)
        return
    if not result.rolled_back:
        _say("Nothing to roll back.")
        return
    n = len(result.rolled_back)
    _say(
        f"Rolled back {n} migration{'s' if n != 1 else ''}; now at version {result.head or 'none'}."
    )


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


@click.command()
@json_option
@global_options
def status() -> None:
    """Applied migrations, then pending ones in the order they will run; flags problems."""
    result = _keel().status()
    if _opts().json:
        render.emit_json(_status_json(result))
        return
    colour = render.use_colour(sys.stdout)
    rows, colours = [], []
    for e in result.entries:
        note = " (rollback section changed)" if e.rollback_changed else ""
        rows.append(
            [
                str(e.order) if e.order else "",
                e.label,
                e.description.replace("_", " "),
                e.state + note,
                render.when(e.applied_at),
                e.applied_by or "",
                render.duration(e.execution_ms),
                e.script,
            ]
        )
        colours.append(render.STATE_COLOURS.get(e.state))
    pending = sum(1 for e in result.entries if e.state == "pending")
    applied = sum(1 for e in result.entries if e.state == "applied")
    if rows:
        _say(
            render.table(
                [
                    "Next",
                    "Version",
                    "Description",
                    "State",
                    "Applied at (UTC)",
                    "By",
                    "Time",
                    "File",
                ],
                rows,
                colours=colours,
                colour_column=3,
                enabled=colour,
            )
        )
        _say()
    _say(
        f"Head: {result.head or 'none'}. {applied} applied, {pending} pending"
        f"{', ' + str(len(result.problems)) + ' problem(s)' if result.problems else ''}."
    )
    if not result.database_exists:
        _say("The database does not exist yet; 'keel upgrade' creates it.")
    for p in result.problems:
        _say(render.paint(f"problem: {p}", "red", colour))


@click.command()
@click.option(
    "--log", "show_log", is_flag=True, help="Show the audit trail of every action instead."
)
@json_option
@global_options
def history(show_log: bool) -> None:
    """Applied migrations in order, with when, by whom and how long they took."""
    keel = _keel()
    as_json = _opts().json
    if show_log:
        log = keel.log()
        if as_json:
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
            return
        if not log.rows:
            _say("The log is empty: keel has not changed this database yet.")
            return
        colour = render.use_colour(sys.stdout)
        _say(
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
            )
        )
        return
    rows = keel.history().rows
    if as_json:
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
                        "failed_statement": r.failed_statement,
                        "failed_line": r.failed_line,
                        "error": r.error,
                    }
                    for r in rows
                ]
            }
        )
        return
    if not rows:
        _say("No migrations applied yet.")
        return
    colour = render.use_colour(sys.stdout)
    _say(
        render.table(
            ["Version", "Description", "Applied at (UTC)", "By", "Time", "State", "File"],
            [
                [
                    r.label,
                    r.description.replace("_", " "),
                    render.when(r.applied_at),
                    r.applied_by,
                    render.duration(r.execution_ms),
                    r.state.value,
                    r.script,
                ]
                for r in rows
            ],
            colours=[render.STATE_COLOURS.get(r.state.value) for r in rows],
            colour_column=5,
            enabled=colour,
        )
    )


@click.command()
@json_option
@global_options
def current() -> None:
    """Print the head version, or 'none'."""
    version = _keel().current()
    if _opts().json:
        render.emit_json({"current": str(version) if version is not None else None})
    else:
        click.echo(str(version) if version is not None else "none")


@click.command()
@click.option("--offline", is_flag=True, help="Check the files only; no database needed.")
@json_option
@global_options
def validate(offline: bool) -> None:
    """Check files and history without running anything.

    Refuses duplicate versions, malformed or unparsable files, applied files that were
    edited or deleted, new files at or below the head, and failed migrations.
    """
    from sqlkeel.errors import ValidationFailed

    opts = _opts()
    try:
        result = _keel().validate(offline=offline)
    except ValidationFailed as exc:
        if opts.json:
            render.emit_json({"ok": False, "problems": [_problem_json(p) for p in exc.problems]})
            sys.exit(exc.exit_code)
        raise
    if opts.json:
        render.emit_json({"ok": True, "files": result.files, "offline": offline, "problems": []})
    else:
        where = "files" if offline else "files and history"
        _say(
            f"OK: {result.files} migration file{'s' if result.files != 1 else ''} checked "
            f"({where}); no problems."
        )


@click.command()
@click.option("--checksums", is_flag=True, help="Accept the current contents of edited files.")
@click.option("--missing", is_flag=True, help="Forget applied migrations whose files are gone.")
@click.option("--failed", is_flag=True, help="Clear failed rows after you fixed the database.")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@_write_options
@global_options
def repair(
    checksums: bool,
    missing: bool,
    failed: bool,
    dry_run: bool,
    lock_timeout: float | None,
    no_wait: bool,
) -> None:
    """Make deliberate changes to the history; each is printed and logged."""
    result = _keel(lock_timeout).repair(
        checksums=checksums,
        missing=missing,
        failed=failed,
        dry_run=dry_run,
        wait=not no_wait,
    )
    if not result.actions:
        _say("Nothing to repair.")
        return
    prefix = "would " if dry_run else ""
    for action in result.actions:
        _say(f"{prefix}{action.description}")


@click.command()
@click.argument("version")
@_write_options
@global_options
def baseline(version: str, lock_timeout: float | None, no_wait: bool) -> None:
    """Record every versioned migration up to VERSION as applied, without running it.

    For adopting a database that already has that schema. Example: keel baseline 5
    """
    result = _keel(lock_timeout).baseline(version, wait=not no_wait)
    for path in result.recorded:
        _say(f"recorded {path} as applied (not run)")
    _say(f"Baselined at version {result.version}.")


@click.command("lock-status")
@json_option
@global_options
def lock_status() -> None:
    """Show who holds the migration lock, if anyone."""
    result = _keel().lock_status()
    holder = result.holder
    if _opts().json:
        render.emit_json(
            {
                "mode": result.mode,
                "held": holder is not None,
                "holder": holder.description if holder else None,
                "since": holder.since.isoformat() if holder and holder.since else None,
            }
        )
    elif holder is None:
        click.echo("The migration lock is free.")
    else:
        click.echo(f"The migration lock is held by {holder}.")


@click.command()
@global_options
def unlock() -> None:
    """Clear a table-mode lease lock (session locks need no unlocking)."""
    keel = _keel()
    if keel.settings.lock_mode == "session":
        click.echo(
            "Nothing to unlock: the session lock is released by the database as soon as its "
            "holder's connection ends, even if keel crashed."
        )
        return
    from sqlkeel.errors import ConfigError

    raise ConfigError('lock_mode = "table" is not available in this version of keel.')


ALL = [
    init,
    new,
    upgrade,
    rollback,
    status,
    history,
    current,
    validate,
    repair,
    baseline,
    lock_status,
    unlock,
]
