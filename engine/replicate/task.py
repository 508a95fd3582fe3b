"""Running a replication task: full load, CDC batches, validation (DMS's task).

One run does one of:

- ``start``: the first run. For CDC tasks the publication and the slot are created
  first and the full load reads the slot's exported snapshot, so the changes the
  slot streams begin exactly where the loaded data ends. Then one CDC batch.
- ``resume``: tables whose full load did not finish are loaded again, then one CDC
  batch (the scheduled mode: each trigger firing runs one). ``--continuous true``
  runs batches back to back every ``continuous_interval_seconds`` until stopped.
- ``reload``: drop the slot and the task's state and start again (DMS's
  reload-target).
- ``validate``: catch up to a fresh snapshot of the source, then compare counts and
  checksums per key range table by table.

A CDC batch, exactly once across crashes: its entry (sequence number, end position)
is written PENDING; every table's change-table append and current-state MERGE
carry the Delta transaction ``(headwater/replicate/<task>/<generation>/<table>,
seq)``; the entry becomes COMMITTED and only then is the slot advanced. A run that
finds a PENDING entry replays exactly that batch (a peek of the same positions
returns the same changes) and tables that already committed it are skipped.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from types import FrameType
from typing import TYPE_CHECKING, Any

from engine import faults, storage
from engine.errors import ConfigError, ReplicationError
from engine.ingest.context import default_location
from engine.ingest.spec import SinkSpec
from engine.lake.log import read_txn_version
from engine.replicate.definitions import ReplicationTask, replication_task
from engine.replicate.mapping import TablePlan
from engine.replicate.mysql import MySQLSource
from engine.replicate.pgoutput import Change, decode, format_lsn, parse_lsn
from engine.replicate.postgres import PostgresSource
from engine.replicate.validate import (
    SEPARATOR,
    TableValidation,
    bucketing,
    compared_columns,
    key_differences,
    mismatched_buckets,
    source_row_hash,
)
from engine.state.replication import (
    Batch,
    TableStats,
)
from engine.state.store import now
from engine.vocabulary import BatchStatus, TableLoadState

if TYPE_CHECKING:
    from engine.ingest.context import JobContext

LOG = logging.getLogger("headwater.replicate")
ACTIONS = ("start", "resume", "reload", "validate")
CHANGE_TABLE_SUFFIX = "__ct"  # DMS's suffix for change tables


class Replication:
    def __init__(self, ctx: JobContext, task: ReplicationTask) -> None:
        self.ctx, self.task = ctx, task
        self.source: Any = (
            PostgresSource(task.connection)
            if task.connection.kind == "postgresql"
            else MySQLSource(task.connection, lambda: ctx.spark)
        )
        self.store = ctx.store
        self.stopping = False

    # -- plans and places ------------------------------------------------------------------
    def plans(self) -> list[TablePlan]:
        plans = self.task.mapping.select(self.source.discover())
        if not plans:
            raise ReplicationError(
                f"replication task {self.task.name}: the table mappings select no table of "
                f"connection {self.task.connection.name}",
                hint="check the selection rules' schema-name/table-name (case-sensitive)",
            )
        return plans

    def location(self, plan: TablePlan, changes: bool = False) -> str:
        table = plan.target_table.lower() + (CHANGE_TABLE_SUFFIX if changes else "")
        return default_location(self.ctx.settings, SinkSpec(self.task.database, table))

    def app_id(self, generation: str, plan: TablePlan, kind: str) -> str:
        return (
            f"headwater/replicate/{self.task.name}/{generation}/{plan.target_table.lower()}/{kind}"
        )

    def stats(self) -> dict[str, TableStats]:
        return {s.source: s for s in self.store.table_stats(self.task.name)}

    # -- actions ---------------------------------------------------------------------------
    def run(self, action: str, continuous: bool) -> None:
        if action not in ACTIONS:
            raise ConfigError(f"--action must be one of {', '.join(ACTIONS)}, not {action!r}")
        try:
            if action == "validate":
                return self.validate(self.plans())
            batches = self.store.batches(self.task.name)
            if action == "reload" or (action == "start" and not batches):
                return self._start(continuous)
            if action == "start":
                raise ReplicationError(
                    f"replication task {self.task.name} was started before "
                    f"({len(batches)} batch(es) recorded)",
                    hint=f"continue it: headwater replicate resume {self.task.name}; or start "
                    f"over: headwater replicate reload {self.task.name}",
                )
            if not batches:
                raise ReplicationError(
                    f"replication task {self.task.name} was never started",
                    hint=f"headwater replicate start {self.task.name}",
                )
            plans = self.plans()
            self._add_new_tables(plans)
            self._finish_full_load(plans, batches[0])
            self._cdc(plans, continuous)
        finally:
            self.source.close()

    def _start(self, continuous: bool) -> None:
        definition, name = self.task.definition, self.task.name
        plans = self.plans()
        if definition.has_cdc:
            self.source.check_cdc(plans)
        self.source.drop_slot(self.task.slot)
        self.store.forget_task(name)
        for plan in plans:
            self.store.save_table_stats(
                TableStats(name, plan.source_name, self._target(plan), updated_at=now())
            )
        if definition.has_cdc:
            self.source.ensure_publication(self.task.slot, plans)
            with self.source.exported_snapshot(self.task.slot) as (position, snapshot):
                print(f"task {name}: slot {self.task.slot} at {format_lsn(position)}")
                generation = format_lsn(position).replace("/", "-")
                self._record_start(generation, format_lsn(position))
                if definition.has_full_load:
                    self._full_load(plans, snapshot, generation)
            self._cdc(plans, continuous)
        else:
            with self.source.plain_snapshot() as snapshot:
                generation = self.ctx.run_id
                self._record_start(generation, "")
                self._full_load(plans, snapshot, generation)

    def _add_new_tables(self, plans: list[TablePlan]) -> None:
        """Tables the mappings select that the task does not have yet (created on the
        source since): into the publication first, so their changes are captured from
        now on; their full load follows (a later snapshot, which the CDC's idempotent
        MERGE reconciles with the changes in between)."""
        stats = self.stats()
        new = [p for p in plans if p.source_name not in stats]
        if not new:
            return
        print(f"task {self.task.name}: new table(s) {', '.join(p.source_name for p in new)}")
        if self.task.definition.has_cdc:
            self.source.check_cdc(new)
            self.source.ensure_publication(self.task.slot, plans)
        for plan in new:
            self.store.save_table_stats(
                TableStats(self.task.name, plan.source_name, self._target(plan), updated_at=now())
            )

    def _record_start(self, generation: str, position: str) -> None:
        self.store.save_batch(
            Batch(
                self.task.name,
                0,
                BatchStatus.COMMITTED,
                generation,
                position,
                self.ctx.run_id,
                now(),
            )
        )

    def _target(self, plan: TablePlan) -> str:
        return f"{self.task.database}.{plan.target_table.lower()}"

    # -- full load -------------------------------------------------------------------------
    def _full_load(self, plans: list[TablePlan], snapshot: str, generation: str) -> None:
        """Load the tables, ``max_full_load_subtasks`` at a time, all in ``snapshot``."""
        stats = self.stats()
        for plan in plans:
            stats[plan.source_name].state = TableLoadState.FULL_LOAD
            self.store.save_table_stats(stats[plan.source_name])
        workers = min(self.task.definition.max_full_load_subtasks, len(plans))
        spark = self.ctx.spark  # built once, before the threads share it
        assert spark is not None
        with self.ctx.step("full load"), ThreadPoolExecutor(workers) as pool:
            futures = {
                plan.source_name: pool.submit(self._load_table, plan, snapshot, generation)
                for plan in plans
            }
            errors = []
            for plan in plans:
                entry = stats[plan.source_name]
                try:
                    entry.full_load_rows = futures[plan.source_name].result()
                    entry.state = TableLoadState.COMPLETED
                except ReplicationError as exc:
                    entry.state, entry.ddls = TableLoadState.TABLE_ERROR, str(exc)[:500]
                    errors.append(exc)
                entry.updated_at = now()
                self.store.save_table_stats(entry)
                self.ctx.run_record.rows_written += entry.full_load_rows
            self.store.save_job_run(self.ctx.run_record)
            if errors:
                raise errors[0]
        for plan in plans:
            self._register(plan, self.location(plan))
            print(
                f"task {self.task.name}: {plan.source_name} -> {self._target(plan)}: "
                f"{stats[plan.source_name].full_load_rows} row(s) loaded"
            )
        if self.task.definition.validation:
            self._validate_tables(plans, snapshot)

    def _load_table(self, plan: TablePlan, snapshot: str | None, generation: str) -> int:
        from engine.spark import replicate as spark_side

        bounds = self._bounds(plan, snapshot)
        df = spark_side.read_full_load(
            self.ctx.spark,
            self.task.connection,
            plan,
            snapshot=snapshot,
            dialect=self.source.dialect,
            partitions=self.task.definition.partitions_per_table,
            bounds=bounds,
        )
        prep = self.task.definition.target_prep_mode
        df = spark_side.apply_plan(df, plan)
        suite = self.task.suites.get(plan.source_name.lower())
        if suite is not None:
            from engine.ingest.quality import evaluate
            from engine.quality.gate import QualityError
            from engine.spark.quality import persist

            df = persist(df)  # checked, then written from the same rows
            try:
                evaluate(self.ctx, df, suite, self._target(plan))
            except QualityError as exc:
                df.unpersist()
                raise ReplicationError(exc.message, hint=exc.hint, table=plan.source_name) from exc
        try:
            with self._writing(self.location(plan)):
                _, rows = spark_side.write_table(
                    df,
                    self.location(plan),
                    mode="append" if prep == "do-nothing" else "overwrite",
                    replace_schema=prep == "drop-and-create",
                    user_metadata={
                        "task": self.task.name,
                        "run_id": self.ctx.run_id,
                        "full_load": plan.source_name,
                        "generation": generation,
                    },
                )
        finally:
            if suite is not None:
                df.unpersist()
        return rows

    def _bounds(self, plan: TablePlan, snapshot: str | None) -> tuple[int, int] | None:
        key = plan.source.primary_key
        types = {c.name: c.spark_type for c in plan.source.columns}
        if len(key) != 1 or types[key[0]] not in ("smallint", "int", "bigint"):
            return None
        column = self.source.quote(key[0])
        row = self.source.in_snapshot(
            snapshot, f"SELECT min({column}), max({column}) FROM {self._table(plan)}"
        )[0]
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def _table(self, plan: TablePlan) -> str:
        quote = self.source.quote
        return f"{quote(plan.source.schema)}.{quote(plan.source.name)}"

    def _finish_full_load(self, plans: list[TablePlan], start: Batch) -> None:
        """Tables a killed run left unloaded are loaded again (DMS reloads partially
        loaded tables too); their rows are then made current by the CDC that follows."""
        if not self.task.definition.has_full_load:
            return
        stats = self.stats()
        todo = [p for p in plans if stats[p.source_name].state != TableLoadState.COMPLETED]
        if todo:
            print(f"task {self.task.name}: loading {len(todo)} table(s) not loaded yet")
            with self.source.plain_snapshot() as snapshot:
                self._full_load(todo, snapshot, start.start_position)

    def _register(self, plan: TablePlan, location: str, changes: bool = False) -> None:
        from engine.ingest.writer import register

        table = plan.target_table.lower() + (CHANGE_TABLE_SUFFIX if changes else "")
        store, prefix = storage.locate(self.ctx.settings, location)
        sink = SinkSpec(self.task.database, table)
        register(self.ctx, sink, location, store, prefix, self.ctx.catalog())

    # -- change data capture ---------------------------------------------------------------
    def _cdc(self, plans: list[TablePlan], continuous: bool) -> None:
        if not self.task.definition.has_cdc:
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopping = True
            print(f"task {self.task.name}: stopping after this batch", flush=True)

        if continuous:
            for s in previous:
                signal.signal(s, stop)
        try:
            while True:
                started = time.monotonic()
                self.batch(self.plans())
                if not continuous or self.stopping:
                    return
                pause = self.task.definition.continuous_interval_seconds
                while not self.stopping and time.monotonic() - started < pause:
                    time.sleep(0.2)
                if self.stopping:
                    return
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def batch(self, plans: list[TablePlan], upto: int | None = None) -> int:
        """Replay a pending batch if a run left one, then read and apply the changes
        committed before ``upto`` (default: now). The number of changes applied."""
        applied = 0
        while True:
            batches = self.store.batches(self.task.name)
            last = batches[-1]
            if last.status == BatchStatus.PENDING:
                LOG.warning(
                    "batch %s of run %s was not confirmed: replaying it", last.seq, last.run_id
                )
                applied += self._apply_batch(plans, batches[0].start_position, last)
                continue
            if last.end_position:
                self.source.advance(self.task.slot, parse_lsn(last.end_position))
            end = upto if upto is not None else self.source.current_lsn()
            if last.end_position and end <= parse_lsn(last.end_position):
                print(f"task {self.task.name}: no new changes")
                return applied
            entry = Batch(
                self.task.name,
                last.seq + 1,
                BatchStatus.PENDING,
                last.end_position,
                format_lsn(end),
                self.ctx.run_id,
                now(),
            )
            self.store.save_batch(entry)
            faults.after_step(f"replicate: record batch {entry.seq}")
            return applied + self._apply_batch(plans, batches[0].start_position, entry)

    def _apply_batch(self, plans: list[TablePlan], generation: str, entry: Batch) -> int:
        end = parse_lsn(entry.end_position)
        with self.ctx.step(f"CDC batch {entry.seq}"):
            changes: dict[tuple[str, str], list[Change]] = {}
            for change in decode(self.source.peek(self.task.slot, self.task.slot, end)):
                changes.setdefault((change.schema, change.table), []).append(change)
            stats = self.stats()
            total = 0
            for plan in plans:
                found = changes.get((plan.source.schema, plan.source.name))
                if found:
                    self._apply_table(plan, found, entry, generation, stats[plan.source_name])
                    total += len(found)
            entry.status, entry.changes = BatchStatus.COMMITTED, total
            self.store.save_batch(entry)
            faults.after_step(f"replicate: commit batch {entry.seq}")
            self.source.advance(self.task.slot, end)
            faults.after_step(f"replicate: advance slot past batch {entry.seq}")
        self.ctx.run_record.rows_read += total
        self.store.save_job_run(self.ctx.run_record)
        print(
            f"task {self.task.name}: batch {entry.seq} applied {total} change(s) up to "
            f"{entry.end_position}"
        )
        return total

    def _apply_table(
        self,
        plan: TablePlan,
        changes: list[Change],
        entry: Batch,
        generation: str,
        stats: TableStats,
    ) -> None:
        from engine.spark import replicate as spark_side

        spark = self.ctx.spark
        current, change_table = self.location(plan), self.location(plan, changes=True)
        rows = [
            (
                c.op,
                c.lsn,
                c.commit_lsn,
                c.commit_micros,
                c.xid,
                c.values,
                list(c.unchanged),
                c.old_key,
            )
            for c in changes
        ]
        typed = spark_side.typed_changes(spark_side.change_frame(spark, rows), plan).cache()
        metadata = {
            "task": self.task.name,
            "run_id": self.ctx.run_id,
            "batch": entry.seq,
            "position": entry.end_position,
        }
        try:
            with self._writing(change_table, current):
                suite = self.task.suites.get(plan.source_name.lower())
                if suite is not None:  # fail: the batch stays pending, replayed by the next run
                    from engine.ingest.quality import evaluate

                    evaluate(
                        self.ctx, spark_side.row_images(typed, plan), suite, self._target(plan)
                    )
                self._note_ddl(plan, current, stats, changes[-1])
                app = self.app_id(generation, plan, "changes")
                if self._committed(change_table, app) < entry.seq:
                    spark_side.write_table(
                        spark_side.change_rows(typed, plan),
                        change_table,
                        mode="append",
                        replace_schema=False,
                        partition_by=(spark_side.COMMIT_DATE,),
                        txn=(app, entry.seq),
                        user_metadata=metadata,
                    )
                faults.after_step(f"replicate: write changes of {plan.source_name}")
                app = self.app_id(generation, plan, "current")
                if self._committed(current, app) < entry.seq:
                    spark_side.merge_current(
                        typed, plan, current, txn=(app, entry.seq), user_metadata=metadata
                    )
                faults.after_step(f"replicate: merge into {plan.source_name}")
        finally:
            typed.unpersist()
        self._register(plan, change_table, changes=True)
        self._register(plan, current)
        faults.after_step(f"replicate: register {plan.source_name}")
        last = changes[-1].commit_lsn
        if stats.last_position and parse_lsn(stats.last_position) >= last:
            return  # a replayed batch this table's statistics already count
        counts = Counter(c.op for c in changes)
        stats.inserts += counts["I"]
        stats.updates += counts["U"]
        stats.deletes += counts["D"]
        stats.truncates += counts["T"]
        stats.last_position = format_lsn(changes[-1].commit_lsn)
        stats.last_commit_at = datetime.fromtimestamp(
            changes[-1].commit_micros / 1e6, timezone.utc
        ).isoformat(timespec="milliseconds")
        stats.updated_at = now()
        self.store.save_table_stats(stats)
        faults.after_step(f"replicate: count changes of {plan.source_name}")

    @contextlib.contextmanager
    def _writing(self, *locations: str) -> Iterator[None]:
        """Hold the one-writer lock of each table while writing it: a job or python job
        writing one of them meanwhile is waited for, and waits for this batch."""
        taken: list[str] = []
        try:
            for location in locations:
                self.store.lock_table(location, self.ctx.run_id, now())
                taken.append(location)
            yield
        finally:
            for location in taken:
                self.store.unlock_table(location, self.ctx.run_id)

    def _committed(self, location: str, app: str) -> int:
        store, prefix = storage.locate(self.ctx.settings, location)
        version = read_txn_version(store, prefix, app)
        return -1 if version is None else version

    def _note_ddl(self, plan: TablePlan, location: str, stats: TableStats, last: Change) -> None:
        """Source DDL seen in a batch: added columns are carried into the lake (the
        writes merge the schema); dropped ones are kept and reported."""
        from engine.spark.replicate import delta_columns

        existing = delta_columns(self.ctx.spark, location)
        if existing is None:
            return
        targets = [c.name for c in plan.columns]
        notes = []
        added = [c for c in targets if c not in existing]
        gone = [c for c in existing if c not in targets]
        if added:
            notes.append(f"added column(s) {', '.join(added)} at {format_lsn(last.lsn)}")
        if gone:
            notes.append(
                f"column(s) {', '.join(gone)} no longer on the source at {format_lsn(last.lsn)}: "
                "kept in the lake, NULL from then on"
            )
        for note in notes:
            if note.split(" at ")[0] not in stats.ddls:
                print(f"task {self.task.name}: {plan.source_name}: {note}")
                stats.ddls = f"{stats.ddls}; {note}".strip("; ")

    # -- validation ------------------------------------------------------------------------
    def validate(self, plans: list[TablePlan]) -> None:
        """Compare every table with the source as of one snapshot: CDC tasks first
        catch up to exactly that snapshot's position."""
        if self.task.definition.has_cdc and self.store.batches(self.task.name):
            check_slot = f"{self.task.slot}_check"[:63]
            with self.source.temporary_snapshot(check_slot) as (position, snapshot):
                self.batch(plans, upto=position)
                self._validate_tables(plans, snapshot)
        else:
            with self.source.plain_snapshot() as snapshot:
                self._validate_tables(plans, snapshot)

    def _validate_tables(self, plans: list[TablePlan], snapshot: str) -> None:
        from engine.spark import replicate as spark_side

        stats = self.stats()
        failed = []
        with self.ctx.step("validation"):
            for plan in plans:
                result = self._validate_table(plan, snapshot, spark_side)
                entry = stats[plan.source_name]
                entry.validation_state, entry.validation_detail = result.state, result.describe()
                entry.updated_at = now()
                self.store.save_table_stats(entry)
                print(
                    f"task {self.task.name}: {plan.source_name}: {result.state} "
                    f"({result.describe()})"
                )
                if not result.ok:
                    failed.append(plan.source_name)
        if failed:
            raise ReplicationError(
                f"validation of task {self.task.name} found differences in {', '.join(failed)}",
                hint=f"see headwater replicate status {self.task.name}; "
                f"headwater replicate reload {self.task.name} loads again",
            )

    def _validate_table(self, plan: TablePlan, snapshot: str, spark_side: Any) -> TableValidation:
        buckets = bucketing(plan, self._bounds(plan, snapshot))
        table, dialect = self._table(plan), self.source.dialect
        where = plan.filter_sql(self.source.quote)
        condition = f" WHERE {where}" if where else ""
        hash_sql = source_row_hash(compared_columns(plan), dialect)
        source = {
            int(b): (int(n), int(s or 0))
            for b, n, s in self.source.in_snapshot(
                snapshot,
                f"SELECT bucket, count(*), sum(row_hash) FROM (SELECT "
                f"{buckets.source(dialect)} AS bucket, "
                f"{hash_sql} AS row_hash FROM {table}{condition}) q GROUP BY bucket",
            )
        }
        location = self.location(plan)
        target = spark_side.lake_buckets(self.ctx.spark, location, plan, buckets)
        differing = mismatched_buckets(source, target)
        result = TableValidation(
            sum(n for n, _ in source.values()),
            sum(n for n, _ in target.values()),
            tuple(buckets.describe(b) for b in differing[:5]),
        )
        if not differing:
            return result
        chosen = differing[:3]
        bucket_list = ", ".join(str(b) for b in chosen)
        source_keys = {
            str(k): int(h)
            for k, h in self.source.in_snapshot(
                snapshot,
                f"SELECT row_key, row_hash FROM (SELECT {buckets.source(dialect)} AS bucket, "
                f"{buckets.source_key(dialect)} AS row_key, "
                f"{hash_sql} AS row_hash FROM {table}{condition}) q "
                f"WHERE bucket IN ({bucket_list})",
            )
        }
        target_keys = spark_side.lake_keys(self.ctx.spark, location, plan, buckets, chosen)
        missing, extra, different = (
            tuple(k.replace(SEPARATOR, "|") for k in keys)
            for keys in key_differences(source_keys, target_keys)
        )
        return TableValidation(
            result.source_rows, result.target_rows, result.mismatched, missing, extra, different
        )


def run_task(ctx: JobContext) -> None:
    """The body of ``jobs/replicate.py``."""
    task = replication_task(ctx.args["task"])
    ctx.run_record.source = f"{task.connection.name} ({task.definition.migration_type})"
    ctx.run_record.target = task.database
    Replication(ctx, task).run(
        ctx.args.get("action", "resume"), ctx.args.get("continuous", "false") == "true"
    )
