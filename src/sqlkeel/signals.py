"""SIGINT and SIGTERM as exceptions that end a run cleanly.

The CLI installs handlers (``install``) that raise ``Interrupted``: a KeyboardInterrupt,
so that every layer unwinds as on Ctrl-C (psycopg cancels the running statement, MySQL's
is killed, open transactions roll back, the lock is released) and the process exits
128 + the signal's number (130, 143), as a shell reports a death by that signal.
"""

from __future__ import annotations

import signal

TYPE_CHECKING = False  # see sqlkeel.core.values
if TYPE_CHECKING:
    from types import FrameType


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``exit_code`` is 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


# The last signal received. SQLite reports a statement its progress handler aborted only
# as "interrupted", having dropped the exception the handler raised: this says which.
_last: Interrupted | None = None


def _raise(signum: int, frame: FrameType | None) -> None:
    global _last
    _last = Interrupted(signum)
    raise _last


def install() -> None:
    """Turn SIGINT and SIGTERM into Interrupted in this (main) thread."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise)


def last_interrupt() -> KeyboardInterrupt:
    """The interruption to raise for a statement the database stopped on a signal: the
    signal keel's handler recorded, else a plain Ctrl-C (a library caller's handler)."""
    return _last if _last is not None else KeyboardInterrupt()
