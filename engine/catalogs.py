"""The Data Catalog client for a profile, built in one place."""

from __future__ import annotations

from typing import Any

from catalog.hive import DeltaDescriber, HiveCatalog
from catalog.metastore import MetastoreReader
from catalog.metastore_db import MetastoreDatabase
from engine.config import Settings


def open_catalog(settings: Settings) -> HiveCatalog:
    """The catalog for the profile. Listings and definitions come from the metastore's
    thrift API (in the stack profile listings from its database) and a Delta table's
    log, and a crawl's databases, tables and partitions are written through that API:
    no JVM here. SQL goes to the Thrift Server (stack) or to a Spark session on the
    local metastore service, started on the first statement (local)."""
    if settings.profile == "stack":
        from catalog.hiveserver2 import HiveServer2Runner

        stack = settings.stack
        backing = MetastoreDatabase(
            host=stack.host,
            port=stack.postgres_port,
            dbname=stack.metastore_database,
            user=stack.postgres_user,
            password=stack.postgres_password.get_secret_value(),
        )
        return HiveCatalog(
            HiveServer2Runner(stack.host, stack.thrift_port),
            MetastoreReader(stack.host, stack.metastore_port, backing),
            _delta_describer(settings),
            write_through_metastore=True,  # the Thrift Server refreshes what changed
        )
    from engine.stack.local_metastore import ensure_local_metastore  # deferred: local only

    metastore = ensure_local_metastore(settings)
    return HiveCatalog(
        SparkOnDemand(settings),
        MetastoreReader(metastore.host, metastore.port),
        _delta_describer(settings),
        write_through_metastore=True,
    )


def _delta_describer(settings: Settings) -> DeltaDescriber:
    def describe(location: str) -> Any:
        from engine.lake.deltars import describe_delta  # deferred: deltalake, on a Delta table

        return describe_delta(settings, location)

    return describe


class SparkOnDemand:
    """A :class:`catalog.hive.SqlRunner` that starts its Spark session on the first
    statement: a listing through the metastore reader needs none."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runner: Any = None

    def _session_runner(self) -> Any:
        if self._runner is None:
            # deferred: pyspark and a JVM only when a statement needs them
            from engine.spark.session import SparkSqlRunner, build_session

            self._runner = SparkSqlRunner(build_session(self.settings, app_name="headwater-cli"))
        return self._runner

    def sql(self, statement: str) -> list[Any]:
        if self._runner is None and statement.startswith("REFRESH TABLE "):
            return []  # a session not started yet has nothing cached
        return list(self._session_runner().sql(statement))

    def query(self, statement: str) -> tuple[list[str], list[Any]]:
        names, rows = self._session_runner().query(statement)
        return list(names), list(rows)
