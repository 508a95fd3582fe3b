"""A Spark standalone master and worker from the wheel run a job against the stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyhive import hive

from engine import storage
from engine.demo import DATA
from engine.process import is_pid_alive
from engine.stack import launcher
from engine.stack.cluster import SparkMasterService
from tests.helpers import run_cli, run_cli_json
from tests.stack_fixture import StackRun


@pytest.fixture(scope="module")
def cluster(stack: StackRun) -> Iterator[str]:
    statuses = launcher.up(stack.settings, launcher.CLUSTER)
    assert [s.state for s in statuses] == ["healthy", "healthy"]
    yield SparkMasterService(stack.settings).url
    pids = [s.pid for s in launcher.status(stack.settings, launcher.CLUSTER) if s.pid]
    launcher.down(stack.settings, launcher.CLUSTER)
    assert not [pid for pid in pids if is_pid_alive(pid)]


def test_a_job_runs_on_the_standalone_cluster(stack: StackRun, cluster: str) -> None:
    store = storage.open_store(stack.settings, "landing")
    storage.upload_tree(store, DATA / "customers", "clustered/customers")
    crawled = run_cli_json(
        ["crawl", "s3://landing/clustered/", "--database", "cluster_landing"], stack.env
    )
    assert [row["table"] for row in crawled] == ["cluster_landing.customers"]

    result = run_cli(
        [
            "job",
            "run",
            "on_cluster",
            "--master",
            cluster,
            "--source",
            "cluster_landing.customers",
            "--target",
            "cluster_raw.customers",
        ],
        stack.env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "20 row(s)" in result.stdout

    with hive.connect(host="127.0.0.1", port=stack.settings.stack.thrift_port) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT COUNT(DISTINCT customer_id) FROM cluster_raw.customers")
        assert cursor.fetchall() == [(20,)]
