"""Which errors a continuous replication waits out, how long it waits, and the
run-state store's reconnection after its server went away."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from engine.errors import ReplicationError, SourceUnavailableError, StorageError
from engine.replicate.supervise import backoff, describe, is_recoverable
from engine.state.replication import TaskHealth
from engine.state.store import RunStore, StateError

pytestmark = pytest.mark.unit


class Py4JJavaError(Exception):
    """Named as py4j's: the JVM's stack trace reaches Python as its text."""


class Py4JNetworkError(Exception):
    pass


def _wrapped(inner: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as raised:
        return raised


def test_a_dependency_out_of_reach_is_recoverable_and_a_fault_of_the_task_is_not() -> None:
    s3_down = Py4JJavaError(
        "An error occurred while calling o123.save.\n: org.apache.spark.SparkException: "
        "Job aborted.\nCaused by: org.apache.hadoop.fs.s3a.AWSClientIOException: "
        "Unable to execute HTTP request: Connection refused"
    )
    metastore_down = Py4JJavaError(
        "Caused by: org.apache.thrift.transport.TTransportException: java.net.SocketException"
    )
    assert is_recoverable(SourceUnavailableError("connection shop: cannot reach PostgreSQL"))
    assert is_recoverable(StorageError("listing failed"))
    assert is_recoverable(StateError("the run-state database is unavailable"))
    assert is_recoverable(ConnectionResetError(104, "Connection reset by peer"))
    assert is_recoverable(s3_down) and is_recoverable(metastore_down)
    # a Delta write wrapped as a (terminal) ReplicationError: its cause decides
    assert is_recoverable(_wrapped(s3_down, ReplicationError("writing s3a://raw/t failed")))
    assert not is_recoverable(ReplicationError("orders has no primary key"))
    assert not is_recoverable(ValueError("a bug"))
    assert not is_recoverable(Py4JJavaError("AnalysisException: column `x` does not exist"))
    # the JVM itself is gone: a new driver is needed, not a wait in this one
    assert not is_recoverable(Py4JNetworkError("Answer from Java side is empty"))


def test_backoff_doubles_from_the_interval_up_to_the_most() -> None:
    assert [backoff(n, 5, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_describe_names_the_innermost_reason_on_one_line() -> None:
    error = _wrapped(
        Py4JJavaError("o1.save failed\nCaused by: java.net.ConnectException: Connection refused"),
        ReplicationError("writing s3a://raw/t failed"),
    )
    assert describe(error) == "ReplicationError: Caused by: java.net.ConnectException: " + (
        "Connection refused"
    )
    assert describe(ValueError("bad\nsecond line")) == "ValueError: bad"


class _Dropping:
    """A DB-API connection whose server goes away once (``broken`` as psycopg's)."""

    def __init__(self, path: str) -> None:
        self.inner = sqlite3.connect(path)
        self.broken = False
        self.closed = False

    def cursor(self) -> Any:
        return self.inner.cursor()

    def commit(self) -> None:
        self.inner.commit()

    def rollback(self) -> None:
        self.inner.rollback()

    def close(self) -> None:
        self.closed = True
        self.inner.close()


def test_the_run_state_store_reconnects_when_its_server_went_away(tmp_path: Any) -> None:
    path = str(tmp_path / "state.db")
    made: list[_Dropping] = []

    def connect() -> _Dropping:
        made.append(_Dropping(path))
        return made[-1]

    store = RunStore(connect(), "?", reconnect=connect)
    store.save_task_health(TaskHealth("shop", retries=1))
    made[-1].broken = True  # the server restarted: this connection is dead
    store.save_task_health(TaskHealth("shop", retries=2))
    health = store.task_health("shop")
    assert health is not None and health.retries == 2
    assert len(made) == 2 and made[0].closed


def _txn(xid: int, end: int, rows: int) -> list[tuple[str, Any, bytes]]:
    """pgoutput messages of one transaction: begin, ``rows`` changes, commit."""
    begin = b"B" + end.to_bytes(8, "big") + bytes(8) + xid.to_bytes(4, "big")
    change = b"I" + bytes(40)
    commit = b"C" + b"\x00" + (end - 8).to_bytes(8, "big") + end.to_bytes(8, "big") + bytes(8)
    return [("0/0", xid, data) for data in (begin, *[change] * rows, commit)]


def test_a_bounded_batch_ends_at_a_whole_transaction() -> None:
    from engine.replicate.pgoutput import Bounded

    stream = _txn(1, 100, 3) + _txn(2, 200, 500) + _txn(3, 300, 2)
    # a size bound: the batch ends after the transaction in which it was reached,
    # however large that transaction is (it is applied whole)
    read = Bounded(iter(stream), None, 1000)
    taken = list(read)
    assert read.cut and read.end == 200 and len(taken) == 5 + 502
    # the server stopped after the transaction that reached upto_nchanges
    served = _txn(1, 100, 3) + _txn(2, 200, 500)
    read = Bounded(iter(served), 10, None)
    assert len(list(read)) == len(served) and read.cut and read.end == 200
    # within the bounds: the whole range, not cut
    read = Bounded(iter(stream), 10_000, 1 << 30)
    assert len(list(read)) == len(stream) and not read.cut
