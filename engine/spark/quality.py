"""great-expectations on a Spark DataFrame, and the quarantine split.

Validation runs on GX's Spark execution engine: every metric is a Spark aggregation,
so nothing but metric values and a few sample values reaches the driver. The batch is
persisted first, on local disk: GX computes its metrics in several Spark jobs, and the
write that follows reuses the same rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from engine.quality.definitions import QualitySuite
from engine.quality.gate import RuleResult
from engine.quality.rules import Rule

FAILED_RULES = "_failed_rules"
SAMPLE_SIZE = 5


def persist(df: DataFrame) -> DataFrame:
    """``df`` cached on the executors' local disks. Held in memory (deserialised), a
    1 GB batch crowded a 2 GB driver's heap: the write from that cache took nearly as
    long as parsing the CSV again, and twice as long as from the disk cache."""
    return df.persist(StorageLevel.DISK_ONLY)


def validate(df: DataFrame, suite: QualitySuite) -> list[RuleResult]:
    """Each rule's outcome on ``df`` (in the suite's order), in two passes.

    Row-level rules first with GX's BOOLEAN_ONLY result format: their counts only (no
    sample query, which scans the whole batch when nothing is unexpected). Then SUMMARY,
    with observed values and samples, for the table-level rules, the row-level ones that
    failed and those with ``mostly`` (whose unexpected rows are worth recording even when
    they pass). A row-level rule that passed the first pass is recorded with the
    batch's rows and 0 unexpected.
    """
    batch = _batch(df)
    quick = [r for r in suite.rules if r.is_row_level and "mostly" not in r.kwargs]
    first = _run(batch, suite.name, quick, {"result_format": "BOOLEAN_ONLY"})
    passed = {
        name
        for name, found in first.items()
        if found.success and not (found.exception_info or {}).get("raised_exception")
    }
    rest = [r for r in suite.rules if r.name not in passed]
    summary = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
    second = _run(batch, suite.name, rest, summary)
    rows = df.count() if passed else 0  # what the passed rules checked (cached: one pass)
    return [
        RuleResult.of(rule, success=True, element_count=rows, unexpected_count=0)
        if rule.name in passed
        else _result(rule, second.get(rule.name))
        for rule in suite.rules
    ]


def _batch(df: DataFrame) -> Any:
    """A GX batch over ``df`` in an ephemeral context (nothing written, nothing sent)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no traffic off this machine
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        ),
    )
    source = context.data_sources.add_spark("headwater")
    return (
        source.add_dataframe_asset("batch")
        .add_batch_definition_whole_dataframe("whole batch")
        .get_batch(batch_parameters={"dataframe": df})
    )


def _run(
    batch: Any, name: str, rules: Sequence[Rule], result_format: dict[str, Any]
) -> dict[str, Any]:
    """GX's result for each of ``rules``, by rule name."""
    if not rules:
        return {}
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = gx.ExpectationSuite(name=name)
    for rule in rules:
        expectations.add_expectation_configuration(
            ExpectationConfiguration(
                type=rule.expectation_type, kwargs=rule.kwargs, meta={"headwater_rule": rule.name}
            )
        )
    outcome = batch.validate(expectations, result_format=result_format)
    found: dict[str, Any] = {}
    for result in outcome.results:
        config = result.expectation_config
        found[str((config.meta or {}).get("headwater_rule") if config else "")] = result
    return found


def _result(rule: Rule, found: Any) -> RuleResult:
    if found is None:
        return RuleResult.of(rule, success=False, observed={"error": "not evaluated"})
    info = found.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "the expectation raised an error")
        return RuleResult.of(rule, success=False, observed={"error": message.splitlines()[0]})
    result = dict(found.result or {})
    observed: dict[str, Any] = {}
    if "observed_value" in result:
        observed["value"] = result["observed_value"]
    if "unexpected_percent" in result:
        observed["unexpected_percent"] = round(float(result["unexpected_percent"] or 0), 4)
    sample = result.get("partial_unexpected_list")
    if sample:
        observed["sample"] = list(sample)[:SAMPLE_SIZE]
    return RuleResult.of(
        rule,
        success=bool(found.success),
        observed=observed,
        element_count=result.get("element_count"),
        unexpected_count=result.get("unexpected_count"),
    )


def split_failing(
    df: DataFrame, rules: Sequence[Rule], marks: dict[str, Any]
) -> tuple[DataFrame, DataFrame]:
    """(rows no rule fails, rows that fail: with ``_failed_rules``, the failed rules'
    names, and the ``marks`` as constant columns)."""
    flags = [
        sf.when(sf.expr(condition), sf.lit(rule.name))
        for rule in rules
        if (condition := rule.failing_condition()) is not None
    ]
    marked = df.withColumn(FAILED_RULES, sf.array_compact(sf.array(*flags)))
    good = marked.where(sf.size(FAILED_RULES) == 0).drop(FAILED_RULES)
    bad = marked.where(sf.size(FAILED_RULES) > 0)
    return good, bad.select("*", *[sf.lit(v).alias(k) for k, v in marks.items()])
