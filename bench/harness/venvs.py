"""One private virtualenv per tool under bench/.venvs/, created on first use.

Peers get their "# [tool]" section of requirements.txt; keel gets an editable install of
the repository, so every run measures the current source. A venv is rebuilt when what
it was built from (the section, or keel's pyproject.toml) changes.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

_SECTION = re.compile(r"^#\s*\[([\w-]+)\]")
_STAMP = ".bench-stamp"


class InstallError(Exception):
    """A virtualenv could not be created or a package not installed."""


def read_requirements(path: Path) -> dict[str, list[str]]:
    """The requirement lines of each '# [tool]' section of `path`."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text().splitlines():
        header = _SECTION.match(raw)
        if header:
            current = sections.setdefault(header.group(1), [])
            continue
        line = raw.split("#", 1)[0].strip()
        if line and current is not None:
            current.append(line)
    return sections


def ensure_venv(venvs: Path, tool: str, requirements: list[str], stamp_extra: str = "") -> Path:
    """The bin/ folder of venvs/<tool>, with `requirements` installed. Raises InstallError."""
    venv = venvs / tool
    stamp = "\n".join([*requirements, stamp_extra, sys.version])
    stamp_file = venv / _STAMP
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return venv / "bin"
    if venv.exists():
        shutil.rmtree(venv)
    print(f"installing {tool} into {venv} ...", file=sys.stderr, flush=True)
    _call([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    _call([*pip, "install", "--quiet", *requirements])
    stamp_file.write_text(stamp)
    return venv / "bin"


def keel_requirements(repo: Path) -> tuple[list[str], str]:
    """keel's editable install spec, and a fingerprint of its pyproject.toml."""
    pyproject = (repo / "pyproject.toml").read_bytes()
    return ["-e", f"{repo}[postgres,duckdb]"], hashlib.sha256(pyproject).hexdigest()


def byte_compile(bin_dir: Path, source: Path) -> None:
    """Write the .pyc files of an editable install's `source`, as pip does for a wheel.

    Without them every run compiles keel's modules again whenever the environment sets
    PYTHONDONTWRITEBYTECODE (this machine's sessions do): about 25 ms a run that the peers,
    byte-compiled by pip at install time, never pay. compileall writes regardless of it.
    """
    _call([str(bin_dir / "python"), "-m", "compileall", "-q", str(source)])


def installed_version(bin_dir: Path, distribution: str) -> str:
    """The version of `distribution` in the venv that owns `bin_dir`."""
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", code], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else "?"


def _call(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise InstallError(f"{' '.join(argv)} failed (exit {done.returncode}):\n{output}")


def git_describe(repo: Path) -> str:
    """The repository's commit, with '+changes' when the work tree differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return f"{commit}+changes" if dirty else commit
