"""Quality results kept with the run that produced them (run-state database).

One row per rule per checked batch (a run and its target table): the rule, its
expectation, success, the observed values, and what the suite's action made of the
batch. A retried run replaces its own rows. Mixed into :class:`engine.state.store.RunStore`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.quality.gate import RuleResult

QUALITY_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS quality_results (
        run_id TEXT NOT NULL, position INTEGER NOT NULL, job TEXT NOT NULL,
        suite TEXT NOT NULL, target TEXT NOT NULL, action TEXT NOT NULL,
        outcome TEXT NOT NULL, rule TEXT NOT NULL, expectation TEXT NOT NULL,
        columns_checked TEXT NOT NULL DEFAULT '', row_level INTEGER NOT NULL,
        success INTEGER NOT NULL, element_count BIGINT, unexpected_count BIGINT,
        observed TEXT NOT NULL DEFAULT '{}', evaluated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, target, position))""",
)
_COLUMNS = (
    "run_id",
    "position",
    "job",
    "suite",
    "target",
    "action",
    "outcome",
    "rule",
    "expectation",
    "columns_checked",
    "row_level",
    "success",
    "element_count",
    "unexpected_count",
    "observed",
    "evaluated_at",
)


@dataclass(frozen=True)
class QualityCheck:
    """A suite's evaluation on one run's batch."""

    run_id: str
    job: str
    suite: str
    target: str
    action: str
    outcome: str
    evaluated_at: str
    results: tuple[RuleResult, ...]

    @property
    def summary(self) -> str:
        """``10/10 passed`` or ``8/10 passed, QUARANTINED``."""
        passed = sum(r.success for r in self.results)
        text = f"{passed}/{len(self.results)} passed"
        return text if passed == len(self.results) else f"{text}, {self.outcome}"


class QualityStateMixin:
    """SQL for quality results; the host class provides ``_cursor`` and ``_sql``."""

    _cursor: Any
    _sql: Any

    def save_quality_check(self, check: QualityCheck) -> None:
        marks = ", ".join("?" for _ in _COLUMNS)
        insert = self._sql(f"INSERT INTO quality_results ({', '.join(_COLUMNS)}) VALUES ({marks})")
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM quality_results WHERE run_id = ? AND target = ?"),
                (check.run_id, check.target),
            )
            for position, result in enumerate(check.results):
                cursor.execute(
                    insert,
                    (
                        check.run_id,
                        position,
                        check.job,
                        check.suite,
                        check.target,
                        check.action,
                        check.outcome,
                        result.rule,
                        result.expectation,
                        ",".join(result.columns),
                        int(result.row_level),
                        int(result.success),
                        result.element_count,
                        result.unexpected_count,
                        json.dumps(result.observed, default=str, sort_keys=True),
                        check.evaluated_at,
                    ),
                )

    def quality_checks(
        self, run_ids: Sequence[str] = (), job: str | None = None, limit: int = 20
    ) -> list[QualityCheck]:
        """The checks of the given runs, or the latest ``limit`` of ``job`` (or of all)."""
        args: tuple[str, ...] = ()
        where = "1 = 1"
        if run_ids:
            where, args = f"run_id IN ({', '.join('?' for _ in run_ids)})", tuple(run_ids)
        elif job:
            where, args = "job = ?", (job,)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {', '.join(_COLUMNS)} FROM quality_results WHERE {where} "
                    "ORDER BY evaluated_at DESC, run_id DESC, target, position"
                ),
                args,
            )
            rows = [dict(zip(_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        checks: dict[tuple[str, str], QualityCheck] = {}
        for row in rows:
            result = RuleResult(
                rule=row["rule"],
                expectation=row["expectation"],
                columns=tuple(c for c in row["columns_checked"].split(",") if c),
                row_level=bool(row["row_level"]),
                success=bool(row["success"]),
                observed=json.loads(row["observed"] or "{}"),
                element_count=row["element_count"],
                unexpected_count=row["unexpected_count"],
            )
            key = (row["run_id"], row["target"])
            found = checks.get(key)
            if found is None:
                if len(checks) >= limit:
                    continue
                found = QualityCheck(
                    row["run_id"],
                    row["job"],
                    row["suite"],
                    row["target"],
                    row["action"],
                    row["outcome"],
                    row["evaluated_at"],
                    (),
                )
            checks[key] = replace(found, results=(*found.results, result))
        return list(checks.values())
