"""``make bench``: measure, then write docs/benchmarks.md (every number comes from here).

1. Classification throughput over the shared DuckDB CSV corpus (pure Python).
2. Crawl sampling cost vs file size: infer one table over a large generated CSV and
   count the bytes the crawler reads. Glue's anchor is "reads every file on the
   first crawl"; the ratio reported is bytes read / bytes stored.
3. The 10,000-file / 1,000-partition crawl at two sizes against Spark's inference
   and DuckDB's sniffer (tests/bench/scale.py).
4. Ingesting 1 GB of CSV into a partitioned Delta table: the ingest job vs bare
   Spark vs DuckDB's COPY (tests/bench/ingest.py).
5. Replicating a 5-million-row PostgreSQL table: full load vs psql's \\copy and a
   single-partition Spark JDBC read; a 100,000-change CDC batch's latency
   (tests/bench/replication.py).
6. The same 1 GB ingestion with a 10-rule quality suite vs without
   (tests/bench/quality.py).
7. Catalog CLI latency on 500 tables (tests/bench/catalog.py).
8. The local profile: ``headwater demo`` and the catalog CLI after it
   (tests/bench/local.py).
9. Continuous replication through ten minutes of random faults (tests/bench/soak.py).
10. A 2-million-row source transaction through one CDC batch: the driver's memory
    with and without the spill (tests/bench/large_transaction.py).
11. Replicating a MariaDB table: full load vs the ``mariadb --batch`` client; a
    100,000-change binlog CDC batch's latency (tests/bench/mariadb.py).

``--only corpus|soak|large-transaction|mariadb|ingest|catalog`` measures that section
alone and puts it in place.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from engine.classify.model import SAMPLE_BYTES
from engine.classify.registry import classify, make_sample
from engine.crawl.inference import build_table, decide_tables, sample_layout
from engine.crawl.layout import group_tables
from engine.storage import CountingStore, LocalStore
from tests.bench.catalog import SECTION as CATALOG_SECTION
from tests.bench.catalog import bench_catalog
from tests.bench.catalog import report as catalog_report
from tests.bench.corpus import bench_readback, readback_report
from tests.bench.ingest import SECTION as INGEST_SECTION
from tests.bench.ingest import bench_ingest
from tests.bench.ingest import report as ingest_report
from tests.bench.large_transaction import SECTION as LARGE_SECTION
from tests.bench.large_transaction import bench_large_transaction
from tests.bench.large_transaction import report as large_report
from tests.bench.local import bench_local
from tests.bench.local import report as local_report
from tests.bench.mariadb import SECTION as MARIADB_SECTION
from tests.bench.mariadb import bench_mariadb
from tests.bench.mariadb import report as mariadb_report
from tests.bench.quality import bench_quality
from tests.bench.quality import report as quality_report
from tests.bench.replication import SECTION as REPLICATION_SECTION
from tests.bench.replication import bench_replication
from tests.bench.replication import report as replication_report
from tests.bench.scale import bench_scale, report
from tests.bench.soak import SECTION as SOAK_SECTION
from tests.bench.soak import bench_soak
from tests.bench.soak import report as soak_report

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "duckdb-csv"
OUT = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, Python {python}"


def bench_corpus() -> tuple[int, int, float]:
    files = [p for p in CORPUS.rglob("*") if p.is_file() and not p.is_symlink()]
    runs = []
    recognised = 0
    for _ in range(3):
        started = time.perf_counter()
        recognised = 0
        for path in files:
            with path.open("rb") as handle:
                head = handle.read(SAMPLE_BYTES)
            verdict = classify(make_sample(path.name, path.stat().st_size, head))
            recognised += verdict.classification != "UNKNOWN"
        runs.append(time.perf_counter() - started)
    return len(files), recognised, statistics.median(runs)


def bench_sampling(rows: int = 2_000_000) -> tuple[int, int, float]:
    random.seed(1)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        table = root / "landing" / "events" / "dt=2026-01-01"
        table.mkdir(parents=True)
        with (table / "events.csv").open("w") as handle:
            handle.write("id,user,amount,at\n")
            for i in range(rows):
                handle.write(
                    f"{i},u{random.randint(1, 9999)},{random.random() * 100:.2f},"
                    f"2026-01-01 10:{i % 60:02d}:00\n"
                )
        store = CountingStore(LocalStore(root, "landing"))
        layouts, _ = group_tables(list(store.list()), "", "landing")
        started = time.perf_counter()
        sampling = sample_layout(store, layouts[0], per_folder=10)
        for layout, verdicts in decide_tables(store, layouts[0], sampling):
            build_table(store, layout, verdicts, "landing", "bench")
        seconds = time.perf_counter() - started
        size = sum(f.size for f in layouts[0].files)
        return size, store.bytes_read, seconds


def corpus_vs_duckdb() -> tuple[int, int, int, int]:
    """Files recognised by headwater and by DuckDB's sniffer: both, ours, DuckDB's, neither."""
    import duckdb

    connection = duckdb.connect()
    counts = [0, 0, 0, 0]
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file() and not p.is_symlink()):
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
        ours = classify(make_sample(path.name, path.stat().st_size, head)).classification
        try:
            escaped = str(path).replace("'", "''")
            connection.execute(f"DESCRIBE SELECT * FROM read_csv_auto('{escaped}')").fetchall()
            theirs = True
        except duckdb.Error:
            theirs = False
        known = ours != "UNKNOWN"
        counts[0 if known and theirs else 1 if known else 2 if theirs else 3] += 1
    connection.close()
    return counts[0], counts[1], counts[2], counts[3]


def bench_jars() -> tuple[int, float]:
    from engine.artifacts import cached_jars
    from engine.config import load_settings

    jars = cached_jars(load_settings())
    return len(jars), sum(j.stat().st_size for j in jars) / 2**20


CORPUS_HEADING = "## Classifying the DuckDB CSV corpus"


def corpus_section() -> list[str]:
    """Classification speed, recognition against DuckDB's sniffer, and the read-back."""
    lines: list[str] = []
    if not CORPUS.is_dir():
        return []
    files, recognised, seconds = bench_corpus()
    lines += [
        "## Classifying the DuckDB CSV corpus (`../shared/corpus/duckdb-csv`)",
        "",
        "| files | recognised (csv) | median of 3 runs | files/s |",
        "| ---: | ---: | ---: | ---: |",
        f"| {files} | {recognised} | {seconds:.2f} s | {files / seconds:,.0f} |",
        "",
        "Each file: its first 64 KiB read and every built-in classifier run.",
        "",
    ]
    both, ours, theirs, neither = corpus_vs_duckdb()
    lines += [
        "Against DuckDB's sniffer (`DESCRIBE SELECT * FROM read_csv_auto(file)` succeeds)",
        "on the same files; many are deliberately broken or fuzzed:",
        "",
        "| both recognise | only headwater | only DuckDB | neither |",
        "| ---: | ---: | ---: | ---: |",
        f"| {both} | {ours} | {theirs} | {neither} |",
        "",
        "Only headwater: mostly ISO-8859-1 files (DuckDB refuses invalid UTF-8) and",
        "single-column fuzz cases. Only DuckDB: mostly files DuckDB reads as one column",
        "of whole lines, text above the header (headwater refuses it by name), and rows",
        "of varying width.",
        "",
    ]
    lines += readback_report(bench_readback(CORPUS))
    return lines


def soak_section() -> list[str]:
    return soak_report(bench_soak())


# sections that ``make bench ONLY=<name>`` measures alone: (heading prefix, measure)
SECTIONS: dict[str, tuple[str, Callable[[], list[str]]]] = {
    "corpus": (CORPUS_HEADING, corpus_section),
    "soak": (SOAK_SECTION, soak_section),
    "large-transaction": (LARGE_SECTION, lambda: large_report(bench_large_transaction())),
    "replication": (REPLICATION_SECTION, lambda: replication_report(bench_replication())),
    "mariadb": (MARIADB_SECTION, lambda: mariadb_report(bench_mariadb())),
    "ingest": (INGEST_SECTION, lambda: _in_temp(lambda work: ingest_report(bench_ingest(work)))),
    "catalog": (CATALOG_SECTION, lambda: catalog_report(bench_catalog())),
}


def _in_temp(measure: Callable[[Path], list[str]]) -> list[str]:
    with tempfile.TemporaryDirectory() as work:
        return measure(Path(work))


def only(name: str) -> None:
    """``make bench ONLY=<name>``: measure one section alone and put it in place of
    the one in docs/benchmarks.md (appended when absent; the rest is kept)."""
    heading, measure = SECTIONS[name]
    text = OUT.read_text()
    start = text.find(heading)
    start, end = (len(text), -1) if start < 0 else (start, text.find("\n## ", start + 1))
    now = datetime.now(timezone.utc)
    stamp = f"Section measured by `make bench ONLY={name}` on {now:%Y-%m-%d %H:%M} UTC."
    section = measure()
    section[1:1] = ["", stamp]
    before = text[:start] if start < len(text) else text.rstrip("\n") + "\n\n"
    OUT.write_text(before + "\n".join(section) + (text[end:] if end >= 0 else "\n"))
    print("\n".join(section))


def main() -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {machine()}.",
        "",
    ]
    lines += corpus_section()
    size, read, seconds = bench_sampling()
    lines += [
        "## Crawl cost does not grow with file size",
        "",
        "One table over a generated CSV: sampling, classification, grouping and schema.",
        "Anchor: a Glue crawler's first run reads every file in full (research-glue-crawler.md).",
        "",
        "| bytes stored | bytes read by the crawl | ratio to the anchor | seconds |",
        "| ---: | ---: | ---: | ---: |",
        f"| {size:,} | {read:,} | {read / size:.5f} | {seconds:.3f} |",
        "",
    ]
    with tempfile.TemporaryDirectory() as work:
        lines += report(bench_scale(Path(work)))
    with tempfile.TemporaryDirectory() as work:
        lines += ingest_report(bench_ingest(Path(work)))
    with tempfile.TemporaryDirectory() as work:
        lines += quality_report(bench_quality(Path(work)))
    lines += replication_report(bench_replication())
    lines += large_report(bench_large_transaction())
    lines += mariadb_report(bench_mariadb())
    lines += catalog_report(bench_catalog())
    lines += local_report(bench_local())
    lines += soak_section()
    count, megabytes = bench_jars()
    lines += [
        "## The JVM jar cache (`make setup`)",
        "",
        "Delta, hadoop-aws 3.5.0 with the individual AWS SDK v2 modules, spark-avro, JDBC drivers.",
        "",
        "| jars | size |",
        "| ---: | ---: |",
        f"| {count} | {megabytes:.1f} MiB |",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--only" and sys.argv[2] in SECTIONS:
        only(sys.argv[2])
    elif sys.argv[1:]:
        names = "|".join(SECTIONS)
        raise SystemExit(f"usage: python -m tests.bench.run [--only {names}] (got {sys.argv[1:]})")
    else:
        main()
