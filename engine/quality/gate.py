"""What a suite's results mean for the batch: commit it, stop it, or set rows aside.

Pure: the results come from great-expectations (:mod:`engine.spark.quality`), the
verdict is applied by the job's writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import JobError
from engine.quality.definitions import QualitySuite
from engine.quality.rules import Rule
from engine.vocabulary import QualityAction, RuleOutcome


class QualityError(JobError):
    """A batch broke its quality suite and the suite's action stopped it."""


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome on one batch, as stored with the run."""

    rule: str
    expectation: str
    columns: tuple[str, ...]
    row_level: bool
    success: bool
    observed: dict[str, Any] = field(default_factory=dict)
    element_count: int | None = None
    unexpected_count: int | None = None

    @classmethod
    def of(cls, rule: Rule, *, success: bool, **values: Any) -> RuleResult:
        return cls(
            rule.name, rule.expectation_type, rule.columns, rule.is_row_level, success, **values
        )


@dataclass(frozen=True)
class Verdict:
    """``outcome`` is PASSED, WARNED, QUARANTINED or STOPPED; ``quarantine`` are the
    row-level rules whose failing rows are set aside."""

    outcome: str
    failed: tuple[RuleResult, ...]
    quarantine: tuple[Rule, ...] = ()

    @property
    def commits(self) -> bool:
        return self.outcome != RuleOutcome.STOPPED


def decide(suite: QualitySuite, results: Sequence[RuleResult]) -> Verdict:
    failed = tuple(r for r in results if not r.success)
    if not failed:
        return Verdict(RuleOutcome.PASSED, ())
    if suite.action == QualityAction.WARN:
        return Verdict(RuleOutcome.WARNED, failed)
    if suite.action == QualityAction.QUARANTINE and all(r.row_level for r in failed):
        names = {r.rule for r in failed}
        return Verdict(
            RuleOutcome.QUARANTINED, failed, tuple(r for r in suite.rules if r.name in names)
        )
    return Verdict(RuleOutcome.STOPPED, failed)


def describe_failure(result: RuleResult) -> str:
    """``not_null:id (3 of 120 rows)`` or ``row_count (observed 0)``."""
    if result.observed.get("error"):
        return f"{result.rule} (error: {result.observed['error']})"
    if result.unexpected_count is not None:
        return f"{result.rule} ({result.unexpected_count} of {result.element_count} rows)"
    if "value" in result.observed:
        return f"{result.rule} (observed {result.observed['value']})"
    return result.rule


def stop_error(suite: QualitySuite, verdict: Verdict, target: str) -> QualityError:
    """The error a stopped batch ends its run with: which rules, and what to do."""
    broken = "; ".join(describe_failure(r) for r in verdict.failed)
    if suite.action == QualityAction.FAIL:
        why = f"quality suite {suite.name} failed"
        hint = "see the rules' observed values with `headwater quality results`; fix the data, "
        hint += "or set the suite's action to warn or quarantine"
    else:  # quarantine, but a table-level rule failed: no rows to set aside
        why = f"quality suite {suite.name} failed a table-level rule (no rows can be set aside)"
        hint = "table-level rules (row_count, schema) stop the batch even under quarantine; "
        hint += "see `headwater quality results`"
    return QualityError(
        f"{why}: {broken}; nothing was written to {target}", hint=hint, table=target
    )
