"""What a crawl will do to the catalog, decided before anything is written.

``plan_table`` compares one inferred table with what the catalog holds; a
:class:`CrawlPlan` gathers those decisions so ``headwater crawl --plan`` can show
them and :func:`engine.crawl.crawler.apply_plan` can carry them out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from catalog.ddl import DELTA
from catalog.model import Column, Partition, Table
from catalog.versions import STAT_KEYS
from engine.crawl.layout import Skipped
from engine.vocabulary import CrawlAction

# Schema change policy (Glue's SchemaChangePolicy): what to do with a changed table,
# and with a table this crawler made whose files are gone.
UPDATE_IN_DATABASE, LOG = "update_in_database", "log"
DELETE_FROM_DATABASE, DEPRECATE_IN_DATABASE = "delete_from_database", "deprecate_in_database"
UPDATE_BEHAVIORS = (UPDATE_IN_DATABASE, LOG)
# Recrawl policy (Glue's RecrawlPolicy): list and sample everything again, or only
# leaf folders the crawler has not seen (then updates and deletions are only logged).
CRAWL_EVERYTHING, CRAWL_NEW_FOLDERS_ONLY = "crawl_everything", "crawl_new_folders_only"
RECRAWL_BEHAVIORS = (CRAWL_EVERYTHING, CRAWL_NEW_FOLDERS_ONLY)
DELETE_BEHAVIORS = (DEPRECATE_IN_DATABASE, DELETE_FROM_DATABASE, LOG)
DEPRECATED_KEY = "DEPRECATED_BY_CRAWLER"
# Table properties a crawl writes (classifiers, statistics, bookkeeping). On an update
# the crawler owns these and leaves every other property (a user's) as it was.
CRAWLER_KEYS = frozenset(
    {
        *STAT_KEYS,
        DEPRECATED_KEY,
        "classification",
        "delimiter",
        "areColumnsQuoted",
        "compressionType",
        "encoding",
        "skip.header.line.count",
        "avroCodec",
        "typeOfData",
        "grokPattern",
        "connectionName",
        "sourceTable",
    }
)


@dataclass(frozen=True)
class TableChange:
    action: str
    table: Table
    previous: Table | None
    reasons: tuple[str, ...]
    new_partitions: tuple[Partition, ...]

    @property
    def is_write(self) -> bool:
        return self.action != CrawlAction.UNCHANGED or bool(self.new_partitions)

    @property
    def replaces(self) -> bool:
        """An update the metastore cannot make in place (another format, location or
        partition keys): the table is swapped for a new one and its partitions re-added."""
        old = self.previous
        return self.action == CrawlAction.UPDATE and old is not None and _moved(self.table, old)

    @property
    def owned_keys(self) -> frozenset[str]:
        """The properties this change decides; the table's other ones are users'."""
        return CRAWLER_KEYS | frozenset(self.table.parameters)


def _moved(new: Table, old: Table) -> bool:
    return (
        new.format != old.format
        or normalize_location(new.location) != normalize_location(old.location)
        or [(k.name, k.type) for k in new.partition_keys]
        != [(k.name, k.type) for k in old.partition_keys]
    )


@dataclass(frozen=True)
class TableDeletion:
    """A table this crawler made whose data is gone, and what the policy does."""

    table: Table
    behavior: str


@dataclass
class CrawlPlan:
    database: str
    create_database: bool
    changes: list[TableChange] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    deletions: list[TableDeletion] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def partitions_added(self) -> int:
        return sum(len(change.new_partitions) for change in self.changes)


def normalize_location(uri: str) -> str:
    """Hadoop prints ``file:/x`` for ``file:///x``; both name the same folder."""
    if uri.startswith("file://"):
        uri = "file:" + uri[len("file://") :]
    return uri.rstrip("/")


def _schema_differences(new: Table, old: Table) -> list[str]:
    reasons = []
    if new.columns != old.columns:
        before = [(c.name, c.type) for c in old.columns]
        after = [(c.name, c.type) for c in new.columns]
        reasons.append(f"columns changed: {before} -> {after}")
    if [k.name for k in new.partition_keys] != [k.name for k in old.partition_keys]:
        reasons.append("partition keys changed")
    if new.format != old.format:
        reasons.append(f"format {old.format} -> {new.format}")
    if normalize_location(new.location) != normalize_location(old.location):
        reasons.append(f"location {old.location} -> {new.location}")
    if new.format == DELTA:
        return reasons  # Delta keeps its own properties; the metastore holds none of ours
    lasting_new = {k: v for k, v in new.parameters.items() if k not in STAT_KEYS}
    lasting_old = {k: old.parameters.get(k) for k in lasting_new}
    if lasting_new != lasting_old:
        reasons.append("table properties changed")
    # A log table's regex does not survive DESCRIBE's formatting; its grok pattern
    # (a table property, compared above) stands for it.
    wanted_options = {k: old.options.get(k) for k in new.options}
    if new.format != "regex" and wanted_options != new.options:
        reasons.append("reader options changed")
    return reasons


def plan_table(
    new: Table,
    partitions: list[Partition],
    existing: Table | None,
    existing_partitions: set[tuple[str, ...]],
    update_behavior: str = UPDATE_IN_DATABASE,
) -> TableChange:
    if existing is None:
        return TableChange(CrawlAction.CREATE, new, None, ("new table",), tuple(partitions))
    new = with_comments(new, existing)
    reasons = _schema_differences(new, existing)
    if DEPRECATED_KEY in existing.parameters:  # its files are back: the mark goes
        reasons.append("its files are back (it was deprecated)")
    fresh = tuple(p for p in partitions if p.values not in existing_partitions)
    if reasons and update_behavior == LOG:
        # The catalog keeps its definition; the change is only recorded.
        return TableChange(CrawlAction.LOGGED, new, existing, tuple(reasons), fresh)
    if reasons:
        change = TableChange(CrawlAction.UPDATE, new, existing, tuple(reasons), fresh)
        if change.replaces:  # a new table (external: no data is touched): every partition
            change = dataclasses.replace(change, new_partitions=tuple(partitions))
        return change
    return TableChange(CrawlAction.UNCHANGED, new, existing, (), fresh)


def with_comments(new: Table, existing: Table) -> Table:
    """``new`` with the column comments of ``existing`` (set by users) where ``new``
    has none: a recrawl neither loses them nor counts them as a change."""
    said = {c.name.lower(): c.comment for c in (*existing.columns, *existing.partition_keys)}

    def commented(columns: tuple[Column, ...]) -> tuple[Column, ...]:
        return tuple(
            c if c.comment else Column(c.name, c.type, said.get(c.name.lower())) for c in columns
        )

    return dataclasses.replace(
        new, columns=commented(new.columns), partition_keys=commented(new.partition_keys)
    )


def plan_deletions(
    existing: list[Table], produced: set[str], target_uri: str, behavior: str
) -> list[TableDeletion]:
    """Tables this crawler made under ``target_uri`` that the crawl no longer found."""
    base = normalize_location(target_uri) + "/"
    gone = []
    for table in existing:
        if table.parameters.get("UPDATED_BY_CRAWLER") != "headwater" or table.name in produced:
            continue
        if not (normalize_location(table.location) + "/").startswith(base):
            continue
        if behavior == DEPRECATE_IN_DATABASE and DEPRECATED_KEY in table.parameters:
            continue  # already deprecated
        gone.append(TableDeletion(table, behavior))
    return gone
