"""The crawler: list a target, sample files, classify, infer, plan, apply.

A crawl reads at most ``sample_size`` files per table and only their first bytes
(CSV) or footers (Parquet), so its cost grows with the files it samples, not the
bytes they hold. It never starts Spark: the catalog it writes to is reached
through a :class:`catalog.hive.HiveCatalog`.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from catalog.ddl import REGEX
from catalog.errors import TableNotFoundError
from catalog.hive import HiveCatalog
from catalog.model import Column, Partition, Table
from engine.classify.grok import LOG_CLASSIFICATIONS
from engine.classify.model import SAMPLE_BYTES, UNKNOWN, Classification, Sample
from engine.classify.registry import COMPRESSED_HEAD_BYTES, classify, compression_of, make_sample
from engine.config import Settings
from engine.crawl.footer import read_parquet_footer
from engine.crawl.layout import Skipped, TableLayout, group_tables
from engine.crawl.plan import CREATE, UPDATE, CrawlPlan, TableChange, plan_table
from engine.errors import CrawlError, HeadwaterError
from engine.schema import STRING, merge_schemas
from engine.storage import ObjectInfo, ObjectStore, open_store

DEFAULT_SAMPLE_SIZE = 10
# Spark and Hive choose a codec by file name; content compressed under another
# name would be read as garbage.
CODEC_SUFFIXES = {"gzip": (".gz", ".gzip"), "bzip2": (".bz2",)}


def sample_file(store: ObjectStore, obj: ObjectInfo) -> tuple[Sample, int]:
    """The classifier's view of one file, and the bytes read to get it."""
    head = store.read(obj.key, 0, min(obj.size, SAMPLE_BYTES))
    if compression_of(obj.key, head) != "none" and obj.size > len(head):
        more = min(obj.size, COMPRESSED_HEAD_BYTES) - len(head)
        head += store.read(obj.key, len(head), more)
    return make_sample(obj.key, obj.size, head), len(head)


@dataclass(frozen=True)
class CrawlTarget:
    """Where to crawl (``bucket`` + key ``prefix``) and which database to fill."""

    bucket: str
    prefix: str = ""
    database: str = "landing"
    sample_size: int = DEFAULT_SAMPLE_SIZE

    @classmethod
    def parse(cls, path: str, database: str, sample_size: int = DEFAULT_SAMPLE_SIZE) -> CrawlTarget:
        """``s3://bucket/prefix``, ``s3a://…`` or ``bucket/prefix``."""
        text = path.split("://", 1)[1] if "://" in path else path
        bucket, _, prefix = text.strip("/").partition("/")
        if not bucket:
            raise CrawlError(f"crawl target {path!r} names no bucket", hint="e.g. s3://landing/")
        return cls(bucket, prefix, database, sample_size)


@dataclass
class CrawlResult:
    plan: CrawlPlan
    run_id: str
    applied: bool
    seconds: float
    files_listed: int
    files_sampled: int
    errors: list[Skipped] = field(default_factory=list)


def table_format(classification: str) -> str:
    """How Spark reads files of a classification: its datasource, or a Hive SerDe."""
    if classification in LOG_CLASSIFICATIONS:
        return REGEX
    return classification


def _pick_samples(layout: TableLayout, sample_size: int) -> list[ObjectInfo]:
    """One file from each partition in turn, up to ``sample_size`` files."""
    queues = [list(p.files) for p in layout.partitions]
    picked: list[ObjectInfo] = []
    while len(picked) < sample_size and any(queues):
        for queue in queues:
            if queue and len(picked) < sample_size:
                picked.append(queue.pop(0))
    return picked


def infer_table(
    store: ObjectStore, layout: TableLayout, target: CrawlTarget, run_id: str
) -> tuple[Table | None, list[Partition], list[Skipped], int]:
    """Classify a table's sample files and infer its schema and properties."""
    skipped: list[Skipped] = []
    verdicts: list[tuple[ObjectInfo, Classification]] = []
    samples = _pick_samples(layout, target.sample_size)
    for obj in samples:
        sample, _ = sample_file(store, obj)
        verdict = classify(sample)
        suffixes = CODEC_SUFFIXES.get(sample.compression)
        if verdict.classification == UNKNOWN:
            skipped.append(Skipped(obj.key, f"unclassified: {verdict.reason}"))
        elif suffixes and not obj.key.lower().endswith(suffixes):
            skipped.append(
                Skipped(
                    obj.key,
                    f"{sample.compression} content without a {suffixes[0]} name: Spark would "
                    f"not decompress it; rename it to end in {suffixes[0]}",
                )
            )
        else:
            verdicts.append((obj, verdict))
    if not verdicts:
        return None, [], skipped, len(samples)
    kinds = Counter(v.classification for _, v in verdicts)
    kind = kinds.most_common(1)[0][0]
    chosen = [(obj, v) for obj, v in verdicts if v.classification == kind]
    for obj, v in verdicts:
        if v.classification != kind:
            skipped.append(Skipped(obj.key, f"classified {v.classification}, table is {kind}"))

    files = layout.files
    size = sum(f.size for f in files)
    first = chosen[0][1]
    properties = dict(first.properties)
    if kind == "parquet":  # schemas from footers, exact row counts
        schemas, rows = [], 0
        for obj, _ in chosen:
            columns, count = read_parquet_footer(store, obj.key, obj.size)
            schemas.append(columns)
            rows += count
        columns = merge_schemas(schemas)
        sampled_bytes = sum(obj.size for obj, _ in chosen)
        record_count = round(rows * size / sampled_bytes) if sampled_bytes else rows
        options: dict[str, str] = {}
    else:
        columns = merge_schemas([v.columns for _, v in chosen])
        record_count = size // max(1, int(properties.get("averageRecordSize", "1")))
        options = dict(first.options)
        if any(v.options.get("multiLine") == "true" for _, v in chosen):
            options["multiLine"] = "true"
        headers = [v.properties.get("skip.header.line.count") for _, v in chosen]
        if kind == "csv" and any(h != "1" for h in headers):
            properties.pop("skip.header.line.count", None)
            options["header"] = "false"

    partition_names = set(layout.partition_keys)
    columns = tuple(c for c in columns if c.name not in partition_names)
    properties.update(
        {
            "recordCount": str(record_count),
            "sizeKey": str(size),
            "objectCount": str(len(files)),
            "UPDATED_BY_CRAWLER": "headwater",
            "CRAWL_RUN_ID": run_id,
        }
    )
    table = Table(
        database=target.database,
        name=layout.name,
        columns=columns,
        location=store.uri(layout.prefix.rstrip("/")),
        format=table_format(kind),
        partition_keys=tuple(Column(k, STRING) for k in layout.partition_keys),
        parameters=properties,
        options=options,
    )
    partitions = [
        Partition(p.values, store.uri(p.prefix.rstrip("/"))) for p in layout.partitions if p.values
    ]
    return table, partitions, skipped, len(samples)


def plan_crawl(
    settings: Settings, catalog: HiveCatalog, target: CrawlTarget
) -> tuple[CrawlPlan, int, int, str]:
    """Everything a crawl would change, without changing it."""
    run_id = uuid.uuid4().hex[:12]
    store = open_store(settings, target.bucket)
    objects = list(store.list(target.prefix))
    root_name = target.prefix.rstrip("/").rsplit("/", 1)[-1] or target.bucket
    layouts, skipped = group_tables(objects, target.prefix, root_name)
    plan = CrawlPlan(target.database, not catalog.has_database(target.database))
    plan.skipped.extend(skipped)
    sampled = 0
    for layout in layouts:
        try:
            table, partitions, table_skips, n = infer_table(store, layout, target, run_id)
        except HeadwaterError as exc:
            plan.skipped.append(Skipped(layout.prefix, str(exc)))
            continue
        sampled += n
        plan.skipped.extend(table_skips)
        if table is None:
            continue
        existing, existing_partitions = None, set()
        if not plan.create_database:
            try:
                existing = catalog.get_table(target.database, table.name)
                existing_partitions = set(catalog.partitions(existing))
            except TableNotFoundError:
                existing = None
        plan.changes.append(plan_table(table, partitions, existing, existing_partitions))
    return plan, len(objects), sampled, run_id


def apply_plan(plan: CrawlPlan, catalog: HiveCatalog) -> None:
    """Write a plan to the catalog: databases, tables, then partitions."""
    if plan.create_database:
        catalog.create_database(plan.database)
    for change in plan.changes:
        _apply_change(change, catalog)


def _apply_change(change: TableChange, catalog: HiveCatalog) -> None:
    table = change.table
    if change.action == UPDATE:
        catalog.drop_table(table.database, table.name)  # external: files stay
    if change.action in (CREATE, UPDATE):
        catalog.create_table(table)
    if change.new_partitions:
        catalog.add_partitions(table, list(change.new_partitions))


def crawl(
    settings: Settings, catalog: HiveCatalog, target: CrawlTarget, *, dry_run: bool = False
) -> CrawlResult:
    """Crawl ``target`` into ``target.database``; with ``dry_run`` only plan."""
    started = time.monotonic()
    plan, listed, sampled, run_id = plan_crawl(settings, catalog, target)
    if not dry_run:
        apply_plan(plan, catalog)
    return CrawlResult(
        plan=plan,
        run_id=run_id,
        applied=not dry_run,
        seconds=time.monotonic() - started,
        files_listed=listed,
        files_sampled=sampled,
    )
