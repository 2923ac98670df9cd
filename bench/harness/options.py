"""Command-line options of run.py, parsed into one frozen value."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

ALL_TOOLS = ("keel", "dbmate", "jetbase", "sqlstep", "yoyo", "floor")
ALL_DBS = ("sqlite", "postgresql", "duckdb")
DEFAULT_DBS = "sqlite,postgresql"  # DuckDB only on request: only keel and the floor run it
DEFAULT_SIZES = "100,1000,10000"
DEFAULT_BIG_ON = "sqlite"
DEFAULT_REPEAT = 5
QUICK_SIZES = "10,100"
QUICK_REPEAT = 3


@dataclass(frozen=True)
class Options:
    tools: tuple[str, ...]
    dbs: tuple[str, ...]
    small: int | None  # upgrade from empty only
    main: int  # the full cycle: status empty, upgrade, no-op, status, rollback all
    big: int | None  # applied once (untimed setup), then status timed
    big_on: tuple[str, ...]  # databases that get the big size
    repeat: int
    quick: bool
    pg_url: str
    output: Path | None
    fail_fast: bool
    timeout: float
    setup_jobs: int


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python3 bench/run.py",
        description="Benchmark keel against other migration tools and the plain-SQL floor.",
    )
    parser.add_argument(
        "--tools", default=",".join(ALL_TOOLS), help=f"comma-separated, from {','.join(ALL_TOOLS)}"
    )
    parser.add_argument(
        "--db", default=DEFAULT_DBS, help=f"from {','.join(ALL_DBS)} (default {DEFAULT_DBS})"
    )
    parser.add_argument(
        "--sizes",
        help="MAIN, SMALL,MAIN or SMALL,MAIN,BIG: SMALL is upgraded from empty; MAIN gets "
        "the full cycle (status on empty, upgrade, no-op upgrade, status, rollback all); BIG "
        f"is applied once, then its status is timed (default {DEFAULT_SIZES}, "
        f"--quick {QUICK_SIZES})",
    )
    parser.add_argument(
        "--big-on",
        default=DEFAULT_BIG_ON,
        help=f"databases that get the BIG size (default {DEFAULT_BIG_ON}; 'none' skips it)",
    )
    parser.add_argument(
        "--repeat", type=int, help=f"rounds (default {DEFAULT_REPEAT}, --quick {QUICK_REPEAT})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: sizes {QUICK_SIZES}, {QUICK_REPEAT} rounds, no BIG",
    )
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL"
    )
    parser.add_argument(
        "--output", type=Path, help="JSON file (default bench/results/<date>[-quick].json)"
    )
    parser.add_argument(
        "--fail-fast", action="store_true", help="stop at the first failed run or check"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds before a run is killed (900)"
    )
    parser.add_argument(
        "--setup-jobs",
        type=int,
        default=2,
        choices=(1, 2),
        help="BIG setups run at once (default 2; with 1 their wall time is reported too)",
    )
    args = parser.parse_args(argv)

    tools = _choices(parser, args.tools, ALL_TOOLS, "--tools")
    dbs = _choices(parser, args.db, ALL_DBS, "--db")
    big_on = () if args.big_on == "none" else _choices(parser, args.big_on, ALL_DBS, "--big-on")
    sizes_text = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    try:
        sizes = [int(part) for part in sizes_text.split(",")]
    except ValueError:
        parser.error(f"--sizes: not a list of integers: {sizes_text!r}")
    if not 1 <= len(sizes) <= 3 or min(sizes) < 1 or sizes != sorted(set(sizes)):
        parser.error("--sizes: one to three increasing positive integers, SMALL,MAIN,BIG")
    small, main, big = _roles(sizes)
    repeat = args.repeat or (QUICK_REPEAT if args.quick else DEFAULT_REPEAT)
    if repeat < 1:
        parser.error("--repeat: at least 1")
    return Options(
        tools=tools,
        dbs=dbs,
        small=small,
        main=main,
        big=big,
        big_on=big_on,
        repeat=repeat,
        quick=args.quick,
        pg_url=args.pg,
        output=args.output,
        fail_fast=args.fail_fast,
        timeout=args.timeout,
        setup_jobs=args.setup_jobs,
    )


def _roles(sizes: list[int]) -> tuple[int | None, int, int | None]:
    if len(sizes) == 1:
        return None, sizes[0], None
    if len(sizes) == 2:
        return sizes[0], sizes[1], None
    return sizes[0], sizes[1], sizes[2]


def _choices(
    parser: argparse.ArgumentParser, text: str, allowed: tuple[str, ...], flag: str
) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in chosen if name not in allowed]
    if unknown or not chosen:
        parser.error(f"{flag}: choose from {','.join(allowed)} (got {text!r})")
    return tuple(name for name in allowed if name in chosen)  # canonical order
