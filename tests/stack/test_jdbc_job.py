"""JDBC ingestion from PostgreSQL into Delta on MinIO, read back through the Thrift
Server: high-water-mark bookmarks, parallel range reads, merge on keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import yaml

from tests.helpers import run_cli, run_cli_json
from tests.stack_fixture import StackRun, connections_yaml


def _source(stack: StackRun) -> psycopg.Connection:
    source: psycopg.Connection = stack.source()
    source.execute("DROP SCHEMA IF EXISTS ingest CASCADE")
    source.execute("CREATE SCHEMA ingest")
    return source


def _query(stack: StackRun, sql: str) -> list[tuple[Any, ...]]:
    return stack.query(sql)


def test_jdbc_runs_pick_up_only_new_rows_and_merge_keeps_the_current_state(
    stack: StackRun, tmp_path: Path
) -> None:
    source = _source(stack)
    source.execute(
        "CREATE TABLE ingest.events (id bigint PRIMARY KEY, kind text, amount numeric(10,2))"
    )
    source.execute(
        "INSERT INTO ingest.events SELECT g, 'k' || (g % 7), g / 4.0 "
        "FROM generate_series(1, 1000) g"
    )
    source.execute(
        "CREATE TABLE ingest.accounts (id int PRIMARY KEY, tier text, updated_at timestamp)"
    )
    source.execute(
        "INSERT INTO ingest.accounts SELECT g, 'basic', "
        "timestamp '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 50) g"
    )
    jobs = {
        "events_jdbc": {
            "arguments": {
                "connection": "shop",
                "source": "ingest.events",  # the primary key is the bookmark key
                "target": "raw.events_jdbc",
                "num_partitions": 4,
            }
        },
        "accounts_jdbc": {
            "arguments": {
                "connection": "shop",
                "source": "ingest.accounts",
                "bookmark_keys": ["updated_at"],
                "target": "raw.accounts_jdbc",
                "write_mode": "merge",
                "merge_keys": ["id"],
            }
        },
    }
    project = tmp_path / "headwater.yaml"
    project.write_text(connections_yaml(stack.settings) + yaml.safe_dump({"jobs": jobs}))
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}

    first = run_cli(["job", "run", "events_jdbc"], env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert _query(stack, "SELECT count(*), count(DISTINCT id), sum(id) FROM raw.events_jdbc") == [
        (1000, 1000, 500500)
    ]
    source.execute(
        "INSERT INTO ingest.events SELECT g, 'new', 1.0 FROM generate_series(1001, 1500) g"
    )
    second = run_cli(["job", "run", "events_jdbc"], env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert _query(stack, "SELECT count(*), count(DISTINCT id), max(id) FROM raw.events_jdbc") == [
        (1500, 1500, 1500)
    ]
    runs = run_cli_json(["job", "runs", "events_jdbc", "--json"], env)
    assert [(r["state"], r["rows_written"]) for r in runs] == [
        ("SUCCEEDED", 500),
        ("SUCCEEDED", 1000),
    ]
    shown = run_cli(["job", "bookmark", "show", "events_jdbc"], env)
    assert "high-water mark [1500]" in shown.stdout

    assert run_cli(["job", "run", "accounts_jdbc"], env).returncode == 0
    source.execute(
        "UPDATE ingest.accounts SET tier = 'gold', updated_at = timestamp '2026-02-01' "
        "WHERE id IN (3, 7)"
    )
    source.execute("INSERT INTO ingest.accounts VALUES (51, 'basic', timestamp '2026-02-02')")
    merged = run_cli(["job", "run", "accounts_jdbc"], env)
    assert merged.returncode == 0, merged.stderr[-3000:]
    expected = sorted(source.execute("SELECT id, tier FROM ingest.accounts").fetchall())
    assert sorted(_query(stack, "SELECT id, tier FROM raw.accounts_jdbc")) == expected
    last = run_cli_json(["job", "runs", "accounts_jdbc", "--json", "-n", "1"], env)[0]
    assert (last["rows_read"], last["rows_written"]) == (3, 3)  # 2 updated + 1 inserted


def test_a_catalog_table_on_minio_is_ingested_and_queryable_right_after(
    stack: StackRun, tmp_path: Path
) -> None:
    from engine import storage

    store = storage.open_store(stack.settings, "landing")
    store.put(
        "clicks/dt=2026-03-01/a.json", b'{"user": 1, "page": "/"}\n{"user": 2, "page": "/a"}\n'
    )
    store.put("clicks/dt=2026-03-02/b.json", b'{"user": 3, "page": "/b"}\nnot json at all\n')
    crawled = run_cli_json(["crawl", "s3://landing/clicks/", "--database", "web"], stack.env)
    assert [r["table"] for r in crawled] == ["web.clicks"]
    job = run_cli(
        ["job", "run", "clicks", "--source", "web.clicks", "--target", "raw.clicks"], stack.env
    )
    assert job.returncode == 0, job.stderr[-3000:]
    assert sorted(_query(stack, "SELECT user, page, dt FROM raw.clicks")) == [
        (1, "/", "2026-03-01"),
        (2, "/a", "2026-03-01"),
        (3, "/b", "2026-03-02"),
    ]
    assert _query(stack, "SELECT record FROM quarantine.clicks") == [("not json at all",)]
    runs = run_cli_json(["job", "runs", "clicks", "--json"], stack.env)
    assert (runs[0]["rows_read"], runs[0]["rows_quarantined"]) == (4, 1)
