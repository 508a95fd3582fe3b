"""Ingesting ~1 GB of generated CSV into a partitioned Delta table.

Three ways over the same files, on the same machine:

- headwater: the ingest job (catalog source crawled first, file listing and
  bookmark, malformed-record detection, lineage columns, the Delta commit with its
  transaction, registration), run in-process on a local[2] session;
- bare Spark: ``spark.read.schema(…).csv(…).write.format("delta")`` with the same
  schema and partitioning (our overhead is the ratio to it);
- bare Spark writing the job's shape: the same read in PERMISSIVE mode with a
  corrupt-record column, its rows dropped, and the three lineage columns, written the
  same way (what the job's own machinery costs beyond the data it writes);
- DuckDB: ``COPY (SELECT * FROM read_csv(…)) TO … (FORMAT PARQUET, PARTITION_BY dt)``,
  the single-machine anchor (Parquet, no Delta log).
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.config import Settings

DAYS = 10
FILES_PER_DAY = 4
ROWS_PER_FILE = 400_000  # ~105 bytes a row: ~1.0 GB in 40 files
EVENTS = ("view", "click", "add_to_cart", "purchase", "refund")
CORES = 2
SECTION = "## Ingesting 1 GB of CSV into a partitioned Delta table"


@dataclass(frozen=True)
class IngestResult:
    rows: int
    size: int
    ours: float
    bare: float  # the faster of two runs, one before and one after the job's
    duckdb: float
    no_lineage: float  # the job with --lineage false
    no_quarantine: float  # the job with --quarantine false
    same_shape: float  # bare Spark writing the job's columns (the faster of two)


def generate(root: Path) -> tuple[int, int]:
    rng = random.Random(4)
    rows = size = 0
    for day in range(DAYS):
        folder = root / f"dt=2026-02-{day + 1:02d}"
        folder.mkdir(parents=True)
        for part in range(FILES_PER_DAY):
            lines = ["event_id,user_id,event,amount,session,occurred_at\n"]
            for i in range(ROWS_PER_FILE):
                n = rows + i
                lines.append(
                    f"{n},{rng.randint(1, 2_000_000)},{EVENTS[n % 5]},"
                    f"{rng.random() * 500:.2f},s-{rng.getrandbits(64):016x}-{n % 9973:04d},"
                    f"2026-02-{day + 1:02d} {n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}\n"
                )
            data = "".join(lines).encode()
            (folder / f"part-{part}.csv").write_bytes(data)
            rows, size = rows + ROWS_PER_FILE, size + len(data)
    return rows, size


SCHEMA = (
    "event_id bigint, user_id bigint, event string, amount double, session string, "
    "occurred_at timestamp, dt string"
)


def _bare_spark(spark: Any, source: Path, target: Path) -> float:
    started = time.perf_counter()
    df = spark.read.schema(SCHEMA).option("header", True).csv(str(source))
    df.write.format("delta").partitionBy("dt").save(str(target))
    return time.perf_counter() - started


def _same_shape(spark: Any, source: Path, target: Path) -> float:
    """Bare Spark writing what the job writes: malformed records parsed aside and
    dropped, ``_source_file``, ``_ingested_at`` and ``_run_id`` on every row."""
    from datetime import datetime, timezone

    from engine.spark.transforms import add_lineage, with_source_file

    started = time.perf_counter()
    df = (
        spark.read.schema(SCHEMA.replace(", dt", ", _corrupt_record string, dt"))
        .option("header", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt_record")
        .csv(str(source))
    )
    df = with_source_file(df).where("_corrupt_record IS NULL").drop("_corrupt_record")
    df = add_lineage(df, "jr_0123456789abcdef", datetime.now(timezone.utc))
    df.write.format("delta").partitionBy("dt").save(str(target))
    return time.perf_counter() - started


def _duckdb(source: Path, target: Path) -> float:
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"SET threads = {CORES}")
    started = time.perf_counter()
    connection.execute(
        f"COPY (SELECT * FROM read_csv('{source}/*/*.csv', hive_partitioning = true)) "
        f"TO '{target}' (FORMAT PARQUET, PARTITION_BY (dt))"
    )
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def prepare(work: Path) -> tuple[Settings, Path, int, int, Any]:
    """Settings, the generated source folder, its rows and bytes, and a session on which
    the source is crawled (as ``benchland.events``) and a first Delta write warmed up."""
    from catalog.hive import HiveCatalog
    from engine.config import load_settings
    from engine.crawl.crawler import CrawlTarget, crawl
    from engine.spark.session import SparkSqlRunner, build_session

    settings = load_settings(
        profile="local",
        home=work / "home",
        spark={"master": f"local[{CORES}]", "shuffle_partitions": CORES},
    )
    source = settings.lake_path / "benchland" / "events"
    rows, size = generate(source)
    spark = build_session(settings, app_name="headwater-bench-ingest")
    catalog = HiveCatalog(SparkSqlRunner(spark))
    crawl(settings, catalog, CrawlTarget("benchland", "", "benchland"))
    # warm-up (JIT, Delta's first commit) so no measured run pays for it
    warm = spark.read.option("header", True).csv(str(source / "dt=2026-02-01" / "part-0.csv"))
    warm.limit(1000).write.format("delta").save(str(work / "warm"))
    return settings, source, rows, size, spark


def timed_job(settings: Settings, spark: Any, name: str, rows: int, *extra: str) -> float:
    """Seconds of one in-process run of the ingest job on ``benchland.events``."""
    from engine.ingest.context import JobContext
    from engine.ingest.job import REQUIRED_ARGS, ingest

    started = time.perf_counter()
    ctx = JobContext.start(
        [*("--JOB_NAME", name, "--source", "benchland.events"), "--target", f"raw.{name}", *extra],
        required=REQUIRED_ARGS,
        settings=settings,
    )
    ctx._spark = spark
    assert ctx.run(ingest) == 0, ctx.run_record.error
    seconds = time.perf_counter() - started
    landed = ctx.run_record.rows_written
    assert landed == rows, f"the job landed {landed} of {rows} rows"
    return seconds


def bench_ingest(work: Path) -> IngestResult:
    settings, source, rows, size, spark = prepare(work)
    try:
        bare = _bare_spark(spark, source, work / "bare")
        ours = timed_job(settings, spark, "bench", rows)
        no_lineage = timed_job(settings, spark, "bench_no_lineage", rows, "--lineage", "false")
        no_quarantine = timed_job(
            settings, spark, "bench_no_quarantine", rows, "--quarantine", "false"
        )
        bare = min(bare, _bare_spark(spark, source, work / "bare_again"))
        same_shape = min(_same_shape(spark, source, work / f"shape_{i}") for i in range(2))
    finally:
        spark.stop()
    duck = _duckdb(source, work / "duck")
    shutil.rmtree(source)
    return IngestResult(rows, size, ours, bare, duck, no_lineage, no_quarantine, same_shape)


def report(result: IngestResult) -> list[str]:
    megabytes = result.size / 2**20

    def row(label: str, seconds: float) -> str:
        return (
            f"| {label} | {seconds:.1f} s | {result.rows / seconds / CORES:,.0f} | "
            f"{megabytes / seconds / CORES:.1f} | {seconds / result.ours:.2f} |"
        )

    return [
        SECTION,
        "",
        f"{result.rows:,} rows in {DAYS * FILES_PER_DAY} files, {DAYS} `dt=` partitions, "
        f"{result.size:,} bytes; {CORES} cores for each engine. headwater = the ingest job on",
        "the crawled catalog table (listing and bookmark, malformed-record detection, lineage",
        "columns, one Delta commit carrying the bookmark, catalog registration). Bare Spark =",
        "`spark.read.schema(…).csv(…).write.format('delta').partitionBy('dt')`, same schema.",
        "DuckDB = `COPY (SELECT * FROM read_csv(…)) TO … (FORMAT PARQUET, PARTITION_BY (dt))`.",
        "",
        "| engine | seconds | rows/s per core | MB/s per core | time / headwater |",
        "| --- | ---: | ---: | ---: | ---: |",
        row("headwater job", result.ours),
        row("headwater job, `--lineage false`", result.no_lineage),
        row("headwater job, `--quarantine false`", result.no_quarantine),
        row("bare Spark → Delta (best of 2)", result.bare),
        row("bare Spark → Delta, the job's columns and malformed-record mode", result.same_shape),
        row("DuckDB → Parquet", result.duckdb),
        "",
        "Order: a warm-up write, bare Spark, the three job runs, bare Spark again, then",
        "bare Spark writing the job's shape twice (the faster counts). The lineage columns",
        "(`_source_file`, `_ingested_at`, `_run_id`) and the malformed-record detection are",
        "the job's per-row costs; the rest is per run (listing, catalog, state).",
        "",
        f"headwater's overhead over bare Spark: x{result.ours / result.bare:.2f}; "
        f"DuckDB is x{result.ours / result.duckdb:.1f} faster than headwater on one machine.",
        f"Bare Spark writing the same columns takes x{result.same_shape / result.bare:.2f} "
        "bare Spark's time: the three lineage values are written, encoded and given",
        "Parquet and Delta statistics on every row. The job over that: "
        f"x{result.ours / result.same_shape:.2f}.",
        "",
        *_goals(result),
        "",
    ]


def _goals(result: IngestResult) -> list[str]:
    """Issue 23's two ingest goals against what bounds them."""
    bare_vs_duckdb = result.bare / result.duckdb
    lines = [
        f"Issue 23's goals: x1.15 bare Spark's time (now x{result.ours / result.bare:.2f}) and "
        f"x3 DuckDB's (now x{result.ours / result.duckdb:.1f}).",
    ]
    if bare_vs_duckdb > 3:
        lines.append(
            f"Bare Spark alone takes x{bare_vs_duckdb:.1f} DuckDB's time here, so no Spark job "
            "reaches the DuckDB goal on these cores."
        )
    else:
        lines.append(
            f"Bare Spark alone takes x{bare_vs_duckdb:.2f} DuckDB's time here, so the DuckDB "
            f"goal leaves the job x{3 / bare_vs_duckdb:.2f} bare Spark's time at most."
        )
    shape = result.same_shape / result.bare
    if shape > 1.15:
        lines.append(
            f"Bare Spark writing the job's columns alone is x{shape:.2f}, "
            "so the x1.15 goal is out of reach while the three lineage values are written on "
            "every row; without them (`--lineage false`) the job is "
            f"x{result.no_lineage / result.bare:.2f}, the best figure reached."
        )
    detection = (result.ours - result.no_quarantine) / result.bare
    if detection > 0.15:
        lines.append(
            f"The malformed-record detection alone (the job less `--quarantine false`) adds "
            f"{detection:.2f} of bare Spark's time, more than the x1.15 goal leaves for all of "
            "the job's work, with or without lineage."
        )
    return lines
