"""Markers by folder: tests/unit -> unit, tests/spark -> spark, tests/stack -> stack.

``make test`` runs each marker in its own pytest process: a JVM hosts one
metastore configuration, so the local (Derby) and stack (thrift) sessions cannot
share one. The contract tests mark each profile's case themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.stack_fixture"]

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"unit": pytest.mark.unit, "spark": pytest.mark.spark, "stack": pytest.mark.stack}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(TESTS).parts
        marker = FOLDER_MARKERS.get(parts[0]) if parts else None
        if marker is not None:
            item.add_marker(marker)
