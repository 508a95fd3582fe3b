"""The quality gate in a job's write: check the batch about to land, keep the
results with the run, then commit it, stop it, or set its failing rows aside.

Runs after the malformed-record threshold and before the bookmark entry and the
Delta commit, so a stopped batch leaves the target table (and the bookmark) as they
were, and a rerun checks the same batch again. Quarantined rows land first, in
``quarantine.<job>_quality`` with the names of the rules they broke, replacing an
earlier attempt's rows for the same bookmark sequence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import storage
from engine.ingest.quarantine import QUARANTINE_DATABASE, quarantine_table
from engine.lake.sink import APPEND, OVERWRITE, Write, register
from engine.quality.definitions import QualitySuite
from engine.quality.gate import Verdict, decide, describe_failure, stop_error
from engine.state.quality import QualityCheck
from engine.state.store import now
from engine.vocabulary import RuleOutcome

if TYPE_CHECKING:
    from engine.ingest.context import JobContext


def check_batch(
    ctx: JobContext, df: Any, suite: QualitySuite, target: str, seq: int | None
) -> tuple[Any, int]:
    """(the rows to commit, rows quarantined); raises QualityError when the batch stops.
    ``df`` should be persisted by the caller (validation scans it once per metric)."""
    from engine.spark import quality as spark_quality

    verdict = evaluate(ctx, df, suite, target)
    if verdict.outcome != RuleOutcome.QUARANTINED:
        return df, 0
    marks = {"_run_id": ctx.run_id, "_seq": -1 if seq is None else seq}
    good, bad = spark_quality.split_failing(
        df, verdict.quarantine, {**marks, "_quarantined_at": ctx.started}
    )
    return good, _quarantine(ctx, bad, seq)


def evaluate(ctx: JobContext, df: Any, suite: QualitySuite, target: str) -> Verdict:
    """Validate ``df``, keep the results with the run, say what failed; raises
    QualityError when the verdict stops the batch."""
    from engine.spark import quality as spark_quality

    results = spark_quality.validate(df, suite)
    verdict = decide(suite, results)
    check = QualityCheck(
        ctx.run_id,
        ctx.job_name,
        suite.name,
        target,
        suite.action,
        verdict.outcome,
        now(),
        tuple(results),
    )
    ctx.store.save_quality_check(check)
    print(f"job {ctx.job_name}: quality suite {suite.name} on {target}: {check.summary}")
    for failed in verdict.failed:
        print(f"  failed: {describe_failure(failed)}")
    if not verdict.commits:
        raise stop_error(suite, verdict, target)
    return verdict


def _quarantine(ctx: JobContext, bad: Any, seq: int | None) -> int:
    from engine.spark import lake

    name = f"{quarantine_table(ctx.job_name)}_quality"
    location = f"{ctx.settings.bucket_uri(ctx.settings.buckets.raw)}/_quarantine/{name}"
    commit = lake.SparkWriter().write(
        bad,
        Write(
            location,
            mode=OVERWRITE if seq is not None else APPEND,
            user_metadata={"job": ctx.job_name, "run_id": ctx.run_id, "quarantine": "quality"},
            add_columns=True,
            replace_where=None if seq is None else f"_seq = {seq}",
        ),
    )
    store, prefix = storage.locate(ctx.settings, location)
    register(ctx.catalog(), store, prefix, (QUARANTINE_DATABASE, name), location, {})
    print(
        f"job {ctx.job_name}: {commit.rows_written} row(s) failing the rules set aside in "
        f"{QUARANTINE_DATABASE}.{name} (column _failed_rules names them)"
    )
    return commit.rows_written
