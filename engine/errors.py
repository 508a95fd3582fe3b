"""headwater's error hierarchy.

Every error headwater raises on purpose derives from :class:`HeadwaterError`
(defined in ``catalog.errors``, the lowest package, and re-exported here). Each
class says whether it is *transient* (worth retrying: a refused connection, a Delta
concurrent-append conflict) or terminal (bad config, a schema conflict). Context is
kept as attributes so callers and the CLI can name the file, table or key.
"""

from __future__ import annotations

from catalog.errors import CatalogError, HeadwaterError

__all__ = [
    "CatalogError",
    "ConfigError",
    "CrawlError",
    "FlowError",
    "HeadwaterError",
    "JobError",
    "MappingError",
    "ReplicationError",
    "SetupError",
    "SourceNotFoundError",
    "SourceUnavailableError",
    "StackError",
    "StorageError",
]


class ConfigError(HeadwaterError):
    """A setting or definition is invalid. Terminal."""


class SetupError(HeadwaterError):
    """Something `make setup` provides is missing (jars, MinIO, PostgreSQL). Terminal."""


class StackError(HeadwaterError):
    """A native service failed to start, stop or answer."""

    transient = True


class StorageError(HeadwaterError):
    """Reading or listing the object store failed."""

    transient = True


class CrawlError(HeadwaterError):
    """A crawl could not classify, infer or register a table. Terminal."""


class JobError(HeadwaterError):
    """An ingestion job failed. Terminal unless a subclass says otherwise."""


class SourceNotFoundError(JobError):
    """The job's source table or path does not exist."""


class FlowError(HeadwaterError):
    """A workflow or trigger run failed or could not start. Terminal."""


class ReplicationError(HeadwaterError):
    """A replication task could not load, capture or validate. Terminal."""


class MappingError(ReplicationError):
    """A DMS table mapping is invalid; names the rule id and field. Terminal."""


class SourceUnavailableError(ReplicationError):
    """The source database refused the connection or went away. Transient."""

    transient = True
