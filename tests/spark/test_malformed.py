"""Malformed CSV through crawl and ingest: no record is ever absorbed into another.

Files land in their own bucket (``damaged``) so crawls of ``landing`` elsewhere in
the session see none of them.

A quote that never closes must not fold the rows below it into one value (the job
would report success with rows missing); every source row ends up landed or
quarantined with a reason, and the run's counts add up.
"""

from __future__ import annotations

from typing import Any

from catalog.hive import HiveCatalog
from engine.config import Settings
from engine.crawl.crawler import CrawlTarget, crawl
from tests.spark.jobs_helpers import land, rows, run_ingest


def _lines(count: int) -> list[str]:
    return ["id,amount,note"] + [f"{i},{i / 2},row {i}" for i in range(1, count + 1)]


BUCKET = "damaged"


def _crawl(settings: Settings, catalog: HiveCatalog, prefix: str) -> None:
    crawl(settings, catalog, CrawlTarget(BUCKET, f"{prefix}/", "damaged"))


def test_an_unterminated_quote_does_not_swallow_the_rows_below_it(
    local_settings: Settings, spark: Any, catalog: HiveCatalog
) -> None:
    lines = _lines(300)
    lines[250] = '250,3.5,"unterminated quote'
    land(local_settings, "stray_quote/data.csv", "\n".join(lines) + "\n", BUCKET)
    _crawl(local_settings, catalog, "stray_quote")
    table = catalog.get_table("damaged", "stray_quote")
    assert table.options["multiLine"] == "false"  # the sample proved no quoted line break

    run, code = run_ingest(
        local_settings, spark, "stray_quote", source="damaged.stray_quote", target="raw.stray_quote"
    )
    assert code == 0, run.error
    assert (run.rows_read, run.rows_written, run.rows_quarantined) == (300, 300, 0)
    landed = rows(spark, "raw.stray_quote", "id", "note")
    assert [r[0] for r in landed] == list(range(1, 301))
    assert landed[249] == (250, "unterminated quote")  # Spark drops the lone opening quote


def test_a_quote_that_never_closes_in_a_multiline_file_is_quarantined_not_absorbed(
    local_settings: Settings, spark: Any, catalog: HiveCatalog
) -> None:
    lines = _lines(300)
    lines[3] = '3,1.5,"a note\nover two lines"'  # a real quoted line break, in the sample
    lines[250] = '250,3.5,"unterminated quote'  # swallows rows 251-300 in multiLine mode
    land(local_settings, "runaway_quote/data.csv", "\n".join(lines) + "\n", BUCKET)
    _crawl(local_settings, catalog, "runaway_quote")
    assert catalog.get_table("damaged", "runaway_quote").options["multiLine"] == "true"

    run, code = run_ingest(
        local_settings,
        spark,
        "runaway_quote",
        source="damaged.runaway_quote",
        target="raw.runaway_quote",
    )
    assert code == 0, run.error
    # 249 well-formed records landed, the record that swallowed 51 lines set aside
    assert (run.rows_read, run.rows_written, run.rows_quarantined) == (250, 249, 1)
    landed = rows(spark, "raw.runaway_quote", "id", "note")
    assert [r[0] for r in landed] == list(range(1, 250))
    assert landed[2] == (3, "a note\nover two lines")
    (bad,) = spark.table("quarantine.runaway_quote").collect()
    assert bad["record"].startswith("250,3.5,unterminated quote\n251,125.5,row 251\n")
    assert bad["record"].count("\n") == 51
    assert "a quote that never closes" in bad["reason"] and "51 line break(s)" in bad["reason"]
    assert bad["source_file"].endswith("runaway_quote/data.csv")

    # with a threshold the run fails, names the table, and commits nothing
    lines[250] = '250,3.5,"unterminated again'
    land(local_settings, "runaway_quote/more.csv", "\n".join(lines) + "\n", BUCKET)
    spark.catalog.refreshTable("damaged.runaway_quote")  # a job's own process lists anew
    strict, code = run_ingest(
        local_settings,
        spark,
        "runaway_quote",
        source="damaged.runaway_quote",
        target="raw.runaway_quote",
        max_bad_records="0",
    )
    assert code != 0 and strict.state == "FAILED"
    assert "1 malformed record(s)" in str(strict.error) and "raw.runaway_quote" in str(strict.error)
    assert spark.table("raw.runaway_quote").count() == 249


def test_column_names_with_backticks_spaces_and_delimiters_land_as_spelled(
    local_settings: Settings, spark: Any, catalog: HiveCatalog
) -> None:
    header = 'id,first name,"x=y",we`ird,"a,b",(paren)'
    land(local_settings, "odd_names/data.csv", header + "\n1,ann,2,q,3,4\n2,bob,5,r,6,7\n", BUCKET)
    _crawl(local_settings, catalog, "odd_names")
    names = [c.name for c in catalog.get_table("damaged", "odd_names").columns]
    assert names == ["id", "first name", "x=y", "we`ird", "a,b", "(paren)"]

    run, code = run_ingest(
        local_settings, spark, "odd_names", source="damaged.odd_names", target="raw.odd_names"
    )
    assert code == 0, run.error
    landed = spark.table("raw.odd_names")
    assert [c for c in landed.columns if not c.startswith("_")] == names
    assert sorted(tuple(r)[:6] for r in landed.collect()) == [
        (1, "ann", 2, "q", 3, 4),
        (2, "bob", 5, "r", 6, 7),
    ]
    properties = spark.sql("SHOW TBLPROPERTIES raw.odd_names").collect()
    assert ("delta.columnMapping.mode", "name") in [tuple(p) for p in properties]


def test_a_table_the_crawler_made_of_one_file_can_be_ingested(
    local_settings: Settings, spark: Any, catalog: HiveCatalog
) -> None:
    land(local_settings, "misc/orders.csv", "order_id,amount\n1,2.5\n2,3.5\n", BUCKET)
    land(local_settings, "misc/people.csv", "name,city,born\nann,rome,1990\n", BUCKET)
    _crawl(local_settings, catalog, "misc")
    orders = catalog.get_table("damaged", "misc_orders_csv")
    assert orders.location.endswith("/misc/orders.csv")  # a table located at its file
    run, code = run_ingest(
        local_settings, spark, "misc_orders", source="damaged.misc_orders_csv", target="raw.m_o"
    )
    assert code == 0, run.error
    assert rows(spark, "raw.m_o", "order_id", "amount") == [(1, 2.5), (2, 3.5)]
