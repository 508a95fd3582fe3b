"""One 2,000,000-row source transaction through a CDC batch (``make bench
ONLY=large-transaction``): the driver's memory while the batch is read and applied.

The stack's PostgreSQL (its own port and data dir) holds an empty table that two
tasks replicate, each with its own slot; then one transaction inserts the rows.
Task ``spilled`` has the default ``batch_memory_changes`` (20,000: past it the
decoded changes go to Parquet files in the lake); task ``held`` keeps the whole
batch in the driver's memory (the limit set above the batch: how every batch ran
before). For each, one batch (peek, decode, change table, MERGE, slot advance) on
a local[2] session: its seconds, the driver's Python process peak RSS during the
batch (``VmHWM`` after resetting it through ``/proc/self/clear_refs``) and the
Spark JVM's peak RSS (sampled every 0.2 s).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.replication import PASSWORD_ENV, bench_source, mapping_for

ROWS = int(os.environ.get("HEADWATER_BENCH_LARGE_ROWS", 2_000_000))
SECTION = "## A 2-million-row source transaction through CDC"
TABLE_SQL = """
DROP TABLE IF EXISTS public.bulk;
CREATE TABLE public.bulk (id bigint PRIMARY KEY, user_id int, kind text,
    amount numeric(12,2), created_at timestamptz, note text);
"""
INSERT_SQL = """
INSERT INTO public.bulk SELECT g, (g::bigint * 7919) % 1000003,
    (ARRAY['view', 'click', 'buy'])[1 + g % 3], (g % 100000) / 100.0,
    timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', md5(g::text)
FROM generate_series(1, {rows}) g
"""


@dataclass(frozen=True)
class Measured:
    seconds: float
    python_peak_mib: float
    jvm_peak_mib: float
    files: int


@dataclass(frozen=True)
class LargeTransactionResult:
    rows: int
    spilled: Measured
    held: Measured | str  # or why it failed


def _kib(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class _JvmPeak(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, _kib(f"/proc/{self.pid}/status", "VmRSS"))
            time.sleep(0.2)


def bench_large_transaction() -> LargeTransactionResult:
    with bench_source("headwater-bench-large-") as bench:
        bench.service.psql(TABLE_SQL, database="bench")
        return _measure(bench.work, bench.settings, bench.password, bench.service)


def _measure(work: Path, settings: Any, password: str, service: Any) -> LargeTransactionResult:
    from engine.ingest.context import JobContext
    from engine.replicate.definitions import replication_task
    from engine.replicate.task import Replication
    from engine.spark.session import build_session

    port = settings.stack.postgres_port
    rules = mapping_for("public", "bulk")
    project = work / "headwater.yaml"
    tasks = "".join(
        f"  {name}:\n    connection: benchdb\n    table_mappings: '{rules}'\n"
        f"    validation: false\n    target_database: {name}\n"
        + (f"    batch_memory_changes: {ROWS * 2}\n" if name == "held" else "")
        for name in ("spilled", "held")
    )
    project.write_text(
        "connections:\n  benchdb:\n"
        f"    url: jdbc:postgresql://127.0.0.1:{port}/bench\n"
        f"    user: {settings.stack.postgres_user}\n    password_env: {PASSWORD_ENV}\n"
        f"replication_tasks:\n{tasks}"
    )
    os.environ["HEADWATER_PROJECT_FILE"] = str(project)
    os.environ[PASSWORD_ENV] = password
    spark = build_session(settings, app_name="headwater-bench-large-transaction")
    jvm = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())  # type: ignore[union-attr]
    runs: dict[str, Replication] = {}
    try:
        for name in ("spilled", "held"):
            task = replication_task(name)
            ctx = JobContext.start(
                ["--JOB_NAME", task.job_name, "--task", name], required=("task",), settings=settings
            )
            ctx._spark = spark
            runs[name] = Replication(ctx, task)
            runs[name].run("start", continuous=False)  # slot, empty full load, empty batch
        service.psql(INSERT_SQL.format(rows=ROWS), database="bench")  # one transaction
        measured: dict[str, Measured | str] = {}
        for name, run in runs.items():
            try:
                measured[name] = _batch(run, spark, jvm)
            except Exception as exc:  # holding the whole batch may not fit: say so
                if name == "spilled":
                    raise
                measured[name] = f"failed: {str(exc).strip().splitlines()[0][:200]}"
        for run in runs.values():
            run.source.close()
    finally:
        spark.stop()
    spilled = measured["spilled"]
    assert isinstance(spilled, Measured)
    return LargeTransactionResult(ROWS, spilled, measured["held"])


def _batch(run: Any, spark: Any, jvm: int) -> Measured:
    plans = run.plans()
    spills: list[Any] = []
    make_spill = run.spill

    def spill(plans: Any) -> Any:  # the batch's spills, to count their files
        spills.append(make_spill(plans))
        return spills[-1]

    run.spill = spill
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak RSS
    sampler = _JvmPeak(jvm)
    sampler.start()
    started = time.perf_counter()
    try:
        applied = run.cdc.batch(plans)
    finally:
        sampler.done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    assert applied == ROWS, f"{run.task.name}: applied {applied} of {ROWS} changes"
    landed = spark.read.format("delta").load(run.location(plans[0])).count()
    assert landed == ROWS, f"{run.task.name}: {landed} of {ROWS} rows in the lake"
    python_peak = _kib("/proc/self/status", "VmHWM") / 1024
    return Measured(seconds, python_peak, sampler.peak / 1024, sum(s.files_written for s in spills))


def report(result: LargeTransactionResult) -> list[str]:
    def row(label: str, m: Measured) -> str:
        return (
            f"| {label} | {m.seconds:.1f} s | {m.python_peak_mib:,.0f} MiB | "
            f"{m.jvm_peak_mib:,.0f} MiB | {m.files} |"
        )

    spilled, held = result.spilled, result.held
    if isinstance(held, Measured):
        held_row = row("whole batch held in the driver (limit above the batch)", held)
        ratio = (
            f"With the spill the driver's Python peak is "
            f"x{spilled.python_peak_mib / held.python_peak_mib:.2f} that of holding the batch,\n"
            f"and the batch takes x{spilled.seconds / held.seconds:.2f} the time."
        )
    else:
        held_row = f"| whole batch held in the driver (limit above the batch) | {held} | | | |"
        ratio = "Holding the whole batch in the driver failed (above); the spilled batch did not."
    return [
        SECTION,
        "",
        f"One source transaction inserting {result.rows:,} rows (bigint key, int, text,",
        "numeric, timestamptz, md5 text) into a replicated table, then one CDC batch",
        "(`tests/bench/large_transaction.py`): peek, decode, change table, MERGE, slot",
        "advance, on local[2] with `spark.driver.memory` 2g. Peak RSS during the batch:",
        "the driver's Python process (where changes are decoded) and Spark's JVM.",
        "",
        "| batch | seconds | Python peak RSS | JVM peak RSS | files spilled |",
        "| --- | ---: | ---: | ---: | ---: |",
        row("`batch_memory_changes` 20,000 (default): spilled to Parquet", spilled),
        held_row,
        "",
        *ratio.splitlines(),
        "",
    ]
