"""MySQL-family change data capture on the stack's MariaDB (binlog, ROW format): the
DMS sample scenario of the PostgreSQL tests rerun — a full load while the source
is written, CDC over several batches (inserts, updates, deletes, a key change, a
rolled-back transaction, DDL, a TRUNCATE), a SIGKILL in the middle of a batch,
validation at the end — and the server settings CDC needs, refused with the fix."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from engine.stack import launcher
from engine.stack.postgres import STATE_DATABASE
from tests.helpers import HEADWATER, run_cli, run_cli_json, selection
from tests.kill_scenario import kill_mid_write
from tests.stack.test_replication import _ok, _pending_batch_driver, _project, _text
from tests.stack_fixture import MARIA, SOURCE_PASSWORD_ENV, StackRun

pytestmark = pytest.mark.stack

SCHEMA_SQL = [
    "DROP DATABASE IF EXISTS repl",
    "CREATE DATABASE repl",
    "CREATE TABLE repl.customers (id int PRIMARY KEY, name varchar(100), email varchar(100), "
    "created_at timestamp NULL, photo varbinary(32))",
    "CREATE TABLE repl.orders (id bigint PRIMARY KEY, customer_id int, status varchar(10), "
    "amount decimal(12,2), ordered_at datetime(3), tags varchar(40))",
    "CREATE TABLE repl.order_items (order_id bigint, line int, sku varchar(20), qty int, "
    "price double, PRIMARY KEY (order_id, line))",
    "CREATE TABLE repl.audit_log (id int AUTO_INCREMENT PRIMARY KEY, note varchar(20))",
    "INSERT INTO repl.customers SELECT seq, concat('customer ', seq), "
    "concat('c', seq, '@example.com'), timestamp '2026-01-01 00:00:00' + interval seq * 37 second, "
    "IF(seq % 5 = 0, unhex(md5(seq)), NULL) FROM seq_1_to_2000",
    "INSERT INTO repl.orders SELECT seq, 1 + seq % 2000, IF(seq % 500 = 0, 'test', 'paid'), "
    "(seq % 997) * 1.25, timestamp '2026-02-01 00:00:00' + interval seq minute, concat('a,b', seq) "
    "FROM seq_1_to_40000",
    "INSERT INTO repl.order_items SELECT o.seq, l.seq, concat('sku-', (o.seq * 7 + l.seq) % 1000), "
    "1 + (o.seq + l.seq) % 9, ((o.seq + l.seq) % 300) / 7.0 FROM seq_1_to_40000 o, seq_1_to_6 l",
    "INSERT INTO repl.audit_log (note) SELECT concat('n', seq) FROM seq_1_to_10",
]
DURING_LOAD = [  # written while the full load reads: the CDC from before it reconciles
    "INSERT INTO repl.orders SELECT seq, 9, 'paid', 1.5, now(), NULL FROM seq_60001_to_60100",
    "UPDATE repl.orders SET status = 'late' WHERE id BETWEEN 1 AND 50",
    "DELETE FROM repl.order_items WHERE order_id BETWEEN 39001 AND 39010",
]
FIRST_CHANGES = [
    "INSERT INTO repl.orders SELECT seq, 7, 'paid', 250.5, now(), NULL FROM seq_40001_to_40500",
    "INSERT INTO repl.order_items SELECT seq, 1, 'new', 2, 9.5 FROM seq_40001_to_40500",
    "UPDATE repl.orders SET amount = amount + 1 WHERE id % 67 = 0 AND status = 'paid'",
    "DELETE FROM repl.order_items WHERE order_id % 199 = 0",
    "UPDATE repl.customers SET id = id + 100000 WHERE id IN (3, 4)",  # a key change
    "UPDATE repl.customers SET name = NULL, photo = x'00ff' WHERE id = 10",
]
BIG_CHANGES = [
    "UPDATE repl.order_items SET qty = qty + 1 WHERE line < 3",  # 80,000 changes
    "INSERT INTO repl.customers SELECT seq, concat('late ', seq), NULL, now(), NULL "
    "FROM seq_5001_to_6000",
    "DELETE FROM repl.orders WHERE id BETWEEN 100 AND 149",
]


def _connect(stack: StackRun, **extra: Any) -> Any:
    settings = stack.settings.stack
    return pymysql.connect(
        host="127.0.0.1",
        port=settings.mariadb_port,
        user=settings.postgres_user,
        password=settings.postgres_password.get_secret_value(),
        database="shop",  # a current database: MariaDB's seq_1_to_N tables need one
        autocommit=True,
        **extra,
    )


def _run(source: Any, *statements: str) -> list[int]:
    """Run the statements; the rows each touched."""
    with source.cursor() as cursor:
        return [cursor.execute(statement) for statement in statements]


def test_mariadb_full_load_and_binlog_cdc_survive_a_kill_and_validate(
    stack: StackRun, tmp_path: Path
) -> None:
    launcher.up(stack.settings, ["mariadb"])
    source = _connect(stack)
    _run(source, *SCHEMA_SQL)
    env = _project(
        stack,
        tmp_path,
        {
            "maria_repl": {
                "connection": MARIA,
                "table_mappings": "shop.json",
                "max_full_load_subtasks": 2,
                "partitions_per_table": 3,
                "batch_max_changes": 50_000,
            }
        },
    )

    # The full load, with the source written meanwhile (on another connection).
    writer = _connect(stack)
    during = threading.Thread(target=_run, args=(writer, *DURING_LOAD))
    runner = threading.Thread(
        target=lambda: results.append(run_cli(["replicate", "start", "maria_repl"], env))
    )
    results: list[Any] = []
    runner.start()
    during.start()
    during.join()
    runner.join()
    writer.close()
    out = _ok(results[0])
    assert "repl.order_items -> maria_repl.lines:" in out and "row(s) loaded" in out
    assert "CDC from mariadb-bin." in out
    status = run_cli_json(["replicate", "status", MARIA + "_repl"], env)[0]
    assert {t["source"] for t in status["tables"]} == {
        "repl.customers",
        "repl.orders",
        "repl.order_items",
    }

    # Batch 1: inserts, updates, deletes, a key change, a rolled-back transaction.
    counts = _run(source, *FIRST_CHANGES)
    _run(source, "BEGIN", "INSERT INTO repl.customers VALUES (90000, 'ghost', NULL, now(), NULL)")
    _run(source, "ROLLBACK")
    out = _ok(run_cli(["replicate", "resume", "maria_repl"], env))
    assert "applied" in out

    # Batch 2 is killed with SIGKILL while it writes; the resume replays it.
    counts += _run(source, *BIG_CHANGES)
    command = [*HEADWATER, "replicate", "resume", "maria_repl"]
    assert kill_mid_write(command, env, _pending_batch_driver(stack)) != 0
    # Source DDL after the crash: a column added (and filled), one dropped; a TRUNCATE.
    _run(
        source,
        "ALTER TABLE repl.customers ADD COLUMN tier varchar(10)",
        "UPDATE repl.customers SET tier = 'gold' WHERE id <= 10",
        "ALTER TABLE repl.orders DROP COLUMN tags",
        "INSERT INTO repl.orders VALUES (50000, 1, 'paid', 5, now())",
        "TRUNCATE repl.audit_log",  # not replicated: excluded
    )
    # A table created on the source since, which the mappings select: loaded, then followed.
    _run(
        source,
        "CREATE TABLE repl.refunds (id int PRIMARY KEY, amount decimal(8,2))",
        "INSERT INTO repl.refunds SELECT seq, seq / 10.0 FROM seq_1_to_100",
    )
    out = _ok(run_cli(["replicate", "resume", "maria_repl"], env))
    assert "new table(s) repl.refunds" in out
    _run(
        source,
        "INSERT INTO repl.refunds VALUES (101, 1.5)",
        "DELETE FROM repl.refunds WHERE id = 1",
        "INSERT INTO repl.refunds VALUES (102, 2.5)",
        "TRUNCATE TABLE repl.refunds",
        "INSERT INTO repl.refunds VALUES (7, 0.7)",
    )

    out = _ok(run_cli(["replicate", "validate", "maria_repl"], env))
    assert out.count("Validated") == 4, out
    assert "repl.refunds: Validated (rows: source 1, lake 1)" in out
    status = run_cli_json(["replicate", "status", "maria_repl"], env)[0]
    tables = {t["source"]: t for t in status["tables"]}
    items = tables["repl.order_items"]
    assert (
        (items["inserts"], items["updates"], items["deletes"])
        == (
            counts[1],
            counts[6],
            counts[3],
        )
        != (0, 0, 0)
    )
    assert tables["repl.customers"]["inserts"] == 1000
    assert "tier" in tables["repl.customers"]["ddls"]
    assert "tags" in tables["repl.orders"]["ddls"]
    assert tables["repl.refunds"]["truncates"] == 1
    assert status["pending_batch"] is False and status["lag_bytes"] == 0
    assert status["source_position"] == status["last_batch_position"]

    # The change table holds each change once, however often the killed batch ran.
    lake = stack.query("SELECT count(*), count(DISTINCT _lsn) FROM maria_repl.lines__ct")[0]
    assert lake == (counts[1] + counts[6] + counts[3],) * 2
    ops = dict(stack.query("SELECT Op, count(*) FROM maria_repl.customers__ct GROUP BY Op"))
    assert ops == {"I": 1000, "U": 2 + 1 + 8}  # no ghost from the rolled-back transaction
    assert stack.query("SELECT tier, name, hex(photo) FROM maria_repl.customers WHERE id = 10") == [
        ("gold", None, "00FF")
    ]
    assert stack.query("SELECT count(*) FROM maria_repl.customers WHERE id IN (3, 4)") == [(0,)]
    source.close()


def test_binlog_settings_and_privileges_are_refused_with_the_fix(
    stack: StackRun, tmp_path: Path
) -> None:
    launcher.up(stack.settings, ["mariadb"])
    source = _connect(stack)
    _run(
        source,
        "DROP DATABASE IF EXISTS fixes",
        "CREATE DATABASE fixes",
        "CREATE TABLE fixes.keyed (id int PRIMARY KEY, v int)",
        "CREATE TABLE fixes.unkeyed (v int)",
    )
    rules = {"rules": [selection("fixes", "keyed")]}
    (tmp_path / "fixes.json").write_text(json.dumps(rules))
    env = _project(stack, tmp_path, {"fix": {"connection": MARIA, "table_mappings": "fixes.json"}})
    (tmp_path / "shop.json").unlink()
    try:
        _run(source, "SET GLOBAL binlog_row_image = 'MINIMAL'")
        refused = run_cli(["replicate", "start", "fix"], env)
        said = _text(refused)
        assert refused.returncode != 0
        assert "binlog_row_image is 'MINIMAL'" in said and "binlog_row_image = FULL" in said
    finally:
        _run(source, "SET GLOBAL binlog_row_image = 'FULL'")
    rules["rules"][0]["object-locator"]["table-name"] = "%"
    (tmp_path / "fixes.json").write_text(json.dumps(rules))
    refused = run_cli(["replicate", "start", "fix"], env)
    assert refused.returncode != 0 and "fixes.unkeyed has no primary key" in _text(refused)

    # a user that may read the tables but not the binlog
    rules["rules"][0]["object-locator"]["table-name"] = "keyed"
    (tmp_path / "fixes.json").write_text(json.dumps(rules))
    password = stack.settings.stack.postgres_password.get_secret_value()
    _run(
        source,
        "DROP USER IF EXISTS 'reader'@'127.0.0.1'",
        f"CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY '{password}'",
        "GRANT SELECT ON fixes.* TO 'reader'@'127.0.0.1'",
    )
    project = Path(env["HEADWATER_PROJECT_FILE"])
    text = project.read_text().replace(
        "replication_tasks:",
        f"  reader:\n    url: jdbc:mysql://127.0.0.1:{stack.settings.stack.mariadb_port}/fixes\n"
        f"    user: reader\n    password_env: {SOURCE_PASSWORD_ENV}\nreplication_tasks:",
    )
    project.write_text(text.replace(f"connection: {MARIA}", "connection: reader"))
    refused = run_cli(["replicate", "start", "fix"], env)
    said = _text(refused)
    assert refused.returncode != 0 and "user reader lacks a privilege" in said, said
    assert "GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'reader'" in said
    assert password not in said
    source.close()


def test_a_continuous_mariadb_task_follows_the_binlog_from_a_start_position(
    stack: StackRun, tmp_path: Path
) -> None:
    """migration_type cdc from a binlog position taken before the first rows, then a
    continuous run following the source until stopped; validation at the end."""
    launcher.up(stack.settings, ["mariadb"])
    source = _connect(stack)
    _run(
        source,
        "DROP DATABASE IF EXISTS ticking",
        "CREATE DATABASE ticking",
        "CREATE TABLE ticking.ticks (id int PRIMARY KEY, v int)",
    )
    with source.cursor() as cursor:
        cursor.execute("SHOW MASTER STATUS")
        file, offset = cursor.fetchone()[:2]
    _run(source, "INSERT INTO ticking.ticks SELECT seq, seq FROM seq_1_to_10")
    rules = {"rules": [selection("ticking")]}
    (tmp_path / "ticking.json").write_text(json.dumps(rules))
    task = {
        "connection": MARIA,
        "migration_type": "cdc",
        "cdc_start_position": f"{file}:{offset}",
        "table_mappings": "ticking.json",
        "continuous_interval_seconds": 1,
    }
    env = _project(stack, tmp_path, {"maria_ticking": task})
    log = tmp_path / "follower.log"
    with log.open("wb") as out:  # one process: the first batch, then batches until stopped
        follower = subprocess.Popen(
            [*HEADWATER, "replicate", "start", "maria_ticking", "--continuous"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 240
        while (seen := _counts(stack)) != (10, 0):  # the rows inserted before the start
            assert follower.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"applied so far: {seen}"
            time.sleep(1)
        for wave in range(3):  # each wave picked up by a later batch of the same run
            _run(
                source,
                f"INSERT INTO ticking.ticks SELECT seq, seq FROM seq_{100 * wave + 11}_to_"
                f"{100 * wave + 60}",
                f"UPDATE ticking.ticks SET v = v + 1 WHERE id <= {wave + 1}",
                f"DELETE FROM ticking.ticks WHERE id = {wave + 5}",
            )
            while (seen := _counts(stack)) != (10 + 50 * (wave + 1), wave + 1):
                assert follower.poll() is None, "the continuous run ended by itself"
                assert time.monotonic() < deadline, f"applied so far: {seen}"
                time.sleep(1)
        assert "stopped: jr_" in run_cli(["replicate", "stop", "maria_ticking"], env).stdout
        assert follower.wait(120) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
    started = log.read_text()
    assert f"CDC from {file}:{offset}" in started and "applied 10 change(s)" in started, started
    last = run_cli_json(["job", "runs", "replicate-maria_ticking"], env)[0]
    assert last["state"] == "STOPPED"
    out = _ok(run_cli(["replicate", "validate", "maria_ticking"], env))
    assert "ticking.ticks: Validated (rows: source 157, lake 157)" in out, out
    source.close()


def _counts(stack: StackRun) -> tuple[int, int]:
    """(inserts, deletes) the task maria_ticking has applied."""
    with psycopg.connect(**stack.postgres_params(), dbname=STATE_DATABASE) as db:
        row = db.execute(
            "SELECT inserts, deletes FROM replication_tables WHERE task = 'maria_ticking'"
        ).fetchall()
    return (int(row[0][0]), int(row[0][1])) if row else (0, 0)
