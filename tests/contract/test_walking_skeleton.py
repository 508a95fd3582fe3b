"""The walking skeleton, one body for both profiles: files in landing -> crawl ->
spark-submit ingest -> Delta in raw -> registered -> listed with the right rows.

Every step runs as its own process, as a user runs it (and as the local profile's
Derby metastore requires). The data is checked against the source CSV files.
"""

from __future__ import annotations

import pyarrow.parquet as pq

from engine import storage
from engine.demo import DATA
from tests.contract.conftest import settings_for
from tests.helpers import (
    delta_live_files,
    demo_sales_rows,
    run_cli,
    run_cli_json,
    run_spark_submit,
)


def test_files_become_catalogued_delta_tables(profile_env: dict[str, str]) -> None:
    settings = settings_for(profile_env)
    storage.ensure_buckets(settings, ["landing", "raw"])
    storage.upload_tree(storage.open_store(settings, "landing"), DATA, "")

    # 1. crawl: two tables, the CSV one partitioned by dt with its three partitions
    crawled = run_cli_json(["crawl", "s3://landing/", "--database", "landing"], profile_env)
    by_table = {row["table"]: row for row in crawled}
    assert by_table["landing.sales"]["action"] == "create"
    assert by_table["landing.sales"]["partition keys"] == "dt"
    assert by_table["landing.sales"]["new partitions"] == 3
    assert by_table["landing.customers"]["format"] == "parquet"

    # 2. ingest with spark-submit (the real entry point) and through `headwater job run`
    submit = run_spark_submit(
        "ingest.py",
        ["--JOB_NAME", "skeleton", "--source", "landing.sales", "--target", "raw.sales"],
        profile_env,
    )
    assert submit.returncode == 0, submit.stderr[-3000:]
    assert "120 row(s)" in submit.stdout
    job = run_cli(
        ["job", "run", "customers", "--source", "landing.customers", "--target", "raw.customers"],
        profile_env,
    )
    assert job.returncode == 0, job.stderr[-3000:]

    # 3. registered in raw, with the source's row counts
    source_rows = demo_sales_rows()
    tables = {
        row["table"]: row
        for row in run_cli_json(["catalog", "tables", "raw", "--counts"], profile_env)
    }
    assert tables["sales"]["format"] == "delta"
    assert tables["sales"]["rows"] == len(source_rows) == 120
    assert tables["sales"]["partition keys"] == "dt"
    assert tables["customers"]["rows"] == 20

    # 4. the landed data equals the source, row for row
    expected = sorted(
        (int(r["order_id"]), r["product"], int(r["quantity"]), r["dt"]) for r in source_rows
    )
    assert _landed_sales(settings, profile_env) == expected

    # 5. a rerun finds nothing new (the bookmark), never duplicates
    again = run_cli(
        ["job", "run", "customers", "--source", "landing.customers", "--target", "raw.customers"],
        profile_env,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing new in landing.customers" in again.stdout
    recount = {
        r["table"]: r["rows"]
        for r in run_cli_json(["catalog", "tables", "raw", "--counts"], profile_env)
    }
    assert recount["customers"] == 20

    # 6. the catalog answers: crawler properties, runs, schema versions, partitions, SQL
    described = run_cli_json(["catalog", "describe", "landing.sales", "--json"], profile_env)[0]
    assert described["parameters"]["classification"] == "csv"
    assert described["partition keys"] == ["dt"] and described["schema versions"]
    assert described["last crawl"].split()[0] in {
        r["run_id"] for r in run_cli_json(["runs", "--kind", "crawl", "--json"], profile_env)
    }
    raw_sales = run_cli_json(["catalog", "describe", "raw.sales", "--json"], profile_env)[0]
    assert raw_sales["rows"] == 120 and "skeleton" in raw_sales["last job run"]
    picked = run_cli_json(
        ["catalog", "partitions", "landing.sales", "--filter", "dt <> '2026-01-02'", "--json"],
        profile_env,
    )
    assert [p["dt"] for p in picked] == ["2026-01-01", "2026-01-03"]
    matches = run_cli_json(["catalog", "search", "unit_price", "--json"], profile_env)
    assert {"landing.sales", "raw.sales"} <= {m["table"] for m in matches}
    by_day = run_cli_json(
        ["catalog", "sql", "SELECT dt, count(*) AS n FROM raw.sales GROUP BY dt ORDER BY dt",
         "--json"],
        profile_env,
    )  # fmt: skip
    assert [(r["dt"], r["n"]) for r in by_day] == [
        ("2026-01-01", 40), ("2026-01-02", 35), ("2026-01-03", 45)
    ]  # fmt: skip
    missing = run_cli(["catalog", "describe", "raw.sale"], profile_env)
    assert missing.returncode == 1
    assert "did you mean raw.sales" in " ".join(missing.stderr.split())


def _landed_sales(settings, env: dict[str, str]) -> list[tuple]:
    if settings.profile == "local":
        table_dir = settings.lake_path / "raw" / "sales"
        rows = []
        for path in delta_live_files(table_dir):
            dt = next(
                p.split("=", 1)[1] for p in path.relative_to(table_dir).parts if p.startswith("dt=")
            )
            for r in pq.read_table(path, columns=["order_id", "product", "quantity"]).to_pylist():
                rows.append((r["order_id"], r["product"], r["quantity"], dt))
        return sorted(rows)
    from pyhive import hive

    with hive.connect(host="127.0.0.1", port=settings.stack.thrift_port, username="test") as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT order_id, product, quantity, dt FROM raw.sales")
        return sorted(tuple(row) for row in cursor.fetchall())
