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

The units: :mod:`engine.replicate.full_load`, :mod:`engine.replicate.cdc` (a CDC
batch, exactly once across crashes) and :mod:`engine.replicate.validation`; this
module starts and resumes them and holds what they share (where each table lands,
its app id, the writer locks, registration).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine import storage
from engine.errors import ConfigError, ReplicationError
from engine.ingest.context import default_location
from engine.ingest.spec import SinkSpec
from engine.ingest.writer import register
from engine.lake.log import read_txn_version
from engine.lake.sink import writing
from engine.replicate.cdc import ChangeCapture
from engine.replicate.definitions import ReplicationTask, replication_task
from engine.replicate.full_load import FullLoad
from engine.replicate.jdbc import JdbcSource
from engine.replicate.mapping import TablePlan
from engine.replicate.mysql import MySQLSource
from engine.replicate.postgres import PostgresSource
from engine.replicate.spill import Spill
from engine.replicate.supervise import Health
from engine.replicate.validation import Validation
from engine.state.replication import (
    Batch,
    TableStats,
)
from engine.state.store import now
from engine.vocabulary import BatchStatus

if TYPE_CHECKING:
    from engine.ingest.context import JobContext

LOG = logging.getLogger("headwater.replicate")
ACTIONS = ("start", "resume", "reload", "validate")
CHANGE_TABLE_SUFFIX = "__ct"  # DMS's suffix for change tables


class Replication:
    def __init__(self, ctx: JobContext, task: ReplicationTask) -> None:
        self.ctx, self.task = ctx, task
        self.source: Any = open_source(task, lambda: ctx.spark)
        self.store = ctx.store
        self.stopping = False
        self.health = Health(self.store, task)
        self.full_load = FullLoad(self)
        self.cdc = ChangeCapture(self)
        self.validation = Validation(self)

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

    def spill(self, plans: list[TablePlan]) -> Spill:
        """Where a batch's changes go past ``batch_memory_changes``: the task's scratch
        folder in the raw bucket (hidden from crawlers by its ``_``)."""
        settings = self.ctx.settings
        root = f"{settings.bucket_uri(settings.buckets.raw)}/_headwater/replicate/{self.task.name}"
        store, prefix = storage.locate(settings, f"{root}/spill")
        keys = {(p.source.schema, p.source.name): tuple(p.source.primary_key) for p in plans}
        return Spill(store, prefix, keys, self.task.definition.batch_memory_changes)

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
        if action != "validate":
            self.health.running()
        try:
            if action == "validate":
                return self.validation.validate(self.plans())
            batches = self.store.batches(self.task.name)
            if action == "reload" or (action == "start" and not batches):
                self._start(continuous)
                self.health.ended(None, self.stopping)
                return None
            if action == "start":
                raise ReplicationError(
                    f"replication task {self.task.name} was started before "
                    f"({batches[-1].seq} batch(es) recorded)",
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
            self.full_load.finish(plans, batches[0])
            self.cdc.loop(plans, continuous)
        except BaseException as exc:
            if action != "validate":
                self.health.ended(exc, self.stopping)
            raise
        finally:
            self.source.close()
        if action != "validate":  # the run ends here unless an action returned early
            self.health.ended(None, self.stopping)

    def _start(self, continuous: bool) -> None:
        definition, name = self.task.definition, self.task.name
        plans = self.plans()
        if definition.has_cdc:
            self.source.check_cdc(plans)
        start_at = definition.cdc_start_position  # an existing slot: kept
        if not start_at:
            self.source.drop_slot(self.task.slot)
        self.store.forget_task(name)
        self.health = Health(self.store, self.task)  # a fresh start: a fresh record
        self.health.running()
        for plan in plans:
            self.store.save_table_stats(
                TableStats(name, plan.source_name, self.target(plan), updated_at=now())
            )
        if definition.has_cdc and start_at:
            text = self.source.format_position
            self.source.ensure_publication(self.task.slot, plans)
            position = self._given_start(start_at)
            slot = f"existing slot {self.task.slot} " if self.source.dialect == "postgresql" else ""
            print(f"task {name}: {slot or 'CDC '}from {text(position)}")
            # the run id too: a slot that has not moved since an earlier start must
            # not find that start's batches committed in the lake
            generation = f"{_generation(text(position))}-{self.ctx.run_id}"
            self._record_start(generation, text(position))
            self.cdc.loop(plans, continuous)
        elif definition.has_cdc:
            text = self.source.format_position
            self.source.ensure_publication(self.task.slot, plans)
            with self.source.exported_snapshot(self.task.slot) as (position, snapshot):
                slot = f"slot {self.task.slot} at" if self.source.dialect == "postgresql" else ""
                print(f"task {name}: {slot or 'CDC from'} {text(position)}")
                # the run id too: a binlog position does not move while the source is idle
                generation = _generation(text(position))
                if self.source.dialect != "postgresql":
                    generation = f"{generation}-{self.ctx.run_id}"
                self._record_start(generation, text(position))
                if definition.has_full_load:
                    self.full_load.load(plans, snapshot, generation)
            self.cdc.loop(plans, continuous)
        else:
            with self.source.plain_snapshot() as snapshot:
                generation = self.ctx.run_id
                self._record_start(generation, "")
                self.full_load.load(plans, snapshot, generation)

    def _given_start(self, start_at: str) -> int:
        """cdc_start_position: PostgreSQL's existing slot, moved forward to the given
        WAL position first; a MySQL binlog position (still on the server)."""
        name = self.task.name
        try:
            if self.source.dialect == "postgresql":
                return self._existing_slot(start_at)
            position = int(self.source.parse_position(start_at))
        except ValueError as exc:
            raise ReplicationError(
                f"replication task {name}: cdc_start_position {start_at!r} is not a position "
                f"of a {self.task.connection.kind} source: {exc}",
                hint="PostgreSQL: slot or X/Y (an LSN); MySQL: file:offset (SHOW MASTER STATUS)",
            ) from None
        self.source.check_retained(position)
        return position

    def _existing_slot(self, start_at: str) -> int:
        """The existing slot's position, moved forward to the given WAL position first."""
        slot, name = self.task.slot, self.task.name
        format_lsn, parse_lsn = self.source.format_position, self.source.parse_position
        rows = self.source.query(
            "SELECT plugin, confirmed_flush_lsn::text FROM pg_replication_slots "
            "WHERE slot_name = %s",
            (slot,),
        )
        if not rows or rows[0][0] != "pgoutput" or not rows[0][1]:
            found = f"a {rows[0][0]} slot" if rows else "no such slot"
            raise ReplicationError(
                f"replication task {name}: cdc_start_position {start_at} starts from the "
                f"existing logical slot {slot} (pgoutput); the source has {found}",
                hint=f"create it: SELECT pg_create_logical_replication_slot('{slot}', "
                "'pgoutput'); or leave cdc_start_position out: headwater creates the slot",
            )
        position = parse_lsn(rows[0][1])
        if start_at == "slot":
            return position
        wanted = parse_lsn(start_at)
        if wanted < position:
            raise ReplicationError(
                f"replication task {name}: slot {slot} is at {format_lsn(position)}, past "
                f"cdc_start_position {start_at}: the changes before it are gone from the slot",
                hint=f"cdc_start_position: slot, or a position at or after {format_lsn(position)}",
            )
        self.source.advance(slot, wanted)
        return wanted

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
                TableStats(self.task.name, plan.source_name, self.target(plan), updated_at=now())
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

    def target(self, plan: TablePlan) -> str:
        return f"{self.task.database}.{plan.target_table.lower()}"

    # -- shared by the units --------------------------------------------------------------
    def bounds(self, plan: TablePlan, snapshot: str | None) -> tuple[int, int] | None:
        """The min and max of a single integer primary key in ``snapshot``."""
        key = plan.source.primary_key
        types = {c.name: c.spark_type for c in plan.source.columns}
        if len(key) != 1 or types[key[0]] not in ("smallint", "int", "bigint"):
            return None
        column = self.source.quote(key[0])
        row = self.source.in_snapshot(
            snapshot, f"SELECT min({column}), max({column}) FROM {self.source_table(plan)}"
        )[0]
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def source_table(self, plan: TablePlan) -> str:
        """The source table, quoted for the source's SQL."""
        quote = self.source.quote
        return f"{quote(plan.source.schema)}.{quote(plan.source.name)}"

    def register(self, plan: TablePlan, location: str, changes: bool = False) -> None:
        """Register the table (or its change table) and record its schema version."""
        table = plan.target_table.lower() + (CHANGE_TABLE_SUFFIX if changes else "")
        store, prefix = storage.locate(self.ctx.settings, location)
        sink = SinkSpec(self.task.database, table)
        register(self.ctx, sink, location, store, prefix, self.ctx.catalog())

    def writing(self, *locations: str) -> contextlib.AbstractContextManager[None]:
        """Hold the one-writer lock of each table while writing it: a job or python job
        writing one of them meanwhile is waited for, and waits for this batch."""
        return writing(self.store, self.ctx.run_id, locations, now)

    def committed(self, location: str, app: str) -> int:
        """The last Delta transaction version ``app`` committed to the table (-1: none)."""
        store, prefix = storage.locate(self.ctx.settings, location)
        version = read_txn_version(store, prefix, app)
        return -1 if version is None else version


def open_source(task: ReplicationTask, spark: Callable[[], Any] | None = None) -> Any:
    """The task's source: PostgreSQL (logical decoding), MySQL / MariaDB (binlog), or
    another database through its JDBC driver (full loads; ``spark`` gives the session)."""
    if task.connection.kind == "postgresql":
        return PostgresSource(task.connection)
    if task.connection.kind == "mysql":
        return MySQLSource(task.connection)
    assert spark is not None, "a JDBC source reads through Spark"
    return JdbcSource(task.connection, spark)


def _generation(position: str) -> str:
    return position.replace("/", "-").replace(":", "-")


def run_task(ctx: JobContext) -> None:
    """The body of ``jobs/replicate.py``."""
    task = replication_task(ctx.args["task"])
    ctx.run_record.source = f"{task.connection.name} ({task.definition.migration_type})"
    ctx.run_record.target = task.database
    Replication(ctx, task).run(
        ctx.args.get("action", "resume"), ctx.args.get("continuous", "false") == "true"
    )
