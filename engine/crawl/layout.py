"""Which folders are tables and which are partitions. Pure: keys in, layouts out.

Under the crawl's include path, each first-level folder is a table; the folders
beneath it are partitions — Hive-style ``key=value`` folders give the key its name,
other folders become ``partition_0``, ``partition_1`` … as in Glue. Files directly
under the include path form one table named after the include path. Objects whose
path has a segment starting with ``_`` or ``.`` (``_SUCCESS``, ``_delta_log``,
``.tmp``) and empty files are skipped, with the reason recorded.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass

from engine.storage import ObjectInfo

_UNSAFE = re.compile(r"[^a-z0-9_]+")


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
    objects: list[ObjectInfo], prefix: str, root_name: str
) -> tuple[list[TableLayout], list[Skipped]]:
    """Group the objects under ``prefix`` into tables and partitions."""
    base = prefix.strip("/")
    base = f"{base}/" if base else ""
    skipped: list[Skipped] = []
    by_table: dict[str, list[tuple[list[str], ObjectInfo]]] = defaultdict(list)
    for obj in objects:
        if not obj.key.startswith(base):
            continue
        segments = obj.key[len(base) :].split("/")
        if any(_is_hidden(s) for s in segments):
            skipped.append(Skipped(obj.key, "hidden or bookkeeping path (_… or .…)"))
            continue
        if obj.size == 0:
            skipped.append(Skipped(obj.key, "empty file"))
            continue
        if len(segments) == 1:
            by_table[""].append(([], obj))
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
        table_prefix = f"{base}{folder}/" if folder else base
        for dirs, obj in kept:
            values = tuple(_split_partition(d)[1] for d in dirs)
            partitions[values].append(obj)
            prefixes[values] = table_prefix + "".join(f"{d}/" for d in dirs)
        layouts.append(
            TableLayout(
                name=table_name(folder or root_name),
                prefix=table_prefix,
                partition_keys=keys,
                partitions=tuple(
                    PartitionLayout(values, prefixes[values], tuple(files))
                    for values, files in sorted(partitions.items())
                ),
            )
        )
    return layouts, skipped


def _partition_keys(all_dirs: list[list[str]], depth: int) -> tuple[str, ...]:
    keys = []
    for level in range(depth):
        names = {_split_partition(dirs[level])[0] for dirs in all_dirs}
        only = next(iter(names)) if len(names) == 1 else None
        keys.append(table_name(only) if only else f"partition_{level}")
    return tuple(keys)
