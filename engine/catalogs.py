"""The Data Catalog client for a profile, built in one place."""

from __future__ import annotations

from catalog.hive import HiveCatalog
from engine.config import Settings


def open_catalog(settings: Settings) -> HiveCatalog:
    """The catalog for the profile: PyHive to the Thrift Server and listings from the
    metastore's thrift API (stack), no JVM here;
    or a Spark session on the embedded metastore (local)."""
    if settings.profile == "stack":
        from catalog.hiveserver2 import HiveServer2Runner
        from catalog.metastore import MetastoreReader

        return HiveCatalog(
            HiveServer2Runner(settings.stack.host, settings.stack.thrift_port),
            MetastoreReader(settings.stack.host, settings.stack.metastore_port),
        )
    from engine.spark.session import SparkSqlRunner, build_session

    return HiveCatalog(SparkSqlRunner(build_session(settings, app_name="headwater-cli")))
