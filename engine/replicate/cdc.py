"""A replication task's change data capture, one batch at a time, exactly once.

A batch's entry (sequence number, end position) is written PENDING; each table's
change-table append and current-state MERGE carry the Delta transaction
``(headwater/replicate/<task>/<generation>/<table>/<kind>, seq)``; the entry becomes
COMMITTED and only then is the slot advanced. A run that finds a PENDING entry
replays exactly that batch (a peek of the same positions returns the same changes)
and tables that already committed it are skipped.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import datetime, timezone
from types import FrameType
from typing import TYPE_CHECKING, Any

from engine import faults
from engine.errors import ReplicationError
from engine.ingest.quality import evaluate
from engine.lake.sink import Write
from engine.replicate.current import fill_unchanged
from engine.replicate.mapping import TablePlan
from engine.replicate.pgoutput import Change
from engine.replicate.spill import Spill, TableChanges
from engine.replicate.supervise import backoff, describe, is_recoverable
from engine.spark import replicate as spark_side
from engine.spark.lake import SparkWriter
from engine.state.replication import KEPT_BATCHES, Batch, TableStats
from engine.state.store import now
from engine.vocabulary import BatchStatus, TableLoadState

if TYPE_CHECKING:
    from engine.replicate.task import Replication

LOG = logging.getLogger("headwater.replicate")
MIB = 1 << 20


class ChangeDataError(ReplicationError):
    """Changes of a table hold values the target types cannot (data_error_policy)."""


class ChangeCapture:
    def __init__(self, run: Replication) -> None:
        self.run = run

    def loop(self, plans: list[TablePlan], continuous: bool) -> None:
        """One batch, or (``continuous``) batches every ``continuous_interval_seconds``
        until stopped, supervised: a recoverable error is logged and waited out with
        exponential back-off (engine.replicate.supervise), the batch replayed."""
        if not self.run.task.definition.has_cdc:
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def stop(signum: int, frame: FrameType | None) -> None:
            self.run.stopping = True
            self.run.ctx.stopped_on_request = True
            print(f"task {self.run.task.name}: stopping after this batch", flush=True)

        if continuous:
            for s in previous:
                signal.signal(s, stop)
        definition = self.run.task.definition
        failures = 0
        start: Batch | None = None  # the task's first entry (its generation): read once
        try:
            while True:
                started = time.monotonic()
                try:
                    plans = self.run.plans()
                    if continuous:  # tables queued for a reload meanwhile
                        start = start or self.run.store.batches(self.run.task.name)[0]
                        self.run.full_load.finish(plans, start)
                    self.batch(plans)
                except Exception as exc:
                    limit = definition.recoverable_error_count
                    if not continuous or not is_recoverable(exc) or 0 <= limit <= failures:
                        raise
                    failures += 1
                    pause = backoff(
                        failures,
                        definition.recoverable_error_interval_seconds,
                        definition.recoverable_error_throttling_max_seconds,
                    )
                    self.run.health.retrying(describe(exc), failures, pause)
                    self.run.source.close()  # a fresh connection for the next try
                    self._wait(time.monotonic(), pause)
                    if self.run.stopping:
                        return
                    continue
                if failures:
                    self.run.health.recovered(failures)
                    failures = 0
                if not continuous or self.run.stopping or self._reached_stop():
                    return
                self._wait(started, definition.continuous_interval_seconds)
                if self.run.stopping:
                    return
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _reached_stop(self) -> bool:
        """cdc_stop_position reached (the last batch ends there): the run stops."""
        stop = self.run.task.definition.cdc_stop_position
        if not stop:
            return False
        last = self.run.store.batches(self.run.task.name)[-1]
        parse = self.run.source.parse_position
        if last.status != BatchStatus.COMMITTED or parse(last.end_position) < parse(stop):
            return False
        print(f"task {self.run.task.name}: reached its cdc_stop_position {stop}; CDC ends")
        self.run.stopping = self.run.ctx.stopped_on_request = True
        return True

    def _wait(self, since: float, seconds: float) -> None:
        while not self.run.stopping and time.monotonic() - since < seconds:
            time.sleep(0.2)

    def batch(self, plans: list[TablePlan], upto: int | None = None) -> int:
        """Replay a pending batch if a run left one, then read and apply the changes
        committed before ``upto`` (default: the source's position now), in as many
        batches as the bounds ask (``batch_max_changes``, ``batch_max_megabytes``).
        The number of changes applied."""
        applied, target, batches_run = 0, upto, 0
        parse, format_position = self.run.source.parse_position, self.run.source.format_position
        while True:
            batches = self.run.store.batches(self.run.task.name)
            last = batches[-1]
            generation = batches[0].start_position
            if last.status == BatchStatus.PENDING:
                LOG.warning(
                    "batch %s of run %s was not confirmed: replaying it", last.seq, last.run_id
                )
                applied += self._apply_batch(plans, generation, last)
                continue
            if last.end_position:
                self.run.source.advance(self.run.task.slot, parse(last.end_position))
            if target is None:
                self.run.health.beat(self.run.source)
                target = self.run.source.current_lsn()
                stop = self.run.task.definition.cdc_stop_position
                if stop:  # transactions committed before it, no later one
                    target = min(target, parse(stop))
            if last.end_position and target <= parse(last.end_position):
                if not batches_run:
                    print(f"task {self.run.task.name}: no new changes")
                return applied
            changes, end, cut = self._read(plans, last.end_position, target, bounded=True)
            entry = Batch(
                self.run.task.name,
                last.seq + 1,
                BatchStatus.PENDING,
                last.end_position,
                format_position(end),
                self.run.ctx.run_id,
                now(),
            )
            self.run.store.save_batch(entry)
            faults.after_step(f"replicate: record batch {entry.seq}")
            applied += self._apply_batch(plans, generation, entry, changes)
            batches_run += 1
            if not cut:
                return applied
            print(f"task {self.run.task.name}: batch {entry.seq} reached its bounds; reading on")

    def _read(
        self, plans: list[TablePlan], start: str, upto: int, bounded: bool
    ) -> tuple[Spill, int, bool]:
        """The changes committed from ``start`` (the last batch's end) before ``upto``
        by table (past
        ``batch_memory_changes``, in files: engine.replicate.spill), the batch's end
        and whether the bounds cut it short (then it ends at its last whole
        transaction)."""
        definition = self.run.task.definition
        slot = self.run.task.slot
        messages = definition.batch_max_changes if bounded else None
        size = round(definition.batch_max_megabytes * MIB) if bounded else None
        spill = self.run.spill(plans)
        spill.clear()
        source = self.run.source
        keys = {(p.source.schema, p.source.name): tuple(p.source.primary_key) for p in plans}
        read = source.changes(
            slot, source.parse_position(start) if start else None, upto, keys, messages, size
        )
        try:
            for change in read:
                spill.add(change)
        finally:
            read.close()  # the stream, before the connection is used again
        spill.close()
        if spill.files_written:
            print(
                f"task {self.run.task.name}: {spill.files_written} file(s) of changes spilled "
                f"to {spill.store.uri(spill.prefix)}"
            )
        end = read.end if read.cut and read.end is not None else upto
        return spill, end, read.cut

    def _apply_batch(
        self,
        plans: list[TablePlan],
        generation: str,
        entry: Batch,
        changes: Spill | None = None,
    ) -> int:
        end = self.run.source.parse_position(entry.end_position)
        with self.run.ctx.step(f"CDC batch {entry.seq}"):
            if changes is None:  # a replay: exactly the transactions before its end
                changes = self._read(plans, entry.start_position, end, bounded=False)[0]
            stats = self.run.stats()
            total = 0
            for plan in plans:
                table = changes.tables.get((plan.source.schema, plan.source.name))
                stat = stats[plan.source_name]
                if table is None or stat.state == TableLoadState.SUSPENDED:
                    continue  # a suspended table takes no changes until it is reloaded
                try:
                    self._apply_table(plan, changes, table, entry, generation, stat)
                except Exception as exc:
                    definition = self.run.task.definition
                    policy = (
                        definition.data_error_policy
                        if isinstance(exc, ChangeDataError)
                        else definition.table_error_policy
                    )
                    if policy != "suspend-table" or is_recoverable(exc):
                        raise
                    self._suspend(plan, stat, entry, exc)
                    continue
                total += table.count
            entry.status, entry.changes = BatchStatus.COMMITTED, total
            self.run.store.save_batch(entry)
            self.run.store.prune_batches(self.run.task.name, entry.seq - KEPT_BATCHES)
            faults.after_step(f"replicate: commit batch {entry.seq}")
            self.run.source.advance(self.run.task.slot, end)
            faults.after_step(f"replicate: advance slot past batch {entry.seq}")
            if changes.files_written:
                changes.clear()
        every = self.run.task.definition.optimize_every_batches
        if every and entry.seq % every == 0:
            self.compact(plans)
        self.run.ctx.run_record.rows_read += total
        self.run.store.save_job_run(self.run.ctx.run_record)
        print(
            f"task {self.run.task.name}: batch {entry.seq} applied {total} change(s) up to "
            f"{entry.end_position}"
        )
        return total

    def _suspend(self, plan: TablePlan, stats: TableStats, entry: Batch, exc: Exception) -> None:
        """table_error_policy suspend-table: the table takes no more changes (status
        shows it and why) while the others stream on; ``headwater replicate reload
        TASK --table`` loads it again and resumes it."""
        reason = f"suspended at batch {entry.seq} ({entry.end_position}): {describe(exc)}"
        LOG.error("task %s: %s %s", self.run.task.name, plan.source_name, reason)
        print(
            f"task {self.run.task.name}: {plan.source_name} {reason}; the other tables go on "
            f"(reload it: headwater replicate reload {self.run.task.name} "
            f"--table {plan.source_name})",
            flush=True,
        )
        stats.state, stats.error, stats.updated_at = TableLoadState.SUSPENDED, reason[:500], now()
        self.run.store.save_table_stats(stats)
        faults.after_step(f"replicate: suspend {plan.source_name}")

    def compact(self, plans: list[TablePlan]) -> None:
        """Compact each table's current-state and change tables (their small files:
        one or more per batch), holding their writer locks as a batch does. A failure
        is reported, not fatal: the batch is committed, the next compaction retries."""
        from engine.spark import maintenance

        spark = self.run.ctx.spark
        for plan in plans:
            locations = [self.run.location(plan, changes=True), self.run.location(plan)]
            try:
                with self.run.writing(*locations):
                    for location in locations:
                        if spark_side.delta_columns(spark, location) is None:
                            continue  # not written yet
                        before, after = maintenance.optimize(spark, location)
                        print(
                            f"task {self.run.task.name}: compacted {location}: {before} "
                            f"data file(s) into {after}"
                        )
            except Exception as exc:  # maintenance must not stop the replication
                LOG.warning("compaction of %s failed: %s", plan.source_name, exc)
                print(f"task {self.run.task.name}: compaction of {plan.source_name} failed")

    def _apply_table(
        self,
        plan: TablePlan,
        spill: Spill,
        changes: TableChanges,
        entry: Batch,
        generation: str,
        stats: TableStats,
    ) -> None:
        spark = self.run.ctx.spark
        current, change_table = self.run.location(plan), self.run.location(plan, changes=True)
        if changes.spilled:
            spill.fill(changes)
            frame = spark_side.spilled_changes(spark, spill.uri(changes))
        else:
            filled = fill_unchanged(changes.held, plan.source.primary_key)
            frame = spark_side.change_frame(spark, filled)
        cached = spark_side.typed_changes(frame, plan).cache()
        metadata = {
            "task": self.run.task.name,
            "run_id": self.run.ctx.run_id,
            "batch": entry.seq,
            "position": entry.end_position,
        }
        try:
            typed, skipped = self._sound(plan, cached, entry)
            with self.run.writing(change_table, current):
                suite = self.run.task.suites.get(plan.source_name.lower())
                if suite is not None:  # fail: the batch stays pending, replayed by the next run
                    evaluate(
                        self.run.ctx,
                        spark_side.row_images(typed, plan),
                        suite,
                        self.run.target(plan),
                    )
                assert changes.last is not None, "a table in a batch has a change"
                self._note_ddl(plan, current, stats, changes.last)
                app = self.run.app_id(generation, plan, "changes")
                if self.run.committed(change_table, app) < entry.seq:
                    SparkWriter().write(
                        spark_side.change_rows(typed, plan),
                        Write(
                            change_table,
                            partition_by=(spark_side.COMMIT_DATE,),
                            txn=(app, entry.seq),
                            user_metadata=metadata,
                            add_columns=True,
                            error=ReplicationError,
                        ),
                    )
                faults.after_step(f"replicate: write changes of {plan.source_name}")
                app = self.run.app_id(generation, plan, "current")
                if self.run.committed(current, app) < entry.seq:
                    spark_side.merge_current(
                        typed,
                        plan,
                        Write(
                            current,
                            txn=(app, entry.seq),
                            user_metadata=metadata,
                            add_columns=True,
                            error=ReplicationError,
                        ),
                    )
                faults.after_step(f"replicate: merge into {plan.source_name}")
        finally:
            cached.unpersist()
        self.run.register(plan, change_table, changes=True)
        self.run.register(plan, current)
        faults.after_step(f"replicate: register {plan.source_name}")
        self._count(plan, changes, stats, skipped)

    def _sound(self, plan: TablePlan, typed: Any, entry: Batch) -> tuple[Any, int]:
        """The batch's changes of a table, checked for values their column's type
        cannot hold: none, or left out (data_error_policy skip-record, counted), or a
        ChangeDataError naming the table, positions and columns (never the values)."""
        count, first = spark_side.data_errors(typed)
        if not count:
            return typed, 0
        format_position = self.run.source.format_position
        at = "; ".join(f"{format_position(lsn)} ({columns})" for lsn, columns in first)
        more = f" and {count - len(first)} more" if count > len(first) else ""
        text = (
            f"{plan.source_name}: {count} change(s) in batch {entry.seq} hold values their "
            f"column's type cannot (at {at}{more})"
        )
        if self.run.task.definition.data_error_policy == "skip-record":
            LOG.warning("task %s: %s: skipped", self.run.task.name, text)
            print(f"task {self.run.task.name}: {text}: skipped (data_error_policy skip-record)")
            return spark_side.sound_changes(typed), count
        raise ChangeDataError(
            text,
            hint="fix the rows on the source, or set the task's data_error_policy: "
            "skip-record (leave such changes out, counted) or suspend-table",
            table=plan.source_name,
        )

    def _count(
        self, plan: TablePlan, changes: TableChanges, stats: TableStats, skipped: int
    ) -> None:
        """Add the batch's changes to the table's statistics (once: a replayed batch
        that the statistics already count is not added again); ``skipped`` of them
        were left out (data_error_policy skip-record)."""
        last = changes.last
        assert last is not None, "a table in a batch has a change"
        source = self.run.source
        if stats.last_position and source.parse_position(stats.last_position) >= last.commit_lsn:
            return
        counts = changes.ops
        stats.inserts += counts["I"]
        stats.updates += counts["U"]
        stats.deletes += counts["D"]
        stats.truncates += counts["T"]
        stats.skipped += skipped
        stats.last_position = source.format_position(last.commit_lsn)
        stats.last_commit_at = datetime.fromtimestamp(
            last.commit_micros / 1e6, timezone.utc
        ).isoformat(timespec="milliseconds")
        stats.updated_at = now()
        self.run.store.save_table_stats(stats)
        faults.after_step(f"replicate: count changes of {plan.source_name}")

    def _note_ddl(self, plan: TablePlan, location: str, stats: TableStats, last: Change) -> None:
        """Source DDL seen in a batch: added columns are carried into the lake (the
        writes merge the schema); dropped ones are kept and reported."""
        existing = spark_side.delta_columns(self.run.ctx.spark, location)
        if existing is None:
            return
        at = self.run.source.format_position(last.lsn)
        targets = [c.name for c in plan.columns]
        notes = []
        added = [c for c in targets if c not in existing]
        gone = [c for c in existing if c not in targets]
        if added:
            notes.append(f"added column(s) {', '.join(added)} at {at}")
        if gone:
            notes.append(
                f"column(s) {', '.join(gone)} no longer on the source at {at}: "
                "kept in the lake, NULL from then on"
            )
        for note in notes:
            if note.split(" at ")[0] not in stats.ddls:
                print(f"task {self.run.task.name}: {plan.source_name}: {note}")
                stats.ddls = f"{stats.ddls}; {note}".strip("; ")
