"""Every state, action and kind headwater records or plans, in one place.

String enums: a member *is* its string, so what the run-state database stores, JSON
prints and users type in ``headwater.yaml`` compare equal to the members, and no
stored value changes. Other modules name these members, never the bare strings
(``tests/unit/test_vocabulary.py`` checks it). Imports nothing of headwater.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """A run of a job, crawl, replication task, workflow or workflow node (Glue's
    JobRunState)."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    STOPPED = "STOPPED"


ACTIVE_STATES = (RunState.STARTING, RunState.RUNNING)
FINAL_STATES = (RunState.SUCCEEDED, RunState.FAILED, RunState.TIMEOUT, RunState.STOPPED)


class CrawlAction(StrEnum):
    """What a crawl does to one table."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    LOGGED = "update-logged"  # changed, but the policy only logs it


class BookmarkKind(StrEnum):
    """A job bookmark entry: data consumed, or a reset/rewind by the CLI."""

    DATA = "DATA"
    RESET = "RESET"
    REWIND = "REWIND"


class BookmarkStatus(StrEnum):
    """A bookmark entry's state: written PENDING before the commit it names."""

    PENDING = "PENDING"
    COMMITTED = "COMMITTED"
    ABANDONED = "ABANDONED"


class BookmarkOption(StrEnum):
    """Glue's ``--job-bookmark-option``."""

    ENABLE = "job-bookmark-enable"
    DISABLE = "job-bookmark-disable"
    PAUSE = "job-bookmark-pause"


BOOKMARK_OPTIONS = tuple(BookmarkOption)


class QualityAction(StrEnum):
    """What a broken quality suite does to its batch."""

    FAIL = "fail"
    WARN = "warn"
    QUARANTINE = "quarantine"


class RuleOutcome(StrEnum):
    """What became of the rows one quality rule checked."""

    PASSED = "PASSED"
    WARNED = "WARNED"
    QUARANTINED = "QUARANTINED"
    STOPPED = "STOPPED"


class TableLoadState(StrEnum):
    """A replicated table's state, as DMS's TableStatistics names it."""

    BEFORE_LOAD = "Before load"
    FULL_LOAD = "Full load"
    COMPLETED = "Table completed"
    TABLE_ERROR = "Table error"
    SUSPENDED = "Table suspended"  # table_error_policy suspend-table: no changes applied


class BatchStatus(StrEnum):
    """A CDC batch: PENDING before any lake commit, COMMITTED after all of them."""

    PENDING = "PENDING"
    COMMITTED = "COMMITTED"


class FiringOutcome(StrEnum):
    """The scheduler's decision about one firing of a trigger."""

    FIRED = "FIRED"
    SKIPPED = "SKIPPED"
    REFUSED = "REFUSED"
