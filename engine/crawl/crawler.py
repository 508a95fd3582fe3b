"""The crawler: list a target, propose tables, sample, decide, plan, apply.

A crawl reads at most ``sample_size`` files per leaf folder and only their first
bytes (text) or footers (Parquet), so its cost grows with the files it samples,
not the bytes they hold. It never starts Spark: the catalog it writes to is
reached through a :class:`catalog.hive.HiveCatalog`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from catalog.ddl import VIEW
from catalog.definitions import staging_name
from catalog.errors import DefinitionRefusedError
from catalog.hive import HiveCatalog
from catalog.model import Table
from engine import faults
from engine.classify.registry import BUILT_IN, Classifier
from engine.config import Settings
from engine.crawl.delta import delta_table
from engine.crawl.exclude import glob_to_regex
from engine.crawl.inference import (
    FileMapper,
    build_table,
    check_sampled_data,
    decide_tables,
    map_in_process,
    sample_layout,
    sampling_jobs,
)
from engine.crawl.jdbc import JdbcCrawlTarget, plan_jdbc_crawl
from engine.crawl.layout import Skipped, TableLayout, group_tables
from engine.crawl.plan import (
    CRAWL_EVERYTHING,
    CRAWL_NEW_FOLDERS_ONLY,
    DELETE_FROM_DATABASE,
    DEPRECATE_IN_DATABASE,
    DEPRECATED_KEY,
    LOG,
    UPDATE_IN_DATABASE,
    CrawlPlan,
    TableChange,
    normalize_location,
    plan_deletions,
    plan_table,
)
from engine.errors import CrawlError, HeadwaterError
from engine.state.store import CrawlRun, RunStore, now
from engine.storage import CountingStore, LocalStore, ObjectStore, open_store
from engine.vocabulary import CrawlAction, RunState

DEFAULT_SAMPLE_SIZE = 10  # files per leaf folder
# Tables with this many files to sample are examined on executors when a crawl
# runs as a Spark job (below it, shipping the work costs more than it saves).
DISTRIBUTE_FROM = 500


DATABASE_NAME = re.compile(r"[A-Za-z0-9_]{1,128}")  # what the metastore accepts unquoted


@dataclass(frozen=True)
class CrawlTarget:
    """Where to crawl (``bucket`` + key ``prefix``) and which database to fill."""

    bucket: str
    prefix: str = ""
    database: str = "landing"
    sample_size: int = DEFAULT_SAMPLE_SIZE
    exclusions: tuple[str, ...] = ()
    table_prefix: str = ""
    update_behavior: str = UPDATE_IN_DATABASE
    delete_behavior: str = DEPRECATE_IN_DATABASE
    classifiers: tuple[Classifier, ...] = ()  # custom ones, tried before the built-ins
    recrawl_behavior: str = CRAWL_EVERYTHING
    # Glue's "create a single schema for each S3 path" (CombineCompatibleSchemas)
    single_schema: bool = False
    allow_empty: bool = False  # a path without files is an error unless this is set
    check_data: bool = False  # decode the first rows of sampled Parquet/ORC files

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def new_folders_only(self) -> bool:
        return self.recrawl_behavior == CRAWL_NEW_FOLDERS_ONLY

    @classmethod
    def parse(
        cls,
        path: str,
        database: str,
        sample_size: int = DEFAULT_SAMPLE_SIZE,
        *,
        exclusions: tuple[str, ...] = (),
        table_prefix: str = "",
        update_behavior: str = UPDATE_IN_DATABASE,
        delete_behavior: str = DEPRECATE_IN_DATABASE,
        classifiers: tuple[Classifier, ...] = (),
        recrawl_behavior: str = CRAWL_EVERYTHING,
        single_schema: bool = False,
        allow_empty: bool = False,
        check_data: bool = False,
    ) -> CrawlTarget:
        """``s3://bucket/prefix``, ``s3a://…`` or ``bucket/prefix``."""
        text = path.split("://", 1)[1] if "://" in path else path
        bucket, _, prefix = text.strip("/").partition("/")
        if not bucket:
            raise CrawlError(f"crawl target {path!r} names no bucket", hint="e.g. s3://landing/")
        if not DATABASE_NAME.fullmatch(database):
            raise CrawlError(
                f"database name {database!r} is not allowed: letters, digits and _ (at most 128)",
                hint="e.g. --database landing",
                key="database",
            )
        return cls(
            bucket=bucket,
            prefix=prefix,
            database=database,
            sample_size=sample_size,
            exclusions=exclusions,
            table_prefix=table_prefix,
            update_behavior=update_behavior,
            delete_behavior=delete_behavior,
            classifiers=classifiers,
            recrawl_behavior=recrawl_behavior,
            single_schema=single_schema,
            allow_empty=allow_empty,
            check_data=check_data,
        )


@dataclass
class CrawlResult:
    plan: CrawlPlan
    run_id: str
    applied: bool
    seconds: float
    files_listed: int
    files_sampled: int
    bytes_read: int


@dataclass
class PlannedCrawl:
    plan: CrawlPlan
    run_id: str
    files_listed: int
    files_sampled: int
    bytes_read: int
    folders: set[str] = field(default_factory=set)  # leaf folders that made tables


def _unseen(store: ObjectStore, layout: TableLayout, seen: set[str]) -> TableLayout | None:
    """``layout`` without the leaf folders seen before; None when nothing is new."""
    fresh = tuple(p for p in layout.partitions if store.uri(p.prefix) not in seen)
    if not fresh or (layout.is_delta and store.uri(layout.prefix) in seen):
        return None
    return replace(layout, partitions=fresh)


def plan_crawl(
    settings: Settings,
    catalog: HiveCatalog,
    target: CrawlTarget,
    seen: set[str] | None = None,
    file_mapper: FileMapper | None = None,
    distribute_from: int = DISTRIBUTE_FROM,
) -> PlannedCrawl:
    """Everything a crawl would change, without changing it.

    ``file_mapper`` (the Spark job passes one) examines the files of a table with
    at least ``distribute_from`` files to sample; smaller ones stay in-process.

    ``seen``: leaf folders (URIs) earlier crawls saw; with the new-folders-only
    recrawl policy they are neither sampled nor changed, and changes to tables and
    deletions are only logged (as Glue forces with that policy).
    """
    run_id = uuid.uuid4().hex[:12]
    store = open_store(settings, target.bucket)
    objects = list(store.list(target.prefix))
    root_name = target.prefix.rstrip("/").rsplit("/", 1)[-1] or target.bucket
    layouts, skipped = group_tables(
        objects,
        target.prefix,
        root_name,
        exclusions=[glob_to_regex(p) for p in target.exclusions],
        table_prefix=target.table_prefix,
        single_table=target.single_schema,
    )
    plan = CrawlPlan(target.database, not catalog.has_database(target.database))
    plan.skipped.extend(skipped)
    existing = {} if plan.create_database else catalog.tables(target.database)
    if not objects and not target.allow_empty:
        _refuse_empty(settings, target, store, existing.values())
    sampled = read = 0
    folders: set[str] = set()
    update_behavior = LOG if target.new_folders_only else target.update_behavior
    for candidate in layouts:
        layout = _unseen(store, candidate, seen or set()) if target.new_folders_only else candidate
        if layout is None:
            continue
        if layout.is_delta:
            counting = CountingStore(store)
            try:
                table, found = delta_table(counting, layout, target.database, run_id)
            except HeadwaterError as exc:
                plan.skipped.append(Skipped(layout.prefix, str(exc)))
                continue
            sampled, read = sampled + found.files_read, read + counting.bytes_read
            before = existing.get(table.name)
            plan.changes.append(plan_table(table, [], before, set(), update_behavior))
            folders.add(store.uri(layout.prefix))
            continue
        classifiers = (*target.classifiers, *BUILT_IN)
        jobs = len(sampling_jobs(layout, target.sample_size))
        mapper = file_mapper if file_mapper and jobs >= distribute_from else map_in_process
        sampling = sample_layout(store, layout, target.sample_size, classifiers, mapper)
        if target.check_data:
            check_sampled_data(store, sampling)
        decided = decide_tables(store, layout, sampling, classifiers, target.single_schema)
        plan.skipped.extend(sampling.skipped)
        sampled += sampling.files_sampled
        read += sampling.bytes_read
        for table_layout, verdicts in decided:
            if not verdicts:
                continue
            table, partitions, table_skips = build_table(
                store, table_layout, verdicts, target.database, run_id
            )
            plan.skipped.extend(table_skips)
            before = existing.get(table.name)
            known = set(catalog.partitions(before)) if before is not None else set()
            plan.changes.append(plan_table(table, partitions, before, known, update_behavior))
            folders.update(store.uri(p.prefix) for p in table_layout.partitions)
    if not target.new_folders_only:  # there, tables of unvisited folders are not "gone"
        produced = {change.table.name for change in plan.changes}
        plan.deletions = plan_deletions(
            list(existing.values()),
            produced,
            store.uri(target.prefix.strip("/")),
            target.delete_behavior,
        )
    return PlannedCrawl(plan, run_id, len(objects), sampled, read, folders)


def _refuse_empty(
    settings: Settings, target: CrawlTarget, store: ObjectStore, tables: Iterable[Table]
) -> None:
    """A path without a file is a typo, unless tables crawled from it are now gone."""
    base = normalize_location(store.uri(target.prefix.strip("/"))) + "/"
    if any((normalize_location(t.location) + "/").startswith(base) for t in tables):
        return  # their files were removed: the deletion policy applies
    check_bucket(settings, target)
    raise CrawlError(
        f"nothing to crawl at {target.where}: no file there",
        hint=_EMPTY_HINT.format(settings.buckets.landing, settings.buckets.raw),
        path=target.where,
    )


_EMPTY_HINT = (
    "check the path (buckets: {}, {}); land files first (headwater land FOLDER "
    "s3://BUCKET/PREFIX/), or pass --allow-empty"
)


def check_bucket(settings: Settings, target: CrawlTarget) -> None:
    """A crawl of a bucket that does not exist fails at once (before any catalog or
    JVM), naming it; S3 says so itself when listed."""
    store = open_store(settings, target.bucket)
    if isinstance(store, LocalStore) and not store.root.is_dir() and not target.allow_empty:
        raise CrawlError(
            f"nothing to crawl at {target.where}: bucket {target.bucket!r} does not exist",
            hint=_EMPTY_HINT.format(settings.buckets.landing, settings.buckets.raw),
            path=target.where,
        )


def apply_plan(plan: CrawlPlan, catalog: HiveCatalog) -> None:
    """Write a plan to the catalog: databases, tables, partitions, then deletions.

    A crash at any instant leaves every table with its old or its new definition
    (updates are made in place, see :func:`_apply_change`), and the next crawl of the
    target finishes the work: same plan, same result.
    """
    if plan.create_database:
        catalog.create_database(plan.database)
        faults.after_step(f"crawl: create database {plan.database}")
    else:  # definitions a crashed crawl staged and never swapped in
        present = {name.lower() for name in catalog.table_names(plan.database)}
        for change in plan.changes:
            if staging_name(change.table.name).lower() in present:
                catalog.drop_table(plan.database, staging_name(change.table.name))
    for change in plan.changes:
        _apply_change(change, catalog)
    for deletion in plan.deletions:
        table = deletion.table
        if deletion.behavior == DELETE_FROM_DATABASE:
            # external tables and views: no file and no source row is touched
            catalog.drop_table(table.database, table.name, view=table.format == VIEW)
        elif deletion.behavior == DEPRECATE_IN_DATABASE:
            stamp = str(int(time.time() * 1000))
            catalog.set_properties(
                table.database, table.name, {DEPRECATED_KEY: stamp}, view=table.format == VIEW
            )
        faults.after_step(f"crawl: {deletion.behavior} {table.qualified_name}")


def _apply_change(change: TableChange, catalog: HiveCatalog) -> None:
    """One table's change. An update is built under a staging name and copied onto the
    table in one metastore call (users' comments and properties kept); only a change
    of format, location or partition keys swaps the table for the staged one."""
    table = change.table
    if change.action == CrawlAction.CREATE or (
        change.action == CrawlAction.UPDATE and table.format == VIEW
    ):
        catalog.create_table(table)  # views: CREATE OR REPLACE, one statement
        faults.after_step(f"crawl: {change.action} {table.qualified_name}")
    elif change.action == CrawlAction.UPDATE:
        catalog.stage_table(table)
        faults.after_step(f"crawl: stage {table.qualified_name}")
        swap = change.replaces
        if not swap:
            try:
                catalog.alter_from_staging(table, change.owned_keys)
            except DefinitionRefusedError:
                swap = True  # column types this metastore will not change in place
        if swap:
            catalog.swap_from_staging(
                table,
                change.owned_keys,
                dropped=lambda: faults.after_step(f"crawl: drop {table.qualified_name}"),
            )
        faults.after_step(f"crawl: update {table.qualified_name}")
        catalog.drop_table(table.database, staging_name(table.name))
        faults.after_step(f"crawl: drop staging {table.qualified_name}")
    if change.new_partitions:
        catalog.add_partitions(table, list(change.new_partitions))
        faults.after_step(f"crawl: add partitions {table.qualified_name}")


def crawl(
    settings: Settings,
    catalog: HiveCatalog,
    target: CrawlTarget | JdbcCrawlTarget,
    *,
    dry_run: bool = False,
    state: RunStore | None = None,
    crawler_name: str | None = None,
    file_mapper: FileMapper | None = None,
    distribute_from: int = DISTRIBUTE_FROM,
) -> CrawlResult:
    """Crawl ``target`` (files, or a database connection) into ``target.database``;
    with ``dry_run`` only plan.

    With a run store, an applied crawl is recorded (state, metrics, skipped paths)
    and every created or changed table gets a new version in the schema history.
    """
    started, started_at = time.monotonic(), now()
    where = target.where
    run = CrawlRun(
        run_id="pending",
        crawler=crawler_name or where,
        target=where,
        database_name=target.database,
        started_at=started_at,
    )
    try:
        if isinstance(target, JdbcCrawlTarget):
            plan, run_id, described = plan_jdbc_crawl(catalog, target)
            planned = PlannedCrawl(plan, run_id, described, described, 0)
        else:
            seen = state.seen_folders(run.crawler) if state and target.new_folders_only else None
            planned = plan_crawl(settings, catalog, target, seen, file_mapper, distribute_from)
        run.run_id = planned.run_id
        if not dry_run:
            apply_plan(planned.plan, catalog)
            if state is not None:
                state.add_seen_folders(run.crawler, planned.folders, planned.run_id)
                for change in planned.plan.changes:
                    # unchanged ones too: a Delta table's schema changes in its log, not
                    # the metastore, and a crawl that died before this point left a
                    # version out (identical versions are not repeated)
                    if change.action in (
                        CrawlAction.CREATE,
                        CrawlAction.UPDATE,
                        CrawlAction.UNCHANGED,
                    ):
                        state.add_table_version(change.table, planned.run_id)
                faults.after_step("crawl: record table versions")
    except HeadwaterError as exc:
        if state is not None and not dry_run:
            run.run_id = run.run_id if run.run_id != "pending" else uuid.uuid4().hex[:12]
            run.state, run.ended_at, run.log = RunState.FAILED, now(), str(exc)
            state.save_crawl_run(run)
        raise
    result = CrawlResult(
        plan=planned.plan,
        run_id=planned.run_id,
        applied=not dry_run,
        seconds=time.monotonic() - started,
        files_listed=planned.files_listed,
        files_sampled=planned.files_sampled,
        bytes_read=planned.bytes_read,
    )
    if state is not None and not dry_run:
        state.save_crawl_run(_run_record(run, result))
    return result


def _run_record(run: CrawlRun, result: CrawlResult) -> CrawlRun:
    plan = result.plan
    run.state, run.ended_at = RunState.SUCCEEDED, now()
    run.tables_created, run.tables_updated = (
        plan.count(CrawlAction.CREATE),
        plan.count(CrawlAction.UPDATE),
    )
    run.tables_unchanged = plan.count(CrawlAction.UNCHANGED)
    run.partitions_added = plan.partitions_added
    run.tables_deleted = sum(1 for d in plan.deletions if d.behavior == DELETE_FROM_DATABASE)
    run.files_listed, run.files_sampled = result.files_listed, result.files_sampled
    run.bytes_read = result.bytes_read
    run.errors = [{"path": s.key, "reason": s.reason} for s in plan.skipped]
    run.log = "\n".join(
        f"{c.action} {c.table.qualified_name}: {'; '.join(c.reasons) or 'no change'}"
        f" (+{len(c.new_partitions)} partitions)"
        for c in plan.changes
    )
    for deletion in plan.deletions:
        run.log += f"\n{deletion.behavior} {deletion.table.qualified_name}: its files are gone"
    return run
