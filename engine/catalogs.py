"""The Data Catalog client for a profile, built in one place."""

from __future__ import annotations

from typing import Any

from catalog.hive import HiveCatalog
from catalog.metastore import MetastoreReader
from catalog.metastore_db import MetastoreDatabase
from engine.config import Settings
from engine.stack.local_metastore import ensure_local_metastore


def open_catalog(settings: Settings) -> HiveCatalog:
    """The catalog for the profile. Listings come from the metastore's thrift API (and,
    in the stack profile, its database), no JVM here. SQL goes to the Thrift Server
    (stack) or to a Spark session on the local metastore service, started on the
    first statement (local)."""
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
        )
    metastore = ensure_local_metastore(settings)
    return HiveCatalog(SparkOnDemand(settings), MetastoreReader(metastore.host, metastore.port))


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
        return list(self._session_runner().sql(statement))

    def query(self, statement: str) -> tuple[list[str], list[Any]]:
        names, rows = self._session_runner().query(statement)
        return list(names), list(rows)
