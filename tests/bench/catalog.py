"""Catalog CLI latency on a 500-table catalog (issue 7).

The native stack on its own ports; a database of 500 partitioned Parquet tables
created through the Thrift Server. Timed: a user's command, each a new process,
in the stack profile (PyHive to the Thrift Server, no JVM in the CLI):
``headwater catalog tables bench_catalog``, ``headwater catalog describe
bench_catalog.t_0250``, ``headwater catalog databases`` and ``headwater runs``.
Median of 7 runs after one warm-up (which also writes the modules' bytecode, as any
installed Python program has it); issue 23's target of 0.3 s is the anchor the ratio
is taken to.

Run alone with ``python -m tests.bench.catalog`` (it rewrites its own section of
docs/benchmarks.md); ``make bench`` runs it with the rest.
"""

from __future__ import annotations

import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TABLES = 500
RUNS = 7
TARGET_SECONDS = 0.3
DATABASE = "bench_catalog"
SECTION = "## Catalog CLI latency (500 tables, stack profile)"
OUT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class CatalogResult:
    tables: int
    create_seconds: float
    tables_median: float
    describe_median: float
    databases_median: float
    runs_median: float
    floor: tuple[tuple[str, float], ...]  # start-up costs: (what is imported, seconds)


def _values(work: Path) -> dict[str, Any]:
    from tests.helpers import free_port

    minio = free_port()
    return {
        "profile": "stack",
        "home": str(work / "home"),
        "stack": {
            "state_dir": str(work / "services"),
            **{
                f"{name}_port": free_port()
                for name in ("postgres", "metastore", "minio_console", "thrift", "mariadb")
            },
            "minio_port": minio,
            "postgres_password": f"pg-{secrets.token_hex(8)}",
        },
        "s3": {"endpoint": f"http://127.0.0.1:{minio}", "secret_key": secrets.token_hex(8)},
    }


def _median(command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    """Median seconds of ``command`` (exit codes ``ok``) after a warm-up run."""
    times = []
    for attempt in range(RUNS + 1):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, check=False, capture_output=True)
        assert done.returncode in ok, done.stderr[-500:]
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_catalog() -> CatalogResult:
    from pyhive import hive

    from engine import storage
    from engine.config import load_settings
    from engine.stack import launcher
    from tests.helpers import HEADWATER, clean_env, settings_env

    # under /tmp: PostgreSQL runs as the postgres user and must enter the state dir
    work = Path(tempfile.mkdtemp(prefix="headwater-bench-catalog-"))
    work.chmod(0o755)
    values = _values(work)
    settings = load_settings(**values)
    env = clean_env(**settings_env(values), HEADWATER_PROJECT_FILE=str(work / "none.yaml"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's installed CLI has its bytecode
    launcher.up(settings)
    try:
        storage.ensure_buckets(settings, ["landing", "raw"])
        start = time.perf_counter()
        with hive.connect(host="127.0.0.1", port=settings.stack.thrift_port) as conn:
            cursor = conn.cursor()
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            for i in range(TABLES):
                cursor.execute(
                    f"CREATE TABLE {DATABASE}.t_{i:04d} (id BIGINT COMMENT 'key', name STRING, "
                    "amount DOUBLE, seen TIMESTAMP, dt STRING) USING parquet PARTITIONED BY (dt) "
                    f"LOCATION 's3a://raw/{DATABASE}/t_{i:04d}' "
                    "TBLPROPERTIES ('classification' = 'parquet')"
                )
        created = time.perf_counter() - start
        cli = [*HEADWATER, "catalog"]
        listed = subprocess.run(
            [*cli, "tables", DATABASE, "--json"], env=env, check=True, capture_output=True
        )
        assert listed.stdout.count(b'"table"') == TABLES, listed.stdout[-500:]
        return CatalogResult(
            tables=TABLES,
            create_seconds=created,
            tables_median=_median([*cli, "tables", DATABASE, "--json"], env),
            describe_median=_median([*cli, "describe", f"{DATABASE}.t_0250", "--json"], env),
            databases_median=_median([*cli, "databases", "--json"], env),
            # exit 1: no run matched (like grep); the history is read all the same
            runs_median=_median([*HEADWATER, "runs", "--json"], env, ok=(0, 1)),
            floor=_floor(),
        )
    finally:
        launcher.down(settings)
        subprocess.run(["rm", "-rf", str(work)], check=False)


def report(result: CatalogResult) -> list[str]:
    def row(label: str, seconds: float) -> str:
        return f"| `{label}` | {seconds:.2f} s | {seconds / TARGET_SECONDS:.2f} |"

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return [
        SECTION,
        "",
        f"Measured {stamp} UTC by `python -m tests.bench.catalog` (also part of `make bench`),",
        "on the machine named at the top.",
        f"{result.tables} partitioned Parquet tables in one database (created through the",
        f"Thrift Server in {result.create_seconds:.0f} s). Each command is a new `headwater`",
        "process in the stack profile (Python start-up included; no JVM in the CLI: listings",
        "from the metastore's PostgreSQL database, one table from its thrift API, runs",
        f"from the run-state database); median of {RUNS} runs after a warm-up.",
        f"Anchor: issue 23's target of {TARGET_SECONDS} s.",
        "",
        f"| command | median | ratio to {TARGET_SECONDS} s |",
        "| --- | ---: | ---: |",
        row(f"headwater catalog tables {DATABASE} --json", result.tables_median),
        row(f"headwater catalog describe {DATABASE}.t_0250 --json", result.describe_median),
        row("headwater catalog databases --json", result.databases_median),
        row("headwater runs --json (none recorded)", result.runs_median),
        "",
        "What a new process pays before any work (median of "
        f"{RUNS}, `python -c 'import …'`, same machine):",
        "",
        "| imports | seconds |",
        "| --- | ---: |",
        *[f"| {label} | {seconds:.3f} s |" for label, seconds in result.floor],
        "",
        *_goal(result),
    ]


def _goal(result: CatalogResult) -> list[str]:
    """Issue 23's goal against the start-up no command avoids."""
    over = [
        name
        for name, seconds in (
            ("tables", result.tables_median),
            ("describe", result.describe_median),
            ("databases", result.databases_median),
            ("runs", result.runs_median),
        )
        if seconds >= TARGET_SECONDS
    ]
    if not over:
        return [f"Every command is under issue 23's {TARGET_SECONDS} s.", ""]
    start = result.floor[-1][1]
    return [
        f"Over issue 23's {TARGET_SECONDS} s: {', '.join(over)}. Importing the CLI and psycopg "
        f"alone takes {start:.2f} s of the {TARGET_SECONDS} s (typer, the pydantic settings, "
        "psycopg's libpq binding), leaving "
        f"{TARGET_SECONDS - start:.2f} s to connect, query and print.",
        "",
    ]


FLOOR = (
    ("Python itself (`pass`)", "pass"),
    ("the CLI's modules (`engine.cli.app`)", "import engine.cli.app"),
    ("psycopg (the metastore's and the run state's database)", "import psycopg"),
    ("the CLI's modules and psycopg", "import engine.cli.app, psycopg"),
)


def _floor() -> tuple[tuple[str, float], ...]:
    """Start-up costs no command avoids (the stack profile's commands all read PostgreSQL)."""
    return tuple((label, _median([sys.executable, "-c", code], {})) for label, code in FLOOR)


def update_section(lines: list[str], section: str = SECTION, path: Path = OUT) -> None:
    """Replace one benchmark's section of docs/benchmarks.md (or append it)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    head, found, rest = text.partition(section)
    tail = ""
    if found:
        following = rest.find("\n## ")
        tail = rest[following + 1 :] if following >= 0 else ""
    body = "\n".join(lines)
    path.write_text(head.rstrip() + "\n\n" + body + ("\n" + tail if tail else ""))


if __name__ == "__main__":
    lines = report(bench_catalog())
    update_section(lines)
    print("\n".join(lines))
    sys.exit(0)
