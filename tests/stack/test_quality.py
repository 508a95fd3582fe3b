"""Quality gates on the stack (MinIO, the metastore on PostgreSQL, the Thrift Server):
a job over the demo's crawled sales with a quarantine suite, then a fail suite that
leaves the raw table's version as it was, the results through the CLI, and a suite
suggested from the landed table."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.quality.rules import parse_rules
from tests.helpers import demo_sales_rows, run_cli, run_cli_json
from tests.stack_fixture import StackRun

pytestmark = pytest.mark.stack

PRODUCTS = ["toaster", "kettle", "grinder", "blender"]
RULES = [
    {"not_null": ["order_id", "customer_id"]},
    {"unique": ["order_id", "dt"]},
    {"in_set": {"column": "product", "values": PRODUCTS}},
    {"between": {"column": "quantity", "min": 1, "max": 4}},
    {"regex": {"column": "product", "pattern": "^[a-z]+$"}},
    {"row_count": {"min": 1}},
    {"schema": {"order_id": "bigint", "quantity": "bigint", "product": "string"}},
]


def _run(env: dict[str, str], suite: Path) -> tuple[int, str]:
    result = run_cli(
        [
            "job", "run", "checked_sales", "--source", "landing.sales",
            "--target", "raw.sales_checked", "--arg", f"quality={suite}",
            "--arg", "job-bookmark-option=job-bookmark-disable",
        ],
        env,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_quarantine_then_fail_on_the_stack(stack: StackRun, tmp_path: Path) -> None:
    env = stack.env
    if run_cli(["catalog", "describe", "landing.sales"], env).returncode != 0:
        assert run_cli(["demo"], env).returncode == 0  # the crawled landing.sales

    expected_bad = {}
    for row in demo_sales_rows():
        broken = [
            name
            for name, fails in (
                ("in_set:product", row["product"] not in PRODUCTS),
                ("between:quantity", not 1 <= int(row["quantity"]) <= 4),
            )
            if fails
        ]
        if broken:
            expected_bad[int(row["order_id"])] = broken
    assert 0 < len(expected_bad) < len(demo_sales_rows())

    quarantine = tmp_path / "quarantine.yaml"
    quarantine.write_text(yaml.safe_dump({"action": "quarantine", "rules": RULES}))
    code, said = _run(env, quarantine)
    assert code == 0, said[-3000:]
    landed = stack.query("SELECT order_id FROM raw.sales_checked")
    wanted = {int(r["order_id"]) for r in demo_sales_rows()} - set(expected_bad)
    assert sorted(r[0] for r in landed) == sorted(wanted)
    aside = stack.query(
        "SELECT order_id, array_join(array_sort(_failed_rules), ',') "
        "FROM quarantine.checked_sales_quality"
    )
    assert {r[0]: r[1].split(",") for r in aside} == {k: sorted(v) for k, v in expected_bad.items()}

    (run,) = run_cli_json(["job", "runs", "checked_sales", "-n", "1"], env)
    assert run["state"] == "SUCCEEDED" and run["rows_quarantined"] == len(expected_bad)
    assert run["quality"].endswith("passed, QUARANTINED")
    failed = run_cli_json(["quality", "results", "--run", run["run_id"], "--failed"], env)
    assert {r["rule"] for r in failed} == {n for v in expected_bad.values() for n in v}

    # the same batch under fail: the run fails and the table keeps its version
    before = run_cli_json(["catalog", "history", "raw.sales_checked"], env)
    fail = tmp_path / "fail.yaml"
    fail.write_text(yaml.safe_dump({"action": "fail", "rules": RULES}))
    code, said = _run(env, fail)
    assert code == 1 and "nothing was written to raw.sales_checked" in said, said[-3000:]
    assert run_cli_json(["catalog", "history", "raw.sales_checked"], env) == before
    (stopped,) = run_cli_json(["job", "runs", "checked_sales", "-n", "1"], env)
    assert stopped["state"] == "FAILED" and stopped["quality"].endswith("STOPPED")

    # a suite suggested from the landed table parses, and the table meets it
    suggested = run_cli(["quality", "suggest", "raw.sales_checked"], env)
    assert suggested.returncode == 0, suggested.stderr[-3000:]
    rules = yaml.safe_load(suggested.stdout)["rules"]
    assert {"unique": "order_id"} in rules and {"not_null": "product"} in rules
    assert {"between": {"column": "quantity", "min": 1, "max": 4}} in rules
    assert parse_rules(rules, "suggested")
