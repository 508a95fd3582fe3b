"""The job runtime: what a job module gets, as a Glue script gets GlueContext + Job.

```python
def main(argv=None) -> int:
    return JobContext.start(argv, required=("source", "target")).run(body)

def body(ctx: JobContext) -> None:
    batch = ctx.read(parse_source(ctx.args))        # only what the bookmark has not seen
    df = ctx.good_rows(batch)                      # malformed records set aside
    df = df.where("amount > 0")
    ctx.write(batch, df, SinkSpec("raw", "sales"))  # data + bookmark in one Delta commit
```

``ctx.args`` are the resolved ``--KEY value`` arguments; ``ctx.spark`` the session
(built on first use by the one factory); ``ctx.run`` the run record, kept in the
run-state database from RUNNING to SUCCEEDED or FAILED with its metrics, the
failing step and the error.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from catalog.hive import HiveCatalog
from engine import faults, storage
from engine.config import Settings, check_name, load_settings
from engine.errors import HeadwaterError
from engine.ingest.args import resolve_options
from engine.ingest.definitions import job_suite, max_concurrent_runs
from engine.ingest.quarantine import quarantine_records
from engine.ingest.sources import SourceBatch, read_source
from engine.ingest.spec import JDBC, SinkSpec, SourceSpec
from engine.ingest.writer import land, register
from engine.lake.commit import BookmarkCommit
from engine.lake.log import find_txn_commit, read_txn_version
from engine.lake.sink import landed_columns
from engine.state import bookmarks as bm
from engine.state.jobs import JobRun, this_host
from engine.state.store import RunStore, now, open_run_store
from engine.vocabulary import BookmarkKind, BookmarkOption, BookmarkStatus, RunState

LOG = logging.getLogger("headwater.job")
EXIT_OK, EXIT_TERMINAL, EXIT_TRANSIENT, EXIT_CRASH = 0, 1, 3, 4
RUNNER_ARGS = ("JOB_RUN_ID", "ATTEMPT")
RECENT_ENTRIES = 3  # bookmark entries whose runs are checked for a death after their commit


class JobContext:
    """One run of one job. Build it with :meth:`start`."""

    def __init__(
        self, settings: Settings, args: dict[str, str], run: JobRun, store: RunStore
    ) -> None:
        self.settings = settings
        self.args = args
        self.run_record = run
        self.store = store
        self.started = datetime.now(timezone.utc)
        self.step_name = "start"
        self._spark: Any = None
        # committed bookmark entries of runs that died after their commit, and those runs
        self.dead: list[tuple[bm.BookmarkEntry, JobRun]] = []
        # set by a body that stopped on SIGTERM (a continuous replication): the run is
        # STOPPED even if a save of its record overwrote the stop's mark meanwhile
        self.stopped_on_request = False

    # -- life cycle ----------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        argv: Sequence[str] | None = None,
        *,
        required: Sequence[str] = (),
        job_type: str = "spark",
        settings: Settings | None = None,
    ) -> JobContext:
        """Resolve the arguments and record the run as RUNNING.

        Under ``headwater job run`` the runner made the record (``--JOB_RUN_ID``);
        run directly (``spark-submit jobs/x.py --JOB_NAME …``) the run claims a slot
        under the job's ``max_concurrent_runs`` itself.
        """
        args = resolve_options(sys.argv[1:] if argv is None else argv, ("JOB_NAME", *required))
        check_name("job", args["JOB_NAME"])
        settings = settings or load_settings()
        store = open_run_store(settings)
        run_id = args.get("JOB_RUN_ID")
        record = store.job_run(run_id) if run_id else None
        if record is None:
            record = JobRun(
                run_id=run_id or new_run_id(),
                job=args["JOB_NAME"],
                started_at=now(),
                attempt=int(args.get("ATTEMPT", "0")),
                job_type=job_type,
            )
            record.state, record.pid, record.host = RunState.RUNNING, os.getpid(), this_host()
            record.arguments = visible_arguments(args)
            store.claim_job_run(record, max_concurrent_runs(record.job), now())
        else:
            record.state, record.pid, record.host = RunState.RUNNING, os.getpid(), this_host()
            store.save_job_run(record)
        return cls(settings, args, record, store)

    @classmethod
    def main(
        cls,
        body: Callable[[JobContext], None],
        argv: Sequence[str] | None = None,
        *,
        required: Sequence[str] = (),
        job_type: str = "spark",
    ) -> int:
        """A job module's whole ``main``: start (an error there is printed and turned
        into the exit code too), run ``body``, return the exit code."""
        try:
            ctx = cls.start(argv, required=required, job_type=job_type)
        except HeadwaterError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_TRANSIENT if exc.transient else EXIT_TERMINAL
        return ctx.run(body)

    @property
    def job_name(self) -> str:
        return self.args["JOB_NAME"]

    @property
    def run_id(self) -> str:
        return self.run_record.run_id

    @property
    def bookmark_option(self) -> str:
        return self.args.get("job-bookmark-option", BookmarkOption.ENABLE)

    def bookmark_commit(self, batch: Any, location: str, table: str) -> BookmarkCommit:
        """The exactly-once commit of ``batch`` to the table at ``location``, begun:
        the table's writer lock held, the bookmark's ``seq`` chosen."""
        return BookmarkCommit(
            self.store,
            self.settings,
            job=self.job_name,
            run_id=self.run_id,
            option=self.bookmark_option,
            batch=batch,
            location=location,
            table=table,
        ).begin()

    @property
    def spark(self) -> Any:
        if self._spark is None:
            from engine.spark.session import build_session

            self._spark = build_session(self.settings, app_name=f"headwater-job-{self.job_name}")
        return self._spark

    def catalog(self) -> HiveCatalog:
        """The Data Catalog through this job's session."""
        from engine.spark.session import session_catalog

        return session_catalog(self.spark)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Name what the job is doing; a failure is reported with it."""
        previous, self.step_name = self.step_name, name
        yield
        self.step_name = previous
        faults.after_step(name)

    def run(self, body: Callable[[JobContext], None]) -> int:
        """Run ``body``, record the outcome and return the process exit code."""
        try:
            body(self)
        except HeadwaterError as exc:
            self.finish(exc)
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_TRANSIENT if exc.transient else EXIT_TERMINAL
        except Exception as exc:  # a crash (Spark, a bug): recorded, then retryable
            self.finish(exc)
            traceback.print_exc()
            return EXIT_CRASH
        self.finish(None)
        return EXIT_OK

    def finish(self, error: BaseException | None) -> None:
        record = self.run_record
        record.ended_at = now()
        stored = self.store.job_run(record.run_id)
        asked = error is None and self.stopped_on_request
        if asked or (stored is not None and stored.state == RunState.STOPPED):
            record.state = RunState.STOPPED  # stopped on request: say so
            record.error = (stored.error if stored is not None else "") or "stopped on request"
        elif error is None:
            record.state = RunState.SUCCEEDED
        else:
            record.state = RunState.FAILED
            record.failed_step = self.step_name
            text = str(error).strip() or type(error).__name__
            record.error = text.splitlines()[0][:2000]
        self.store.save_job_run(record)

    # -- bookmarks -----------------------------------------------------------------------
    def _txn(self, location: str, context: str) -> int | None:
        store, prefix = storage.locate(self.settings, location)
        return read_txn_version(store, prefix, bm.app_id(self.job_name, context))

    def bookmark_state(self, context: str = "source") -> bm.BookmarkState:
        """The bookmark of ``context``, after settling entries a killed run left pending."""
        entries = self.store.bookmark_entries(self.job_name, context)
        for entry in entries:
            if entry.kind == BookmarkKind.DATA and entry.status == BookmarkStatus.PENDING:
                txn = self._txn(entry.target, context)
                for seq, status in bm.reconcile([entry], txn).items():
                    LOG.warning(
                        "bookmark %s seq %s from run %s: %s", context, seq, entry.run_id, status
                    )
                    self.store.set_bookmark_status(self.job_name, context, seq, status)
        entries = self.store.bookmark_entries(self.job_name, context)
        for entry in entries[-RECENT_ENTRIES:]:
            if entry.is_committed_data:
                self._settle_dead_run(entry, context)
        targets = {
            e.target
            for e in entries
            if e.kind == BookmarkKind.DATA and e.status == BookmarkStatus.COMMITTED
        }
        for target in targets:
            mine = [e for e in entries if e.target == target]
            bm.check_target(mine, self._txn(target, context), target)
        return bm.current_state(entries)

    def _settle_dead_run(self, entry: bm.BookmarkEntry, context: str) -> None:
        """A run that died after its commit (kill -9 between the commit and its final
        record) is noted, to get the commit's numbers (:meth:`record_dead_runs`)."""
        if entry.run_id == self.run_id or any(d.run_id == entry.run_id for _, d in self.dead):
            return
        dead = self.store.job_run(entry.run_id)
        if dead is None or dead.state != RunState.FAILED or dead.delta_version is not None:
            return
        store, prefix = storage.locate(self.settings, entry.target)
        found = find_txn_commit(store, prefix, bm.app_id(self.job_name, context), entry.seq)
        if found is None:
            return
        dead.rows_written, dead.delta_version = found.rows_written, found.version
        dead.error = (
            f"{dead.error or 'the run ended without a final state'}; its commit landed "
            f"(Delta version {found.version}, {found.rows_written} row(s)) and run "
            f"{self.run_id} finished what came after it"
        )[:2000]
        self.dead.append((entry, dead))

    def record_dead_runs(self) -> None:
        """Save the numbers of runs that died after their commit (once the steps they
        owed are redone, so a crash before this redoes them again)."""
        for _, dead in self.dead:
            LOG.warning("run %s died after its commit: %s", dead.run_id, dead.error)
            self.store.save_job_run(dead)
        self.dead.clear()

    # -- reading -------------------------------------------------------------------------
    def read(
        self, source: SourceSpec, *, transformation_ctx: str = "source", quarantine: bool = True
    ) -> SourceBatch:
        """The source's new data (all of it with bookmarks disabled)."""
        with self.step(f"read {source.described}"):
            bookmarked = self.bookmark_option != BookmarkOption.DISABLE
            state = self.bookmark_state(transformation_ctx) if bookmarked else bm.BookmarkState()
            batch = read_source(
                self.spark,
                self.settings,
                source,
                state,
                quarantine=quarantine,
                bookmarked=bookmarked,
            )
            batch.context = transformation_ctx
            batch.df = self._with_source_file(batch)
        if self.dead and quarantine and source.kind != JDBC:
            self._requarantine(source, transformation_ctx)
        self.record_dead_runs()
        self.run_record.source = source.described
        self.run_record.files_read += len(batch.files)
        self.run_record.bytes_read += batch.bytes_read
        return batch

    def _with_source_file(self, batch: SourceBatch) -> Any:
        if batch.df is None or not batch.files:
            return batch.df
        from engine.spark.lake import LINE_FILE
        from engine.spark.transforms import with_source_file

        if self.args.get("lineage", "true") != "false":
            return with_source_file(batch.df)
        return batch.df.drop(LINE_FILE)

    def _requarantine(self, source: SourceSpec, context: str) -> None:
        """The malformed records of the files a dead run committed: set aside again (an
        earlier attempt's rows for the same seq are replaced), as the run would have
        after its commit."""
        for entry, dead in self.dead:
            with self.step(f"quarantine malformed records of run {dead.run_id}"):
                only = {mark.path for mark in entry.files}
                redo = read_source(
                    self.spark,
                    self.settings,
                    source,
                    bm.BookmarkState(),
                    quarantine=True,
                    bookmarked=True,
                    only=only,
                )
                if redo.df is None or not redo.may_have_corrupt:
                    continue
                redo.context = context
                redo.df = self._with_source_file(redo)
                dead.rows_quarantined = quarantine_records(self, redo, entry.seq)

    def good_rows(self, batch: SourceBatch) -> Any:
        """The batch's well-formed rows; malformed CSV/JSON records are quarantined
        by :meth:`write` (and counted in the run)."""
        if batch.df is None or not batch.may_have_corrupt:
            return batch.df
        from engine.spark.lake import split_corrupt

        good, batch.observation = split_corrupt(batch.df)
        return good

    # -- writing -------------------------------------------------------------------------
    def target_location(self, sink: SinkSpec) -> str:
        """Where the sink lies: its catalogued location, else ``<raw bucket>/<table>``
        (``<raw bucket>/<database>/<table>`` for databases other than ``raw``)."""
        if self.spark.catalog.tableExists(sink.qualified_name):
            found = self.catalog().get_table(sink.database, sink.table)
            if found.location:
                return found.location
        return default_location(self.settings, sink)

    def write(
        self,
        batch: SourceBatch,
        df: Any,
        sink: SinkSpec,
        *,
        max_bad_records: int | None = None,
        lineage: bool = True,
    ) -> None:
        """Land ``df`` in ``sink`` and advance ``batch``'s bookmark in the same commit,
        after the job's quality suite (``--quality FILE`` or its definition) passed
        it (docs/quality.md)."""
        with self.step(f"write {sink.qualified_name}"):
            if batch.is_empty or df is None:
                LOG.warning("nothing new in %s since the last run", batch.described)
                print(f"job {self.job_name}: nothing new in {batch.described}")
                self.heal_registration(sink)
                return
            suite = job_suite(self.job_name, self.args.get("quality"))
            land(
                self,
                batch,
                df,
                sink,
                max_bad_records=max_bad_records,
                lineage=lineage,
                quality=suite,
            )

    def heal_registration(self, sink: SinkSpec) -> None:
        """Register ``sink`` if its Delta table exists but the catalog lacks it: a run
        killed between its commit and the registration left it so, and the rerun
        has nothing new to land (registering is idempotent)."""
        if self.spark.catalog.tableExists(sink.qualified_name):
            return
        location = default_location(self.settings, sink)
        store, prefix = storage.locate(self.settings, location)
        if landed_columns(store, prefix) is None:
            return
        with self.step(f"register {sink.qualified_name}"):
            LOG.warning("%s holds a Delta table the catalog lacks: registering it", location)
            register(self, sink, location, store, prefix, self.catalog())


def default_location(settings: Settings, sink: SinkSpec) -> str:
    """``<raw bucket>/<table>``; ``<raw bucket>/<database>/<table>`` for databases other
    than ``raw``."""
    folder = sink.table if sink.database == "raw" else f"{sink.database}/{sink.table}"
    return f"{settings.bucket_uri(settings.buckets.raw)}/{folder}"


def new_run_id() -> str:
    return f"jr_{uuid.uuid4().hex[:16]}"


def visible_arguments(args: dict[str, str]) -> dict[str, str]:
    """Arguments as recorded with the run (runner bookkeeping left out)."""
    return {k: v for k, v in args.items() if k not in RUNNER_ARGS}
