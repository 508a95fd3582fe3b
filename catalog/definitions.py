"""Changing a table's definition in one metastore call. Pure: thrift objects in, out.

A crawl that finds a table's columns or reader settings changed must not drop and
re-create it: a crash between the two leaves no table, and every user edit is lost.
Instead the new definition is created under a staging name (Spark computes every
detail of it: its JSON schema, SerDe, provider), then copied onto the table in one
``alter_table`` call, which the metastore applies in one transaction: readers see
the old definition or the new one. :func:`merged_definition` builds what is sent.

The metastore refuses to change partition keys in place (Hive's ``alter_table``
raises "partition keys can not be changed"); such a table is replaced instead.
"""

from __future__ import annotations

import copy
from typing import Any

STAGING_SUFFIX = "__hw_staging"
# Properties the metastore or Spark keep for themselves: the staged table's win.
_SYSTEM_PREFIXES = ("spark.sql.",)
_SYSTEM_KEYS = frozenset({"transient_lastDdlTime", "EXTERNAL"})


def staging_name(name: str) -> str:
    """Where a table's next definition is built before it is swapped in."""
    return name + STAGING_SUFFIX


def is_staging(name: str) -> bool:
    return name.lower().endswith(STAGING_SUFFIX.lower())


def merged_definition(current: Any, staged: Any, owned: frozenset[str] | set[str]) -> Any:
    """``staged`` (a thrift ``Table``) renamed to ``current``'s identity, keeping what
    users set on ``current``: its table properties that the crawler does not own
    (``owned``: keys the crawler writes; such a key the new definition lacks is gone)
    and its owner and creation time. Column comments travel in the staged schema."""
    merged = copy.deepcopy(staged)
    merged.tableName = current.tableName
    merged.dbName = current.dbName
    merged.owner = current.owner
    merged.createTime = current.createTime
    kept = {
        key: value
        for key, value in (current.parameters or {}).items()
        if key not in owned and key not in _SYSTEM_KEYS and not key.startswith(_SYSTEM_PREFIXES)
    }
    merged.parameters = {**kept, **(staged.parameters or {})}
    return merged


def same_partition_keys(current: Any, staged: Any) -> bool:
    """Whether the metastore can alter ``current`` into ``staged`` (keys by name and type)."""

    def keys(table: Any) -> list[tuple[str, str]]:
        return [(k.name.lower(), k.type.lower()) for k in table.partitionKeys or []]

    return keys(current) == keys(staged)
