"""The long fault soak of issue 20 (``make bench ONLY=soak``): tests/soak.py on a
stack of its own for ``HEADWATER_BENCH_SOAK_MINUTES`` (10): a wave of changes every
two seconds, a 20,000-row transaction (inserted and updated: 40,000 changes) every
two minutes, and a fault every 60 to 100 seconds, in random order with each kind
at least once (PostgreSQL, MinIO or metastore restarted; the driver SIGKILLed).
Batches are capped at 10,000 changes, so the large transactions exceed the cap.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.soak import FAULT_KINDS, Soak, faults
from tests.stack_fixture import running_stack

MINUTES = float(os.environ.get("HEADWATER_BENCH_SOAK_MINUTES", 10))
LARGE_ROWS = 20_000
BATCH_MAX_CHANGES = 10_000
SECTION = "## Replication through faults (the soak)"


@dataclass(frozen=True)
class SoakResult:
    minutes: float
    faults: list[str]
    changes: int
    large_transactions: int
    max_lag: float
    max_retained_wal: int
    final_retained_wal: int
    lost: int
    duplicated: int
    retries: int
    restarts: int
    batches: int
    files: dict[str, tuple[int, int]]


def bench_soak() -> SoakResult:
    random.seed(20)
    with running_stack() as stack:
        work = Path(tempfile.mkdtemp(prefix="headwater-bench-soak-"))
        soak = Soak(stack, work, batch_max_changes=BATCH_MAX_CHANGES)
        stream, each = soak.stream, faults(stack)
        rounds = max(len(FAULT_KINDS), int(MINUTES * 60 / 80))
        order = random.sample(FAULT_KINDS, len(FAULT_KINDS))
        order += random.choices(FAULT_KINDS, k=rounds - len(order))
        done: list[str] = []
        large = 0
        started = time.monotonic()
        next_fault = started + random.uniform(60, 100)
        next_large = started + 30
        try:
            while time.monotonic() - started < MINUTES * 60 or len(done) < len(order):
                stream.wave()
                if time.monotonic() >= next_large:
                    stream.large(LARGE_ROWS)
                    large += 1
                    next_large += 120
                if time.monotonic() >= next_fault and len(done) < len(order):
                    kind = order[len(done)]
                    print(f"soak: {time.monotonic() - started:.0f} s: fault {kind}", flush=True)
                    each[kind]()
                    done.append(kind)
                    next_fault = time.monotonic() + random.uniform(60, 100)
                stream.poll()
                assert soak.follower.poll() is None, soak.log.read_text()[-3000:]
                time.sleep(2)
            soak.settle()
        finally:
            soak.stop()
        minutes = (time.monotonic() - started) / 60
        status = soak.check()
        final_wal = stream.retained_wal() or 0
        files = {table: soak.optimize(table) for table in ("events", "events__ct")}
        shutil.rmtree(work, ignore_errors=True)  # kept when the soak failed: its log
        changes = stream.changes
        return SoakResult(
            minutes=minutes,
            faults=done,
            changes=changes,
            large_transactions=large,
            max_lag=stream.max_lag,
            max_retained_wal=stream.max_retained_wal,
            final_retained_wal=final_wal,
            lost=changes - status["distinct_positions"],
            duplicated=status["changes_landed"] - status["distinct_positions"],
            retries=int(status["retries"]),
            restarts=int(status["restarts"]),
            batches=int(status.get("batches") or 0),
            files=files,
        )


def report(result: SoakResult) -> list[str]:
    kinds = ", ".join(f"{result.faults.count(k)} {k}" for k in FAULT_KINDS)
    return [
        SECTION,
        "",
        "`tests/bench/soak.py` on a stack of its own: a continuous task follows waves of",
        "inserts, updates and deletes (every 2 s) and a 20,000-row transaction every 2",
        f"minutes (batches capped at {BATCH_MAX_CHANGES:,} changes), while PostgreSQL, MinIO",
        "and the metastore are restarted and the driver SIGKILLed at random moments.",
        "Lost = changes committed on the source and missing from the change table;",
        "duplicated = positions landed twice; validation compares every row with the source.",
        "",
        "| minutes | faults survived | changes applied | large transactions | max lag | "
        "retries | driver restarts | lost | duplicated |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {result.minutes:.1f} | {len(result.faults)} ({kinds}) | {result.changes:,} | "
        f"{result.large_transactions} | {result.max_lag:.0f} s | {result.retries} | "
        f"{result.restarts} | {result.lost} | {result.duplicated} |",
        "",
        f"WAL the slot retained: at most {result.max_retained_wal / 2**20:.1f} MiB during",
        f"the soak, {result.final_retained_wal / 2**20:.1f} MiB at its end. Max lag: from a",
        "wave's commit on the source to its changes counted as applied (polled every 2 s;",
        "a fault's outage and a driver restart included).",
        "",
        "Data files per table (the task compacts every 100 batches; then"
        " `headwater table optimize`):",
        "",
        "| table | files before | after |",
        "| --- | ---: | ---: |",
        *[f"| `soak.{t}` | {b} | {a} |" for t, (b, a) in result.files.items()],
        "",
    ]
