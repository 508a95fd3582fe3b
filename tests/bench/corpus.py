"""The corpus read back (issue 19): each file of the DuckDB CSV corpus the crawler
recognises as CSV, read by Spark with the crawler's options (as the ingest job reads
it), against DuckDB's own reading of the file (``read_csv_auto``).

- *read clean*: Spark reads it with no malformed record;
- *agrees with DuckDB*: the same number of rows and columns as DuckDB reads (of the
  files DuckDB reads at all; DuckDB is not always right either — it reads
  preambles as data, for one — so this is agreement, not correctness).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.ddl import quote_name
from catalog.model import Table
from engine.classify.model import SAMPLE_BYTES
from engine.classify.registry import classify, make_sample

CORRUPT = "_corrupt_record"


@dataclass
class Readback:
    files: int = 0
    csv: int = 0
    read_clean: int = 0
    read_failed: int = 0
    duckdb_reads: int = 0
    agrees: int = 0


def _spark_counts(spark: Any, path: Path, verdict: Any) -> tuple[int, int, int]:
    """Rows, malformed rows and columns the ingest's reader reads with the crawler's
    options (lines above the data skipped, later tables set aside, as it does)."""
    from engine.spark import lake

    folder = f"file://{path.parent}"  # a Hadoop path: not percent-encoded
    table = Table("bench", "corpus", verdict.columns, folder, "csv")
    df = lake.read_files(
        spark,
        "csv",
        [f"file://{path}"],
        base_path=folder,
        options=dict(verdict.options),
        schema=lake.spark_schema(table),
        quarantine=True,
    )
    names = [quote_name(c.name) for c in verdict.columns]
    every = ", ".join(f"cast({n} as string)" for n in names)  # parse whole records
    spark.conf.set(lake.CSV_PRUNING, "false")
    row = df.selectExpr(
        "count(1)", f"count({CORRUPT})", f"max(length(concat_ws('|', {every})))"
    ).first()
    return int(row[0]), int(row[1]), len(names)


def _duckdb_counts(connection: Any, path: Path) -> tuple[int, int] | None:
    import duckdb

    escaped = str(path).replace("'", "''")
    try:
        columns = len(
            connection.execute(f"DESCRIBE SELECT * FROM read_csv_auto('{escaped}')").fetchall()
        )
        (rows,) = connection.execute(f"SELECT count(*) FROM read_csv_auto('{escaped}')").fetchone()
    except duckdb.Error:
        return None
    return int(rows), columns


def bench_readback(corpus: Path) -> Readback:
    import duckdb

    from engine.config import load_settings
    from engine.spark.session import build_session

    result = Readback()
    connection = duckdb.connect()
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(
            profile="local", home=Path(home), spark={"master": "local[2]", "shuffle_partitions": 2}
        )
        spark = build_session(settings, app_name="headwater-bench-corpus")
        try:
            for path in sorted(p for p in corpus.rglob("*") if p.is_file() and not p.is_symlink()):
                result.files += 1
                with path.open("rb") as handle:
                    head = handle.read(SAMPLE_BYTES)
                verdict = classify(make_sample(path.name, path.stat().st_size, head))
                if verdict.classification != "csv":
                    continue
                result.csv += 1
                try:
                    rows, bad, columns = _spark_counts(spark, path, verdict)
                except Exception:  # a file Spark cannot read is counted
                    result.read_failed += 1
                    continue
                result.read_clean += bad == 0
                theirs = _duckdb_counts(connection, path)
                if theirs is not None:
                    result.duckdb_reads += 1
                    result.agrees += (rows, columns) == theirs
        finally:
            spark.stop()
            connection.close()
    return result


def readback_report(result: Readback) -> list[str]:
    return [
        "### Read back with the crawler's options",
        "",
        "Each file recognised as CSV, read by Spark with the options the crawler",
        "declared (as the ingest job reads it; `tests/bench/corpus.py`), against",
        "DuckDB's `read_csv_auto` of the same file. DuckDB is not always right",
        "either (it reads text above a header as data): agreement, not correctness.",
        "",
        "| files | recognised as CSV | read with no malformed record | Spark cannot read "
        "| DuckDB reads too | same rows and columns as DuckDB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {result.files} | {result.csv} | {result.read_clean} | {result.read_failed} "
        f"| {result.duckdb_reads} | {result.agrees} |",
        "",
    ]
