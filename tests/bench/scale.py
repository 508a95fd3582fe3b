"""The 10,000-file crawl benchmark (issue 3): flat in bytes, against Spark and DuckDB.

A generated landing area: three tables (CSV, JSON Lines, Parquet), 1,000 Hive
partitions, 10 files each — 10,000 files. The same layout is generated a second
time with every file 10x larger (same file count). For each, measured on one
local Spark session (embedded metastore), the engine every user has:

* the headwater crawl, end to end (list, sample, classify, decide, write 3 tables
  and 1,000 partitions to the metastore), and the bytes it read;
* Spark's own inference over the same files: ``inferSchema`` for CSV, schema
  inference for JSON, ``mergeSchema`` for Parquet (each forces a pass);
* DuckDB's sniffer: ``DESCRIBE SELECT * FROM read_csv_auto(…)`` (and the JSON and
  Parquet readers) over the same globs.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARTITIONS = {"clicks_csv": 400, "clicks_json": 300, "clicks_parquet": 300}
FILES_PER_PARTITION = 10
BASE_ROWS = 200  # per file; CSV ~10 KB, under the 64 KiB sample; 10x is well over it
VARIANTS = 10  # distinct file contents per format, copied under every partition


@dataclass(frozen=True)
class ScaleResult:
    label: str
    files: int
    partitions: int
    bytes_stored: int
    plan_seconds: float
    crawl_seconds: float
    crawl_bytes_read: int
    spark_seconds: float
    duckdb_seconds: float


def _rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": rng.randrange(10**12),
            "user": f"u{rng.randrange(100_000)}",
            "amount": round(rng.random() * 1000, 2),
            "ok": rng.random() < 0.5,
            "at": f"2026-01-{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:00:00",
        }
        for _ in range(count)
    ]


def _contents(rows_per_file: int) -> dict[str, list[bytes]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(7)
    out: dict[str, list[bytes]] = {"clicks_csv": [], "clicks_json": [], "clicks_parquet": []}
    for _ in range(VARIANTS):
        rows = _rows(rng, rows_per_file)
        csv = "id,user,amount,ok,at\n" + "".join(
            f"{r['id']},{r['user']},{r['amount']},{str(r['ok']).lower()},{r['at']}\n" for r in rows
        )
        out["clicks_csv"].append(csv.encode())
        out["clicks_json"].append("".join(json.dumps(r) + "\n" for r in rows).encode())
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buffer)
        out["clicks_parquet"].append(buffer.getvalue())
    return out


def generate(root: Path, rows_per_file: int) -> tuple[int, int]:
    """Write the landing area under ``root``; (files, bytes)."""
    contents = _contents(rows_per_file)
    files = size = 0
    suffix = {"clicks_csv": "csv", "clicks_json": "json", "clicks_parquet": "parquet"}
    for table, partitions in PARTITIONS.items():
        for p in range(partitions):
            folder = root / table / f"dt={p:04d}"
            folder.mkdir(parents=True)
            for f in range(FILES_PER_PARTITION):
                data = contents[table][(p + f) % VARIANTS]
                (folder / f"part-{f:02d}.{suffix[table]}").write_bytes(data)
                files, size = files + 1, size + len(data)
    return files, size


def spark_inference(spark: Any, root: Path) -> float:
    """Seconds for Spark to infer the three tables' schemas (each forces a pass)."""
    started = time.perf_counter()
    schemas = [
        spark.read.option("header", True)
        .option("inferSchema", True)
        .csv(str(root / "clicks_csv"))
        .schema,
        spark.read.json(str(root / "clicks_json")).schema,
        spark.read.option("mergeSchema", True).parquet(str(root / "clicks_parquet")).schema,
    ]
    assert all(len(s.fields) >= 5 for s in schemas)
    return time.perf_counter() - started


def duckdb_sniffer(root: Path) -> float:
    import duckdb

    connection = duckdb.connect()
    started = time.perf_counter()
    for reader, table in (
        ("read_csv_auto", "clicks_csv"),
        ("read_json_auto", "clicks_json"),
        ("read_parquet", "clicks_parquet"),
    ):
        glob = f"{root / table}/*/*"
        connection.execute(
            f"DESCRIBE SELECT * FROM {reader}('{glob}', hive_partitioning = true)"
        ).fetchall()
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def bench_scale(work: Path) -> list[ScaleResult]:
    """Both sizes; the Spark session is started once and not counted."""
    from catalog.hive import HiveCatalog
    from engine.config import load_settings
    from engine.crawl.crawler import CrawlTarget, crawl
    from engine.spark.session import SparkSqlRunner, build_session

    settings = load_settings(
        profile="local", home=work / "home", spark={"master": "local[2]", "shuffle_partitions": 2}
    )
    spark = build_session(settings, app_name="headwater-bench")
    catalog = HiveCatalog(SparkSqlRunner(spark))
    results = []
    try:
        # warm-up: the metastore's first DDL and the interpreter's first classification
        # are one-off costs that would otherwise fall on the first size measured
        warm = settings.lake_path / "warmup"
        (warm / "t" / "dt=0").mkdir(parents=True)
        (warm / "t" / "dt=0" / "a.csv").write_text("id,v\n1,2\n")
        crawl(settings, catalog, CrawlTarget("warmup", "", "warmup"))
        for label, factor in (("1x", 1), ("10x bytes", 10)):
            bucket = f"scale{factor}"
            root = settings.lake_path / bucket
            files, size = generate(root, BASE_ROWS * factor)
            target = CrawlTarget(bucket, "", bucket)
            plans = []
            for _ in range(3):  # list, sample, decide; the median of three (shared CPUs)
                started = time.perf_counter()
                crawl(settings, catalog, target, dry_run=True)
                plans.append(time.perf_counter() - started)
            plan_seconds = statistics.median(plans)
            started = time.perf_counter()
            result = crawl(settings, catalog, target)  # the same, plus the metastore writes
            crawl_seconds = time.perf_counter() - started
            assert sum(len(c.new_partitions) for c in result.plan.changes) == sum(
                PARTITIONS.values()
            ), "the crawl did not find every partition"
            results.append(
                ScaleResult(
                    label,
                    files,
                    sum(PARTITIONS.values()),
                    size,
                    plan_seconds,
                    crawl_seconds,
                    result.bytes_read,
                    spark_inference(spark, root),
                    duckdb_sniffer(root),
                )
            )
            shutil.rmtree(root)
    finally:
        spark.stop()
    return results


def report(results: list[ScaleResult]) -> list[str]:
    lines = [
        "## Crawling 10,000 files in 1,000 partitions",
        "",
        "Three tables (CSV, JSON Lines, Parquet), 1,000 Hive partitions, 10 files each,",
        f"{BASE_ROWS} rows per file; then the same files with 10x the rows. The crawl runs",
        "end to end on the local profile (3 tables and 1,000 partitions written to the",
        "embedded metastore); `plan` is the same crawl with `--plan` (list, sample,",
        "classify, decide; no writes; median of 3). Anchors over the same files: Spark's inference",
        "(`inferSchema` for CSV, JSON inference, Parquet `mergeSchema`) and DuckDB's sniffer",
        "(`DESCRIBE SELECT * FROM read_csv_auto(…)`, `read_json_auto`, `read_parquet`).",
        "",
        "| data | files | bytes stored | plan | crawl | bytes read by the crawl | "
        "Spark inference | crawl / Spark | DuckDB sniffer | crawl / DuckDB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.label} | {r.files:,} | {r.bytes_stored:,} | {r.plan_seconds:.1f} s | "
            f"{r.crawl_seconds:.1f} s | "
            f"{r.crawl_bytes_read:,} | {r.spark_seconds:.1f} s | "
            f"{r.crawl_seconds / r.spark_seconds:.2f} | {r.duckdb_seconds:.2f} s | "
            f"{r.crawl_seconds / r.duckdb_seconds:.1f} |"
        )
    if len(results) == 2:
        growth = results[1].crawl_seconds / results[0].crawl_seconds
        plan_growth = results[1].plan_seconds / results[0].plan_seconds
        spark_growth = results[1].spark_seconds / results[0].spark_seconds
        lines += [
            "",
            f"Bytes x{results[1].bytes_stored / results[0].bytes_stored:.1f}: plan time "
            f"x{plan_growth:.2f}, crawl time x{growth:.2f}, Spark inference x{spark_growth:.2f}.",
        ]
    return [*lines, ""]
