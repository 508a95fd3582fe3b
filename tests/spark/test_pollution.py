"""Each class of messy input (tests/pollution_cases.py) crawled, then ingested with
the crawler's reading on the local profile: the header, rows and cells land as the
file holds them, lines that are not records are quarantined with their text — or
the crawler skips the file with a named reason."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl
from tests.pollution_cases import CASES, Pollution
from tests.spark.jobs_helpers import land, run_ingest


def _as_text(spark: Any, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    df = spark.table(table)
    names = columns or tuple(df.columns[: len(df.columns)])
    picked = df.select(*[df[f"`{n}`"].cast("string") for n in names])
    return sorted((tuple(r) for r in picked.collect()), key=repr)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_messy_file_lands_as_it_is_written_or_is_refused_by_name(
    case: Pollution, local_settings: Settings, spark: Any, catalog: HiveCatalog
) -> None:
    path = land(local_settings, f"{case.name}/{case.file_name}", "", "pollution")
    path.write_bytes(case.data)
    result = crawl(local_settings, catalog, CrawlTarget("pollution", f"{case.name}/", "pollution"))
    if case.refused:
        assert not result.plan.changes
        (skip,) = [s for s in result.plan.skipped if case.file_name in s.key]
        assert case.refused in skip.reason, skip.reason
        return
    (change,) = result.plan.changes
    table = change.table
    assert tuple(c.name for c in table.columns) == case.columns
    registered = catalog.get_table("pollution", table.name)
    assert tuple(c.name for c in registered.columns) == case.columns  # as spelled
    job = f"pollution_{case.name}"
    run, code = run_ingest(
        local_settings,
        spark,
        job,
        source=f"pollution.{table.name}",
        target=f"raw.{job}",
        job_bookmark_option="job-bookmark-enable",
    )
    assert code == 0, run.error
    landed = spark.table(f"raw.{job}")
    data_columns = [c for c in landed.columns if not c.startswith("_")]
    assert tuple(data_columns[: len(case.columns)]) == case.columns
    assert _as_text(spark, f"raw.{job}", case.checked or case.columns) == sorted(
        case.rows, key=repr
    )
    types = dict(landed.dtypes)
    for column, type_ in case.types:
        assert types[column] == type_, column
    assert run.rows_quarantined == case.quarantined
    assert run.rows_written == len(case.rows)
    assert run.rows_read == len(case.rows) + case.quarantined
