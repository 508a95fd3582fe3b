"""A replication task's full load: every selected table read in one source snapshot
(parallel JDBC reads over primary-key ranges), checked by its quality suite, written
in one Delta commit, then registered; ``max_full_load_subtasks`` tables at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from engine.errors import ReplicationError
from engine.ingest.quality import evaluate
from engine.lake.sink import APPEND, OVERWRITE, Write
from engine.quality.gate import QualityError
from engine.replicate.mapping import TablePlan
from engine.spark import replicate as spark_side
from engine.spark.lake import SparkWriter
from engine.spark.quality import persist
from engine.state.replication import Batch
from engine.state.store import now
from engine.vocabulary import TableLoadState

if TYPE_CHECKING:
    from engine.replicate.task import Replication


class FullLoad:
    def __init__(self, run: Replication) -> None:
        self.run = run

    def load(self, plans: list[TablePlan], snapshot: str, generation: str) -> None:
        """Load the tables, ``max_full_load_subtasks`` at a time, all in ``snapshot``."""
        stats = self.run.stats()
        for plan in plans:
            stats[plan.source_name].state = TableLoadState.FULL_LOAD
            self.run.store.save_table_stats(stats[plan.source_name])
        workers = min(self.run.task.definition.max_full_load_subtasks, len(plans))
        spark = self.run.ctx.spark  # built once, before the threads share it
        assert spark is not None
        with self.run.ctx.step("full load"), ThreadPoolExecutor(workers) as pool:
            futures = {
                plan.source_name: pool.submit(self._load_table, plan, snapshot, generation)
                for plan in plans
            }
            errors = []
            for plan in plans:
                entry = stats[plan.source_name]
                try:
                    entry.full_load_rows = futures[plan.source_name].result()
                    entry.state, entry.error = TableLoadState.COMPLETED, ""
                except ReplicationError as exc:
                    entry.state, entry.error = TableLoadState.TABLE_ERROR, str(exc)[:500]
                    errors.append(exc)
                entry.updated_at = now()
                self.run.store.save_table_stats(entry)
                self.run.ctx.run_record.rows_written += entry.full_load_rows
            self.run.store.save_job_run(self.run.ctx.run_record)
            if errors:
                raise errors[0]
        for plan in plans:
            self.run.register(plan, self.run.location(plan))
            print(
                f"task {self.run.task.name}: {plan.source_name} -> {self.run.target(plan)}: "
                f"{stats[plan.source_name].full_load_rows} row(s) loaded"
            )
        if self.run.task.definition.validation:
            self.run.validation.tables(plans, snapshot)

    def _load_table(self, plan: TablePlan, snapshot: str | None, generation: str) -> int:
        bounds = self.run.bounds(plan, snapshot)
        df = spark_side.read_full_load(
            self.run.ctx.spark,
            self.run.task.connection,
            plan,
            snapshot=snapshot,
            dialect=self.run.source.dialect,
            partitions=self.run.task.definition.partitions_per_table,
            bounds=bounds,
        )
        prep = self.run.task.definition.target_prep_mode
        df = spark_side.apply_plan(df, plan)
        suite = self.run.task.suites.get(plan.source_name.lower())
        if suite is not None:
            df = persist(df)  # checked, then written from the same rows
            try:
                evaluate(self.run.ctx, df, suite, self.run.target(plan))
            except QualityError as exc:
                df.unpersist()
                raise ReplicationError(exc.message, hint=exc.hint, table=plan.source_name) from exc
        request = Write(
            self.run.location(plan),
            mode=APPEND if prep == "do-nothing" else OVERWRITE,
            add_columns=True,
            replace_schema=prep == "drop-and-create",
            user_metadata={
                "task": self.run.task.name,
                "run_id": self.run.ctx.run_id,
                "full_load": plan.source_name,
                "generation": generation,
            },
            error=ReplicationError,
        )
        try:
            with self.run.writing(request.location):
                commit = SparkWriter().write(df, request)
        finally:
            if suite is not None:
                df.unpersist()
        return commit.rows_written

    def finish(self, plans: list[TablePlan], start: Batch) -> None:
        """Tables a killed run left unloaded are loaded again (DMS reloads partially
        loaded tables too); their rows are then made current by the CDC that follows."""
        if not self.run.task.definition.has_full_load:
            return
        stats = self.run.stats()
        done = (TableLoadState.COMPLETED, TableLoadState.SUSPENDED)  # suspended: until reloaded
        todo = [p for p in plans if stats[p.source_name].state not in done]
        if todo:
            print(f"task {self.run.task.name}: loading {len(todo)} table(s) not loaded yet")
            with self.run.source.plain_snapshot() as snapshot:
                self.load(todo, snapshot, start.start_position)
