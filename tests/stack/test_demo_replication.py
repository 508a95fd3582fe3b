"""`headwater demo replication` on the stack, in a folder with no headwater.yaml, as
the README shows it: a sample database in the stack's PostgreSQL, the task `shop`
written to ./headwater.yaml, a full load, two CDC batches of scripted changes,
validation — and afterwards `headwater replicate status shop` works there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import HEADWATER
from tests.stack_fixture import StackRun

pytestmark = pytest.mark.stack


def _here(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HEADWATER, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=900
    )


def test_the_replication_demo_runs_as_the_readme_says(stack: StackRun, tmp_path: Path) -> None:
    env = {k: v for k, v in stack.env.items() if k != "HEADWATER_PROJECT_FILE"}
    shown = _here(["demo", "replication"], env, tmp_path)
    assert shown.returncode == 0, shown.stdout[-3000:] + shown.stderr[-3000:]
    assert (
        (tmp_path / "headwater.yaml")
        .read_text()
        .startswith("# written by `headwater demo replication`")
    )
    assert "shop.orders: Validated (rows: source 4444, lake 4444)" in shown.stdout, shown.stdout
    assert "shop.customers: Validated (rows: source 201, lake 201)" in shown.stdout
    status = _here(["replicate", "status", "shop", "--json"], env, tmp_path)
    assert status.returncode == 0, status.stderr[-3000:]
    tables = {t["source"]: t for t in json.loads(status.stdout)[0]["tables"]}
    orders, customers = tables["shop.orders"], tables["shop.customers"]
    # wave 1: 100 new orders, every tenth shipped, a customer; wave 2: paid multiples of
    # 7 deleted (728 multiples of 7 up to 5100, less the 72 shipped ones), 5 emails
    assert (orders["full_load_rows"], orders["inserts"], orders["updates"]) == (5000, 100, 510)
    assert orders["deletes"] == 656
    assert (customers["inserts"], customers["updates"]) == (1, 5)
    again = _here(["demo", "replication"], env, tmp_path)  # a rerun starts over cleanly
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
