"""Quality gates on the local profile: each action on real files through the ingest
job, with great-expectations on the Spark engine, results kept with the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.config import Settings
from engine.state.store import open_run_store
from tests.spark.jobs_helpers import land, rows, run_ingest, version

ROOT = "s3://landing"
HEADER = "order_id,country,quantity,email\n"
GOOD = HEADER + "".join(f"{i},DE,{i},u{i}@shop.example\n" for i in range(1, 9))
# 11: no country; 12: quantity 0 and a bad email; 13: country XX; 14 twice: not unique
BAD = HEADER + (
    "10,FR,3,a@shop.example\n"
    "11,,2,b@shop.example\n"
    "12,NL,0,not-an-email\n"
    "13,XX,5,c@shop.example\n"
    "14,DE,1,d@shop.example\n"
    "14,DE,2,e@shop.example\n"
    "15,NL,4,\n"
)
RULES: list[Any] = [
    {"not_null": ["order_id", "country"]},
    {"unique": "order_id"},
    {"in_set": {"column": "country", "values": ["DE", "FR", "NL"]}},
    {"between": {"column": "quantity", "min": 1, "max": 100}},
    {"regex": {"column": "email", "pattern": "^[^@]+@[^@]+$"}},
    {"row_count": {"min": 1, "max": 1000}},
    {"schema": {"order_id": "int", "country": "string", "quantity": "int"}},
]


def _suite(tmp_path: Path, action: str, rules: list[Any] = RULES) -> str:
    path = tmp_path / f"{action}.yaml"
    path.write_text(yaml.safe_dump({"action": action, "rules": rules}))
    return str(path)


def _args(folder: str, target: str, quality: str) -> dict[str, str]:
    return {
        "source": f"{ROOT}/{folder}/",
        "format": "csv",
        "source_options": '{"header": "true", "inferSchema": "true"}',
        "target": target,
        "quality": quality,
    }


def _check(settings: Settings, run_id: str) -> Any:
    (check,) = open_run_store(settings).quality_checks(run_ids=[run_id])
    return check


def test_fail_leaves_the_table_and_bookmark_and_records_why(
    local_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    land(local_settings, "q_fail/1.csv", GOOD)
    args = _args("q_fail", "raw.q_fail", _suite(tmp_path, "fail"))
    first, code = run_ingest(local_settings, spark, "q_fail", **args)
    assert code == 0, first.error
    assert _check(local_settings, first.run_id).summary == "11/11 passed"
    before = version(spark, "raw.q_fail")

    land(local_settings, "q_fail/2.csv", BAD)
    stopped, code = run_ingest(local_settings, spark, "q_fail", **args)
    assert code == 1 and stopped.state == "FAILED"
    assert "quality suite fail failed" in stopped.error and "nothing was written" in stopped.error
    assert "not_null:country (1 of 7 rows)" in stopped.error
    assert version(spark, "raw.q_fail") == before  # the raw table untouched
    assert len(rows(spark, "raw.q_fail", "order_id")) == 8

    check = _check(local_settings, stopped.run_id)
    assert (check.action, check.outcome) == ("fail", "STOPPED")
    failed = {r.rule: r.unexpected_count for r in check.results if not r.success}
    assert failed == {
        "not_null:country": 1,
        "unique:order_id": 2,
        "in_set:country": 1,
        "between:quantity": 1,
        "regex:email": 1,
    }
    sample = next(r for r in check.results if r.rule == "in_set:country").observed["sample"]
    assert sample == ["XX"]

    # the bookmark did not move: with the suite relaxed to warn, the same file lands
    relaxed, code = run_ingest(
        local_settings, spark, "q_fail", **{**args, "quality": _suite(tmp_path, "warn")}
    )
    assert code == 0 and relaxed.rows_written == 7
    assert _check(local_settings, relaxed.run_id).outcome == "WARNED"


def test_quarantine_lands_the_good_rows_and_names_the_broken_rules(
    local_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    land(local_settings, "q_quar/1.csv", BAD)
    args = _args("q_quar", "raw.q_quar", _suite(tmp_path, "quarantine"))
    run, code = run_ingest(local_settings, spark, "q_quar", **args)
    assert code == 0, run.error
    assert (run.rows_read, run.rows_written, run.rows_quarantined) == (7, 2, 5)
    assert rows(spark, "raw.q_quar", "order_id") == [(10,), (15,)]

    aside = {
        (r["order_id"], r["quantity"]): sorted(r["_failed_rules"])
        for r in spark.table("quarantine.q_quar_quality").collect()
    }
    assert aside == {
        (11, 2): ["not_null:country"],
        (12, 0): ["between:quantity", "regex:email"],
        (13, 5): ["in_set:country"],
        (14, 1): ["unique:order_id"],
        (14, 2): ["unique:order_id"],
    }
    # the rows set aside per rule are exactly the ones great-expectations counted
    check = _check(local_settings, run.run_id)
    assert check.outcome == "QUARANTINED"
    for result in check.results:
        if not result.success:
            flagged = sum(result.rule in names for names in aside.values())
            assert flagged == result.unexpected_count, result.rule
    marks = spark.table("quarantine.q_quar_quality").select("_run_id", "_seq").distinct()
    assert [tuple(r) for r in marks.collect()] == [(run.run_id, 0)]


def test_quarantine_stops_on_a_table_level_rule(
    local_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    land(local_settings, "q_table/1.csv", BAD)
    rules = [*RULES[:1], {"row_count": {"min": 100}}]
    args = _args("q_table", "raw.q_table", _suite(tmp_path, "quarantine", rules))
    stopped, code = run_ingest(local_settings, spark, "q_table", **args)
    assert code == 1 and "table-level rule" in stopped.error
    assert "row_count (observed 7)" in stopped.error
    assert not spark.catalog.tableExists("raw.q_table")


def test_a_bad_rule_is_named_before_any_data_is_written(
    local_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    land(local_settings, "q_conf/1.csv", GOOD)
    rules = [{"between": {"column": "quantity", "min": 5, "max": 1}}]
    args = _args("q_conf", "raw.q_conf", _suite(tmp_path, "fail", rules))
    stopped, code = run_ingest(local_settings, spark, "q_conf", **args)
    assert code == 1 and "rules[0]: between min 5 is above max 1" in stopped.error
    assert not spark.catalog.tableExists("raw.q_conf")
