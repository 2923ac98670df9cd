"""The ``keel`` command line: global options, one parser per command, the single error boundary.

Global options are accepted before or after the command name; a value given after the
command wins. Start-up time is a feature: this module imports only argparse, os and sys,
so ``keel --help`` loads nothing else of keel's; a command's parser is built only when that
command runs, and the command loads what it uses (the API, a driver), inside its function.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # importing typing costs ms at start-up; mypy takes this as True
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

PROG = "keel"
USAGE = "keel [OPTIONS] COMMAND [ARGS]..."

DESCRIPTION = """\
keel: database migrations in plain SQL files.

Versioned files (V<version>__<description>.sql) run once, in ascending version
order, on one linear history; every applied file is guarded by a checksum; one
process migrates a database at a time; every migration can be rolled back from
the '-- rollback' section of its own file."""

EPILOG = """\
Exit codes: 0 success (also "nothing to do"), 1 a migration or validation
failed, 2 usage or configuration error, 3 lock not acquired in time.
Configuration: flag > KEEL_* / DATABASE_URL environment > keel.toml >
[tool.keel] in pyproject.toml, found by walking up from the current directory."""


class GlobalOptions:
    """The global options, gathered from before and after the command name."""

    # A plain class: importing dataclasses would cost `keel --help` ~15 ms.
    def __init__(self) -> None:
        self.url: str | None = None
        self.dir: str | None = None
        self.config: str | None = None
        self.quiet = False
        self.verbose = False
        self.json = False


class CommandLineError(Exception):
    """A command line the parser rejects: exit 2, the problem and where to look for help."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class KeelParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors go to keel's error boundary instead of exiting.

    ``actions`` lists every option and argument in the order they were added.
    """

    def __init__(self, prog: str, usage: str, description: str, epilog: str | None = None) -> None:
        super().__init__(
            prog=prog,
            usage=usage,
            description=description,
            epilog=epilog,
            formatter_class=HelpFormatter,
            add_help=False,  # added last, below the command's own options, as before
            allow_abbrev=False,  # `--dry` is a typo, not --dry-run
        )
        self.actions: list[argparse.Action] = []

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.actions.append(action)
        return action

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(_reword(message), self.see_help())

    def see_help(self) -> str:
        return f"see '{self.prog} --help'."

    def reject_extras(self, extras: Sequence[str], args: Sequence[str]) -> None:
        """Raise CommandLineError for what the parser left over from ``args``, if anything."""
        words = [w for w in extras if w != "--"]
        if not words:
            return
        first = words[0]
        literal = args[args.index("--") + 1 :] if "--" in args else ()  # never options
        if len(first) > 1 and first[0] == "-" and first not in literal and not _is_number(first):
            name = first.split("=", 1)[0]
            known = [s for a in self.actions for s in a.option_strings]
            raise CommandLineError(
                f"no such option '{name}'", _did_you_mean(name, known) + self.see_help()
            )
        plural = "s" if len(words) > 1 else ""
        quoted = " ".join(f"'{w}'" for w in words)
        raise CommandLineError(f"unexpected extra argument{plural} {quoted}", self.see_help())


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's layout, at most 78 columns wide (as click had), without importing shutil."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=24, width=help_width())


def help_width() -> int:
    """Columns for help text: the terminal's (or $COLUMNS), capped at 80, less a margin."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):  # not a terminal, or no file at all
            columns = 80
    return max(min(columns, 80) - 2, 50)


def _reword(message: str) -> str:
    """argparse's wording of a usage error, in keel's words (unknown wordings pass through)."""
    prefix = "the following arguments are required: "
    if message.startswith(prefix):
        names = message[len(prefix) :].split(", ")
        return "missing argument " + " and ".join(f"'{name}'" for name in names)
    if not message.startswith("argument "):
        return message
    name, _, problem = message[len("argument ") :].partition(": ")
    name = name.split("/")[-1]  # "-q/--quiet" -> "--quiet"
    if problem == "expected one argument":
        return f"option '{name}' requires an argument"
    if problem.startswith("ignored explicit argument "):  # --json=1, or -qx with no -x
        value = problem[len("ignored explicit argument ") :]
        return f"option '{name}' does not take a value (got {value})"
    return f"invalid value for '{name}': {problem}"


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, candidates)
    if not close:
        return ""
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "? Otherwise "


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def integer(text: str) -> int:
    """An argparse type: ``int()``, as click's was, with keel's wording of the error."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a valid integer") from None


def number(text: str) -> float:
    """An argparse type: ``float()``, as click's was, with keel's wording of the error."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a valid number") from None


# ---------------------------------------------------------------------------------------
# The options. Global ones default to SUPPRESS at both levels, so a value is set only where
# it is given, and one given after the command (parsed second) wins.

_VALUE_OPTIONS = ("--url", "--dir", "--config")  # the global options that take a value


def _global_options(parser: KeelParser) -> None:
    unset = argparse.SUPPRESS
    parser.add_argument(
        "--url",
        metavar="URL",
        default=unset,
        help="Database URL (else KEEL_URL, DATABASE_URL, keel.toml).",
    )
    parser.add_argument(
        "--dir", metavar="DIR", default=unset, help="Migrations directory (default: migrations)."
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=unset,
        help="Config file to use instead of searching for keel.toml.",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=unset, help="Print only errors."
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=unset,
        help="More detail; a traceback with every error.",
    )
    parser.add_argument("-h", "--help", action="help", help="Show this message and exit.")


def _json_option(parser: KeelParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="Print one JSON document on stdout and nothing else.",
    )


def _dry_run_option(parser: KeelParser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Print the plan and its SQL; change nothing, take no lock.",
    )


def _lock_options(parser: KeelParser) -> None:
    parser.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="Fail at once (exit 3) if another process holds the lock.",
    )
    parser.add_argument(
        "--lock-timeout",
        type=number,
        metavar="S",
        help="Seconds to wait for the migration lock (default 60).",
    )
    _lock_mode_options(parser)


def _lock_mode_options(parser: KeelParser) -> None:
    parser.add_argument(
        "--lock-mode",
        choices=("session", "table"),
        help="session: a database session lock (default); table: a lease row, for "
        "connection poolers such as PgBouncer.",
    )
    parser.add_argument(
        "--lock-lease",
        type=number,
        metavar="S",
        help="Table mode: seconds without a heartbeat after which a lease is taken over "
        "(default 60).",
    )


def _lock_status_options(parser: KeelParser) -> None:
    _json_option(parser)
    _lock_mode_options(parser)


def _unlock_options(parser: KeelParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="Delete the lease even if its heartbeat is fresh (only if its holder is gone).",
    )
    _lock_mode_options(parser)


def _no_options(parser: KeelParser) -> None:
    pass


def _new_options(parser: KeelParser) -> None:
    parser.add_argument(
        "description", metavar="DESCRIPTION", help='What the migration does, e.g. "add users".'
    )
    parser.add_argument(
        "--version",
        metavar="V",
        help="Version to use instead of the UTC timestamp yyyymmdd.hhmmss.",
    )


def _upgrade_options(parser: KeelParser) -> None:
    parser.add_argument("--to", metavar="V", help="Stop after version V.")
    parser.add_argument(
        "--count", type=integer, metavar="N", help="Apply at most N versioned migrations."
    )
    _dry_run_option(parser)
    parser.add_argument(
        "--single-transaction",
        action="store_true",
        help="All pending migrations in one transaction (refused on a database whose DDL "
        "commits implicitly).",
    )
    _lock_options(parser)


def _rollback_options(parser: KeelParser) -> None:
    parser.add_argument(
        "--to", metavar="V", help="Roll back every version above V (V stays applied; 0 = all)."
    )
    parser.add_argument(
        "--count", type=integer, metavar="N", help="Roll back the last N migrations (default 1)."
    )
    _dry_run_option(parser)
    _lock_options(parser)


def _history_options(parser: KeelParser) -> None:
    parser.add_argument(
        "--log", action="store_true", help="Show the audit trail of every action instead."
    )
    _json_option(parser)


def _validate_options(parser: KeelParser) -> None:
    parser.add_argument(
        "--offline", action="store_true", help="Check the files only; no database needed."
    )
    _json_option(parser)


def _repair_options(parser: KeelParser) -> None:
    parser.add_argument(
        "--checksums", action="store_true", help="Accept the current contents of edited files."
    )
    parser.add_argument(
        "--missing", action="store_true", help="Forget applied migrations whose files are gone."
    )
    parser.add_argument(
        "--failed", action="store_true", help="Clear failed rows after you fixed the database."
    )
    parser.add_argument(
        "--rolled-back",
        action="store_true",
        help="With --failed: record a failed rollback you finished by hand as rolled back "
        "(without it, a failed rollback you undid is restored as applied).",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="Say what would change; change nothing."
    )
    _lock_options(parser)


def _baseline_options(parser: KeelParser) -> None:
    parser.add_argument(
        "version",
        metavar="VERSION",
        help="The version to baseline at; it must have a migration file.",
    )
    _lock_options(parser)


# name -> (positional arguments for the usage line, help, options), in workflow order.
# The first line of the help is the summary in `keel --help`; the function that runs a
# command is the one of the same name (dashes as underscores) in sqlkeel.cli.commands.
COMMANDS: dict[str, tuple[str, str, Callable[[KeelParser], None]]] = {
    "init": (
        "",
        "Create migrations/ and a commented keel.toml in the current directory.\n\n"
        "With --dir D and --url U: creates D instead and writes both into keel.toml\n"
        "(a password in the URL is refused: put ${DB_PASSWORD} in its place).\n"
        "An existing keel.toml is kept; the folder its migrations_dir names is created.",
        _no_options,
    ),
    "new": (
        " DESCRIPTION",
        "Create V<version>__<description>.sql with empty upgrade and rollback\n"
        "sections.\n\n"
        'Example: keel new "add users"',
        _new_options,
    ),
    "upgrade": (
        "",
        "Apply pending migrations in version order.\n\n"
        "Examples: keel upgrade; keel upgrade --to 3; keel upgrade --dry-run",
        _upgrade_options,
    ),
    "rollback": (
        "",
        "Roll back the last migration, using the '-- rollback' section of its file.\n\n"
        "Examples: keel rollback; keel rollback --count 2; keel rollback --to 3",
        _rollback_options,
    ),
    "status": (
        "",
        "Applied migrations, then pending ones in the order they will run; flags\nproblems.",
        _json_option,
    ),
    "history": (
        "",
        "Applied migrations in order, with when, by whom and how long they took.",
        _history_options,
    ),
    "current": ("", "Print the head version, or 'none'.", _json_option),
    "validate": (
        "",
        "Check files and history without running anything.\n\n"
        "Refuses duplicate versions, malformed or unparsable files, applied files that\n"
        "were edited or deleted, new files at or below the head, and failed migrations.",
        _validate_options,
    ),
    "repair": (
        "",
        "Make deliberate changes to the history; each is printed and logged.",
        _repair_options,
    ),
    "baseline": (
        " VERSION",
        "Record every versioned migration up to VERSION as applied, without running\n"
        "it.\n\n"
        "For adopting a database that already has that schema. Example: keel baseline 5",
        _baseline_options,
    ),
    "lock-status": (
        "",
        "Show who holds the migration lock, if anyone (in table mode: the lease's\n"
        "holder and the age of its heartbeat).",
        _lock_status_options,
    ),
    "unlock": (
        "",
        "Clear a table-mode lease whose holder is gone (session locks need no\n"
        "unlocking).\n\n"
        "Deletes a lease whose heartbeat is older than lock_lease; a fresh one only\n"
        "with --force. Either is logged.",
        _unlock_options,
    ),
}


def summary(name: str) -> str:
    """The first sentence of a command's help, on one line."""
    first = COMMANDS[name][1].split("\n\n", 1)[0]
    return " ".join(first.split())


def main_parser() -> KeelParser:
    """The parser of ``keel`` itself: global options, --version, the list of commands."""
    from sqlkeel import __version__

    parser = KeelParser(PROG, USAGE, DESCRIPTION, EPILOG)
    parser.add_argument(
        "--version",
        action="version",
        version=f"keel, version {__version__}",
        help="Show the version and exit.",
    )
    _global_options(parser)
    parser.add_argument_group("commands", _command_list(help_width()))
    return parser


def _command_list(width: int) -> str:
    """One line per command, its summary wrapped to ``width`` columns below the section's indent."""
    column = max(len(name) for name in COMMANDS) + 2
    room = max(width - 2 - column, 20)
    lines = []
    for name in COMMANDS:
        line = name.ljust(column)
        for word in summary(name).split():
            if len(line) > column and len(line) + 1 + len(word) > column + room:
                lines.append(line)
                line = " " * column + word
            else:
                line += ("" if len(line) == column else " ") + word
        lines.append(line)
    return "\n".join(lines)


def command_parser(name: str) -> KeelParser:
    """The parser of ``keel <name>``: its own options, then the global ones."""
    arguments, help_text, add_options = COMMANDS[name]
    parser = KeelParser(f"{PROG} {name}", f"{PROG} {name} [OPTIONS]{arguments}", help_text)
    add_options(parser)
    _global_options(parser)
    return parser


# ---------------------------------------------------------------------------------------
# Running a command line


def _split(argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """The global options before the command, the command's name (if any), the rest."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            name = argv[i + 1] if i + 1 < len(argv) else None
            return argv[:i], name, argv[i + 2 :]
        if not word.startswith("-") or word == "-":
            return argv[:i], word, argv[i + 1 :]
        i += 2 if word in _VALUE_OPTIONS else 1
    return argv, None, []


def _remember(opts: GlobalOptions, namespace: argparse.Namespace) -> None:
    for name in ("url", "dir", "config", "quiet", "verbose", "json"):
        if hasattr(namespace, name):
            setattr(opts, name, getattr(namespace, name))


def _dispatch(argv: list[str], opts: GlobalOptions) -> int:
    """Parse ``argv`` into ``opts`` and the command's arguments, run the command."""
    if not argv:  # as click did: the help, on stderr, and the usage-error exit code
        sys.stderr.write(main_parser().format_help())
        return 2
    before, name, after = _split(argv)
    namespace = argparse.Namespace()
    top = main_parser()
    namespace, extras = top.parse_known_args(before, namespace)
    top.reject_extras(extras, before)
    _remember(opts, namespace)
    if name is None:
        raise CommandLineError("missing command", "name one, e.g. 'keel status'; " + top.see_help())
    if name not in COMMANDS:
        raise CommandLineError(
            f"no such command '{name}'", _did_you_mean(name, list(COMMANDS)) + top.see_help()
        )
    parser = command_parser(name)
    options = after[: after.index("--")] if "--" in after else after
    if "-h" in options or "--help" in options:  # before any error in the rest, as click did
        parser.print_help()
        return 0
    namespace, extras = parser.parse_known_args(after, namespace)
    parser.reject_extras(extras, after)
    _remember(opts, namespace)

    from sqlkeel import signals
    from sqlkeel.cli import commands

    signals.install()  # SIGTERM, too, unwinds like Ctrl-C: statement stopped, lock released
    command: Callable[[GlobalOptions, argparse.Namespace], int] = getattr(
        commands, name.replace("-", "_")
    )
    return command(opts, namespace)


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point: run keel on ``argv`` (default: the process's arguments)
    and exit with its code."""
    sys.exit(run(sys.argv[1:] if argv is None else list(argv)))


def run(argv: list[str]) -> int:
    """Run keel on ``argv``; return the exit code.

    The single error boundary: a usage error or KeelError prints one paragraph on stderr
    (with a traceback under -v) and exits with its code; Ctrl-C exits 130 and SIGTERM 143
    (128 + the signal, as a shell reports it); a closed
    output pipe ends quietly; anything else is reported as a bug, exit 1.
    """
    opts = GlobalOptions()
    try:
        try:
            code = _dispatch(argv, opts)
        except SystemExit as exc:  # --help and --version end through argparse's exit()
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()  # so that a closed pipe shows up here, inside the boundary
        return code
    except CommandLineError as exc:  # never a traceback: the command line is the problem
        _report(opts, f"{exc.message}. Fix: {exc.fix}", traceback=False)
        return 2
    except KeyboardInterrupt as exc:
        exit_code: int = getattr(exc, "exit_code", 130)
        _write_stderr(f"keel: interrupted by {'SIGTERM' if exit_code == 143 else 'Ctrl-C'}.")
        return exit_code
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error worth a message. Point stdout
        # at devnull so the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # never a bare traceback
        from sqlkeel.errors import KeelError

        if isinstance(exc, KeelError):
            _report(opts, exc.spelled(FLAGS))
            return exc.exit_code
        _report(
            opts,
            f"unexpected {type(exc).__name__}: {exc}. This is a bug in keel or an "
            "unexpected database reply; run again with -v for the traceback and report it.",
        )
        return 1


# The flag that gives each field a KeelError may name (the core and the library name
# fields, the command line spells them so).
FLAGS = {
    "to": "--to",
    "count": "--count",
    "single_transaction": "--single-transaction",
    "checksums": "--checksums",
    "missing": "--missing",
    "failed": "--failed",
    "rolled_back": "--rolled-back",
}


def _report(opts: GlobalOptions, message: str, *, traceback: bool = True) -> None:
    from sqlkeel.urls import mask_password

    if traceback and opts.verbose:
        import traceback as tb

        tb.print_exc()
    _write_stderr(f"keel: error: {mask_password(message)}")


def _write_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
