"""Replication from PostgreSQL: a 5-million-row full load and a 100,000-change CDC batch.

The stack's PostgreSQL (its own ports and data dir, ``wal_level = logical``) holds a
generated table; on the same machine and cores:

- headwater: the replication task's full load (slot with exported snapshot, parallel
  JDBC reads by primary-key range, Delta commit, catalog registration), in-process on
  a local[2] session; validation is timed separately;
- the physical anchor: ``psql -c "\\copy (SELECT * FROM events) TO … CSV"``;
- a single-partition Spark JDBC read of the same table written to Delta;
- CDC: one source transaction updating 100,000 rows, then a batch: the seconds from
  its commit on the source until the current-state table answers with the new values.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import selection

SECTION = "## Replicating a PostgreSQL table (full load and CDC)"
ROWS = int(os.environ.get("HEADWATER_BENCH_REPLICATION_ROWS", 5_000_000))
CHANGES = 100_000
CORES = 2
PASSWORD_ENV = "HEADWATER_BENCH_SOURCE_PASSWORD"
TABLE_SQL = """
DROP TABLE IF EXISTS public.events;
CREATE TABLE public.events (id bigint PRIMARY KEY, user_id int, kind text,
    amount numeric(12,2), created_at timestamptz, note text);
INSERT INTO public.events SELECT g, (g::bigint * 7919) % 1000003,
    (ARRAY['view', 'click', 'buy'])[1 + g % 3],
    (g % 100000) / 100.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second',
    md5(g::text) FROM generate_series(1, {rows}) g;
ANALYZE public.events;
"""


@dataclass(frozen=True)
class ReplicationResult:
    rows: int
    full_load: float
    validation: float
    psql_copy: float
    single_partition: float
    sink_only: float
    changes: int
    cdc_latency: float


def mapping_for(schema: str, table: str) -> str:
    """DMS table mappings (JSON) selecting one table."""
    return json.dumps({"rules": [selection(schema, table)]})


def _settings(work: Path, pg_port: int, password: str) -> Any:
    from engine.config import load_settings

    return load_settings(
        profile="local",
        home=work / "home",
        spark={"master": f"local[{CORES}]", "shuffle_partitions": CORES},
        stack={
            "state_dir": str(work / "services"),
            "postgres_port": pg_port,
            "postgres_password": password,
        },
    )


@dataclass(frozen=True)
class BenchSource:
    """The stack's PostgreSQL on its own port and data dir, database ``bench`` made."""

    work: Path
    settings: Any
    password: str
    service: Any


@contextmanager
def bench_source(prefix: str) -> Iterator[BenchSource]:
    from engine.stack import launcher
    from engine.stack.postgres import PostgresService
    from tests.helpers import free_port

    work = Path(tempfile.mkdtemp(prefix=prefix))
    work.chmod(0o755)  # PostgreSQL runs as the postgres user
    password = f"pg-{secrets.token_hex(8)}"
    settings = _settings(work, free_port(), password)
    launcher.up(settings, ["postgres"])
    try:
        service = PostgresService(settings)
        service.ensure_database("bench")
        yield BenchSource(work, settings, password, service)
    finally:
        launcher.down(settings, ["postgres"])
        shutil.rmtree(work, ignore_errors=True)


def bench_replication() -> ReplicationResult:
    from engine.stack.postgres import postgres_bin_dir

    with bench_source("headwater-bench-repl-") as bench:
        work, settings, password = bench.work, bench.settings, bench.password
        bench.service.psql(TABLE_SQL.format(rows=ROWS), database="bench")
        env = {**os.environ, "PGPASSWORD": password}
        target = work / "events.csv"
        started = time.perf_counter()
        subprocess.run(
            [
                str(postgres_bin_dir() / "psql"),
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(settings.stack.postgres_port),
                "-U",
                settings.stack.postgres_user,
                "-d",
                "bench",
                "-c",
                f"\\copy (SELECT * FROM public.events) TO '{target}' CSV",
            ],
            env=env,
            check=True,
        )
        psql_copy = time.perf_counter() - started
        target.unlink()
        return _bench_task(work, settings, password, psql_copy)


def open_task(
    work: Path, settings: Any, password: str, url: str, schema: str, table: str
) -> tuple[Any, Any]:
    """(a local[2] session, the replication task ``bench`` over ``schema.table`` of the
    database at ``url``), the project written to ``work``; the caller stops the session."""
    from engine.ingest.context import JobContext
    from engine.replicate.definitions import replication_task
    from engine.replicate.task import Replication
    from engine.spark.session import build_session

    project = work / "headwater.yaml"
    project.write_text(
        f"connections:\n  benchdb:\n    url: {url}\n"
        f"    user: {settings.stack.postgres_user}\n    password_env: {PASSWORD_ENV}\n"
        "replication_tasks:\n  bench:\n    connection: benchdb\n"
        f"    table_mappings: '{mapping_for(schema, table)}'\n    validation: false\n"
        f"    partitions_per_table: {CORES * 2}\n"
    )
    os.environ["HEADWATER_PROJECT_FILE"] = str(project)
    os.environ[PASSWORD_ENV] = password
    spark = build_session(settings, app_name="headwater-bench-replication")
    spark.range(1000).write.format("delta").save(str(work / "warm"))
    task = replication_task("bench")
    ctx = JobContext.start(
        ["--JOB_NAME", task.job_name, "--task", "bench"], required=("task",), settings=settings
    )
    ctx._spark = spark
    return spark, Replication(ctx, task)


def cdc_latency(
    spark: Any, replication: Any, plans: list[Any], update: Callable[[], None]
) -> float:
    """Seconds from ``update`` (changing CHANGES rows' note) committing on the source to
    one CDC batch having landed them, checked in the lake."""
    update()
    committed = time.perf_counter()
    replication.cdc.batch(plans)
    location = replication.location(plans[0])
    changed = spark.read.format("delta").load(location).where("note = 'changed'").count()
    latency = time.perf_counter() - committed
    assert changed == CHANGES, f"{changed} of {CHANGES} changes are in the lake"
    return latency


def _bench_task(work: Path, settings: Any, password: str, psql_copy: float) -> ReplicationResult:
    import psycopg

    from engine.spark.lake import jdbc_properties

    port = settings.stack.postgres_port
    url = f"jdbc:postgresql://127.0.0.1:{port}/bench"
    spark, replication = open_task(work, settings, password, url, "public", "events")
    task = replication.task
    try:
        reader = spark.read.format("jdbc").options(**jdbc_properties(task.connection))
        reader = reader.option("fetchsize", "10000")
        # a warm-up (a tenth of the rows), so no way measured pays the JVM's first compiles
        warm = f"(SELECT * FROM public.events WHERE id <= {ROWS // 10}) AS warm"
        reader.option("dbtable", warm).load().write.format("delta").save(str(work / "warm_jdbc"))
        # single partition, no snapshot: Spark's plain JDBC read → Delta
        started = time.perf_counter()
        df = reader.option("dbtable", "public.events").load()
        df.write.format("delta").save(str(work / "single"))
        single = time.perf_counter() - started

        plans = replication.plans()
        started = time.perf_counter()
        replication.run("start", continuous=False)  # full load + one (empty) batch
        full_load = time.perf_counter() - started
        landed = replication.stats()["public.events"].full_load_rows
        assert landed == ROWS, f"the full load landed {landed} of {ROWS} rows"

        # the sink alone: the same rows from a Delta table into a new one, no source
        started = time.perf_counter()
        spark.read.format("delta").load(str(work / "single")).write.format("delta").save(
            str(work / "sink")
        )
        sink = time.perf_counter() - started

        started = time.perf_counter()
        with replication.source.plain_snapshot() as snapshot:
            replication.validation.tables(plans, snapshot)
        validation = time.perf_counter() - started

        def update() -> None:
            with psycopg.connect(**task.connection.libpq_options(), autocommit=True) as source:
                source.execute(f"UPDATE public.events SET note = 'changed' WHERE id <= {CHANGES}")

        latency = cdc_latency(spark, replication, plans, update)
        replication.source.close()
    finally:
        spark.stop()
    return ReplicationResult(ROWS, full_load, validation, psql_copy, single, sink, CHANGES, latency)


def _bound(result: ReplicationResult) -> str:
    """What the sink alone says of issue 23's two full-load goals."""
    short = [
        goal
        for goal, reached in (
            ("0.7 of `\\copy`'s speed", result.psql_copy / result.sink_only >= 0.7),
            ("x3 faster than one partition", result.single_partition / result.sink_only >= 3),
        )
        if not reached
    ]
    if not short:
        return "The sink alone is within both goals: the reading side is what to speed up."
    return (
        f"The sink alone misses {' and '.join(short)} on these cores, so no way of reading "
        "the source (parallel `COPY … TO STDOUT` included) can reach it through a Delta sink."
    )


def report(result: ReplicationResult) -> list[str]:
    def row(label: str, seconds: float) -> str:
        return (
            f"| {label} | {seconds:.1f} s | {result.rows / seconds:,.0f} | "
            f"{seconds / result.full_load:.2f} |"
        )

    return [
        SECTION,
        "",
        f"`public.events`: {result.rows:,} rows (bigint key, int, text, numeric, timestamptz,",
        f"md5 text) on the stack's PostgreSQL 15, same machine; {CORES} cores for Spark.",
        "headwater = the replication task's full load (slot + exported snapshot, parallel",
        f"JDBC reads in {CORES * 2} primary-key ranges, one Delta commit, registration).",
        "",
        "| way | seconds | rows/s | time / headwater |",
        "| --- | ---: | ---: | ---: |",
        row("headwater full load", result.full_load),
        row('`psql -c "\\copy (SELECT …) TO … CSV"` (the physical anchor)', result.psql_copy),
        row("Spark JDBC, one partition → Delta", result.single_partition),
        row("the sink alone: the same rows from one Delta table into a new one", result.sink_only),
        "",
        "Order: a warm-up (a single-partition read of a tenth of the rows), the",
        "single-partition read, headwater's full load, the sink alone.",
        f"headwater takes x{result.full_load / result.psql_copy:.2f} the time of psql's "
        f"`\\copy` ({result.psql_copy / result.full_load:.2f} of its speed; issue 23's goal: "
        f"0.7); a single-partition Spark JDBC read takes "
        f"x{result.single_partition / result.full_load:.2f} headwater's time (goal: x3).",
        f"Copying the rows from one Delta table into a new one, with no source database, takes "
        f"{result.sink_only:.1f} s: {result.psql_copy / result.sink_only:.2f} of `\\copy`'s "
        f"speed, and x{result.single_partition / result.sink_only:.2f} faster than the "
        "single-partition read. " + _bound(result),
        f"Validation (counts and checksums over 16 key ranges, both sides): "
        f"{result.validation:.1f} s.",
        "",
        f"CDC: one source transaction updating {result.changes:,} rows; from its commit to the",
        "current-state table answering with the new values (one batch: peek, change table,",
        f"MERGE, slot advance): **{result.cdc_latency:.1f} s**.",
        "",
    ]
