from __future__ import annotations

import json

import pytest

from catalog import ddl
from catalog.errors import CatalogError, DatabaseNotFoundError, TableNotFoundError
from catalog.hive import HiveCatalog
from catalog.model import Column, Partition, Table

TABLE = Table(
    database="landing",
    name="sales",
    columns=(Column("id", "bigint"), Column("it's", "string")),
    location="s3a://landing/sales",
    format="csv",
    partition_keys=(Column("dt", "string"),),
    parameters={"classification": "csv"},
    options={"header": "true", "sep": ","},
)


def test_create_table_sql_quotes_names_and_values() -> None:
    sql = ddl.create_table_sql(TABLE)
    assert sql.startswith(
        "CREATE TABLE `landing`.`sales` (`id` bigint, `it's` string, `dt` string)"
    )
    assert "USING csv OPTIONS ('header' = 'true', 'sep' = ',') PARTITIONED BY (`dt`)" in sql
    assert "LOCATION 's3a://landing/sales' TBLPROPERTIES ('classification' = 'csv')" in sql


def test_delta_tables_are_registered_by_location_only() -> None:
    delta = Table("raw", "t", (), "s3a://raw/t", "delta")
    assert ddl.create_table_sql(delta) == (
        "CREATE TABLE IF NOT EXISTS `raw`.`t` USING DELTA LOCATION 's3a://raw/t'"
    )


def test_add_partitions_sql() -> None:
    sql = ddl.add_partitions_sql(TABLE, [Partition(("2026-01-01",), "s3a://landing/sales/dt=x")])
    assert sql == (
        "ALTER TABLE `landing`.`sales` ADD IF NOT EXISTS PARTITION (`dt` = '2026-01-01') "
        "LOCATION 's3a://landing/sales/dt=x'"
    )


class ScriptedRunner:
    """Answers HiveQL with rows shaped as Spark returns them (a parser fixture)."""

    def __init__(self, answers: dict[str, list[tuple]]) -> None:
        self.answers = answers
        self.statements: list[str] = []

    def sql(self, statement: str) -> list[tuple]:
        self.statements.append(statement)
        for prefix, rows in self.answers.items():
            if statement.startswith(prefix):
                if isinstance(rows, Exception):
                    raise rows
                return rows
        return []


DESCRIBE = [
    ("id", "bigint", None),
    ("name", "string", "who"),
    ("dt", "string", None),
    ("# Partition Information", "", ""),
    ("# col_name", "data_type", "comment"),
    ("dt", "string", None),
    ("", "", ""),
    ("# Detailed Table Information", "", ""),
    ("Catalog", "spark_catalog", ""),
    ("Location", "s3a://landing/sales", ""),
    ("Provider", "csv", ""),
    ("Storage Properties", "[header=true, sep=,]", ""),
]


def test_get_table_parses_describe_extended() -> None:
    runner = ScriptedRunner(
        {
            "DESCRIBE TABLE EXTENDED": DESCRIBE,
            "SHOW TBLPROPERTIES": [("classification", "csv"), ("spark.sql.x", "hidden")],
        }
    )
    table = HiveCatalog(runner).get_table("landing", "sales")
    assert table.columns == (Column("id", "bigint"), Column("name", "string", "who"))
    assert table.partition_keys == (Column("dt", "string"),)
    assert table.location == "s3a://landing/sales" and table.format == "csv"
    assert table.parameters == {"classification": "csv"}
    assert table.options == {"header": "true", "sep": ","}


def test_a_storage_property_holding_a_comma_and_blank_is_read_whole() -> None:
    regex = r"(\S+), (\w+) +(.*)"  # a log table's regex: ", " inside the value
    rows = [
        *DESCRIBE[:-1],
        ("Storage Properties", f"[input.regex={regex}, serialization.format=1]", ""),
    ]
    runner = ScriptedRunner({"DESCRIBE TABLE EXTENDED": rows, "SHOW TBLPROPERTIES": []})
    table = HiveCatalog(runner).get_table("landing", "sales")
    assert table.options == {"input.regex": regex, "serialization.format": "1"}


def test_missing_table_is_a_table_not_found_error_naming_it_and_what_is_near() -> None:
    runner = ScriptedRunner(
        {
            "DESCRIBE": CatalogError("[TABLE_OR_VIEW_NOT_FOUND] The table cannot be found"),
            "SHOW DATABASES": [("default",), ("landing",)],
            "SHOW TABLES": [("landing", "sales", False), ("landing", "salesmen", False)],
        }
    )
    with pytest.raises(TableNotFoundError, match=r"landing\.nope does not exist —"):
        HiveCatalog(runner).get_table("landing", "nope")
    with pytest.raises(
        TableNotFoundError, match=r"did you mean landing\.sales, landing\.salesmen\?"
    ):
        HiveCatalog(runner).get_table("landing", "sale")
    with pytest.raises(DatabaseNotFoundError, match="database landin does not exist; did you"):
        HiveCatalog(runner).get_table("landin", "sales")


EXTENDED = """Catalog: spark_catalog
Database: landing
Table: sales
Type: EXTERNAL
Provider: csv
Table Properties: [classification=csv, recordCount=124, spark.sql.hidden=1]
Location: file:/lake/landing/sales
Serde Library: org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe
Partition Columns: [`dt`]
Schema: root
 |-- order_id: long (nullable = true)
 |-- tags: array (nullable = true)
 |    |-- element: string (containsNull = true)
 |-- dt: string (nullable = true)
"""


def test_table_summaries_come_from_one_statement() -> None:
    delta = (
        "Database: raw\nTable: sales\nType: EXTERNAL\nProvider: delta\nLocation: s3a://raw/sales\n"
    )
    runner = ScriptedRunner(
        {
            "SHOW TABLE EXTENDED": [
                ("landing", "sales", False, EXTENDED),
                ("landing", "tmp_view", True, ""),
                ("raw", "sales", False, delta),
            ]
        }
    )
    found = HiveCatalog(runner).table_summaries("landing", "s*")
    assert runner.statements == ["SHOW TABLE EXTENDED IN `landing` LIKE 's*'"]
    sales, delta_sales = found
    assert sales.columns == (Column("order_id", "bigint"), Column("tags", "array"))
    assert sales.partition_keys == (Column("dt", "string"),)
    assert (sales.format, sales.location) == ("csv", "file:/lake/landing/sales")
    assert sales.parameters == {"classification": "csv", "recordCount": "124"}
    assert (delta_sales.format, delta_sales.columns) == ("delta", ())


def test_a_partition_filter_is_evaluated_over_the_values_only() -> None:
    runner = ScriptedRunner({"SELECT * FROM VALUES": [("2026-01-02",)]})
    kept = HiveCatalog(runner).filter_partitions(
        TABLE, [("2026-01-01",), ("it's",)], "dt >= '2026-01-02'"
    )
    assert kept == [("2026-01-02",)]
    assert runner.statements == [
        "SELECT * FROM VALUES ('2026-01-01'), ('it\\'s') AS p(`dt`) WHERE dt >= '2026-01-02'"
    ]


def test_create_database_skips_an_existing_one() -> None:
    runner = ScriptedRunner({"SHOW DATABASES": [("default",), ("raw",)]})
    HiveCatalog(runner).create_database("raw")
    HiveCatalog(runner).create_database("landing")
    assert [s for s in runner.statements if s.startswith("CREATE")] == [
        "CREATE DATABASE IF NOT EXISTS `landing`"
    ]


def test_partitions_are_unescaped() -> None:
    runner = ScriptedRunner({"SHOW PARTITIONS": [("dt=2026-01-01",), ("dt=a%2Fb",)]})
    assert HiveCatalog(runner).partitions(TABLE) == [("2026-01-01",), ("a/b",)]


def test_missing_database_is_named() -> None:
    runner = ScriptedRunner(
        {"SHOW TABLES": CatalogError("[SCHEMA_NOT_FOUND] `raw` cannot be found")}
    )
    with pytest.raises(DatabaseNotFoundError, match="database nope does not exist"):
        HiveCatalog(runner).table_names("nope")


def test_listed_delta_tables_take_their_recorded_schema_and_few_are_described() -> None:
    from typer.testing import CliRunner

    from catalog.cli import DESCRIBE_DELTA_UP_TO, make_catalog_app

    count = DESCRIBE_DELTA_UP_TO + 5
    info = "Type: EXTERNAL\nProvider: delta\nLocation: s3a://raw/t{i}\n"
    runner = ScriptedRunner(
        {
            "SHOW TABLE EXTENDED": [
                ("raw", f"t{i:02d}", False, info.format(i=f"{i:02d}")) for i in range(count)
            ],
            "DESCRIBE TABLE EXTENDED": [("id", "bigint", None), ("", "", "")],
        }
    )
    recorded = {  # all but one landed by headwater: their schema is known
        f"t{i:02d}": Table(
            "raw",
            f"t{i:02d}",
            (Column("a", "int"), Column("b", "int")),
            f"s3a://raw/t{i:02d}/",
            "delta",
        )
        for i in range(1, count)
    }
    app = make_catalog_app(lambda: HiveCatalog(runner), recorded=lambda db: recorded)
    result = CliRunner().invoke(app, ["tables", "raw", "--json"])
    assert result.exit_code == 0, result.output
    listed = {row["table"]: row["columns"] for row in json.loads(result.output)}
    assert listed == {"t00": 1, **{f"t{i:02d}": 2 for i in range(1, count)}}
    described = [s for s in runner.statements if s.startswith("DESCRIBE")]
    assert described == ["DESCRIBE TABLE EXTENDED `raw`.`t00`"]
