"""Run one command as a child process: whole-process wall time and that child's peak RSS.

Commands are forked by a small launcher process (see launcher.py), which times each one
with perf_counter from fork to reaping, drains stdout and stderr through pipes (so
terminal printing costs nothing), and reaps it with os.wait4: the rusage is that one
child's, not a maximum over all children as RUSAGE_CHILDREN would be.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).resolve().with_name("launcher.py")

# Settings the tools would otherwise pick up from the caller's shell.
_SCRUBBED_PREFIXES = ("KEEL_", "JETBASE_", "DBMATE_", "SQLSTEP_", "YOYO_")
_SCRUBBED_NAMES = ("DATABASE_URL",)


@dataclass(frozen=True)
class Outcome:
    seconds: float
    max_rss_kib: int
    exit_code: int
    stdout: bytes
    stderr: bytes

    def tail(self, lines: int = 15) -> str:
        """The last lines of stderr (or stdout if stderr is empty), for error messages."""
        text = (self.stderr or self.stdout).decode(errors="replace").rstrip()
        return "\n".join(text.splitlines()[-lines:])


class Timeout(Exception):
    """The child ran longer than allowed and was killed."""


class LauncherError(Exception):
    """The launcher process died or answered nonsense."""


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The harness's environment without migration-tool settings, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_SCRUBBED_PREFIXES) and key not in _SCRUBBED_NAMES
    }
    env.update(extra)
    return env


class Launcher:
    """One launcher process, started on first use; one command at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    def run(
        self, argv: tuple[str, ...], cwd: Path, env: Mapping[str, str], timeout: float
    ) -> Outcome:
        """Run `argv` to completion. Raises Timeout (child killed) or LauncherError."""
        process = self._started()
        assert process.stdin is not None and process.stdout is not None
        request = (list(argv), str(cwd), child_environment(env), float(timeout))
        payload = marshal.dumps(request)
        try:
            process.stdin.write(len(payload).to_bytes(8, "big") + payload)
            process.stdin.flush()
            header = process.stdout.read(8)
            reply = marshal.loads(process.stdout.read(int.from_bytes(header, "big")))
        except (OSError, EOFError, ValueError, TypeError) as error:
            self.close()
            raise LauncherError(f"launcher failed: {error}") from error
        seconds, max_rss_kib, exit_code, timed_out, stdout, stderr = reply
        if timed_out:
            raise Timeout
        return Outcome(seconds, max_rss_kib, exit_code, stdout, stderr)

    def close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            self._process.wait()
            self._process = None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-S", "-I", str(LAUNCHER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._process
