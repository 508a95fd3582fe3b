"""The ingest job on the local profile: bookmarks, write modes, schema evolution,
quarantine and column mapping, checked against the rows of the landed files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.config import Settings
from engine.state.store import open_run_store
from tests.spark.jobs_helpers import csv_rows, json_lines, land, rows, run_ingest, version

ROOT = "s3://landing"


def test_files_are_ingested_once_each_and_the_bookmark_resets_and_rewinds(
    local_settings: Settings, spark: Any
) -> None:
    land(local_settings, "events/a.csv", csv_rows(range(1, 4)))
    land(local_settings, "events/b.csv", csv_rows(range(4, 6)))
    args = {
        "source": f"{ROOT}/events/",
        "format": "csv",
        "source_options": json.dumps({"header": "true", "inferSchema": "true"}),
        "target": "raw.events",
    }
    first, code = run_ingest(local_settings, spark, "events", **args)
    assert code == 0 and (first.state, first.rows_read, first.rows_written) == ("SUCCEEDED", 5, 5)
    assert first.files_read == 2 and first.bytes_read > 0
    landed = spark.table("raw.events").collect()
    assert {r["_run_id"] for r in landed} == {first.run_id}
    assert {r["_source_file"].rsplit("/", 1)[1] for r in landed} == {"a.csv", "b.csv"}

    land(local_settings, "events/c.csv", csv_rows(range(6, 9)))
    second, _ = run_ingest(local_settings, spark, "events", **args)
    assert (second.rows_read, second.files_read) == (3, 1)
    assert rows(spark, "raw.events", "id", "name") == [(i, f"n{i}") for i in range(1, 9)]

    before = version(spark, "raw.events")
    third, _ = run_ingest(local_settings, spark, "events", **args)
    assert (third.state, third.rows_written, third.files_read) == ("SUCCEEDED", 0, 0)
    assert version(spark, "raw.events") == before  # nothing new, nothing committed

    from engine.ingest import control

    state = open_run_store(local_settings)
    assert control.rewind(state, "events", first.run_id) == ["source"]
    run_ingest(local_settings, spark, "events", **args)  # c.csv again: it came after run 1
    ids = [r[0] for r in rows(spark, "raw.events", "id")]
    assert ids == sorted([*range(1, 9), 6, 7, 8])

    assert control.reset(state, "events") == ["source"]
    reset, _ = run_ingest(local_settings, spark, "events", **args, write_mode="overwrite")
    assert (reset.rows_written, reset.files_read) == (8, 3)
    assert rows(spark, "raw.events", "id", "name") == [(i, f"n{i}") for i in range(1, 9)]


def test_a_commit_whose_run_died_before_recording_it_is_not_landed_again(
    local_settings: Settings, spark: Any
) -> None:
    """The state a crash right after the Delta commit leaves: the bookmark entry is
    still PENDING. The next run must see the commit in the table and skip the file."""
    land(local_settings, "orders/a.csv", csv_rows(range(1, 6)))
    args = {
        "source": f"{ROOT}/orders/",
        "format": "csv",
        "source_options": '{"header": "true", "inferSchema": "true"}',
        "target": "raw.orders",
    }
    first, _ = run_ingest(local_settings, spark, "orders", **args)
    state = open_run_store(local_settings)
    state.set_bookmark_status("orders", "source", 0, "PENDING")
    land(local_settings, "orders/b.csv", csv_rows(range(6, 8)))
    second, _ = run_ingest(local_settings, spark, "orders", **args)
    assert (second.rows_written, second.files_read) == (2, 1)
    assert [r[0] for r in rows(spark, "raw.orders", "id")] == list(range(1, 8))
    assert [e.status for e in state.bookmark_entries("orders", "source")] == ["COMMITTED"] * 2
    history = spark.sql("DESCRIBE HISTORY raw.orders").collect()
    meta = [json.loads(h["userMetadata"]) for h in history if h["userMetadata"]]
    assert {m["run_id"] for m in meta} == {first.run_id, second.run_id}
    assert sorted(m["bookmark"]["seq"] for m in meta) == [0, 1]


def test_merge_mode_upserts_on_the_keys(local_settings: Settings, spark: Any) -> None:
    land(
        local_settings,
        "customers/1.json",
        json_lines(*({"id": i, "tier": "basic"} for i in (1, 2, 3))),
    )
    args = {"source": f"{ROOT}/customers/", "format": "json", "target": "raw.customers_m"}
    args |= {"write_mode": "merge", "merge_keys": "id"}
    run_ingest(local_settings, spark, "customers_m", **args)
    land(
        local_settings,
        "customers/2.json",
        json_lines({"id": 2, "tier": "gold"}, {"id": 4, "tier": "basic"}),
    )
    second, _ = run_ingest(local_settings, spark, "customers_m", **args)
    assert second.rows_written == 2  # one updated, one inserted
    assert rows(spark, "raw.customers_m", "id", "tier") == [
        (1, "basic"),
        (2, "gold"),
        (3, "basic"),
        (4, "basic"),
    ]


def test_new_columns_are_added_and_an_incompatible_type_fails_leaving_the_table(
    local_settings: Settings, spark: Any
) -> None:
    args = {"source": f"{ROOT}/scores/", "format": "json", "target": "raw.scores"}
    land(local_settings, "scores/1.json", json_lines({"id": 1, "name": "a"}))
    run_ingest(local_settings, spark, "scores", **args)
    land(local_settings, "scores/2.json", json_lines({"id": 2, "name": "b", "score": 0.5}))
    run_ingest(local_settings, spark, "scores", **args)
    assert rows(spark, "raw.scores", "id", "score") == [(1, None), (2, 0.5)]

    land(local_settings, "scores/3.json", json_lines({"id": "three", "name": "c"}))
    before = version(spark, "raw.scores")
    failed, code = run_ingest(local_settings, spark, "scores", **args)
    assert code == 1 and failed.state == "FAILED"
    assert "id is bigint in the table but string in this batch" in failed.error
    assert failed.failed_step == "write raw.scores"
    assert version(spark, "raw.scores") == before
    # not bookmarked: after a fix the file is still to be read
    fixed, _ = run_ingest(
        local_settings,
        spark,
        "scores",
        **args,
        mapping='[["id", "string", "id", "bigint"], ["name", "name"]]',
    )
    assert fixed.files_read == 1 and fixed.rows_written == 1
    assert rows(spark, "raw.scores", "id", "name") == [(None, "c"), (1, "a"), (2, "b")]


def test_malformed_records_are_quarantined_and_a_threshold_stops_the_run(
    local_settings: Settings, spark: Any
) -> None:
    good_and_bad = "id,name,amount\n1,a,1.5\n2,b,not-a-number\n3,c,4.5,extra\n4,d,6.0\n"
    land(local_settings, "payments/1.csv", good_and_bad)
    args = {
        "source": f"{ROOT}/payments/",
        "format": "csv",
        "source_options": '{"header": "true"}',
        "target": "raw.payments",
        "mapping": json.dumps(
            [
                ["id", "string", "id", "bigint"],
                ["name", "name"],
                ["amount", "string", "amount", "double"],
            ]
        ),
    }
    # the source is read as strings here: the casts are the mapping's; with a typed
    # reader schema the malformed rows are the ones that do not fit
    first, _ = run_ingest(local_settings, spark, "payments", **args)
    assert (first.rows_read, first.rows_written, first.rows_quarantined) == (4, 3, 1)
    quarantined = spark.table("quarantine.payments").collect()
    assert [r["record"] for r in quarantined] == ["3,c,4.5,extra"]
    assert quarantined[0]["source_file"].endswith("payments/1.csv")
    assert "wrong number of fields" in quarantined[0]["reason"]
    assert quarantined[0]["run_id"] == first.run_id

    land(local_settings, "payments/2.csv", "id,name,amount\n5,e,1.0\n6,f,2.0,x\n7,g,3.0,y\n")
    before = version(spark, "raw.payments")
    stopped, code = run_ingest(local_settings, spark, "payments", **args, max_bad_records="1")
    assert code == 1 and "2 malformed record(s)" in stopped.error
    assert version(spark, "raw.payments") == before  # nothing committed
    allowed, _ = run_ingest(local_settings, spark, "payments", **args, max_bad_records="2")
    assert (allowed.rows_written, allowed.rows_quarantined) == (1, 2)
    records = sorted(r["record"] for r in spark.table("quarantine.payments").collect())
    assert records == ["3,c,4.5,extra", "6,f,2.0,x", "7,g,3.0,y"]  # the failed attempt's replaced


def test_apply_mapping_with_nested_fields_and_resolve_choice(
    local_settings: Settings, spark: Any
) -> None:
    land(
        local_settings,
        "nested/1.json",
        json_lines(
            {"id": "1", "customer": {"name": "Ana", "city": "Porto"}, "code": "12"},
            {"id": "2", "customer": {"name": "Bo", "city": "Oslo"}, "code": "B7"},
        ),
    )
    mapping = [
        ["id", "string", "order_id", "bigint"],
        ["customer.name", "string", "name", "string"],
        ["code", "code"],
    ]
    run, code = run_ingest(
        local_settings,
        spark,
        "nested",
        source=f"{ROOT}/nested/",
        format="json",
        target="raw.nested",
        mapping=json.dumps(mapping),
        resolve_choice='[["code", "make_cols:bigint,string"]]',
    )
    assert code == 0, run.error
    table = spark.table("raw.nested")
    assert [c for c in table.columns if not c.startswith("_")] == [
        "order_id",
        "name",
        "code_bigint",
        "code_string",
    ]
    assert rows(spark, "raw.nested", "order_id", "name", "code_bigint", "code_string") == [
        (1, "Ana", 12, None),
        (2, "Bo", None, "B7"),
    ]


def test_wrong_arguments_and_missing_sources_are_named(
    local_settings: Settings, spark: Any
) -> None:
    missing, code = run_ingest(local_settings, spark, "m", source="landing.nope", target="raw.nope")
    assert code == 1 and "landing.nope is not in the catalog" in missing.error
    empty, _ = run_ingest(
        local_settings, spark, "m2", source=f"{ROOT}/nothing-here/", format="csv", target="raw.x"
    )
    assert "no files under s3://landing/nothing-here/" in empty.error
    bad, _ = run_ingest(local_settings, spark, "m3", source="landing.x", target="raw")
    assert "--target 'raw' must be database.table" in bad.error
    land(local_settings, "mapped/1.json", json_lines({"a": 1}))
    unmapped, _ = run_ingest(
        local_settings,
        spark,
        "m4",
        source=f"{ROOT}/mapped/",
        format="json",
        target="raw.mapped",
        mapping='[["b", "c"]]',
    )
    assert "--mapping[0]: 'b' is not a field" in unmapped.error


@pytest.mark.parametrize("option", ["job-bookmark-disable", "job-bookmark-pause"])
def test_disabled_and_paused_bookmarks_do_not_advance(
    local_settings: Settings, spark: Any, option: str
) -> None:
    name = option.rsplit("-", 1)[1]
    land(local_settings, f"{name}/1.csv", csv_rows(range(1, 3)))
    args = {
        "source": f"{ROOT}/{name}/",
        "format": "csv",
        "source_options": '{"header": "true"}',
        "target": f"raw.{name}",
        "job__bookmark__option": option,
    }
    first, _ = run_ingest(local_settings, spark, name, **args)
    second, _ = run_ingest(local_settings, spark, name, **args)
    assert (first.rows_written, second.rows_written) == (2, 2)
    assert open_run_store(local_settings).bookmark_entries(name, "source") == []


def test_the_bookmark_survives_delta_log_clean_up(local_settings: Settings, spark: Any) -> None:
    """Checkpoints keep each application's newest txn: with the old commits gone the
    table still knows the bookmark's seq, and the next run neither repeats nor skips."""
    from engine import storage
    from engine.lake.log import read_txn_version

    args = {
        "source": f"{ROOT}/cleaned/",
        "format": "csv",
        "source_options": '{"header": "true", "inferSchema": "true"}',
        "target": "raw.cleaned",
    }
    land(local_settings, "cleaned/1.csv", csv_rows(range(1, 3)))
    run_ingest(local_settings, spark, "cleaned", **args)
    spark.sql("ALTER TABLE raw.cleaned SET TBLPROPERTIES ('delta.checkpointInterval' = '1')")
    land(local_settings, "cleaned/2.csv", csv_rows(range(3, 5)))
    run_ingest(local_settings, spark, "cleaned", **args)
    log = local_settings.lake_path / "raw" / "cleaned" / "_delta_log"
    checkpoints = sorted(log.glob("*.checkpoint*.parquet"))
    assert checkpoints, "no checkpoint was written"
    newest = int(checkpoints[-1].name.split(".")[0])
    for commit in log.glob("*.json"):
        if int(commit.name.split(".")[0]) < newest:
            commit.unlink()  # what log clean-up does after the retention period
    # the reader takes commits newer than the checkpoint, then the checkpoint itself
    store, prefix = storage.locate(local_settings, "file://" + str(log.parent))
    assert read_txn_version(store, prefix, "headwater/cleaned/source") == 1
    land(local_settings, "cleaned/3.csv", csv_rows(range(5, 7)))
    third, _ = run_ingest(local_settings, spark, "cleaned", **args)
    assert (third.state, third.files_read) == ("SUCCEEDED", 1)
    assert [r[0] for r in rows(spark, "raw.cleaned", "id")] == list(range(1, 7))
