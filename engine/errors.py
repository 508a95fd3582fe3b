"""headwater's error hierarchy.

Every error headwater raises on purpose derives from :class:`HeadwaterError`. Each
class says whether it is *transient* (worth retrying: a refused connection, a Delta
concurrent-append conflict) or terminal (bad config, a schema conflict). Context is
kept as attributes so callers and the CLI can name the file, table or key.
"""

from __future__ import annotations

from typing import Any


class HeadwaterError(Exception):
    """Root of headwater's errors. ``hint`` says what the user should do."""

    transient: bool = False

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context
        for key, value in context.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


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


class CatalogError(HeadwaterError):
    """The metastore refused or failed a catalog operation."""


class CrawlError(HeadwaterError):
    """A crawl could not classify, infer or register a table. Terminal."""


class JobError(HeadwaterError):
    """An ingestion job failed. Terminal unless a subclass says otherwise."""


class SourceNotFoundError(JobError):
    """The job's source table or path does not exist."""


class MetastoreBusyError(HeadwaterError):
    """The embedded Derby metastore is already open in another process."""
