"""The Spark configuration of each profile, as plain strings.

One function decides every Spark setting headwater uses, so the session factory,
the Spark Thrift Server and spark-submit command lines cannot drift apart. Nothing
here imports pyspark. Secrets are kept apart (:func:`spark_secrets`) so callers can
hand them to the JVM without putting them on a command line or in a log.
"""

from __future__ import annotations

from engine import artifacts
from engine.config import Settings
from engine.connections import (
    catalog_conf,
    catalog_secrets,
    driver_coordinates,
    load_connections,
)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
DELTA_PROBE_CLASS = "io.delta.tables.DeltaTable"
S3A_SECRET_KEY = "spark.hadoop.fs.s3a.secret.key"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


def spark_conf(
    settings: Settings, *, app_name: str = "headwater", local_metastore: str | None = None
) -> dict[str, str]:
    """Every non-secret Spark setting for ``settings.profile``; ``local_metastore`` is
    the local profile's metastore URI (:mod:`engine.stack.local_metastore`)."""
    conf: dict[str, str] = {
        "spark.app.name": app_name,
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": settings.warehouse_uri,
        "spark.sql.shuffle.partitions": str(settings.spark.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": str(settings.spark.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.memory": settings.spark.driver_memory,
        # Delta: a smaller default checkpoint/log cost for many small tables.
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Datasource tables keep their partitions in the metastore (pushdown).
        "spark.sql.hive.manageFilesourcePartitions": "true",
    }
    conf.update(driver_options(settings))
    if settings.profile == "local":
        if local_metastore is None:
            raise ValueError("the local profile's Spark settings need its metastore URI")
        # the metastore service on the embedded database: several Spark processes at once
        conf["spark.hadoop.hive.metastore.uris"] = local_metastore
    else:
        s3 = settings.s3
        conf.update(
            {
                "spark.hadoop.hive.metastore.uris": settings.stack.metastore_uri,
                "spark.hadoop.fs.s3a.endpoint": s3.endpoint,
                "spark.hadoop.fs.s3a.endpoint.region": s3.region,
                "spark.hadoop.fs.s3a.path.style.access": str(s3.path_style).lower(),
                "spark.hadoop.fs.s3a.connection.ssl.enabled": str(
                    s3.endpoint.startswith("https")
                ).lower(),
                "spark.hadoop.fs.s3a.aws.credentials.provider": (
                    "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
                ),
                "spark.hadoop.fs.s3a.access.key": s3.access_key,
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                "spark.hadoop.fs.s3a.fast.upload": "true",
                # One writing driver per Delta table; headwater serialises writers.
                "spark.delta.logStore.s3a.impl": "io.delta.storage.S3SingleDriverLogStore",
            }
        )
    connections = load_connections()
    conf.update(catalog_conf(connections))  # a JDBC catalog per connection
    drivers = driver_coordinates(connections)
    if drivers:  # other databases' drivers: beside the cached jars spark-defaults lists
        conf.update(artifacts.jar_properties(settings, drivers))
    return conf


def driver_options(settings: Settings) -> dict[str, str]:
    """The driver JVM's options when ``spark.driver_java_options`` is set: headwater's
    logging (which spark-defaults.conf names otherwise, and a setting here replaces),
    then those options. Nothing when unset."""
    extra = settings.spark.driver_java_options.strip()
    if not extra:
        return {}
    return {DRIVER_JAVA_OPTIONS: f"{artifacts.LOG4J2_OPTION} {extra}"}


def spark_secrets(settings: Settings) -> dict[str, str]:
    """Secret Spark settings, unwrapped. Never log or print the result.

    ``spark.hadoop.*`` ones belong in the Hadoop configuration; the others (the
    JDBC catalogs' passwords) are Spark SQL settings.
    """
    secrets = catalog_secrets(load_connections())
    if settings.profile != "local":
        secrets[S3A_SECRET_KEY] = settings.s3.secret_key.get_secret_value()
    return secrets
