"""Any JDBC database as a connection, from its driver's Maven coordinates: H2 (an
embedded engine headwater does not otherwise use, no server) crawled into views
and read by an ingest job, the way users run them (CLI processes, local profile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import artifacts
from engine.config import Settings

pytestmark = pytest.mark.spark

H2 = "com.h2database:h2:2.3.232"
HEADWATER = [sys.executable, "-m", "engine.cli.app", "--profile", "local"]
INIT_SQL = """
CREATE SCHEMA sales;
CREATE TABLE sales.orders (id INTEGER PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2),
    placed TIMESTAMP, paid BOOLEAN);
INSERT INTO sales.orders SELECT x, 'customer ' || x, x * 1.25,
    TIMESTAMP '2026-03-01 00:00:00' + x * INTERVAL '1' HOUR, MOD(x, 2) = 0
    FROM SYSTEM_RANGE(1, 250);
CREATE TABLE sales.scratch (x INTEGER);
"""
MAPPINGS = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "orders",
            "object-locator": {"schema-name": "SALES", "table-name": "ORDERS"},
            "rule-action": "include",
        }
    ]
}


def _h2(jar: Path, url: str, tmp_path: Path, sql: str) -> None:
    """Run SQL on the H2 database with H2's own RunScript tool (no server)."""
    script = tmp_path / "script.sql"
    script.write_text(sql)
    subprocess.run(
        [
            "java",
            "-cp",
            str(jar),
            "org.h2.tools.RunScript",
            "-url",
            url,
            "-user",
            "sa",
            "-script",
            str(script),
        ],
        check=True,
        capture_output=True,
    )


def _cli(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [*HEADWATER, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_an_h2_database_is_crawled_and_ingested_through_its_maven_driver(
    local_settings: Settings, tmp_path: Path
) -> None:
    jar = artifacts.driver_jar(local_settings, H2)
    assert jar.is_file() and jar.parent.parent == local_settings.jar_dir / "drivers"
    url = f"jdbc:h2:{tmp_path / 'h2' / 'shop'}"
    (tmp_path / "init.sql").write_text(INIT_SQL)
    subprocess.run(
        [
            *("java", "-cp", str(jar), "org.h2.tools.RunScript", "-url", url, "-user", "sa"),
            *("-script", str(tmp_path / "init.sql")),
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "headwater.yaml").write_text(
        "connections:\n  warehouse:\n"
        f"    url: {url}\n    driver: {H2}\n    driver_class: org.h2.Driver\n    user: sa\n"
        "crawlers:\n  wh:\n    database: wh_src\n    targets:\n"
        "      - connection: warehouse\n        path: SALES/%\n"
        "        exclusions: ['SALES/SCRATCH']\n"
        "jobs:\n  wh_orders:\n    arguments:\n      connection: warehouse\n"
        "      source: SALES.ORDERS\n      target: raw.wh_orders\n"
        "replication_tasks:\n  wh_load:\n    connection: warehouse\n"
        "    migration_type: full-load\n    partitions_per_table: 3\n"
        f"    table_mappings: '{json.dumps(MAPPINGS)}'\n"
    )
    env = {
        **os.environ,
        "HEADWATER_PROJECT_FILE": str(tmp_path / "headwater.yaml"),
        "HEADWATER_HOME": str(tmp_path / "home"),
        "HEADWATER_PROFILE": "local",
        "HEADWATER_CACHE_DIR": str(local_settings.cache_dir),
    }

    crawled = _cli(["crawl", "wh"], env)
    assert "wh_src.sales_orders" in crawled and "scratch" not in crawled, crawled
    described = _cli(["catalog", "describe", "wh_src.sales_orders", "--json"], env)
    for column, kind in [
        ('"ID"', '"int"'),
        ('"AMOUNT"', '"decimal(10,2)"'),
        ('"PLACED"', '"timestamp"'),
        ('"PAID"', '"boolean"'),
        ('"classification": "h2"', ""),
    ]:
        assert column in described and kind in described, described

    # an ingest job, bookmarked on the table's primary key (from the driver's metadata)
    _cli(["job", "run", "wh_orders"], env)
    _h2(
        jar,
        url,
        tmp_path,
        "INSERT INTO sales.orders (id, customer, amount) SELECT x, 'late', 1 "
        "FROM SYSTEM_RANGE(251, 260);",
    )
    _cli(["job", "run", "wh_orders"], env)  # reads the ten new rows only
    # one statement (one JVM): the crawled view, read live, and what the job landed
    landed = _cli(
        [
            "catalog",
            "sql",
            "SELECT (SELECT sum(AMOUNT) FROM wh_src.sales_orders), count(*), "
            "count(DISTINCT ID), sum(AMOUNT) FROM raw.wh_orders",
        ],
        env,
    )
    assert "│ 39228.75 │ 260 │ 260 │ 39228.75 │" in " ".join(landed.split()), landed

    # a full-load replication task, validated (both sides hashed in Spark) …
    loaded = _cli(["replicate", "start", "wh_load"], env)
    assert "SALES.ORDERS -> wh_load.orders: 260 row(s) loaded" in loaded, loaded
    assert "SALES.ORDERS: Validated (rows: source 260, lake 260)" in loaded, loaded
    # … and a source that drifted since is caught, by key
    _h2(
        jar,
        url,
        tmp_path,
        "UPDATE sales.orders SET amount = 0 WHERE id = 7;DELETE FROM sales.orders WHERE id = 9;",
    )
    drifted = subprocess.run(
        [*HEADWATER, "replicate", "validate", "wh_load"], env=env, capture_output=True, text=True
    )
    assert drifted.returncode == 1, drifted.stderr[-2000:]
    status = json.loads(_cli(["replicate", "status", "wh_load", "--json"], env))[0]
    detail = status["tables"][0]["validation_detail"]
    assert "rows: source 259, lake 260" in detail and "different: 7" in detail, detail
    assert "not in the source: 9" in detail, detail
