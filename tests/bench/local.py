"""The local profile's first minutes (issue 18): ``headwater demo`` and the CLI after it.

A fresh home, warm caches (jars, the compiled metastore launcher). Timed, each a new
``headwater`` process in the local profile, Python start-up included:

- ``headwater demo`` end to end (land, crawl, two ingest jobs under spark-submit,
  ``catalog tables raw --counts``), with the local metastore service stopped first so
  its start is inside the figure;
- then, the metastore up but for the first: ``catalog databases``, ``catalog tables raw``,
  ``catalog tables raw --counts``, ``catalog describe raw.sales``, a recrawl of the
  demo's landing bucket and a crawl of it into a new database (median of 5 after a
  warm-up).

Anchors: the issue's targets (demo 60 s, catalog commands 0.5 s, a demo-sized crawl
3 s) and the figures it quotes from before the metastore service.

Run alone with ``python -m tests.bench.local`` (it rewrites its own section of
docs/benchmarks.md); ``make bench`` runs it with the rest.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tests.bench.catalog import update_section

RUNS = 5
SECTION = "## The local profile: the demo and the catalog CLI"
# (command, label, target seconds, the figure from before the service)
COMMANDS = [
    (["catalog", "databases", "--json"], "headwater catalog databases", 0.5, None),
    (["catalog", "tables", "raw", "--json"], "headwater catalog tables raw", 0.5, None),
    (
        ["catalog", "tables", "raw", "--counts", "--json"],
        "headwater catalog tables raw --counts",
        0.5,
        "19 s",
    ),
    (
        ["catalog", "describe", "raw.sales", "--json"],
        "headwater catalog describe raw.sales",
        0.5,
        None,
    ),
    (
        ["crawl", "s3://landing/", "--database", "landing"],
        "headwater crawl s3://landing/ --database landing (recrawl)",
        3.0,
        "16 s",
    ),
    (
        ["crawl", "s3://landing/", "--database", "fresh_{run}"],
        "headwater crawl s3://landing/ --database fresh_N (2 tables, 3 partitions created)",
        3.0,
        "16 s",
    ),
]
DEMO_TARGET = 60.0


@dataclass(frozen=True)
class LocalResult:
    demo_seconds: float
    medians: list[float]


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def bench_local() -> LocalResult:
    from tests.conftest import stop_local_metastores
    from tests.helpers import HEADWATER, clean_env

    work = Path(tempfile.mkdtemp(prefix="headwater-bench-local-"))
    env = clean_env(
        HEADWATER_PROFILE="local",
        HEADWATER_HOME=str(work / "home"),
        HEADWATER_PROJECT_FILE=str(work / "none.yaml"),
    )
    try:
        demo = _timed([*HEADWATER, "demo"], env)
        stop_local_metastores(work)  # each command below finds it up but for the first
        medians = []
        for args, _, _, _ in COMMANDS:
            # a warm-up (the first starts the metastore), then RUNS timed; {run}: a new
            # database each time (a crawl that creates its tables)
            times = [
                _timed([*HEADWATER, *(a.format(run=run) for a in args)], env)
                for run in range(RUNS + 1)
            ]
            medians.append(statistics.median(times[1:]))
        return LocalResult(demo, medians)
    finally:
        stop_local_metastores(work)
        shutil.rmtree(work, ignore_errors=True)


def report(result: LocalResult) -> list[str]:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    lines = [
        SECTION,
        "",
        f"Measured {stamp} UTC by `python -m tests.bench.local` (also part of `make bench`),",
        "on the machine named at the top; warm caches, a fresh home. Each command is a new",
        "`headwater` process in the local profile (Python start-up included). The local",
        "metastore service (issue 18) is started by the demo's first step and shared by",
        "the steps after it. The catalog commands read it over thrift and a Delta table's",
        "log (no JVM; `--counts` from the log's file statistics); crawls write tables and",
        "partitions through the metastore's API (no JVM either; a recrawl finds nothing",
        f"changed and writes nothing). Median of {RUNS} runs after a warm-up.",
        "Before: the figures issue 18 quotes (the embedded metastore, a JVM per command).",
        "",
        "| command | seconds | target | ratio to the target | before |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| `headwater demo` (whole flow) | {result.demo_seconds:.1f} s | {DEMO_TARGET:.0f} s | "
        f"{result.demo_seconds / DEMO_TARGET:.2f} | |",
    ]
    for (_, label, target, before), seconds in zip(COMMANDS, result.medians, strict=True):
        lines.append(
            f"| `{label}` | {seconds:.2f} s | {target:g} s | {seconds / target:.2f} | "
            f"{before or ''} |"
        )
    return [*lines, ""]


if __name__ == "__main__":
    lines = report(bench_local())
    update_section(lines, SECTION)
    print("\n".join(lines))
    sys.exit(0)
