"""Markers by folder: tests/unit -> unit, tests/spark -> spark, tests/stack -> stack.

``make test`` runs each marker in its own pytest process: a JVM hosts one
metastore configuration, so the local (Derby) and stack (thrift) sessions cannot
share one. The contract tests mark each profile's case themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import FAST_START_ENV, FAST_START_JVM

pytest_plugins = ["tests.stack_fixture"]
os.environ.setdefault(FAST_START_ENV, FAST_START_JVM)

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"unit": pytest.mark.unit, "spark": pytest.mark.spark, "stack": pytest.mark.stack}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(TESTS).parts
        marker = FOLDER_MARKERS.get(parts[0]) if parts else None
        if marker is not None:
            item.add_marker(marker)


def stop_local_metastores(root: Path) -> list[int]:
    """Stop every local-profile metastore service a test started under ``root`` (each
    local home gets one on demand); the pids stopped."""
    from engine.process import ManagedProcess

    stopped = []
    for pid_file in root.glob("**/pids/local-metastore.pid"):
        process = ManagedProcess("local-metastore", pid_file, pid_file.with_suffix(".log"))
        pid = process.pid
        if process.stop(grace=10) and pid is not None:
            stopped.append(pid)
    return stopped


@pytest.fixture(autouse=True)
def _local_metastores_stop_with_their_test(request: pytest.FixtureRequest) -> Iterator[None]:
    # taken before the test: a fixture asked for here is torn down after this one
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is not None:
        stop_local_metastores(root)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Homes made by session-scoped fixtures (the shared Spark session's) too."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        stop_local_metastores(factory.getbasetemp())
