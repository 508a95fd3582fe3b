"""Replication from MariaDB (``make bench ONLY=mariadb``): a full load against the
``mariadb --batch`` client, and one 100,000-change transaction through binlog CDC.

The stack's MariaDB (its own port and data dir, the binlog on in ROW format) holds
a generated table like the PostgreSQL bench's; on the same machine and cores:

- the physical anchor: ``mariadb --batch -e "SELECT * FROM bench.events" > file``;
- headwater: the replication task's ``start`` (binlog position, parallel JDBC reads by
  primary-key range, Delta commit, registration, one empty CDC batch), in-process on a
  local[2] session;
- CDC: one source transaction updating 100,000 rows, then a batch: the seconds from
  its commit until the current-state table answers with the new values.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.replication import CHANGES, CORES, cdc_latency, open_task

ROWS = int(os.environ.get("HEADWATER_BENCH_MARIADB_ROWS", 2_000_000))
SECTION = "## Replicating a MariaDB table (full load and binlog CDC)"
TABLE_SQL = """
DROP DATABASE IF EXISTS bench; CREATE DATABASE bench; USE bench;
CREATE TABLE events (id bigint PRIMARY KEY, user_id int, kind varchar(8),
    amount decimal(12,2), created_at datetime, note char(32));
INSERT INTO events SELECT seq, (seq * 7919) % 1000003, elt(1 + seq % 3, 'view', 'click', 'buy'),
    (seq % 100000) / 100.0, timestamp '2026-01-01 00:00:00' + interval seq second, md5(seq)
    FROM seq_1_to_{rows};
ANALYZE TABLE events;
"""


@dataclass(frozen=True)
class MariaDBResult:
    rows: int
    start: float
    client: float
    changes: int
    cdc_latency: float


def bench_mariadb() -> MariaDBResult:
    from engine.config import load_settings
    from engine.stack import launcher
    from tests.helpers import free_port

    work = Path(tempfile.mkdtemp(prefix="headwater-bench-maria-"))
    work.chmod(0o755)  # the server runs as the mysql user
    password = f"my-{secrets.token_hex(8)}"
    settings = load_settings(
        profile="local",
        home=work / "home",
        spark={"master": f"local[{CORES}]", "shuffle_partitions": CORES},
        stack={
            "state_dir": str(work / "services"),
            "mariadb_port": free_port(),
            "postgres_password": password,
        },
    )
    launcher.up(settings, ["mariadb"])
    try:
        client = _client(settings, password)
        subprocess.run(client, input=TABLE_SQL.format(rows=ROWS), text=True, check=True)
        target = work / "events.tsv"
        started = time.perf_counter()
        with target.open("wb") as out:
            subprocess.run(
                [*client, "--batch", "-e", "SELECT * FROM bench.events"], stdout=out, check=True
            )
        seconds = time.perf_counter() - started
        target.unlink()
        return _bench_task(work, settings, password, seconds)
    finally:
        launcher.down(settings, ["mariadb"])
        shutil.rmtree(work, ignore_errors=True)


def _client(settings: Any, password: str) -> list[str]:
    os.environ["MYSQL_PWD"] = password  # the client's password, never on its command line
    stack = settings.stack
    return [
        "mariadb",
        "--no-defaults",
        "-h",
        "127.0.0.1",
        "-P",
        str(stack.mariadb_port),
        "-u",
        stack.postgres_user,
    ]


def _bench_task(work: Path, settings: Any, password: str, client: float) -> MariaDBResult:
    url = f"jdbc:mysql://127.0.0.1:{settings.stack.mariadb_port}/bench"
    spark, replication = open_task(work, settings, password, url, "bench", "events")
    try:
        plans = replication.plans()
        started = time.perf_counter()
        replication.run("start", continuous=False)  # full load + one (empty) batch
        start = time.perf_counter() - started
        landed = replication.stats()["bench.events"].full_load_rows
        assert landed == ROWS, f"the full load landed {landed} of {ROWS} rows"

        source = replication.source
        update = f"UPDATE bench.events SET note = 'changed' WHERE id <= {CHANGES}"
        latency = cdc_latency(spark, replication, plans, lambda: source.query(update))
        source.close()
    finally:
        spark.stop()
    return MariaDBResult(ROWS, start, client, CHANGES, latency)


def report(result: MariaDBResult) -> list[str]:
    def row(label: str, seconds: float) -> str:
        rate, ratio = result.rows / seconds, seconds / result.start
        return f"| {label} | {seconds:.1f} s | {rate:,.0f} | {ratio:.2f} |"

    return [
        SECTION,
        "",
        f"`bench.events`: {result.rows:,} rows (bigint key, int, varchar, decimal, datetime,",
        "md5 text) on the stack's MariaDB 10.11 (binlog on, ROW), same machine; "
        f"{CORES} cores for Spark.",
        "headwater = the replication task's `start` (binlog position, parallel JDBC reads in",
        f"{CORES * 2} primary-key ranges, one Delta commit, registration, one empty CDC batch).",
        "",
        "| way | seconds | rows/s | time / headwater |",
        "| --- | ---: | ---: | ---: |",
        row("headwater full load (`replicate start`)", result.start),
        row('`mariadb --batch -e "SELECT …" > file` (the physical anchor)', result.client),
        "",
        f"headwater takes x{result.start / result.client:.2f} the time of the `mariadb` client.",
        "",
        f"CDC: one source transaction updating {result.changes:,} rows; from its commit to the",
        "current-state table answering with the new values (one batch: binlog read and",
        f"decode, change table, MERGE): **{result.cdc_latency:.1f} s** (PostgreSQL's, above:",
        "the same update through pgoutput).",
        "",
    ]
