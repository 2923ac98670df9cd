"""The migration lock of a database that is a file of this machine (SQLite, DuckDB): an
exclusive ``flock`` on ``<database>.keel-lock`` beside it.

The kernel drops a ``flock`` when its process dies, so a crash can never leave the lock
held; the file holds the holder's name and start time for ``lock-status``. ``flock`` locks
belong to an open file description, so two locks of one process exclude each other too.
https://man7.org/linux/man-pages/man2/flock.2.html
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlkeel.dialects.base import Holder, LockWait, holder_name, poll_lock
from sqlkeel.errors import ConfigError, DiskFull

__all__ = ["FileLock", "is_disk_full"]


def is_disk_full(exc: OSError) -> bool:
    """Whether the operating system refused a write for want of space (or quota, or the
    file's size limit)."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class FileLock:
    """keel's lock file beside the database file ``database`` (as messages name it)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.path = f"{database}.keel-lock"

    @contextmanager
    def held(self, *, timeout: float, wait: bool, on_wait: LockWait | None) -> Iterator[None]:
        """Hold the lock for the block, waiting up to ``timeout`` seconds for another holder
        (see ``poll_lock``). Raises LockTimeout, ConfigError when the lock file cannot be
        made, DiskFull when it cannot be written."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # e.g. a folder where no file can be made (/proc)
            raise ConfigError(
                f"cannot open or create keel's lock file {self.path}: {exc.strerror} "
                f"(errno {exc.errno}). Fix: put the database in a folder where keel's user may "
                "create files, and let that user read and write the lock file."
            ) from exc
        try:

            def try_acquire() -> bool:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                return True

            poll_lock(
                try_acquire,
                self.holder,
                timeout=timeout,
                wait=wait,
                on_wait=on_wait,
                what=self.database,
            )
            since = datetime.now(timezone.utc).isoformat(timespec="seconds")
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{holder_name()}\n{since}\n".encode(), 0)
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                raise DiskFull(
                    f"the disk is full: keel could not write its lock file {self.path} "
                    f"({exc.strerror}); nothing was changed and the database is intact. Fix: "
                    "free space on that disk, then run the command again."
                ) from exc
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder(self) -> Holder | None:
        """Who holds the lock now (as its file names them), or None when it is free.
        Raises ConfigError when the lock file cannot be read."""
        if not os.path.exists(self.path):
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise ConfigError(
                f"cannot read keel's lock file {self.path}: {exc.strerror} (errno "
                f"{exc.errno}). Fix: let keel's user read and write it (e.g. chmod u+rw), or "
                "run keel as the user who migrates this database."
            ) from exc
        try:
            try:
                # A shared lock succeeds only when nobody holds the exclusive one.
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace").splitlines()
        finally:
            os.close(fd)
        description = text[0] if text else "another process"
        since: datetime | None = None
        if len(text) > 1:
            try:
                since = datetime.fromisoformat(text[1])
            except ValueError:
                since = None
        return Holder(description, since)
