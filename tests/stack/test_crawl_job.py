"""jobs/crawl.py under spark-submit, with a crawler defined in headwater.yaml."""

from __future__ import annotations

from pathlib import Path

from engine import storage
from tests.helpers import run_cli_json, run_spark_submit
from tests.stack_fixture import StackRun


def test_a_defined_crawler_runs_as_a_spark_job(stack: StackRun, tmp_path: Path) -> None:
    store = storage.open_store(stack.settings, "landing")
    store.put("defined/orders/part-0.csv", b"order_id,total\n1,9.5\n2,3.25\n")
    store.put("defined/orders/part-0.csv.bak", b"order_id,total\n1,9.5\n")
    store.put("defined/scratch/x.csv", b"a,b\n1,2\n")
    project = tmp_path / "headwater.yaml"
    project.write_text(
        "crawlers:\n"
        "  defined:\n"
        "    database: defined_db\n"
        "    table_prefix: src_\n"
        "    targets:\n"
        "      - path: s3://landing/defined/\n"
        "        exclusions: ['**.bak', 'scratch/**']\n"
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    # --distribute_from 1: the files are examined by executors reading MinIO themselves
    result = run_spark_submit("crawl.py", ["--crawler", "defined", "--distribute_from", "1"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 created" in result.stdout

    tables = run_cli_json(["catalog", "tables", "defined_db", "--counts"], env)
    assert [(t["table"], t["rows"]) for t in tables] == [("src_orders", 2)]
