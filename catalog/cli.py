"""``headwater catalog …``: inspect databases and tables.

The commands receive a way to open a :class:`~catalog.hive.HiveCatalog` from the
application that mounts them, so this package stays free of ``engine``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import typer

from catalog.errors import CatalogError
from catalog.hive import HiveCatalog
from catalog.model import Table
from catalog.output import render, say

CatalogOpener = Callable[[], HiveCatalog]
# `catalog tables` describes Delta tables (schema in their log) when at most this many.
DESCRIBE_DELTA_UP_TO = 20
# What the application knows about a table beyond the metastore (size, runs, history).
TableFacts = Callable[[Table], dict[str, Any]]


def split_name(name: str) -> tuple[str, str]:
    database, _, table = name.partition(".")
    if not database or not table:
        raise CatalogError(f"{name!r} is not database.table", hint="e.g. raw.sales")
    return database, table


def _same_place(one: str, other: str) -> bool:
    """Two spellings of one location (``file:///x/`` and ``file:/x``)."""

    def plain(location: str) -> str:
        return location.replace("file:///", "file:/").rstrip("/")

    return plain(one) == plain(other)


# Table names for shell completion (from something fast: no JVM, no SQL endpoint).
TableNames = Callable[[], list[str]]
# The latest definitions the application recorded for a database's tables, by name
# (the schema of the Delta tables it landed, without reading their logs).
RecordedTables = Callable[[str], dict[str, Table]]
# A table's row count without a query (a Delta log's file statistics), or None
RowCounter = Callable[[Table], int | None]


def make_catalog_app(
    open_catalog: CatalogOpener,
    facts: TableFacts | None = None,
    known_tables: TableNames | None = None,
    recorded: RecordedTables | None = None,
    counted: RowCounter | None = None,
) -> typer.Typer:
    app = typer.Typer(
        help="Inspect the Data Catalog (databases, tables, schemas).", no_args_is_help=True
    )

    def with_delta_schemas(catalog: HiveCatalog, tables: list[Table]) -> list[Table]:
        """Delta tables carry no schema in the metastore: take the one recorded when
        headwater landed them (same location), else describe each through the SQL
        endpoint when few are left; larger listings keep them without columns."""
        found = list(tables)
        logged = [i for i, t in enumerate(found) if t.format == "delta" and not t.columns]
        known: dict[str, dict[str, Table]] = {}
        for i in list(logged):
            table = found[i]
            if recorded is not None and table.database not in known:
                known[table.database] = recorded(table.database)
            match = known.get(table.database, {}).get(table.name)
            if match is not None and _same_place(match.location, table.location):
                found[i] = replace(
                    table, columns=match.columns, partition_keys=match.partition_keys
                )
                logged.remove(i)
        if len(logged) <= DESCRIBE_DELTA_UP_TO:
            for i in logged:
                found[i] = catalog.get_table(found[i].database, found[i].name)
        return found

    def complete(incomplete: str) -> list[str]:
        names = known_tables() if known_tables else []
        return [n for n in names if n.startswith(incomplete)]

    def table_argument() -> Any:
        return typer.Argument(..., help="database.table", autocompletion=complete)

    @app.command("databases")
    def databases(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """List databases.

        Example: headwater catalog databases
        """
        catalog = open_catalog()
        render([{"database": db.name} for db in catalog.databases()], as_json=as_json)

    @app.command("tables")
    def tables(
        database: str = typer.Argument(None, help="Database name, e.g. raw (default: all)."),
        like: str = typer.Option(
            "*", "--like", help="Table name pattern: * matches any run, | separates choices."
        ),
        counts: bool = typer.Option(False, "--counts", help="Also count rows (runs a query)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List tables with format, columns, partition keys and location.

        One statement per database (no JVM in the CLI). With --counts, a Delta
        table's rows come from its log's file statistics, other tables are queried.

        Examples:
          headwater catalog tables raw --counts
          headwater catalog tables --like 'sales*|orders*'
        """
        catalog = open_catalog()
        names = [database] if database else [db.name for db in catalog.databases()]
        summaries = [t for name in names for t in catalog.table_summaries(name, like)]
        summaries = with_delta_schemas(catalog, summaries)
        rows = []
        for table in summaries:
            row = {
                "table": table.name if database else table.qualified_name,
                "format": table.format,
                "columns": len(table.columns) if table.columns else "",
                "partition keys": ",".join(k.name for k in table.partition_keys),
                "location": table.location,
            }
            if counts:
                known = counted(table) if counted is not None else None
                row["rows"] = (
                    known if known is not None else catalog.count_rows(table.database, table.name)
                )
            rows.append(row)
        if not rows and not as_json:
            say(
                f"no tables in {f'database {database}' if database else 'the catalog'}"
                + (f" like {like!r}" if like != "*" else "")
            )
            raise typer.Exit(1)
        render(rows, title=f"tables in {database or 'the catalog'}", as_json=as_json)

    @app.command("search")
    def search(
        text: str = typer.Argument(..., help="Part of a table or column name."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Find tables whose name, or one of whose columns, contains TEXT.

        Example: headwater catalog search customer
        """
        catalog = open_catalog()
        wanted = text.lower()
        rows = []
        for db in catalog.databases():
            for table in with_delta_schemas(catalog, catalog.table_summaries(db.name)):
                columns = [
                    c for c in (*table.columns, *table.partition_keys) if wanted in c.name.lower()
                ]
                if wanted in table.name.lower() or columns:
                    rows.append(
                        {
                            "table": table.qualified_name,
                            "format": table.format,
                            "matching columns": ", ".join(f"{c.name}:{c.type}" for c in columns),
                        }
                    )
        if not rows and not as_json:
            say(f"no table or column name contains {text!r}")
            raise typer.Exit(1)
        render(rows, title=f"tables matching {text!r}", as_json=as_json)

    @app.command("describe")
    def describe(
        name: str = table_argument(),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Show a table: columns (types, comments), partition keys, location, format,
        SerDe, properties, size and rows where known, the runs that touched it and its
        schema versions.

        Example: headwater catalog describe raw.sales
        """
        database, table_name = split_name(name)
        catalog = open_catalog()
        table = catalog.get_table(database, table_name)
        summary = catalog.table_summaries(database, table_name)
        serde = summary[0].options.get("serde", "") if summary else ""
        columns = [
            {"column": c.name, "type": c.type, "comment": c.comment or "", "partition key": ""}
            for c in table.columns
        ] + [
            {"column": c.name, "type": c.type, "comment": c.comment or "", "partition key": "yes"}
            for c in table.partition_keys
        ]
        extra = facts(table) if facts else {}
        if as_json:
            render(
                [
                    {
                        "table": table.qualified_name,
                        "format": table.format,
                        "location": table.location,
                        "serde": serde,
                        "columns": columns,
                        "partition keys": [k.name for k in table.partition_keys],
                        "parameters": table.parameters,
                        **extra,
                    }
                ],
                as_json=True,
            )
            return
        say(f"[bold]{table.qualified_name}[/]  {table.format}  {table.location}")
        if serde and table.format not in ("delta", "parquet", "orc", "avro"):
            say(f"SerDe: {serde}")
        render(columns, title="columns")
        render(
            [{"property": k, "value": v} for k, v in sorted(table.parameters.items())],
            title="table properties",
        )
        for section, value in extra.items():
            if isinstance(value, list):
                if value:
                    render(value, title=section)
            else:
                say(f"{section}: {value}")

    @app.command("preview")
    def preview(
        name: str = table_argument(),
        limit: int = typer.Option(10, "--limit", "-n", min=1, help="Rows to show."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Show a table's first rows, read the way Spark reads it.

        Example: headwater catalog preview landing.sales --limit 5
        """
        database, table_name = split_name(name)
        rows = open_catalog().preview(database, table_name, limit)
        render(rows, title=f"{name} (first {limit} rows)", as_json=as_json)

    @app.command("partitions")
    def partitions(
        name: str = table_argument(),
        where: str = typer.Option(
            None, "--filter", help="SQL over the partition keys, e.g. \"dt >= '2026-01-02'\"."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List a table's partitions (optionally those a filter selects; no data is read).

        Example: headwater catalog partitions landing.sales --filter "dt >= '2026-01-02'"
        """
        database, table_name = split_name(name)
        catalog = open_catalog()
        table = catalog.get_table(database, table_name)
        if not table.partition_keys:
            say(f"{name} is not partitioned in the catalog")
            raise typer.Exit(1)
        values = catalog.partitions(table)
        if where:
            values = catalog.filter_partitions(table, values, where)
        keys = [k.name for k in table.partition_keys]
        render(
            [dict(zip(keys, v, strict=True)) for v in values],
            title=f"partitions of {name} ({len(values)})",
            as_json=as_json,
            columns=keys,
        )

    @app.command("sql")
    def sql(
        statement: str = typer.Argument(..., help="One SQL statement."),
        limit: int = typer.Option(100, "--limit", "-n", min=1, help="Rows to show at most."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Run SQL through the Thrift Server (stack) or an embedded Spark (local).

        Example: headwater catalog sql "SELECT dt, count(*) FROM raw.sales GROUP BY dt"
        """
        names, rows = open_catalog().query(statement)
        shown = [dict(zip(names, row, strict=False)) for row in rows[:limit]]
        render(shown, as_json=as_json, columns=names)
        if len(rows) > limit and not as_json:
            say(f"… {len(rows) - limit} more rows (raise --limit)")

    return app
