"""Quality rules, verdicts, stored results and suggested suites (no Spark)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from catalog.model import Column
from engine.errors import ConfigError
from engine.quality import suggest
from engine.quality.definitions import QualityDefinition, QualitySuite, build_suite
from engine.quality.gate import RuleResult, decide
from engine.quality.rules import parse_rules, rules_from_suite
from engine.state.quality import QualityCheck
from engine.state.store import RunStore
from engine.vocabulary import RuleOutcome


def test_the_compact_list_becomes_named_expectations() -> None:
    rules = parse_rules(
        [
            {"not_null": ["id", "country"]},
            {"unique": ["id", "dt"]},
            {"in_set": {"column": "country", "values": ["DE", "it's"]}, "mostly": 0.9},
            {"between": {"column": "qty", "min": 1}},
            {"regex": {"column": "email", "pattern": "^.+@.+$"}, "name": "email_shape"},
            {"row_count": {"min": 1, "max": 10}},
            {"schema": {"id": "BIGINT", "amount": "decimal(10,2)"}},
        ],
        "jobs.sales.quality.rules",
    )
    assert [r.name for r in rules] == [
        "not_null:id",
        "not_null:country",
        "unique:id,dt",
        "in_set:country",
        "between:qty",
        "email_shape",
        "row_count",
        "schema",
        "schema:id",
        "schema:amount",
    ]
    by_name = {r.name: r for r in rules}
    assert by_name["unique:id,dt"].expectation_type == "expect_compound_columns_to_be_unique"
    assert by_name["in_set:country"].kwargs == {
        "column": "country",
        "value_set": ["DE", "it's"],
        "mostly": 0.9,
    }
    assert by_name["schema:amount"].kwargs == {"column": "amount", "type_": "DecimalType"}
    assert by_name["row_count"].failing_condition() is None  # table-level
    assert by_name["schema"].failing_condition() is None


def test_row_conditions_select_what_great_expectations_counts_as_unexpected() -> None:
    rules = {
        r.name: r.failing_condition()
        for r in parse_rules(
            [
                {"not_null": "a"},
                {"unique": "a"},
                {"unique": ["a", "b"]},
                {"in_set": {"column": "c", "values": ["x", "it's", 3]}},
                {"between": {"column": "q", "min": 0, "max": 9.5}},
                {"regex": {"column": "e", "pattern": "^a\\d$"}},
            ],
            "rules",
        )
    }
    assert rules == {
        "not_null:a": "`a` IS NULL",
        "unique:a": "(`a` IS NOT NULL AND count(1) OVER (PARTITION BY `a`) > 1)",
        "unique:a,b": "(NOT (`a` IS NULL AND `b` IS NULL) AND "
        "count(1) OVER (PARTITION BY `a`, `b`) > 1)",
        "in_set:c": "(`c` IS NOT NULL AND NOT (`c` IN ('x', 'it\\'s', 3)))",
        "between:q": "(`q` IS NOT NULL AND (`q` < 0 OR `q` > 9.5))",
        "regex:e": "(`e` IS NOT NULL AND NOT (`e` RLIKE '^a\\\\d$'))",
    }


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("not_null: id", "a rule is a mapping"),
        ({"not_null": "id", "unique": "id"}, "exactly one of"),
        ({"nonnull": "id"}, "exactly one of"),
        ({"not_null": []}, "takes a column name or a list"),
        ({"in_set": {"column": "c"}}, "in_set needs values"),
        ({"in_set": {"column": "c", "values": []}}, "non-empty list"),
        ({"between": {"column": "q"}}, "needs min, max or both"),
        ({"between": {"column": "q", "min": 3, "max": 1}}, "min 3 is above max 1"),
        ({"between": {"column": "q", "low": 3}}, "not low"),
        ({"regex": {"column": "e", "pattern": ""}}, "non-empty string"),
        ({"not_null": "id", "mostly": 1.5}, "fraction in (0, 1]"),
        ({"row_count": {"min": 1}, "mostly": 0.5}, "mostly applies to row-level rules"),
        ({"schema": {"id": "number"}}, "schema type 'number' of id"),
    ],
)
def test_bad_rules_are_named_by_position(rule: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"jobs\.x\.quality\.rules\[1\]") as raised:
        parse_rules([{"not_null": "ok"}, rule], "jobs.x.quality.rules")
    assert message in str(raised.value)


def test_two_rules_with_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="two rules are named 'not_null:id'"):
        parse_rules([{"not_null": "id"}, {"not_null": ["id"]}], "rules")


def test_a_native_suite_keeps_row_conditions_for_the_expectations_it_knows(
    tmp_path: Path,
) -> None:
    native = {
        "name": "orders",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
            {
                "type": "expect_column_mean_to_be_between",
                "kwargs": {"column": "qty", "min_value": 1},
                "meta": {"name": "qty_mean"},
            },
        ],
    }
    (tmp_path / "orders.json").write_text(json.dumps(native))
    suite = build_suite(
        QualityDefinition(rules=[{"unique": "id"}], suite="orders.json"),
        "orders",
        "jobs.orders.quality",
        tmp_path,
    )
    names = [(r.name, r.is_row_level) for r in suite.rules]
    assert names == [
        ("unique:id", True),
        ("expect_column_values_to_not_be_null:id", True),
        ("qty_mean", False),
    ]
    with pytest.raises(ConfigError, match="expectations"):
        rules_from_suite({"name": "x"}, "suite")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match=r"broken\.json is not JSON"):
        build_suite(QualityDefinition(suite="broken.json"), "x", "q", tmp_path)


def _suite(action: str) -> QualitySuite:
    rules = parse_rules([{"not_null": "id"}, {"row_count": {"min": 1}}], "rules")
    return QualitySuite("s", action, tuple(rules))


def _results(*successes: bool) -> list[RuleResult]:
    suite = _suite("fail")
    return [RuleResult.of(r, success=ok) for r, ok in zip(suite.rules, successes, strict=True)]


def test_the_action_decides_what_a_failure_does() -> None:
    assert decide(_suite("fail"), _results(True, True)).outcome == RuleOutcome.PASSED
    assert decide(_suite("fail"), _results(False, True)).outcome == RuleOutcome.STOPPED
    assert decide(_suite("warn"), _results(False, False)).outcome == RuleOutcome.WARNED
    quarantined = decide(_suite("quarantine"), _results(False, True))
    assert quarantined.outcome == RuleOutcome.QUARANTINED and quarantined.commits
    assert [r.name for r in quarantined.quarantine] == ["not_null:id"]
    # a failed table-level rule cannot be quarantined: the batch stops
    assert decide(_suite("quarantine"), _results(False, False)).outcome == RuleOutcome.STOPPED


def test_checks_are_stored_with_the_run_and_a_retry_replaces_them(tmp_path: Path) -> None:
    store = RunStore(sqlite3.connect(tmp_path / "state.db"), "?")
    failed = RuleResult("not_null:id", "e", ("id",), True, False, {"sample": [None]}, 10, 2)
    passed = RuleResult("row_count", "t", (), False, True, {"value": 10})

    def check(run: str, at: str, *results: RuleResult) -> QualityCheck:
        return QualityCheck(
            run, "sales", "s", "raw.sales", "fail", RuleOutcome.STOPPED, at, results
        )

    store.save_quality_check(check("r1", "2026-01-01T00:00:00", failed, passed))
    store.save_quality_check(check("r1", "2026-01-01T00:00:01", passed))  # retried
    store.save_quality_check(check("r2", "2026-01-02T00:00:00", failed, passed))
    latest, first = store.quality_checks(job="sales")
    assert (latest.run_id, latest.results) == ("r2", (failed, passed))
    assert latest.summary == "1/2 passed, STOPPED"
    assert (first.run_id, first.results) == ("r1", (passed,))
    assert [c.run_id for c in store.quality_checks(run_ids=["r1"])] == ["r1"]
    assert len(store.quality_checks(limit=1)) == 1


def test_a_profile_suggests_an_editable_suite() -> None:
    columns = [
        Column("id", "bigint"),
        Column("country", "string"),
        Column("amount", "decimal(10,2)"),
        Column("note", "string"),
        Column("tags", "array<string>"),
    ]
    sql = suggest.stats_sql("`raw`.`t`", columns)
    assert sql.startswith("SELECT count(1), count(`id`), approx_count_distinct(`id`), min(`id`)")
    profile = suggest.parse_stats(
        "`raw`.`t`",
        columns,
        [100, 100, 101, 1, 100, 100, 3, 98, 40, "0.50", "99.25", 50, 20, 0, 0],
    )
    detail = suggest.detail_sql(profile)
    assert detail == (
        "SELECT count(DISTINCT `id`), slice(array_sort(collect_set(`country`)), 1, 11) "
        "FROM `raw`.`t`"
    )
    profile = suggest.with_details(profile, [100, '["DE","FR","NL"]'])
    rules = suggest.suggest_rules(profile)
    assert rules == [
        {
            "schema": {
                "id": "bigint",
                "country": "string",
                "amount": "decimal(10,2)",
                "note": "string",
            }
        },
        {"row_count": {"min": 1}},
        {"not_null": "id"},
        {"unique": "id"},
        {"between": {"column": "id", "min": 1, "max": 100}},
        {"not_null": "country"},
        {"in_set": {"column": "country", "values": ["DE", "FR", "NL"]}},
        {"not_null": "amount", "mostly": 0.98},
        {"between": {"column": "amount", "min": 0.5, "max": 99.25}},
    ]
    # what it suggests parses back as a suite
    assert parse_rules(yaml.safe_load(yaml.safe_dump(rules)), "suggested")


def test_a_job_definition_carries_its_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.ingest.definitions import job_suite, load_jobs

    path = tmp_path / "headwater.yaml"
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))
    quality = {"action": "quarantine", "rules": [{"not_null": "id"}]}
    path.write_text(yaml.safe_dump({"jobs": {"sales": {"quality": quality}}}))
    suite = job_suite("sales", None)
    assert suite is not None and (suite.name, suite.action) == ("sales", "quarantine")
    assert [r.name for r in suite.rules] == ["not_null:id"]
    assert job_suite("other", None) is None
    one_run = tmp_path / "strict.yaml"
    one_run.write_text(yaml.safe_dump({"action": "fail", "rules": [{"unique": "id"}]}))
    replaced = job_suite("sales", str(one_run))
    assert replaced is not None and [r.name for r in replaced.rules] == ["unique:id"]

    for body, message in [
        ({"quality": {"action": "drop"}}, r"jobs\.sales\.quality\.action"),
        ({"quality": {"action": "warn"}}, "needs 'rules', a native 'suite' file, or both"),
        ({"type": "python", "script": "x.py", "quality": quality}, "checked by spark jobs"),
    ]:
        path.write_text(yaml.safe_dump({"jobs": {"sales": body}}))
        with pytest.raises(ConfigError, match=message):
            load_jobs()
    one_run.write_text(yaml.safe_dump({"action": "warn", "rules": "not_null"}))
    with pytest.raises(ConfigError, match=r"strict\.yaml: rules: Input should be a valid list"):
        job_suite("sales", str(one_run))


def test_a_replication_target_takes_fail_or_warn_suites_only() -> None:
    from pydantic import ValidationError

    from engine.replicate.definitions import ReplicationTaskDefinition

    base = {"connection": "shop", "table_mappings": "{}"}
    rules = [{"not_null": "id"}]
    ok = ReplicationTaskDefinition.model_validate(
        {**base, "quality": {"public.orders": {"action": "fail", "rules": rules}}}
    )
    assert ok.quality["public.orders"].action == "fail"
    with pytest.raises(ValidationError, match="mirrors its source"):
        ReplicationTaskDefinition.model_validate(
            {**base, "quality": {"public.orders": {"action": "quarantine", "rules": rules}}}
        )
