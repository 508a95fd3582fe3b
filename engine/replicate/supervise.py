"""Supervision of a continuous replication task: which errors are worth waiting out,
and how long to wait (DMS's recoverable errors and their throttling).

A recoverable error — the source restarting, a connection reset, the object store or
the metastore unavailable — ends the batch it happened in; nothing is lost, since a
batch is replayed exactly once (engine.replicate.cdc). The loop waits
``recoverable_error_interval_seconds``, doubling after each consecutive failure up to
``recoverable_error_throttling_max_seconds``, and tries again, at most
``recoverable_error_count`` times in a row (-1: without limit, DMS's default). Any
other error is fatal: the task stops with its state and reason in the run-state
database (``headwater replicate status``).
"""

from __future__ import annotations

import errno
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from catalog.errors import HeadwaterError
from engine.state.replication import TaskHealth
from engine.state.store import now

if TYPE_CHECKING:
    from engine.replicate.definitions import ReplicationTask
    from engine.state.store import RunStore

LOG = logging.getLogger("headwater.replicate")
# TaskHealth.state
RUNNING, RETRYING, RESTARTING = "running", "retrying", "restarting"
INTERRUPTED, FAILED, STOPPED = "interrupted", "failed", "stopped"

# What a dependency's error says when it is down or out of reach (Java's and
# Python's spellings: the JVM's errors reach Python as text).
_UNREACHABLE = re.compile(
    r"Connection refused|Connection reset|ConnectException|ConnectTimeoutException|"
    r"SocketTimeoutException|SocketException|NoRouteToHost|UnknownHostException|"
    r"Broken pipe|TTransportException|Could not connect to meta ?store|"
    r"Unable to execute HTTP request|NoHttpResponseException|SdkClientException|"
    r"ServiceUnavailable|Service Unavailable|SlowDown|"
    r"server closed the connection unexpectedly|terminating connection due to administrator|"
    r"the database system is (?:starting up|shutting down|in recovery mode)|"
    r"connection to server .* failed|consuming input failed|"
    r"the connection is (?:lost|closed)|EOF detected|Read timed out",
    re.IGNORECASE,
)
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}
# Errors of the Python side of Spark that mean the JVM itself is gone: waiting does
# not bring it back; the supervisor starts a new driver instead.
_JVM_GONE = ("Py4JNetworkError", "Answer from Java side is empty", "JVM is not running")


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the errors it was raised from (or during), outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def jvm_gone(exc: BaseException) -> bool:
    return any(marker in f"{type(e).__name__}: {e}" for e in chain(exc) for marker in _JVM_GONE)


def is_recoverable(exc: BaseException) -> bool:
    """Whether ``exc`` is a dependency being down or out of reach (worth retrying
    in the same driver), rather than a fault of the task, its data or its setup."""
    if jvm_gone(exc):
        return False
    for error in chain(exc):
        if isinstance(error, HeadwaterError) and error.transient:
            return True
        if any(
            kind.__module__.startswith("psycopg")
            and kind.__name__ in ("OperationalError", "InterfaceError")
            for kind in type(error).__mro__
        ):
            return True
        if isinstance(error, ConnectionError | TimeoutError):
            return True
        if isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS:
            return True
        if _UNREACHABLE.search(str(error)):
            return True
    return False


def backoff(failures: int, interval: float, most: float) -> float:
    """Seconds to wait after the ``failures``-th consecutive recoverable error."""
    return float(min(most, interval * 2 ** max(0, failures - 1)))


def describe(exc: BaseException) -> str:
    """One line naming the error (its first line; a JVM error's innermost cause)."""
    for error in reversed(chain(exc)):
        text = str(error).strip()
        found = _UNREACHABLE.search(text)
        if found:
            line = next(ln for ln in text.splitlines() if found.group(0) in ln)
            return f"{type(exc).__name__}: {line.strip()[:300]}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}".rstrip(": ")


class Health:
    """A task's health in the run-state database (TaskHealth), kept up to date by
    its run: recoverable errors and recoveries, a fatal error, the heartbeat."""

    def __init__(self, store: RunStore, task: ReplicationTask) -> None:
        self.store, self.task = store, task
        self.record = store.task_health(task.name) or TaskHealth(task.name)
        self._last_beat: float | None = None

    def _save(self, state: str) -> None:
        """Record the health; while the run-state database is itself down (one of
        the faults waited out) the record is kept for the next save."""
        self.record.task, self.record.state, self.record.updated_at = self.task.name, state, now()
        try:
            self.store.save_task_health(self.record)
        except HeadwaterError as exc:
            if not exc.transient:
                raise
            LOG.warning("task %s: health not recorded (%s)", self.task.name, exc.message)

    def _error(self, error: str) -> None:
        self.record.last_error, self.record.last_error_at = error, now()

    def running(self) -> None:
        self._save(RUNNING)

    def retrying(self, error: str, failures: int, pause: float) -> None:
        self._error(error)
        self.record.retries += 1
        self.record.failing_since = self.record.failing_since or self.record.last_error_at
        self._save(RETRYING)
        LOG.warning("task %s: recoverable error %s: %s", self.task.name, failures, error)
        print(
            f"task {self.task.name}: recoverable error ({error}); trying again in "
            f"{pause:.0f} s (failure {failures} in a row)",
            flush=True,
        )

    def recovered(self, failures: int) -> None:
        since, self.record.failing_since = self.record.failing_since, ""
        self._save(RUNNING)
        print(f"task {self.task.name}: recovered after {failures} failure(s) since {since}")

    def ended(self, error: BaseException | None, stopping: bool) -> None:
        """The run's end: stopped on request, interrupted by a recoverable error (the
        next run resumes), or failed (fatal: the task stops with the reason)."""
        if error is None:
            self._save(STOPPED if stopping else self.record.state)
            return
        self._error(describe(error))
        self._save(INTERRUPTED if is_recoverable(error) or jvm_gone(error) else FAILED)

    def restarted(self, error: str) -> None:
        """The supervisor started a new driver after the last one died."""
        self.record = self.store.task_health(self.task.name) or self.record
        self._error(error)
        self.record.restarts += 1
        self._save(RESTARTING)

    def beat(self, source: Any) -> None:
        """A heartbeat on the source when one is due (``heartbeat_frequency_minutes``):
        the slot then always has a change of its own database to move past, so the
        WAL it retains stays bounded however idle the task's tables are."""
        definition = self.task.definition
        beat = getattr(source, "heartbeat", None)
        if not definition.heartbeat_enable or beat is None:
            return
        due = definition.heartbeat_frequency_minutes * 60
        if self._last_beat is not None and time.monotonic() - self._last_beat < due:
            return
        beat()
        self._last_beat = time.monotonic()
        self.record.heartbeat_at = now()
        self._save(self.record.state)


def stop_task(store: RunStore, task: ReplicationTask) -> list[str]:
    """Stop a task's running run (``headwater replicate stop``, DMS's
    StopReplicationTask): its supervisor starts no new run, and the run's driver ends
    after the batch it is in. The runs stopped."""
    from engine.ingest.runner import stop_runs  # deferred: spark-submit's set-up

    Health(store, task).ended(None, stopping=True)
    return stop_runs(store, task.job_name, whole_group=False)
