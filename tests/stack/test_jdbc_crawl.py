"""Crawling a PostgreSQL source through its connection: views the Thrift Server reads."""

from __future__ import annotations

from pathlib import Path

import psycopg

from engine.stack import launcher
from tests.helpers import run_cli, run_cli_json
from tests.stack_fixture import MARIA, SOURCE_DB, StackRun, connections_yaml


def _source(stack: StackRun) -> psycopg.Connection:
    params = stack.postgres_params()
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SOURCE_DB}")
        admin.execute(f"CREATE DATABASE {SOURCE_DB}")
    return psycopg.connect(**params, dbname=SOURCE_DB, autocommit=True)


def test_a_jdbc_crawl_registers_live_views_and_follows_the_source(
    stack: StackRun, tmp_path: Path
) -> None:
    source = _source(stack)
    source.execute(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(10,2), "
        "placed timestamptz, note text)"
    )
    source.execute("INSERT INTO orders VALUES (1, 2.50, now(), 'a'), (2, 3.25, now(), NULL)")
    source.execute("CREATE TABLE customers (id integer, name varchar(40))")
    source.execute("INSERT INTO customers VALUES (7, 'ann')")
    source.execute("CREATE TABLE tmp_scratch (x integer)")
    source.execute("CREATE SCHEMA sales")
    source.execute("CREATE TABLE sales.refunds (id integer)")

    project = tmp_path / "headwater.yaml"
    project.write_text(
        connections_yaml(stack.settings) + "crawlers:\n"
        "  shop_src:\n"
        "    database: shop_src\n"
        "    schema_change_policy: {delete_behavior: deprecate_in_database}\n"
        "    targets:\n"
        "      - connection: shop\n"
        "        path: shop/public/%\n"
        "        exclusions: ['shop/public/tmp_*']\n"
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}

    planned = run_cli_json(["crawl", "shop_src", "--plan"], env)
    crawled = run_cli_json(["crawl", "shop_src"], env)
    assert [(r["table"], r["action"], r["format"]) for r in crawled] == [
        ("shop_src.shop_public_customers", "create", "view"),
        ("shop_src.shop_public_orders", "create", "view"),
    ]
    assert [r["table"] for r in planned] == [r["table"] for r in crawled]

    tables = {
        r["table"]: r["rows"]
        for r in run_cli_json(["catalog", "tables", "shop_src", "--counts"], env)
    }
    assert tables == {"shop_public_customers": 1, "shop_public_orders": 2}
    orders = run_cli_json(["catalog", "describe", "shop_src.shop_public_orders"], env)[0]
    assert {c["column"]: c["type"] for c in orders["columns"]} == {
        "id": "bigint",
        "amount": "decimal(10,2)",
        "placed": "timestamp",
        "note": "string",
    }

    # the source changes: a new column, a dropped table, new rows
    source.execute("ALTER TABLE orders ADD COLUMN channel text")
    source.execute("INSERT INTO orders VALUES (3, 1.00, now(), 'b', 'web')")
    source.execute("DROP TABLE customers")
    again = {r["table"]: r for r in run_cli_json(["crawl", "shop_src"], env)}
    assert again["shop_src.shop_public_orders"]["action"] == "update"
    assert again["shop_src.shop_public_customers"]["action"] == "deprecate"
    preview = run_cli_json(["catalog", "preview", "shop_src.shop_public_orders"], env)
    assert sorted(r["channel"] or "" for r in preview) == ["", "", "web"]
    versions = run_cli_json(["catalog", "versions", "shop_src.shop_public_orders"], env)
    assert [v["version"] for v in versions] == [1, 2]

    # the password is in no output, no table property and no run record
    secret = stack.settings.stack.postgres_password.get_secret_value()
    shown = run_cli(["catalog", "describe", "shop_src.shop_public_orders"], env)
    runs = run_cli(["runs", "--crawler", "shop_src", "--json"], env)
    assert secret not in shown.stdout + shown.stderr + runs.stdout + runs.stderr
    source.close()


def test_an_undefined_connection_is_named(stack: StackRun, tmp_path: Path) -> None:
    project = tmp_path / "headwater.yaml"
    project.write_text(
        "connections:\n  other:\n    url: jdbc:postgresql://127.0.0.1:1/none\n"
        "    user: u\n    password_env: HW_TEST_UNSET\n"
        "crawlers:\n  c:\n    database: c\n    targets: [{connection: nope, path: a/b/%}]\n"
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    result = run_cli(["crawl", "c"], env)
    assert result.returncode != 0
    assert "crawlers.c.targets[0].connection = 'nope' is not defined" in result.stderr


def test_a_mariadb_database_is_crawled_as_database_table_views(
    stack: StackRun, tmp_path: Path
) -> None:
    """MySQL paths are database/table; a view per table, read live by the Thrift
    Server; another database of the same server is not listed with it."""
    launcher.up(stack.settings, ["mariadb"])
    stack.mariadb(
        "DROP DATABASE IF EXISTS crawlsrc; CREATE DATABASE crawlsrc;"
        "CREATE TABLE crawlsrc.orders (id bigint PRIMARY KEY, amount decimal(10,2), "
        "placed datetime, note varchar(40));"
        "INSERT INTO crawlsrc.orders VALUES (1, 2.50, now(), 'a'), (2, 3.25, now(), NULL);"
        "CREATE TABLE crawlsrc.tmp_scratch (x int);"
        "DROP DATABASE IF EXISTS crawlother; CREATE DATABASE crawlother;"
        "CREATE TABLE crawlother.elsewhere (x int);"
    )
    project = tmp_path / "headwater.yaml"
    project.write_text(
        connections_yaml(stack.settings) + "crawlers:\n"
        "  maria_src:\n"
        "    database: maria_src\n"
        "    targets:\n"
        f"      - connection: {MARIA}\n"
        "        path: crawlsrc/%\n"
        "        exclusions: ['crawlsrc/tmp_*']\n"
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    crawled = run_cli_json(["crawl", "maria_src"], env)
    assert [(r["table"], r["action"], r["format"]) for r in crawled] == [
        ("maria_src.crawlsrc_orders", "create", "view")
    ]
    orders = run_cli_json(["catalog", "describe", "maria_src.crawlsrc_orders"], env)[0]
    assert {c["column"]: c["type"] for c in orders["columns"]} == {
        "id": "bigint",
        "amount": "decimal(10,2)",
        "placed": "timestamp",
        "note": "varchar(40)",  # as Spark's MySQL dialect types it
    }
    assert orders["parameters"]["classification"] == "mysql", orders
    assert stack.query("SELECT id FROM maria_src.crawlsrc_orders ORDER BY id") == [(1,), (2,)]
