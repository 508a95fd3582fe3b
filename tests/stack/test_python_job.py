"""A python shell job on the stack: new files of a MinIO path landed with delta-rs,
registered in the metastore (no JVM in the job) and read back through the Thrift
Server; a rerun adds nothing."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine import storage
from tests.helpers import run_cli, run_cli_json
from tests.stack_fixture import StackRun


def test_a_python_job_lands_registers_and_reruns_on_the_stack(
    stack: StackRun, tmp_path: Path
) -> None:
    storage.ensure_buckets(stack.settings, ["pyjob"])  # crawled by no other test
    store = storage.open_store(stack.settings, "pyjob")
    store.put("pyjob/payments/a.csv", b"id,amount,note\n1,2.5,x\n2,3.5,y\n")
    project = tmp_path / "headwater.yaml"
    job = {
        "type": "python",
        "script": "jobs/ingest_python.py",
        "arguments": {
            "source": "s3://pyjob/pyjob/payments/",
            "format": "csv",
            "target": "raw.py_payments",
            "write_mode": "merge",
            "merge_keys": "id",
        },
    }
    project.write_text(yaml.safe_dump({"jobs": {"py_payments": job}}))
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    for _ in range(2):  # the second run finds nothing new
        done = run_cli(["job", "run", "py_payments"], env)
        assert done.returncode == 0, done.stderr[-3000:]
    store.put("pyjob/payments/b.csv", b"id,amount,note\n2,9.0,z\n3,1.0,w\n")
    done = run_cli(["job", "run", "py_payments"], env)
    assert done.returncode == 0, done.stderr[-3000:]

    described = run_cli_json(["catalog", "describe", "raw.py_payments"], env)[0]
    assert described["format"] == "delta"
    assert stack.query("SELECT id, amount, note FROM raw.py_payments ORDER BY id") == [
        (1, 2.5, "x"),
        (2, 9.0, "z"),
        (3, 1.0, "w"),
    ]
    runs = run_cli_json(["job", "runs", "py_payments"], env)
    assert [r["rows_written"] for r in runs] == [2, 0, 2]  # newest first
