"""Replication (DMS) on the real stack: PostgreSQL source with logical decoding, Delta
on MinIO, the metastore and the Thrift Server. Full load of 282,000 rows with DMS
mappings, CDC over several batches (inserts, updates, deletes, a key change, a
rolled-back transaction, DDL), a SIGKILL in the middle of a batch, validation at the
end; a MariaDB full load; continuous mode stopped on request."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from botocore.exceptions import ClientError

from engine.stack import launcher
from engine.stack.postgres import STATE_DATABASE
from engine.storage import s3_client
from tests.helpers import (
    HEADWATER,
    api_server,
    aws_client,
    run_cli,
    run_cli_json,
    selection,
    until,
)
from tests.kill_scenario import kill_mid_write
from tests.stack_fixture import SOURCE_PASSWORD_ENV, StackRun, connections_yaml

pytestmark = pytest.mark.stack

PENDING_BATCH_SQL = (
    "SELECT r.pid FROM job_runs r WHERE r.state = 'RUNNING' AND EXISTS "
    "(SELECT 1 FROM replication_batches b WHERE b.status = 'PENDING' AND b.run_id = r.run_id)"
)
MAPPINGS = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "all of repl",
            "object-locator": {"schema-name": "repl", "table-name": "%"},
            "rule-action": "include",
        },
        {
            "rule-type": "selection",
            "rule-id": "2",
            "object-locator": {"schema-name": "repl", "table-name": "audit[_]log"},
            "rule-action": "exclude",
        },
        {
            "rule-type": "selection",
            "rule-id": "3",
            "object-locator": {"schema-name": "repl", "table-name": "orders"},
            "rule-action": "include",
            "filters": [
                {
                    "filter-type": "source",
                    "column-name": "status",
                    "filter-conditions": [{"filter-operator": "noteq", "value": "test"}],
                }
            ],
        },
        {
            "rule-type": "transformation",
            "rule-id": "4",
            "rule-target": "table",
            "object-locator": {"schema-name": "repl", "table-name": "order_items"},
            "rule-action": "rename",
            "value": "lines",
        },
        {
            "rule-type": "transformation",
            "rule-id": "5",
            "rule-target": "column",
            "object-locator": {
                "schema-name": "repl",
                "table-name": "customers",
                "column-name": "email",
            },
            "rule-action": "rename",
            "value": "email_address",
        },
        {
            "rule-type": "transformation",
            "rule-id": "6",
            "rule-target": "column",
            "object-locator": {"schema-name": "repl", "table-name": "orders"},
            "rule-action": "add-column",
            "value": "amount_band",
            "expression": "CASE WHEN $amount > 100 THEN 'high' ELSE 'low' END",
            "data-type": {"type": "string", "length": 4},
        },
    ]
}
SCHEMA_SQL = """
DROP SCHEMA IF EXISTS repl CASCADE;
CREATE SCHEMA repl;
CREATE TABLE repl.customers (id int PRIMARY KEY, name text, email text, created_at timestamptz,
    photo bytea);
CREATE TABLE repl.orders (id bigint PRIMARY KEY, customer_id int, status text,
    amount numeric(12,2), ordered_at timestamp, tags text[]);
CREATE TABLE repl.order_items (order_id bigint, line int, sku text, qty int, price float8,
    PRIMARY KEY (order_id, line));
CREATE TABLE repl.audit_log (id serial PRIMARY KEY, note text);
INSERT INTO repl.customers SELECT g, 'customer ' || g, 'c' || g || '@example.com',
    timestamptz '2026-01-01 00:00:00+00' + g * interval '37 seconds',
    CASE WHEN g % 5 = 0 THEN decode(md5(g::text), 'hex') END
    FROM generate_series(1, 2000) g;
INSERT INTO repl.orders SELECT g, 1 + g % 2000, CASE WHEN g % 500 = 0 THEN 'test' ELSE 'paid' END,
    (g % 997) * 1.25, timestamp '2026-02-01' + g * interval '1 minute', ARRAY['a', 'b' || g]
    FROM generate_series(1, 40000) g;
INSERT INTO repl.order_items SELECT o, l, 'sku-' || (o * 7 + l) % 1000, 1 + (o + l) % 9,
    ((o + l) % 300) / 7.0 FROM generate_series(1, 40000) o, generate_series(1, 6) l;
INSERT INTO repl.audit_log (note) SELECT 'n' || g FROM generate_series(1, 10) g;
"""
FIRST_CHANGES = [
    "INSERT INTO repl.orders SELECT g, 7, 'paid', 250.5, now(), NULL "
    "FROM generate_series(40001, 40500) g",
    "INSERT INTO repl.order_items SELECT o, 1, 'new', 2, 9.5 FROM generate_series(40001, 40500) o",
    "UPDATE repl.orders SET amount = amount + 1 WHERE id % 67 = 0 AND status = 'paid'",
    "DELETE FROM repl.order_items WHERE order_id % 199 = 0",
    "UPDATE repl.customers SET id = id + 100000 WHERE id IN (3, 4)",  # a key change
    "UPDATE repl.customers SET name = NULL, photo = '\\x00ff'::bytea WHERE id = 10",
]
BIG_CHANGES = [
    "UPDATE repl.order_items SET qty = qty + 1 WHERE line < 3",  # 80,000 changes
    "INSERT INTO repl.customers SELECT g, 'late ' || g, NULL, now(), NULL "
    "FROM generate_series(5001, 6000) g",
    "DELETE FROM repl.orders WHERE id BETWEEN 100 AND 149",
]


REFUND_RULES = [{"not_null": "id"}, {"between": {"column": "amount", "min": 0.5, "max": 10}}]


def _source(stack: StackRun) -> psycopg.Connection:
    source: psycopg.Connection = stack.source()
    return source


def _query(stack: StackRun, sql: str) -> list[tuple[Any, ...]]:
    return stack.query(sql)


def _project(stack: StackRun, tmp_path: Path, tasks: dict[str, Any]) -> dict[str, str]:
    (tmp_path / "shop.json").write_text(json.dumps(MAPPINGS))
    project = tmp_path / "headwater.yaml"
    project.write_text(
        connections_yaml(stack.settings) + yaml.safe_dump({"replication_tasks": tasks})
    )
    return {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}


def _pending_batch_driver(stack: StackRun) -> Callable[[], int | None]:
    def probe() -> int | None:
        with psycopg.connect(**stack.postgres_params(), dbname=STATE_DATABASE) as db:
            found = db.execute(PENDING_BATCH_SQL).fetchall()
        return int(found[0][0]) if found else None

    return probe


def _text(result: Any) -> str:
    """stderr with the terminal's line wrapping undone."""
    return " ".join(str(result.stderr).split())


def _ok(result: Any) -> str:
    """The command's output, after checking it succeeded (else its job log's end)."""
    if result.returncode != 0:
        found = re.search(r"its log: (\S+?);", result.stderr)
        log = Path(found.group(1)).read_text()[-4000:] if found else ""
        raise AssertionError(f"{result.stderr[-2000:]}\n--- job log ---\n{log}")
    return str(result.stdout)


def test_full_load_and_cdc_survives_a_kill_and_validates(stack: StackRun, tmp_path: Path) -> None:
    source = _source(stack)
    source.execute(SCHEMA_SQL)
    env = _project(
        stack,
        tmp_path,
        {
            "shop_repl": {
                "connection": "shop",
                "table_mappings": "shop.json",
                "max_full_load_subtasks": 2,
                "partitions_per_table": 3,
                "quality": {"repl.refunds": {"action": "warn", "rules": REFUND_RULES}},
            }
        },
    )

    out = _ok(run_cli(["replicate", "start", "shop_repl"], env))
    assert "repl.orders -> shop_repl.orders: 39920 row(s) loaded" in out  # 80 'test' filtered
    assert "repl.order_items -> shop_repl.lines: 240000 row(s) loaded" in out
    status = run_cli_json(["replicate", "status", "shop_repl"], env)[0]
    tables = {t["source"]: t for t in status["tables"]}
    assert set(tables) == {"repl.customers", "repl.orders", "repl.order_items"}
    assert {t["validation_state"] for t in tables.values()} == {"Validated"}
    assert _query(
        stack,
        "SELECT email_address, amount_band FROM shop_repl.customers c "
        "JOIN shop_repl.orders o ON o.customer_id = c.id WHERE o.id = 400",
    ) == [("c401@example.com", "high")]

    # Batch 1: inserts, updates, deletes, a key change, a rolled-back transaction.
    counts = [source.execute(statement).rowcount for statement in FIRST_CHANGES]
    with pytest.raises(psycopg.errors.UniqueViolation), source.transaction():
        source.execute("INSERT INTO repl.customers VALUES (90000, 'ghost', NULL, now(), NULL)")
        source.execute("INSERT INTO repl.customers VALUES (90000, 'ghost', NULL, now(), NULL)")
    out = _ok(run_cli(["replicate", "resume", "shop_repl"], env))
    assert "applied" in out

    # Batch 2 is killed with SIGKILL while it writes; the resume replays it.
    counts += [source.execute(statement).rowcount for statement in BIG_CHANGES]
    command = [*HEADWATER, "replicate", "resume", "shop_repl"]
    assert kill_mid_write(command, env, _pending_batch_driver(stack)) != 0
    # Source DDL after the crash: a column added (and filled), one dropped.
    source.execute("ALTER TABLE repl.customers ADD COLUMN tier text")
    source.execute("UPDATE repl.customers SET tier = 'gold' WHERE id <= 10")
    source.execute("ALTER TABLE repl.orders DROP COLUMN tags")
    source.execute("INSERT INTO repl.orders VALUES (50000, 1, 'paid', 5, now())")
    source.execute("TRUNCATE repl.audit_log")  # not replicated: excluded
    # A table created on the source since, which the mappings select: loaded, then followed.
    source.execute("CREATE TABLE repl.refunds (id int PRIMARY KEY, amount numeric(8,2))")
    source.execute("INSERT INTO repl.refunds SELECT g, g / 10.0 FROM generate_series(1, 100) g")
    out = _ok(run_cli(["replicate", "resume", "shop_repl"], env))
    assert "new table(s) repl.refunds" in out
    source.execute("INSERT INTO repl.refunds VALUES (101, 1.5)")
    source.execute("DELETE FROM repl.refunds WHERE id = 1")

    out = _ok(run_cli(["replicate", "validate", "shop_repl"], env))
    assert out.count("Validated") == 4, out
    assert "repl.refunds: Validated (rows: source 100, lake 100)" in out
    status = run_cli_json(["replicate", "status", "shop_repl"], env)[0]
    tables = {t["source"]: t for t in status["tables"]}
    items = tables["repl.order_items"]
    assert (items["inserts"], items["updates"], items["deletes"]) == (
        counts[1],
        counts[6],
        counts[3],
    )
    assert tables["repl.customers"]["inserts"] == 1000
    assert "tier" in tables["repl.customers"]["ddls"]
    assert "tags" in tables["repl.orders"]["ddls"]
    assert status["pending_batch"] is False
    assert status["slot_position"] == status["last_batch_position"]

    # The change table holds each change once, however often the killed batch ran.
    lake = _query(stack, "SELECT count(*), count(DISTINCT _lsn) FROM shop_repl.lines__ct")[0]
    assert lake == (counts[1] + counts[6] + counts[3],) * 2
    ops = dict(_query(stack, "SELECT Op, count(*) FROM shop_repl.customers__ct GROUP BY Op"))
    assert ops == {"I": 1000, "U": 2 + 1 + 8}  # no ghost from the rolled-back transaction
    assert _query(stack, "SELECT tier, name FROM shop_repl.customers WHERE id = 10") == [
        ("gold", None)
    ]
    assert _query(stack, "SELECT count(*) FROM shop_repl.customers WHERE id IN (3, 4)") == [(0,)]

    # repl.refunds' warn suite: its full load (amounts 0.1..0.4 under the minimum), then
    # the CDC batch's one insert (the delete has no row image to check)
    checks = run_cli_json(["quality", "results", "--job", "replicate-shop_repl"], env)
    by_run: dict[str, dict[str, Any]] = {}
    for result in checks:
        assert result["target"] == "shop_repl.refunds"
        by_run.setdefault(result["run"], {})[result["rule"]] = result
    full_load, batch = sorted(by_run.values(), key=lambda c: c["not_null:id"]["evaluated"])
    assert full_load["between:amount"]["unexpected"] == 4
    assert full_load["between:amount"]["outcome"] == "WARNED"
    assert batch["between:amount"]["success"] and batch["between:amount"]["rows"] == 1
    assert batch["not_null:id"]["outcome"] == "PASSED"
    source.close()


def test_bad_mapping_wrong_password_and_missing_replica_identity(
    stack: StackRun, tmp_path: Path
) -> None:
    source = _source(stack)
    source.execute("DROP SCHEMA IF EXISTS bare CASCADE")
    source.execute("CREATE SCHEMA bare")
    source.execute("CREATE TABLE bare.events (at timestamptz, what text)")  # no key
    bad_rule = {"rules": [selection("bare", action="copy", rule_id="11")]}
    good_rule = {"rules": [{**bad_rule["rules"][0], "rule-action": "include"}]}
    env = _project(
        stack,
        tmp_path,
        {
            "bad_mapping": {"connection": "shop", "table_mappings": json.dumps(bad_rule)},
            "no_key": {"connection": "shop", "table_mappings": json.dumps(good_rule)},
        },
    )
    result = run_cli(["replicate", "start", "bad_mapping"], env)
    assert result.returncode == 1
    assert "rule 11: rule-action: 'copy' is not one of include, exclude, explicit" in _text(result)

    result = run_cli(["replicate", "start", "no_key"], env)
    assert result.returncode != 0
    assert "bare.events has no primary key and no REPLICA IDENTITY" in _text(result)
    assert "REPLICA IDENTITY FULL" in _text(result)

    secret = "not-the-password-4711"
    wrong = {**env, SOURCE_PASSWORD_ENV: secret}
    result = run_cli(["replicate", "start", "no_key"], wrong)
    assert result.returncode != 0
    assert "refused user headwater: password authentication failed" in _text(result)
    log = Path(run_cli_json(["job", "runs", "replicate-no_key"], env)[0]["log_path"]).read_text()
    assert secret not in result.stdout + result.stderr + log
    source.close()


MARIADB_SQL = """
USE shop;
CREATE TABLE IF NOT EXISTS shop.products (id INT PRIMARY KEY, name VARCHAR(40),
    price DECIMAL(10,2), active TINYINT(1), weight DOUBLE, added DATETIME, photo BLOB,
    made YEAR, note TEXT);
DELETE FROM shop.products;
INSERT INTO shop.products SELECT seq, CONCAT('p', seq), seq * 1.5, seq % 2, seq / 3,
    '2026-01-01 00:00:00' + INTERVAL seq MINUTE, IF(seq % 4 = 0, UNHEX(MD5(seq)), NULL),
    2000 + seq % 20, IF(seq % 3 = 0, NULL, 'n') FROM seq_1_to_5000;
CREATE TABLE IF NOT EXISTS shop.stock (sku VARCHAR(20), warehouse INT, qty BIGINT UNSIGNED,
    PRIMARY KEY (sku, warehouse));
DELETE FROM shop.stock;
INSERT INTO shop.stock SELECT CONCAT('s', seq % 100), seq, seq * 3 FROM seq_1_to_800;
"""


def test_mariadb_full_load_with_mappings_validates_and_finds_drift(
    stack: StackRun, tmp_path: Path
) -> None:
    launcher.up(stack.settings, ["mariadb"])
    stack.mariadb(MARIADB_SQL)
    port, user = stack.settings.stack.mariadb_port, stack.settings.stack.postgres_user
    rules = {
        "rules": [
            selection("shop"),
            {
                "rule-type": "transformation",
                "rule-id": "2",
                "rule-target": "table",
                "object-locator": {"schema-name": "shop", "table-name": "%"},
                "rule-action": "add-prefix",
                "value": "m_",
            },
        ]
    }
    project = tmp_path / "headwater.yaml"

    def define(action: str, quality_rules: list[Any]) -> None:
        task = {
            "connection": "maria",
            "migration_type": "full-load",
            "table_mappings": json.dumps(rules),
            "target_database": "maria_raw",
            "quality": {"shop.products": {"action": action, "rules": quality_rules}},
        }
        project.write_text(
            connections_yaml(stack.settings)
            + f"  maria:\n    url: jdbc:mysql://127.0.0.1:{port}/shop\n    user: {user}\n"
            + f"    password_env: {SOURCE_PASSWORD_ENV}\n"
            + yaml.safe_dump({"replication_tasks": {"maria_load": task}})
        )

    # a warn suite: one rule fails (every third note is NULL), the load goes on
    define(
        "warn",
        [
            {"not_null": ["id", "note"]},
            {"unique": "id"},
            {"between": {"column": "price", "min": 1.5, "max": 7500}},
        ],
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    out = _ok(run_cli(["replicate", "start", "maria_load"], env))
    assert "shop.products -> maria_raw.m_products: 5000 row(s) loaded" in out
    assert out.count("Validated") == 2, out
    checked = run_cli_json(["quality", "results", "--job", "replicate-maria_load"], env)
    assert {(r["rule"], r["success"], r["unexpected"]) for r in checked} == {
        ("not_null:id", True, 0),
        ("not_null:note", False, 1666),
        ("unique:id", True, 0),
        ("between:price", True, 0),
    }
    assert {(r["target"], r["outcome"]) for r in checked} == {("maria_raw.m_products", "WARNED")}
    row = _query(
        stack,
        "SELECT name, cast(price AS string), active, made, note FROM maria_raw.m_products "
        "WHERE id IN (6, 7) ORDER BY id",
    )
    assert row == [("p6", "9.00", False, "2006", None), ("p7", "10.50", True, "2007", "n")]

    stack.mariadb(
        "UPDATE shop.products SET weight = weight + 0.001 WHERE id = 77;"
        "DELETE FROM shop.stock WHERE warehouse = 5;",
    )
    result = run_cli(["replicate", "validate", "maria_load"], env)
    assert result.returncode == 1
    status = run_cli_json(["replicate", "status", "maria_load"], env)[0]
    details = {t["source"]: t["validation_detail"] for t in status["tables"]}
    assert details["shop.products"].endswith("differing ranges: id 1..313; different: 77")
    assert "not in the source: s5|5" in details["shop.stock"]

    out = _ok(run_cli(["replicate", "reload", "maria_load"], env))
    assert out.count("Validated") == 2, out

    # the same rule under fail: the reload stops before writing, the table keeps its rows
    history = run_cli_json(["catalog", "history", "maria_raw.m_products"], env)
    define("fail", [{"not_null": "note"}])
    stopped = run_cli(["replicate", "reload", "maria_load"], env)
    said = " ".join((stopped.stdout + stopped.stderr).split())
    assert stopped.returncode != 0 and "not_null:note (1666 of 5000 rows)" in said, said[-2000:]
    assert run_cli_json(["catalog", "history", "maria_raw.m_products"], env) == history
    assert _query(stack, "SELECT count(*) FROM maria_raw.m_products") == [(5000,)]


def test_continuous_batches_follow_the_source_until_stopped(
    stack: StackRun, tmp_path: Path
) -> None:
    """A continuous task driven as DMS's API drives one (boto3 against headwater
    serve): started, following three waves, one table reloaded while it runs, stopped."""
    source = _source(stack)
    source.execute("DROP SCHEMA IF EXISTS ticking CASCADE")
    source.execute("CREATE SCHEMA ticking")
    source.execute("CREATE TABLE ticking.ticks (id int PRIMARY KEY, v int)")
    source.execute("INSERT INTO ticking.ticks SELECT g, g FROM generate_series(1, 10) g")
    rules = {"rules": [selection("ticking")]}
    env = _project(
        stack,
        tmp_path,
        {
            "ticking": {
                "connection": "shop",
                "table_mappings": json.dumps(rules),
                "continuous_interval_seconds": 1,
            }
        },
    )
    arn = "arn:aws:dms:us-east-1:000000000000:task:ticking"
    with api_server(env, tmp_path / "serve.log") as endpoint:
        dms = aws_client("dms", endpoint)

        def task() -> dict[str, Any]:
            found = dms.describe_replication_tasks(
                Filters=[{"Name": "replication-task-arn", "Values": [arn]}]
            )["ReplicationTasks"]
            return dict(found[0])

        def table() -> dict[str, Any]:
            stats = dms.describe_table_statistics(ReplicationTaskArn=arn)["TableStatistics"]
            return dict(stats[0]) if stats else {}

        assert task()["Status"] == "ready"
        started = dms.start_replication_task(
            ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
        )["ReplicationTask"]
        assert started["Status"] == "starting" and started["MigrationType"] == "full-load-and-cdc"
        deadline = time.monotonic() + 300
        while (seen := table()).get("TableState") != "Table completed":  # loaded: CDC from here
            assert time.monotonic() < deadline, f"not loaded: {seen} {task()}"
            time.sleep(1)
        for wave in range(3):  # three waves of changes, each picked up by a later batch
            source.execute(
                f"INSERT INTO ticking.ticks SELECT g, g FROM generate_series({100 * wave + 11}, "
                f"{100 * wave + 60}) g"
            )
            source.execute(f"UPDATE ticking.ticks SET v = v + 1 WHERE id <= {wave + 1}")
            while (seen := table()).get("Inserts", 0) < 50 * (wave + 1):
                assert task()["Status"] in ("starting", "running"), task()
                assert time.monotonic() < deadline, f"not applied: {seen}"
                time.sleep(1)
        assert (seen["SchemaName"], seen["TableName"], seen["FullLoadRows"]) == (
            "ticking",
            "ticks",
            10,
        )
        with pytest.raises(ClientError) as again:  # it is running: start is refused
            dms.start_replication_task(
                ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing"
            )
        assert again.value.response["Error"]["Code"] == "InvalidResourceStateFault"
        # one table loaded again while the run goes on (DMS's ReloadTables)
        dms.reload_tables(
            ReplicationTaskArn=arn, TablesToReload=[{"SchemaName": "ticking", "TableName": "ticks"}]
        )
        while ((seen := table())["TableState"], seen["FullLoadRows"]) != ("Table completed", 160):
            assert task()["Status"] == "running", task()
            assert time.monotonic() < deadline + 120, f"not reloaded: {seen}"
            time.sleep(1)
        assert dms.stop_replication_task(ReplicationTaskArn=arn)["ReplicationTask"]["Status"] in (
            "stopping",
            "stopped",
        )
        while (now := task())["Status"] != "stopped":
            assert now["Status"] == "stopping", now
            assert time.monotonic() < deadline + 240, f"not stopped: {now}"
            time.sleep(1)
        assert now["StopReason"] == "Stop Reason STOPPED_BY_USER"
        assert now["ReplicationTaskStats"]["TablesLoaded"] == 1
    last = run_cli_json(["job", "runs", "replicate-ticking"], env)[0]
    assert last["state"] == "STOPPED" and last["arguments"]["continuous"] == "true"
    out = _ok(run_cli(["replicate", "validate", "ticking"], env))
    assert "ticking.ticks: Validated (rows: source 160, lake 160)" in out
    source.close()


def test_mariadb_key_timestamp_increments_through_an_ingest_job(
    stack: StackRun, tmp_path: Path
) -> None:
    """The documented incremental route for MySQL/MariaDB (no binlog CDC): an ingest
    job bookmarked on updated_at, merged on the key."""
    launcher.up(stack.settings, ["mariadb"])
    stack.mariadb(
        "USE shop; DROP TABLE IF EXISTS accounts;"
        "CREATE TABLE accounts (id INT PRIMARY KEY, tier VARCHAR(10), updated_at DATETIME(3));"
        "INSERT INTO accounts SELECT seq, 'basic', '2026-01-01' + INTERVAL seq MINUTE "
        "FROM seq_1_to_50;",
    )
    port, user = stack.settings.stack.mariadb_port, stack.settings.stack.postgres_user
    job = {
        "arguments": {
            "connection": "maria",
            "source": "shop.accounts",
            "bookmark_keys": ["updated_at"],
            "target": "raw.accounts_maria",
            "write_mode": "merge",
            "merge_keys": ["id"],
        }
    }
    project = tmp_path / "headwater.yaml"
    project.write_text(
        connections_yaml(stack.settings)
        + f"  maria:\n    url: jdbc:mysql://127.0.0.1:{port}/shop\n    user: {user}\n"
        + f"    password_env: {SOURCE_PASSWORD_ENV}\n"
        + yaml.safe_dump({"jobs": {"accounts_maria": job}})
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    first = run_cli(["job", "run", "accounts_maria"], env)
    assert first.returncode == 0, first.stderr[-3000:]
    stack.mariadb(
        "USE shop; UPDATE accounts SET tier = 'gold', updated_at = '2026-02-01' "
        "WHERE id IN (3, 7); INSERT INTO accounts VALUES (51, 'basic', '2026-02-02');",
    )
    second = run_cli(["job", "run", "accounts_maria"], env)
    assert second.returncode == 0, second.stderr[-3000:]
    lake = sorted(_query(stack, "SELECT id, tier FROM raw.accounts_maria"))
    assert lake == [(i, "gold" if i in (3, 7) else "basic") for i in range(1, 52)]
    runs = run_cli_json(["job", "runs", "accounts_maria", "--json"], env)
    assert [(r["rows_read"], r["rows_written"]) for r in runs] == [(3, 3), (50, 50)]


# Every step boundary of a CDC batch, in the order a batch passes them. Each resume
# replays the pending batch one step further and is SIGKILLed there (issue 16).
BATCH_STEPS = [
    "replicate: record batch",
    "replicate: write changes of crashrepl.items",
    "replicate: merge into crashrepl.items",
    "replicate: register crashrepl.items",
    "replicate: count changes of crashrepl.items",
    "replicate: commit batch",
]


def test_a_cdc_batch_killed_after_every_step_heals_and_counts_each_change_once(
    stack: StackRun, tmp_path: Path
) -> None:
    from engine.faults import FAULT_AFTER

    source = _source(stack)
    source.execute(
        "DROP SCHEMA IF EXISTS crashrepl CASCADE; CREATE SCHEMA crashrepl;"
        "CREATE TABLE crashrepl.items (id int PRIMARY KEY, qty int);"
        "CREATE TABLE crashrepl.notes (id int PRIMARY KEY, body text);"
        "INSERT INTO crashrepl.items SELECT g, g FROM generate_series(1, 100) g;"
    )
    (tmp_path / "crash.json").write_text(json.dumps({"rules": [selection("crashrepl")]}))
    project = tmp_path / "headwater.yaml"
    task = {"connection": "shop", "table_mappings": "crash.json"}
    project.write_text(
        connections_yaml(stack.settings) + yaml.safe_dump({"replication_tasks": {"crash": task}})
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    _ok(run_cli(["replicate", "start", "crash"], env))

    source.execute("INSERT INTO crashrepl.items SELECT g, g FROM generate_series(101, 150) g")
    source.execute("UPDATE crashrepl.items SET qty = -qty WHERE id <= 10")
    source.execute("DELETE FROM crashrepl.items WHERE id BETWEEN 11 AND 15")
    source.execute("INSERT INTO crashrepl.notes VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    for step in BATCH_STEPS:
        killed = run_cli(["replicate", "resume", "crash"], {**env, FAULT_AFTER: step})
        assert killed.returncode != 0, step
        # the full-loaded table stays registered whatever instant the driver died
        assert ("crash", "items", False) in _query(stack, "SHOW TABLES IN crash"), step
    # the next batch's run dies once its slot moved, before its run was recorded
    source.execute("INSERT INTO crashrepl.items SELECT g, 0 FROM generate_series(151, 155) g")
    killed = run_cli(
        ["replicate", "resume", "crash"], {**env, FAULT_AFTER: "replicate: advance slot"}
    )
    assert killed.returncode != 0
    _ok(run_cli(["replicate", "resume", "crash"], env))

    out = _ok(run_cli(["replicate", "validate", "crash"], env))
    assert out.count("Validated") == 2, out
    status = run_cli_json(["replicate", "status", "crash"], env)[0]
    tables = {t["source"]: t for t in status["tables"]}
    items, notes = tables["crashrepl.items"], tables["crashrepl.notes"]
    assert (items["inserts"], items["updates"], items["deletes"]) == (55, 10, 5)
    assert (notes["inserts"], notes["updates"], notes["deletes"]) == (3, 0, 0)
    assert status["pending_batch"] is False
    assert _query(stack, "SELECT count(*), count(DISTINCT _lsn) FROM crash.items__ct") == [(70, 70)]
    assert _query(stack, "SELECT count(*), sum(qty) FROM crash.items") == [
        (150, sum(range(16, 151)) - sum(range(1, 11)))
    ]
    runs = run_cli_json(["job", "runs", "replicate-crash"], env)
    assert [r["state"] for r in runs].count("FAILED") == len(BATCH_STEPS) + 1
    source.close()


def test_snapshot_reads_from_many_threads_take_turns_on_the_connection(
    stack: StackRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full load's threads read bounds in the exported snapshot on one connection;
    without taking turns one's transaction opened inside another's and aborted both
    ('current transaction is aborted'), failing multi-table full loads at random."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.connections import load_connections
    from engine.replicate.postgres import PostgresSource

    _source(stack).close()  # the source database exists
    project = tmp_path / "headwater.yaml"
    project.write_text(connections_yaml(stack.settings))
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(project))
    monkeypatch.setenv(SOURCE_PASSWORD_ENV, stack.env[SOURCE_PASSWORD_ENV])
    source = PostgresSource(load_connections()["shop"])
    try:
        with (
            source.temporary_snapshot("hw_turns_probe") as (_, snapshot),
            ThreadPoolExecutor(8) as pool,
        ):
            counts = list(
                pool.map(
                    lambda n: source.in_snapshot(snapshot, f"SELECT {n} + count(*) FROM pg_class"),
                    range(200),
                )
            )
    finally:
        source.close()
    assert len({row[0][0] - n for n, row in enumerate(counts)}) == 1  # one snapshot, 200 reads


def test_a_job_and_a_replication_batch_on_one_table_take_turns(
    stack: StackRun, tmp_path: Path
) -> None:
    """A python job holds its lock on the replication's current-state table (paused
    right after its commit) while a CDC batch starts: the batch waits for it, then
    merges; both commits land, in that order, and no row of either is lost."""
    from engine import storage
    from engine.faults import FAULT_AFTER, FAULT_MODE

    source = _source(stack)
    source.execute(
        "DROP SCHEMA IF EXISTS turnsrepl CASCADE; CREATE SCHEMA turnsrepl;"
        "CREATE TABLE turnsrepl.items (id bigint PRIMARY KEY, name text);"
        "INSERT INTO turnsrepl.items SELECT g, 'row ' || g FROM generate_series(1, 10) g;"
    )
    storage.ensure_buckets(stack.settings, ["turnsjob"])  # crawled by no other test
    storage.open_store(stack.settings, "turnsjob").put(
        "items/a.csv", b"id,name\n1001,from the job\n1002,from the job\n"
    )
    (tmp_path / "turns.json").write_text(json.dumps({"rules": [selection("turnsrepl")]}))
    job = {
        "type": "python",
        "script": "jobs/ingest_python.py",
        "arguments": {"source": "s3://turnsjob/items/", "format": "csv", "target": "turns.items"},
    }
    task = {"connection": "shop", "table_mappings": "turns.json"}
    project = tmp_path / "headwater.yaml"
    project.write_text(
        connections_yaml(stack.settings)
        + yaml.safe_dump({"replication_tasks": {"turns": task}, "jobs": {"turns_py": job}})
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    _ok(run_cli(["replicate", "start", "turns"], env))
    source.execute("UPDATE turnsrepl.items SET name = 'changed' WHERE id <= 3")
    source.execute("INSERT INTO turnsrepl.items VALUES (11, 'new')")

    held = {**env, FAULT_AFTER: "commit to turns.items", FAULT_MODE: f"pause:{tmp_path}"}
    pipe = subprocess.PIPE
    python_job = subprocess.Popen(
        [*HEADWATER, "job", "run", "turns_py"], env=held, stdout=pipe, stderr=pipe, text=True
    )
    until((tmp_path / "paused").exists, "the python job to hold its commit")
    batch = subprocess.Popen(
        [*HEADWATER, "replicate", "resume", "turns"], env=env, stdout=pipe, stderr=pipe, text=True
    )

    def batch_waits() -> bool:
        runs = run_cli_json(["job", "runs", "replicate-turns"], env)
        log = str(runs[0].get("log_path") or "") if runs[0]["state"] == "RUNNING" else ""
        return bool(log) and Path(log).exists() and "waiting for run" in Path(log).read_text()

    until(batch_waits, "the CDC batch to wait for the python job's lock", poll=1.0)
    (tmp_path / "resume").touch()
    outputs = {
        "python job": python_job.communicate(timeout=300),
        "batch": batch.communicate(timeout=600),
    }
    assert python_job.returncode == 0, outputs["python job"][1][-3000:]
    assert batch.returncode == 0, outputs["batch"][1][-3000:]

    history = _query(stack, "DESCRIBE HISTORY turns.items")
    operations = [(row[0], row[4]) for row in sorted(history)]  # (version, operation)
    assert [op for _, op in operations][-2:] == ["WRITE", "MERGE"], operations
    assert _query(stack, "SELECT id, name FROM turns.items ORDER BY id") == [
        *[(i, "changed") for i in range(1, 4)],
        *[(i, f"row {i}") for i in range(4, 11)],
        (11, "new"),
        (1001, "from the job"),
        (1002, "from the job"),
    ]
    source.close()


def test_a_backlog_drains_in_bounded_batches_and_a_large_transaction_lands_whole(
    stack: StackRun, tmp_path: Path
) -> None:
    """Batches of about 50 messages; past 100 changes held in the driver a batch's
    changes go to Parquet files in MinIO (the large transaction's do), then are gone."""
    source = _source(stack)
    source.execute("DROP SCHEMA IF EXISTS bounded CASCADE")
    source.execute("CREATE SCHEMA bounded")
    source.execute("CREATE TABLE bounded.items (id int PRIMARY KEY, v int)")
    source.execute("INSERT INTO bounded.items SELECT g, g FROM generate_series(1, 10) g")
    rules = {"rules": [selection("bounded")]}
    task = {
        "connection": "shop",
        "table_mappings": json.dumps(rules),
        "batch_max_changes": 50,
        "batch_memory_changes": 100,
    }
    env = _project(stack, tmp_path, {"bounded": task})
    _ok(run_cli(["replicate", "start", "bounded"], env))
    for wave in range(5):  # a backlog of small transactions: 22 messages each
        first = 100 + 20 * wave
        source.execute(
            f"INSERT INTO bounded.items SELECT g, g FROM generate_series({first}, {first + 19}) g"
        )
    with source.transaction():  # one transaction of 600 changes: six times the bound
        source.execute("INSERT INTO bounded.items SELECT g, g FROM generate_series(1000, 1299) g")
        source.execute("UPDATE bounded.items SET v = -v WHERE id >= 1000")
    out = _ok(run_cli(["replicate", "resume", "bounded"], env))  # one run drains it all
    assert out.count("reached its bounds; reading on") >= 2, out
    spilled = re.findall(r"(\d+) file\(s\) of changes spilled to (s3a://\S+)", out)
    assert spilled and spilled[0][1].endswith("/_headwater/replicate/bounded/spill"), out
    bucket, _, prefix = spilled[0][1].removeprefix("s3a://").partition("/")
    minio = s3_client(stack.settings).list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert minio["KeyCount"] == 0, minio  # scratch, removed once the batch committed
    batches = [
        int(changes)
        for (changes,) in _state_rows(
            stack,
            "SELECT changes FROM replication_batches WHERE task = 'bounded' AND seq > 0 "
            "ORDER BY seq",
        )
    ]
    # bounded batches (the first ends after the transaction that reached 50 messages);
    # the large transaction lies whole in one of them, applied in one commit
    assert sum(batches) == 700 and len(batches) >= 2 and max(batches) >= 600, batches
    validated = _ok(run_cli(["replicate", "validate", "bounded"], env))
    assert "bounded.items: Validated (rows: source 410, lake 410)" in validated
    assert _query(stack, "SELECT count(*), count(DISTINCT _lsn) FROM bounded.items__ct") == [
        (700, 700)
    ]
    source.close()


def _state_rows(stack: StackRun, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(**stack.postgres_params(), dbname=STATE_DATABASE) as db:
        return db.execute(sql).fetchall()


def test_cdc_from_an_existing_slot_to_a_stop_position_with_a_table_suspended(
    stack: StackRun, tmp_path: Path
) -> None:
    """DMS's CdcStartPosition / CdcStopPosition and TableErrorPolicy SUSPEND_TABLE: a
    cdc task streams from a slot made before it (changes made before ``start`` land),
    up to its stop position (later ones do not; a continuous run ends by itself); a
    change failing its table's quality suite suspends that table, the other streams
    on; ``reload --table`` resumes it. A timestamp ``infinity`` (no Spark value holds
    it) is skipped and counted under data_error_policy skip-record."""
    source = _source(stack)
    source.execute("DROP SCHEMA IF EXISTS positions CASCADE")
    source.execute("CREATE SCHEMA positions")
    for table in ("a", "b"):
        source.execute(f"CREATE TABLE positions.{table} (id int PRIMARY KEY, note text)")
    source.execute("CREATE TABLE positions.c (id int PRIMARY KEY, at timestamp)")
    with contextlib.suppress(psycopg.Error):
        source.execute("SELECT pg_drop_replication_slot('positions_slot')")
    source.execute("DROP PUBLICATION IF EXISTS positions_slot")
    # the publication first: pgoutput reads it as of each change it decodes
    source.execute(
        "CREATE PUBLICATION positions_slot FOR TABLE positions.a, positions.b, positions.c"
    )
    source.execute("SELECT pg_create_logical_replication_slot('positions_slot', 'pgoutput')")
    source.execute("INSERT INTO positions.a VALUES (10, 'before start')")
    source.execute("INSERT INTO positions.b VALUES (10, NULL)")  # fails b's suite
    source.execute("INSERT INTO positions.c VALUES (1, 'infinity'), (2, '2026-12-01 10:00')")
    ((stop,),) = source.execute("SELECT pg_current_wal_lsn()::text").fetchall()
    source.execute("INSERT INTO positions.a VALUES (11, 'after the stop position')")
    task = {
        "connection": "shop",
        "migration_type": "cdc",
        "table_mappings": json.dumps({"rules": [selection("positions")]}),
        "slot_name": "positions_slot",
        "cdc_start_position": "slot",
        "cdc_stop_position": stop,
        "table_error_policy": "SUSPEND_TABLE",
        "data_error_policy": "skip-record",
        "quality": {"positions.b": {"action": "fail", "rules": [{"not_null": "note"}]}},
    }
    env = _project(stack, tmp_path, {"positions": task})
    out = _ok(run_cli(["replicate", "start", "positions"], env))
    assert "existing slot positions_slot from" in out, out
    assert "positions.b suspended at batch 1" in out, out
    assert _query(stack, "SELECT id, note FROM positions.a") == [(10, "before start")]
    status = run_cli_json(["replicate", "status", "positions"], env)[0]
    assert status["suspended_tables"] == ["positions.b"], status
    (b,) = [t for t in status["tables"] if t["source"] == "positions.b"]
    assert b["state"] == "Table suspended" and "note" in b["error"], b
    (c,) = [t for t in status["tables"] if t["source"] == "positions.c"]
    assert (c["inserts"], c["skipped"]) == (2, 1), c
    assert "positions.c: 1 change(s) in batch 1 hold values" in out and "(at)" in out, out
    assert _query(stack, "SELECT id FROM positions.c") == [(2,)]
    # a continuous run ends by itself at the stop position; 11 came after it
    out = _ok(run_cli(["replicate", "resume", "positions", "--continuous"], env))
    assert f"reached its cdc_stop_position {stop}" in out, out
    assert _query(stack, "SELECT id FROM positions.a") == [(10,)]
    assert run_cli_json(["replicate", "status", "positions"], env)[0]["health"] == "stopped"
    # reloaded, the table takes changes again (a cdc task has no full load to redo)
    out = _ok(run_cli(["replicate", "reload", "positions", "--table", "positions.b"], env))
    assert "positions.b resumed" in out, out
    assert run_cli_json(["replicate", "status", "positions"], env)[0]["suspended_tables"] == []
    source.execute("SELECT pg_drop_replication_slot('positions_slot')")
    source.close()
