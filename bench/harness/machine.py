"""A description of the machine the figures come from."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path


def describe(postgres_version: str | None) -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python, PostgreSQL and SQLite versions, date (UTC), and
    the load average at the start (other work on the machine skews every figure)."""
    import sqlite3

    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count() or "?"),
        "ram": _ram(),
        "os": f"{_os_name()} (Linux {platform.release()})",
        "python": platform.python_version(),
        "postgresql": postgres_version or "not used",
        "sqlite": sqlite3.sqlite_version,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def line(info: dict[str, str]) -> str:
    return (
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['os']}; "
        f"Python {info['python']}, PostgreSQL {info['postgresql']}, SQLite {info['sqlite']}; "
        f"{info['date']}; load average at start {info['load']}"
    )


def _cpu_model() -> str:
    for text in _lines("/proc/cpuinfo"):
        if text.startswith("model name"):
            return text.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram() -> str:
    for text in _lines("/proc/meminfo"):
        if text.startswith("MemTotal:"):
            return f"{int(text.split()[1]) / 1024 / 1024:.0f} GiB"
    return "?"


def _os_name() -> str:
    for text in _lines("/etc/os-release"):
        if text.startswith("PRETTY_NAME="):
            return text.split("=", 1)[1].strip().strip('"')
    return platform.system()


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []
