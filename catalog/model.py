"""A Glue-like Data Catalog model: plain values, no I/O.

Types are Hive type strings (``bigint``, ``double``, ``string``, ``date``,
``timestamp``, ``boolean``, ``array<…>`` …) because that is what the metastore
stores and every engine reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str | None = None


@dataclass(frozen=True)
class Database:
    name: str
    location: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Partition:
    """One partition: its values in partition-key order and where its files lie."""

    values: tuple[str, ...]
    location: str


@dataclass(frozen=True)
class Table:
    """A catalogued table, as Glue describes one.

    ``format`` is the storage format Spark reads (``csv``, ``parquet``, ``delta`` …);
    ``parameters`` are the table properties (classification, delimiter,
    skip.header.line.count, recordCount, sizeKey …); ``options`` are reader options.
    """

    database: str
    name: str
    columns: tuple[Column, ...]
    location: str
    format: str
    partition_keys: tuple[Column, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"
