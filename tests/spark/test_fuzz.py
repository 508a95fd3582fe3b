"""The fuzz suite (issue 16): damaged CSV, JSON, gzip and Parquet files through crawl
and ingest on the local profile. Each file ends either in a named refusal (a crawl skip
or a failed run whose error names it, never a traceback) or in rows that reconcile
with the source: every intact row landed once with its values or quarantined, no row
landed twice or from nowhere, and the run's counts add up.

``HEADWATER_FUZZ_ROUNDS`` (default 2) rounds of every damage; ``HEADWATER_FUZZ_SEED``
picks the cases. The tally is printed (docs/reliability.md quotes a larger run).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any

import pytest

from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl
from engine.ingest.context import EXIT_CRASH
from tests.fuzz_cases import FuzzCase, make_cases
from tests.spark.jobs_helpers import land, run_ingest

SEED = int(os.environ.get("HEADWATER_FUZZ_SEED", "20261130"))
ROUNDS = int(os.environ.get("HEADWATER_FUZZ_ROUNDS", "2"))
CASES = make_cases(SEED, ROUNDS)
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    print(f"\nfuzz: {sum(TALLY.values())} cases (seed {SEED}): {dict(sorted(TALLY.items()))}")


def _landed(spark: Any, table: str) -> list[tuple[Any, Any, Any]]:
    return [(r["id"], r["name"], r["amount"]) for r in spark.table(table).collect()]


def _quarantined(spark: Any, job: str) -> list[str]:
    if not spark.catalog.tableExists(f"quarantine.{job}"):
        return []
    return [str(r["record"]) for r in spark.table(f"quarantine.{job}").collect()]


def _in_quarantine(row_id: int, records: list[str]) -> bool:
    pattern = re.compile(rf'(^|\n)\{{?"?(id"?:\s*)?{row_id}[,}}]')
    return any(pattern.search(record) for record in records)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_damaged_file_is_refused_by_name_or_reconciles(
    case: FuzzCase, local_settings: Settings, spark: Any, catalog: HiveCatalog
) -> None:
    path = land(local_settings, f"{case.name}/{case.file_name}", "", "fuzz")
    path.write_bytes(case.data)
    result = crawl(local_settings, catalog, CrawlTarget("fuzz", f"{case.name}/", "fuzz"))
    tables = [c.table.name for c in result.plan.changes]
    if not tables:
        reasons = [s.reason for s in result.plan.skipped if case.file_name in s.key]
        assert reasons, f"{case.name}: no table and no named skip"
        TALLY["refused at crawl"] += 1
        return
    (table,) = tables
    job = f"fuzz_{case.name}"
    run, code = run_ingest(local_settings, spark, job, source=f"fuzz.{table}", target=f"raw.{job}")
    if code != 0:
        assert code != EXIT_CRASH, f"{case.name}: a crash, not a named error: {run.error}"
        assert run.error and (case.file_name in run.error or f"raw.{job}" in run.error), run.error
        TALLY["refused by the job"] += 1
        return
    landed = _landed(spark, f"raw.{job}")
    counts = Counter(row[0] for row in landed)
    assert not [i for i, n in counts.items() if n > 1], f"{case.name}: rows landed twice"
    assert set(counts) <= set(case.rows), f"{case.name}: rows from nowhere"
    records = _quarantined(spark, job)
    by_id = {row[0]: row for row in landed}
    for row_id in sorted(case.intact):
        if row_id in by_id:
            name, amount = case.rows[row_id]
            assert by_id[row_id][1:] == (name, amount), f"{case.name}: row {row_id} changed"
        else:
            assert _in_quarantine(row_id, records), f"{case.name}: row {row_id} lost silently"
    assert run.rows_read == run.rows_written + run.rows_quarantined, case.name
    assert run.rows_written == len(landed)
    TALLY["reconciled" if not records else "reconciled with quarantine"] += 1
