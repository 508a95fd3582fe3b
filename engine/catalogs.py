"""The Data Catalog client for a profile, built in one place."""

from __future__ import annotations

from catalog.hive import HiveCatalog
from catalog.metastore import MetastoreReader
from catalog.metastore_db import MetastoreDatabase
from engine.config import Settings


def open_catalog(settings: Settings) -> HiveCatalog:
    """The catalog for the profile: PyHive to the Thrift Server and listings from the
    metastore's database or thrift API (stack), no JVM here;
    or a Spark session on the embedded metastore (local)."""
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
    from engine.spark.session import build_session, session_catalog

    return session_catalog(build_session(settings, app_name="headwater-cli"))
