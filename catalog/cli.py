"""``headwater catalog …``: inspect databases and tables.

The commands receive a way to open a :class:`~catalog.hive.HiveCatalog` from the
application that mounts them, so this package stays free of ``engine``.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from catalog.hive import HiveCatalog
from catalog.output import render, say

CatalogOpener = Callable[[], HiveCatalog]


def make_catalog_app(open_catalog: CatalogOpener) -> typer.Typer:
    app = typer.Typer(
        help="Inspect the Data Catalog (databases, tables, schemas).", no_args_is_help=True
    )

    @app.command("databases")
    def databases(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """List databases.

        Example: headwater catalog databases
        """
        catalog = open_catalog()
        render([{"database": db.name} for db in catalog.databases()], as_json=as_json)

    @app.command("tables")
    def tables(
        database: str = typer.Argument(..., help="Database name, e.g. raw."),
        counts: bool = typer.Option(False, "--counts", help="Also count rows (runs a query)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List a database's tables with format, partition keys and location.

        Example: headwater catalog tables raw --counts
        """
        catalog = open_catalog()
        rows = []
        for name in catalog.table_names(database):
            table = catalog.get_table(database, name)
            row = {
                "table": name,
                "format": table.format,
                "columns": len(table.columns),
                "partition keys": ",".join(k.name for k in table.partition_keys),
                "location": table.location,
            }
            if counts:
                row["rows"] = catalog.count_rows(database, name)
            rows.append(row)
        if not rows and not as_json:
            say(f"no tables in database {database}")
            return
        render(rows, title=f"tables in {database}", as_json=as_json)

    @app.command("describe")
    def describe(
        name: str = typer.Argument(..., help="database.table"),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Show a table's columns, partition keys and properties.

        Example: headwater catalog describe raw.sales
        """
        database, _, table_name = name.partition(".")
        table = open_catalog().get_table(database, table_name)
        columns = [
            {"column": c.name, "type": c.type, "partition key": ""} for c in table.columns
        ] + [
            {"column": c.name, "type": c.type, "partition key": "yes"} for c in table.partition_keys
        ]
        if as_json:
            render(
                [
                    {
                        "table": table.qualified_name,
                        "format": table.format,
                        "location": table.location,
                        "columns": columns,
                        "parameters": table.parameters,
                    }
                ],
                as_json=True,
            )
            return
        say(f"[bold]{table.qualified_name}[/]  {table.format}  {table.location}")
        render(columns)
        render([{"property": k, "value": v} for k, v in sorted(table.parameters.items())])

    @app.command("preview")
    def preview(
        name: str = typer.Argument(..., help="database.table"),
        limit: int = typer.Option(10, "--limit", "-n", min=1, help="Rows to show."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Show a table's first rows, read the way Spark reads it.

        Example: headwater catalog preview landing.sales --limit 5
        """
        database, _, table_name = name.partition(".")
        rows = open_catalog().preview(database, table_name, limit)
        render(rows, title=f"{name} (first {limit} rows)", as_json=as_json)

    return app
