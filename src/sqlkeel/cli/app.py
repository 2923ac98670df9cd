"""The ``keel`` command group: global options and the single error boundary.

Global options are accepted before or after the command name; a value given after the
command wins. Heavy modules load inside commands, so ``keel --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Exit codes: 0 success (also "nothing to do"), 1 a migration or validation failed,
2 usage or configuration error, 3 lock not acquired in time.
Configuration: flag > KEEL_* / DATABASE_URL environment > keel.toml > [tool.keel] in
pyproject.toml, found by walking up from the current directory."""


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


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        opts = ctx.find_object(GlobalOptions) or ctx.ensure_object(GlobalOptions)
        if value not in (None, False):
            setattr(opts, name, value)
        return value

    return callback


def global_options(func: F) -> F:
    """Attach --url/--dir/--config/-q/-v to the group and to every command."""
    options = [
        click.option(
            "--url",
            metavar="URL",
            expose_value=False,
            callback=_remember("url"),
            help="Database URL (else KEEL_URL, DATABASE_URL, keel.toml).",
        ),
        click.option(
            "--dir",
            "dir",
            metavar="DIR",
            expose_value=False,
            callback=_remember("dir"),
            help="Migrations directory (default: migrations).",
        ),
        click.option(
            "--config",
            metavar="FILE",
            expose_value=False,
            callback=_remember("config"),
            help="Config file to use instead of searching for keel.toml.",
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            expose_value=False,
            callback=_remember("quiet"),
            help="Print only errors.",
        ),
        click.option(
            "-v",
            "--verbose",
            is_flag=True,
            expose_value=False,
            callback=_remember("verbose"),
            help="More detail; a traceback with every error.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def json_option(func: F) -> F:
    return click.option(
        "--json",
        "json_",
        is_flag=True,
        expose_value=False,
        callback=_remember("json"),
        help="Print one JSON document on stdout and nothing else.",
    )(func)


class KeelGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order they were added: the natural workflow

    def invoke(self, ctx: click.Context) -> Any:
        """The single error boundary: one paragraph on stderr and the error's exit code."""
        from sqlkeel.errors import KeelError

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeelError as exc:
            _report(ctx, str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("keel: interrupted.", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader (e.g. `| head`) went away: not an error worth a message. Point
            # stdout at devnull so the interpreter's final flush does not complain again.
            import os
            import sys

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:  # never a bare traceback
            _report(
                ctx,
                f"unexpected {type(exc).__name__}: {exc}. This is a bug in keel or an "
                "unexpected database reply; run again with -v for the traceback and report it.",
            )
            ctx.exit(1)


def _report(ctx: click.Context, message: str) -> None:
    from sqlkeel.urls import mask_password

    opts = ctx.find_object(GlobalOptions)
    if opts is not None and opts.verbose:
        import traceback

        traceback.print_exc()
    click.echo(f"keel: error: {mask_password(message)}", err=True)


@click.group(cls=KeelGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sqlkeel", prog_name="keel")
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """keel: database migrations in plain SQL files.

    Versioned files (V<version>__<description>.sql) run once, in ascending version order,
    on one linear history; every applied file is guarded by a checksum; one process
    migrates a database at a time; every migration can be rolled back from the
    '-- rollback' section of its own file.
    """
    ctx.ensure_object(GlobalOptions)


def _register() -> None:
    from sqlkeel.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="keel")
