"""Benchmark keel against other migration tools and the plain-SQL floor.

    python3 bench/run.py [--quick] [--tools keel,dbmate,...] [--db sqlite,postgresql]
                         [--sizes 100,1000,10000] [--repeat 5]

Standard library only: every tool runs in its own virtualenv under bench/.venvs/.
Progress goes to stderr, the markdown table to stdout, every raw sample to
bench/results/<date>.json. Exit status 1 if any run or check failed.
"""

from __future__ import annotations

import datetime
import shutil
import sys
import tempfile
import time
from pathlib import Path

from adapters import ADAPTERS, Adapter
from harness import machine, options, report, venvs
from harness.databases import AdminError, Databases, PostgresServer
from harness.results import Results
from harness.rounds import Abort, Runner, project_cache

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    opts = options.parse(argv)
    server = None
    if "postgresql" in opts.dbs:
        server = PostgresServer.from_url(opts.pg_url)
    try:
        postgres_version = server.version() if server else None
        adapters, versions = install(opts)
        duckdb_bin = duckdb_venv() if "duckdb" in opts.dbs else None
    except (AdminError, venvs.InstallError) as error:
        print(f"run.py: {error}", file=sys.stderr)
        return 2
    info = machine.describe(postgres_version)
    print(machine.line(info), file=sys.stderr)

    results = Results()
    # Outside the repository: no tool may find its pyproject.toml or keel.toml.
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-"))
    try:
        runner = Runner(
            opts,
            adapters,
            project_cache(workdir),
            Databases(workdir, server, duckdb_bin / "python" if duckdb_bin else None),
            server,
            results,
        )
        runner.run()
    except Abort:
        print("run.py: stopped at the first failure (--fail-fast)", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.perf_counter() - started
    table = report.markdown(opts, results, machine.line(info), versions)
    print(table)
    output = opts.output or default_output(opts)
    report.write_json(output, opts, results, info, versions, table, elapsed)
    print(f"raw samples: {output}; total {elapsed / 60:.1f} min", file=sys.stderr)
    return 1 if results.failures else 0


def install(opts: options.Options) -> tuple[list[Adapter], dict[str, str]]:
    """The chosen adapters with their venvs ready, and each tool's version."""
    sections = venvs.read_requirements(BENCH / "requirements.txt")
    adapters: list[Adapter] = []
    versions: dict[str, str] = {}
    for name in opts.tools:
        cls = ADAPTERS[name]
        if name == "keel":
            spec, fingerprint = venvs.keel_requirements(REPO)
            bin_dir = venvs.ensure_venv(BENCH / ".venvs", name, spec, fingerprint)
            venvs.byte_compile(bin_dir, REPO / "src")
        elif cls.package is None:
            # The floor runs DuckDB's script with the DuckDB virtualenv's interpreter.
            bin_dir = duckdb_venv() if "duckdb" in opts.dbs else Path(sys.executable).parent
        else:
            if name not in sections:
                raise venvs.InstallError(f"requirements.txt has no '# [{name}]' section")
            bin_dir = venvs.ensure_venv(BENCH / ".venvs", name, sections[name])
        adapters.append(cls(bin_dir))
        if cls.package is None:
            versions[name] = "(plain SQL: psql / python3 -S sqlite3"
            if "duckdb" in opts.dbs:
                versions[name] += f" / duckdb {venvs.installed_version(bin_dir, 'duckdb')}"
            versions[name] += ")"
        else:
            versions[name] = venvs.installed_version(bin_dir, cls.package)
    if "keel" in versions:
        versions["keel"] += f" ({venvs.git_describe(REPO)})"
    return adapters, versions


def duckdb_venv() -> Path:
    """The bin/ folder of bench/.venvs/duckdb: the duckdb module, for the floor's DuckDB
    script and for reading DuckDB files back."""
    sections = venvs.read_requirements(BENCH / "requirements.txt")
    return venvs.ensure_venv(BENCH / ".venvs", "duckdb", sections["duckdb"])


def default_output(opts: options.Options) -> Path:
    day = datetime.date.today().isoformat()
    return BENCH / "results" / (f"{day}-quick.json" if opts.quick else f"{day}.json")


if __name__ == "__main__":
    sys.exit(main())
