"""The markdown table printed on stdout, and the JSON file with every raw sample."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from adapters import Kind

from harness.options import Options
from harness.results import Cell, Results
from harness.stats import paired_ratios, summarize

DB_TITLES = {"-": "-", "sqlite": "SQLite", "postgresql": "PostgreSQL", "duckdb": "DuckDB"}


@dataclass(frozen=True)
class Row:
    label: str
    db: str
    kind: Kind
    size: int
    metric: str  # "seconds" or "rss"


def rows(options: Options) -> list[Row]:
    """The table's rows, in order: --help, then each database's scenarios, then RSS."""
    main, small, big = options.main, options.small, options.big
    result = [Row("--help", "-", Kind.HELP, main, "seconds")]
    for db in options.dbs:
        has_big = big is not None and db in options.big_on
        result.append(
            Row(f"status, empty db ({main} pending)", db, Kind.STATUS_EMPTY, main, "seconds")
        )
        if small is not None:
            result.append(Row(f"upgrade {small}", db, Kind.UPGRADE, small, "seconds"))
        result.append(Row(f"upgrade {main}", db, Kind.UPGRADE, main, "seconds"))
        result.append(
            Row(f"no-op upgrade ({main} applied)", db, Kind.NOOP_UPGRADE, main, "seconds")
        )
        result.append(Row(f"status ({main} applied)", db, Kind.STATUS, main, "seconds"))
        if has_big and big is not None:
            result.append(Row(f"status ({big} applied)", db, Kind.STATUS, big, "seconds"))
        result.append(Row(f"rollback all {main}", db, Kind.ROLLBACK_ALL, main, "seconds"))
        if has_big and big is not None and options.setup_jobs == 1:
            result.append(Row(f"upgrade {big} (setup, 1 run)", db, Kind.UPGRADE, big, "seconds"))
    for db in options.dbs:
        has_big = big is not None and db in options.big_on
        result.append(Row(f"peak RSS MiB: upgrade {main}", db, Kind.UPGRADE, main, "rss"))
        result.append(Row(f"peak RSS MiB: status ({main} applied)", db, Kind.STATUS, main, "rss"))
        if has_big and big is not None:
            result.append(Row(f"peak RSS MiB: upgrade {big}", db, Kind.UPGRADE, big, "rss"))
            result.append(Row(f"peak RSS MiB: status ({big} applied)", db, Kind.STATUS, big, "rss"))
    return result


def markdown(
    options: Options, results: Results, machine_line: str, versions: dict[str, str]
) -> str:
    tools = list(options.tools)
    peers = [tool for tool in tools if tool != "keel"] if "keel" in tools else []
    header = ["scenario", "db", *tools, *(f"keel/{peer}" for peer in peers)]
    lines = [
        machine_line,
        "",
        "Tools: " + ", ".join(f"{tool} {versions.get(tool, '?')}" for tool in tools) + ".",
        f"Wall time of the whole process in seconds, median [min-max] of {options.repeat} "
        "interleaved rounds (peak RSS rows: MiB, median). keel/peer: median of the "
        "per-round ratios, below 1 means keel is faster.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---"] + ["--:"] * (len(header) - 2)) + "|",
    ]
    for row in rows(options):
        cells = [row.label, DB_TITLES[row.db]]
        cells += [
            _figure(results, options, Cell(t, row.db, row.kind.value, row.size), row) for t in tools
        ]
        cells += [_ratio(results, options, row, peer) for peer in peers]
        lines.append("| " + " | ".join(cells) + " |")
    lines += _notes(options, results)
    return "\n".join(lines)


def _figure(results: Results, options: Options, cell: Cell, row: Row) -> str:
    failures = results.failures_of(cell)
    if failures:
        return f"**FAILED** ({len(failures)}x)"
    reason = results.not_available.get(cell.tool, {}).get(cell.kind)
    if reason is not None:
        return "n/a"
    samples = results.samples_of(cell)
    if row.metric == "rss":
        summary = summarize([s.max_rss_kib / 1024 for s in samples])
        return "-" if summary is None else f"{summary.median:.0f}"
    summary = summarize([s.seconds for s in samples])
    if summary is None:
        return "-"
    if summary.count == 1:
        return _seconds(summary.median)
    return f"{_seconds(summary.median)} [{_seconds(summary.low)}-{_seconds(summary.high)}]"


def _ratio(results: Results, options: Options, row: Row, peer: str) -> str:
    def by_round(tool: str) -> dict[int, float]:
        cell = Cell(tool, row.db, row.kind.value, row.size)
        if results.failures_of(cell):
            return {}
        if row.metric == "rss":
            return {s.round: s.max_rss_kib / 1.0 for s in results.samples_of(cell)}
        return {s.round: s.seconds for s in results.samples_of(cell)}

    summary = summarize(paired_ratios(by_round("keel"), by_round(peer)))
    return "-" if summary is None else _number(summary.median)


def _notes(options: Options, results: Results) -> list[str]:
    notes = [
        "",
        "`-`: no figure (no ratio next to n/a; the floor builds no BIG database unless "
        "--setup-jobs 1). Peak RSS cannot go below the launcher's own size, about 9 MiB "
        "(psql is there).",
    ]
    not_available = [
        f"- {tool}, {kind}: {reason}"
        for tool in options.tools
        for kind, reason in results.not_available.get(tool, {}).items()
    ]
    skipped = [db for db in options.dbs if db not in options.big_on]
    if options.big is not None and skipped:
        not_available.append(
            f"- status ({options.big} applied) on {', '.join(DB_TITLES[db] for db in skipped)}:"
            f" not run (opt-in: --big-on {','.join(options.dbs)})"
        )
    if not_available:
        notes += ["", "n/a:", *not_available]
    if results.failures:
        notes += ["", f"FAILED runs: {len(results.failures)} (details on stderr and in the JSON)."]
    return notes


def _seconds(value: float) -> str:
    return _number(value)


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def write_json(
    path: Path,
    options: Options,
    results: Results,
    machine: dict[str, str],
    versions: dict[str, str],
    table: str,
    wall_seconds: float,
) -> None:
    document: dict[str, Any] = {
        "machine": machine,
        "options": {key: _plain(value) for key, value in asdict(options).items()},
        "versions": versions,
        "wall_seconds": round(wall_seconds, 1),
        "units": {"seconds": "whole-process wall time", "max_rss_kib": "ru_maxrss of the child"},
        **results.raw(),
        "table": table,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")


def _plain(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
