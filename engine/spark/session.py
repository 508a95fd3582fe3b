"""The one Spark session factory: Delta, Hive metastore, S3A and jars in one place.

Every entry point (CLI, jobs under spark-submit, tests) gets its session here. The
jars come from the cache through ``spark-defaults.conf`` (written by ``make
setup``), so plain Python and ``spark-submit jobs/…`` load the same ones. Secrets
reach the JVM through the Hadoop configuration after start-up, never through a
command line.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import SparkSession

from catalog.errors import CatalogError, DefinitionRefusedError
from catalog.hive import HiveCatalog
from engine import artifacts
from engine.config import Settings
from engine.errors import SetupError
from engine.spark.conf import DELTA_PROBE_CLASS, spark_conf, spark_secrets
from engine.stack.local_metastore import ensure_local_metastore

HADOOP_PREFIX = "spark.hadoop."


def build_session(settings: Settings, app_name: str = "headwater") -> SparkSession:
    """Get or create the SparkSession for ``settings.profile``.

    Raises:
        SetupError: the jar cache or spark-defaults.conf is missing (run make setup).
        StackError: the local profile's metastore service did not start.
    """
    launched_by_spark_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if not launched_by_spark_submit and not artifacts.is_spark_defaults_current(settings):
        artifacts.write_spark_defaults(settings)  # raises SetupError if the cache is empty
    local_metastore = None
    if settings.profile == "local":
        local_metastore = ensure_local_metastore(settings).uri
        for bucket in (settings.buckets.landing, settings.buckets.raw):
            (settings.lake_path / bucket).mkdir(parents=True, exist_ok=True)

    if not launched_by_spark_submit:
        # A session started from Python picks its workers' Python from the environment
        # (spark.pyspark.python only counts for spark-submit): the one running here.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    if not launched_by_spark_submit:  # spark-submit's --master wins
        builder = builder.master(settings.spark.master)
    conf = spark_conf(settings, app_name=app_name, local_metastore=local_metastore)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    # pyspark logs every failed statement with its JVM stack trace; headwater turns
    # them into one-line errors (a missing table is an answer, not a crash)
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    spark.sparkContext.setLogLevel("ERROR")

    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    secrets = spark_secrets(settings)
    # Hadoop ones first: the first SQL setting initialises the session's shared state,
    # which takes a copy of the Hadoop configuration as it is at that moment.
    for key, value in secrets.items():
        if key.startswith(HADOOP_PREFIX):
            hadoop.set(key.removeprefix(HADOOP_PREFIX), value)
    for key, value in secrets.items():
        if not key.startswith(HADOOP_PREFIX):
            spark.conf.set(key, value)
    _check_delta_loaded(spark)
    return spark


def _check_delta_loaded(spark: SparkSession) -> None:
    try:
        # Spark's loader, not the system one: spark.jars are added to Spark's loader.
        jvm = spark.sparkContext._jvm
        jvm.org.apache.spark.util.Utils.classForName(DELTA_PROBE_CLASS, True, False)  # type: ignore[union-attr]
    except Py4JJavaError as exc:  # wraps the JVM's ClassNotFoundException
        raise SetupError(
            "the Delta jars are not on this Spark's classpath",
            hint=f"{artifacts.SETUP_HINT}; under your own spark-submit pass the cached jars "
            "with --jars",
        ) from exc


class SparkSqlRunner:
    """:class:`catalog.hive.SqlRunner` over a Spark session (local profile, and jobs).

    It also reads and replaces one table's raw metastore definition (what an in-place
    crawl update needs) through the session's own Hive client: the thrift ``Table``
    crosses py4j serialized, so Python handles the same objects as over a socket.
    """

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def sql(self, statement: str) -> list[Any]:
        return self.query(statement)[1]

    def query(self, statement: str) -> tuple[list[str], list[Any]]:
        """Column names and rows of one statement."""
        try:
            frame = self.spark.sql(statement)
            return list(frame.columns), [tuple(row) for row in frame.collect()]
        except (AnalysisException, PySparkException) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CatalogError(f"{first} (statement: {statement[:200]})") from exc

    @property
    def _jvm(self) -> Any:
        return self.spark.sparkContext._jvm

    def _metastore_client(self) -> Any:
        jvm = self._jvm
        client = self.spark._jsparkSession.sharedState().externalCatalog().unwrapped().client()
        return jvm.org.apache.spark.sql.hive.client.HiveClientImpl.getHive(client.conf()).getMSC()

    def _binary(self) -> Any:
        return self._jvm.org.apache.thrift.protocol.TBinaryProtocol.Factory()

    def raw_table(self, database: str, name: str) -> Any:
        """The metastore's thrift ``Table`` for ``database.name``."""
        from pymetastore.hive_metastore import ttypes
        from thrift.protocol import TBinaryProtocol
        from thrift.TSerialization import deserialize

        jvm = self._jvm
        try:
            found = self._metastore_client().getTable(database, name)
            data = bytes(jvm.org.apache.thrift.TSerializer(self._binary()).serialize(found))
        except Py4JJavaError as exc:
            message = str(exc.java_exception.getMessage() or exc.java_exception.toString())
            raise CatalogError(
                f"the metastore failed to read table {database}.{name}: {message}"
            ) from None
        return deserialize(ttypes.Table(), data, TBinaryProtocol.TBinaryProtocolFactory())

    def put_raw_table(self, database: str, name: str, table: Any) -> None:
        """Replace ``database.name``'s definition with ``table`` in one metastore call."""
        from thrift.protocol import TBinaryProtocol
        from thrift.TSerialization import serialize

        jvm = self._jvm
        data = serialize(table, TBinaryProtocol.TBinaryProtocolFactory())
        try:
            definition = jvm.org.apache.hadoop.hive.metastore.api.Table()
            jvm.org.apache.thrift.TDeserializer(self._binary()).deserialize(
                definition, bytearray(data)
            )
            self._metastore_client().alter_table(database, name, definition)
        except Py4JJavaError as exc:
            cause = exc.java_exception
            message = str(cause.getMessage() or cause.toString())
            refused = "InvalidOperationException" in cause.getClass().getName()
            error = DefinitionRefusedError if refused else CatalogError
            raise error(
                f"the metastore {'refused' if refused else 'failed'} to alter table "
                f"{database}.{name}: {message}"
            ) from None


def session_catalog(spark: SparkSession) -> HiveCatalog:
    """The Data Catalog through ``spark``'s metastore (embedded or remote): the one
    way code holding a Spark session reaches the catalog."""
    return HiveCatalog(SparkSqlRunner(spark))
