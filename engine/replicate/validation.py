"""A replication task's validation (DMS's): each table compared with the source as
of one snapshot — row counts and checksums per key range, then the keys of the
ranges that differ."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import ReplicationError
from engine.replicate.jdbc import DIALECT as JDBC
from engine.replicate.mapping import TablePlan
from engine.replicate.validate import (
    SEPARATOR,
    Bucketing,
    TableValidation,
    bucketing,
    compared_columns,
    key_differences,
    mismatched_buckets,
    source_row_hash,
)
from engine.spark import replicate as spark_side
from engine.state.store import now

if TYPE_CHECKING:
    from engine.replicate.task import Replication


class Validation:
    def __init__(self, run: Replication) -> None:
        self.run = run

    def validate(self, plans: list[TablePlan]) -> None:
        """Compare every table with the source as of one snapshot: CDC tasks first
        catch up to exactly that snapshot's position."""
        if self.run.task.definition.has_cdc and self.run.store.batches(self.run.task.name):
            check_slot = f"{self.run.task.slot}_check"[:63]
            with self.run.source.temporary_snapshot(check_slot) as (position, snapshot):
                self.run.cdc.batch(plans, upto=position)
                self.tables(plans, snapshot)
        else:
            with self.run.source.plain_snapshot() as snapshot:
                self.tables(plans, snapshot)

    def tables(self, plans: list[TablePlan], snapshot: str) -> None:
        stats = self.run.stats()
        failed = []
        with self.run.ctx.step("validation"):
            for plan in plans:
                result = self._table(plan, snapshot)
                entry = stats[plan.source_name]
                entry.validation_state, entry.validation_detail = result.state, result.describe()
                entry.updated_at = now()
                self.run.store.save_table_stats(entry)
                print(
                    f"task {self.run.task.name}: {plan.source_name}: {result.state} "
                    f"({result.describe()})"
                )
                if not result.ok:
                    failed.append(plan.source_name)
        if failed:
            raise ReplicationError(
                f"validation of task {self.run.task.name} found differences in {', '.join(failed)}",
                hint=f"see headwater replicate status {self.run.task.name}; "
                f"headwater replicate reload {self.run.task.name} loads again",
            )

    def _table(self, plan: TablePlan, snapshot: str) -> TableValidation:
        buckets = bucketing(plan, self.run.bounds(plan, snapshot))
        table, dialect = self.run.source_table(plan), self.run.source.dialect
        where = plan.filter_sql(self.run.source.quote)
        condition = f" WHERE {where}" if where else ""
        location = self.run.location(plan)
        if dialect == JDBC:  # no SQL of ours for this database: both sides in Spark
            return self._in_spark(plan, buckets, location)
        hash_sql = source_row_hash(compared_columns(plan), dialect)
        source = {
            int(b): (int(n), int(s or 0))
            for b, n, s in self.run.source.in_snapshot(
                snapshot,
                f"SELECT bucket, count(*), sum(row_hash) FROM (SELECT "
                f"{buckets.source(dialect)} AS bucket, "
                f"{hash_sql} AS row_hash FROM {table}{condition}) q GROUP BY bucket",
            )
        }
        target = spark_side.lake_buckets(self.run.ctx.spark, location, plan, buckets)
        result, chosen = _compared(source, target, buckets)
        if not chosen:
            return result
        bucket_list = ", ".join(str(b) for b in chosen)
        source_keys = {
            str(k): int(h)
            for k, h in self.run.source.in_snapshot(
                snapshot,
                f"SELECT row_key, row_hash FROM (SELECT {buckets.source(dialect)} AS bucket, "
                f"{buckets.source_key(dialect)} AS row_key, "
                f"{hash_sql} AS row_hash FROM {table}{condition}) q "
                f"WHERE bucket IN ({bucket_list})",
            )
        }
        target_keys = spark_side.lake_keys(self.run.ctx.spark, location, plan, buckets, chosen)
        return _described(result, source_keys, target_keys)

    def _in_spark(self, plan: TablePlan, buckets: Bucketing, location: str) -> TableValidation:
        """The source read through Spark's JDBC reader (mapped as the full load maps
        it) and the lake, hashed by the same Spark expressions."""
        spark = self.run.ctx.spark
        read = spark_side.read_full_load(
            spark,
            self.run.task.connection,
            plan,
            snapshot=None,
            dialect=self.run.source.dialect,
            partitions=self.run.task.definition.partitions_per_table,
            bounds=self.run.bounds(plan, None),
        )
        frame = spark_side.apply_plan(read, plan).cache()
        try:
            source = spark_side.frame_buckets(frame, plan, buckets)
            target = spark_side.lake_buckets(spark, location, plan, buckets)
            result, chosen = _compared(source, target, buckets)
            if not chosen:
                return result
            source_keys = spark_side.frame_keys(frame, plan, buckets, chosen)
        finally:
            frame.unpersist()
        target_keys = spark_side.lake_keys(spark, location, plan, buckets, chosen)
        return _described(result, source_keys, target_keys)


def _compared(
    source: dict[int, tuple[int, int]], target: dict[int, tuple[int, int]], buckets: Bucketing
) -> tuple[TableValidation, list[int]]:
    """The counts and differing ranges of the two sides, and the (first three)
    differing buckets whose keys are worth fetching."""
    differing = mismatched_buckets(source, target)
    result = TableValidation(
        sum(n for n, _ in source.values()),
        sum(n for n, _ in target.values()),
        tuple(buckets.describe(b) for b in differing[:5]),
    )
    return result, differing[:3]


def _described(
    result: TableValidation, source_keys: dict[str, int], target_keys: dict[str, int]
) -> TableValidation:
    """The result with the first keys missing, extra and different."""
    missing, extra, different = (
        tuple(k.replace(SEPARATOR, "|") for k in keys)
        for keys in key_differences(source_keys, target_keys)
    )
    return TableValidation(
        result.source_rows, result.target_rows, result.mismatched, missing, extra, different
    )
