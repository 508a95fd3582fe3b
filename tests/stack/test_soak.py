"""The short fault soak of issue 20, on the real stack (tests/soak.py): a continuous
replication task follows a stream of changes while PostgreSQL (its source, the
run-state database and the metastore's database), MinIO and the metastore are
restarted and its driver is SIGKILLed — one fault of each kind. It keeps going by
itself through all of them, and at the end nothing is lost or doubled: validation
passes, the change table holds each position once, the statistics count each change
once. The long form (ten minutes, random faults) is ``make bench ONLY=soak``.

Last in the stack phase (restarting shared services is the one thing the other
stack tests must not see): the stack is brought fully up again at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli, run_cli_json
from tests.soak import FAULT_KINDS, TASK, Soak, faults
from tests.stack_fixture import StackRun

pytestmark = pytest.mark.stack


def test_continuous_replication_rides_out_restarts_and_a_killed_driver(
    stack: StackRun, tmp_path: Path
) -> None:
    soak = Soak(stack, tmp_path)
    stream, each = soak.stream, faults(stack)
    try:
        for name in FAULT_KINDS:
            stream.wave()
            soak.settle()
            stream.wave()  # changes waiting while the fault hits
            each[name]()
            print(f"fault: {name}")
        stream.wave()
        soak.settle()
    finally:
        soak.stop()
    said = soak.log.read_text()
    assert "starting it again" in said, said[-3000:]  # the killed driver was replaced
    status = soak.check()
    assert status["restarts"] >= 1 and status["retries"] >= 1, status
    assert status["health"] == "stopped" and status["heartbeat_at"], status
    assert status["retained_wal_bytes"] is not None

    # the change table, appended to by every batch: compacted, then vacuumed around a pin
    before, after = soak.optimize("events__ct")
    assert after < before, (before, after)
    table, env = f"{TASK}.events__ct", soak.env
    manifest = tmp_path / "events.manifest.json"
    assert run_cli(["snapshot", table, "-o", str(manifest)], env).returncode == 0
    version = json.loads(manifest.read_text())["version"]
    assert [p["version"] for p in run_cli_json(["table", "pins", table], env)] == [version]
    vacuumed = run_cli(["table", "vacuum", table, "--retain-hours", "0"], env)
    assert vacuumed.returncode == 0, vacuumed.stderr[-3000:]
    assert f"version {version} is pinned by a snapshot" in vacuumed.stdout, vacuumed.stdout
    released = run_cli(["table", "unpin", table, "--version", str(version)], env)
    assert released.returncode == 0 and run_cli_json(["table", "pins", table], env) == []
