"""Which folders are tables and which are partitions. Pure: keys in, layouts out.

The first proposal, before any file is read (the crawler then splits candidates
whose files turn out incompatible, see :mod:`engine.crawl.grouping`):

* files directly under the include path form one table named after it;
* if every sub-folder of the include path looks like a partition value
  (``key=value``, ``2026``, ``2026-01-01`` …), the include path is one table;
* otherwise each first-level folder is a table and the folders beneath it are
  partitions — ``key=value`` folders give the key its name, other folders become
  ``partition_0``, ``partition_1`` … as in Glue.

A folder holding a ``_delta_log`` is a Delta table, whatever lies beneath it: its
schema and partitioning come from the log (:mod:`engine.crawl.delta`), never from
its Parquet files or folder names.

Other objects whose path has a segment starting with ``_`` or ``.`` (``_SUCCESS``,
``.tmp``) and empty files are skipped, with the reason recorded.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from engine.crawl.exclude import is_excluded
from engine.crawl.grouping import is_partition_like
from engine.storage import ObjectInfo

_UNSAFE = re.compile(r"[^a-z0-9_]+")
DELTA_LOG = "_delta_log"


@dataclass(frozen=True)
class Skipped:
    key: str
    reason: str


@dataclass(frozen=True)
class PartitionLayout:
    values: tuple[str, ...]
    prefix: str
    files: tuple[ObjectInfo, ...]


@dataclass(frozen=True)
class TableLayout:
    name: str
    prefix: str
    partition_keys: tuple[str, ...]
    partitions: tuple[PartitionLayout, ...]
    # Keys the user excluded that lie inside this table's folders (queries see them).
    excluded: tuple[str, ...] = ()
    # A Delta table's log files (``_delta_log/…``); empty for a folder of files.
    delta_log: tuple[ObjectInfo, ...] = ()

    @property
    def is_delta(self) -> bool:
        return bool(self.delta_log)

    @property
    def files(self) -> tuple[ObjectInfo, ...]:
        return tuple(f for p in self.partitions for f in p.files)


def table_name(raw: str) -> str:
    """A catalog-safe table name: lower case, runs of other characters become ``_``."""
    name = _UNSAFE.sub("_", raw.strip().lower()).strip("_")
    return name or "table"


def _is_hidden(segment: str) -> bool:
    return segment.startswith(("_", "."))


def _split_partition(segment: str) -> tuple[str | None, str]:
    if "=" in segment:
        key, value = segment.split("=", 1)
        if key:
            return key, urllib.parse.unquote(value)
    return None, segment


def group_tables(
    objects: list[ObjectInfo],
    prefix: str,
    root_name: str,
    *,
    exclusions: Sequence[re.Pattern[str]] = (),
    table_prefix: str = "",
    single_table: bool = False,
) -> tuple[list[TableLayout], list[Skipped]]:
    """Group the objects under ``prefix`` into tables and partitions.

    Keys matching an exclusion (relative to ``prefix``) are left out silently, as
    the user asked; ``table_prefix`` is put before every table name. With
    ``single_table`` (one schema per include path) the include path is proposed as
    one table whatever its folders are named.
    """
    base = prefix.strip("/")
    base = f"{base}/" if base else ""
    skipped: list[Skipped] = []
    by_table: dict[str, list[tuple[list[str], ObjectInfo]]] = defaultdict(list)
    visible = []
    excluded: list[str] = []
    delta_roots = _delta_roots(objects, base)
    delta_files: dict[str, list[ObjectInfo]] = defaultdict(list)
    for obj in objects:
        if not obj.key.startswith(base):
            continue
        relative = obj.key[len(base) :]
        if is_excluded(relative, exclusions):
            excluded.append(obj.key)
            continue
        root = next((r for r in delta_roots if obj.key.startswith(r)), None)
        if root is not None:
            delta_files[root].append(obj)
            continue
        segments = relative.split("/")
        if any(_is_hidden(s) for s in segments):
            skipped.append(Skipped(obj.key, "hidden or bookkeeping path (_… or .…)"))
            continue
        if obj.size == 0:
            skipped.append(Skipped(obj.key, "empty file"))
            continue
        visible.append((segments, obj))
    folders = {segments[0] for segments, _ in visible if len(segments) > 1}
    root_is_table = bool(folders) and (single_table or all(is_partition_like(f) for f in folders))
    for segments, obj in visible:
        if len(segments) == 1:
            by_table[""].append(([], obj))
        elif root_is_table:
            by_table[""].append((segments[:-1], obj))
        else:
            by_table[segments[0]].append((segments[1:-1], obj))

    layouts = []
    for folder, entries in sorted(by_table.items()):
        depth = Counter(len(dirs) for dirs, _ in entries).most_common(1)[0][0]
        kept = []
        for dirs, obj in entries:
            if len(dirs) == depth:
                kept.append((dirs, obj))
            else:
                skipped.append(
                    Skipped(obj.key, f"at partition depth {len(dirs)}; its table has {depth}")
                )
        keys = _partition_keys([dirs for dirs, _ in kept], depth)
        partitions: dict[tuple[str, ...], list[ObjectInfo]] = defaultdict(list)
        prefixes: dict[tuple[str, ...], str] = {}
        root = f"{base}{folder}/" if folder else base
        for dirs, obj in kept:
            values = tuple(_split_partition(d)[1] for d in dirs)
            partitions[values].append(obj)
            prefixes[values] = root + "".join(f"{d}/" for d in dirs)
        layouts.append(
            TableLayout(
                name=table_name(table_prefix + (folder or root_name)),
                prefix=root,
                partition_keys=keys,
                partitions=tuple(
                    PartitionLayout(values, prefixes[values], tuple(files))
                    for values, files in sorted(partitions.items())
                ),
                excluded=tuple(k for k in excluded if k.startswith(root)),
            )
        )
    for root, files in sorted(delta_files.items()):
        log = tuple(f for f in files if f.key.startswith(f"{root}{DELTA_LOG}/"))
        data = tuple(f for f in files if not f.key.startswith(f"{root}{DELTA_LOG}/"))
        folder = root[len(base) :].rstrip("/").rsplit("/", 1)[-1]
        layouts.append(
            TableLayout(
                name=table_name(table_prefix + (folder or root_name)),
                prefix=root,
                partition_keys=(),
                partitions=(PartitionLayout((), root, data),),
                delta_log=log,
            )
        )
    return layouts, skipped


def _delta_roots(objects: list[ObjectInfo], base: str) -> list[str]:
    """Prefixes (ending in ``/``, or empty) of folders that hold a ``_delta_log``."""
    roots = set()
    for obj in objects:
        if obj.key.startswith(base) and f"/{DELTA_LOG}/" in f"/{obj.key}":
            head = f"/{obj.key}".split(f"/{DELTA_LOG}/", 1)[0].lstrip("/")
            if len(head) + 1 >= len(base):
                roots.add(f"{head}/" if head else "")
    # the outermost root wins (a Delta table never nests another)
    return sorted(
        (r for r in roots if not any(o != r and r.startswith(o) for o in roots)),
        key=len,
        reverse=True,
    )


def _partition_keys(all_dirs: list[list[str]], depth: int) -> tuple[str, ...]:
    keys = []
    for level in range(depth):
        names = {_split_partition(dirs[level])[0] for dirs in all_dirs}
        only = next(iter(names)) if len(names) == 1 else None
        keys.append(table_name(only) if only else f"partition_{level}")
    return tuple(keys)


def split_by_child(layout: TableLayout) -> list[TableLayout]:
    """Each folder of the first partition level becomes a table of its own."""
    children: dict[str, list[PartitionLayout]] = defaultdict(list)
    for partition in layout.partitions:
        children[partition.values[0]].append(partition)
    tables = []
    for value, partitions in sorted(children.items()):
        child_prefix = partitions[0].prefix[len(layout.prefix) :].split("/", 1)[0]
        tables.append(
            TableLayout(
                name=table_name(f"{layout.name}_{value}"),
                prefix=f"{layout.prefix}{child_prefix}/",
                partition_keys=tuple(
                    f"partition_{i}" if key.startswith("partition_") else key
                    for i, key in enumerate(layout.partition_keys[1:])
                ),
                partitions=tuple(
                    PartitionLayout(p.values[1:], p.prefix, p.files) for p in partitions
                ),
            )
        )
    return tables


def split_by_file(layout: TableLayout) -> list[TableLayout]:
    """Each file of an unpartitioned folder becomes a table located at the file."""
    return [
        TableLayout(
            name=table_name(f"{layout.name}_{obj.key.rsplit('/', 1)[-1]}"),
            prefix=obj.key,
            partition_keys=(),
            partitions=(PartitionLayout((), obj.key, (obj,)),),
        )
        for obj in layout.files
    ]
