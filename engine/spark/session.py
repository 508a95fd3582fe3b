"""The one Spark session factory: Delta, Hive metastore, S3A and jars in one place.

Every entry point (CLI, jobs under spark-submit, tests) gets its session here. The
jars come from the cache through ``spark-defaults.conf`` (written by ``make
setup``), so plain Python and ``spark-submit jobs/…`` load the same ones. Secrets
reach the JVM through the Hadoop configuration after start-up, never through a
command line.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import SparkSession

from catalog.errors import CatalogError, DefinitionRefusedError
from catalog.hive import HiveCatalog
from engine import artifacts
from engine.config import Settings
from engine.errors import MetastoreBusyError, SetupError
from engine.spark.conf import DELTA_PROBE_CLASS, spark_conf, spark_secrets

HADOOP_PREFIX = "spark.hadoop."


def build_session(settings: Settings, app_name: str = "headwater") -> SparkSession:
    """Get or create the SparkSession for ``settings.profile``.

    Raises:
        SetupError: the jar cache or spark-defaults.conf is missing (run make setup).
        MetastoreBusyError: the embedded metastore is open in another process.
    """
    launched_by_spark_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if not launched_by_spark_submit and not artifacts.is_spark_defaults_current(settings):
        artifacts.write_spark_defaults(settings)  # raises SetupError if the cache is empty
    if settings.profile == "local":
        settings.home_path.mkdir(parents=True, exist_ok=True)
        if SparkSession.getActiveSession() is None:  # this process's own JVM may hold it
            hold_local_profile(settings.home_path)
            _wait_for_derby(settings.metastore_derby_path)
        for bucket in (settings.buckets.landing, settings.buckets.raw):
            (settings.lake_path / bucket).mkdir(parents=True, exist_ok=True)

    if not launched_by_spark_submit:
        # A session started from Python picks its workers' Python from the environment
        # (spark.pyspark.python only counts for spark-submit): the one running here.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    if not launched_by_spark_submit:  # spark-submit's --master wins
        builder = builder.master(settings.spark.master)
    for key, value in spark_conf(settings, app_name=app_name).items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    # pyspark logs every failed statement with its JVM stack trace; headwater turns
    # them into one-line errors (a missing table is an answer, not a crash)
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark.sparkContext._jvm
    if settings.profile == "local":
        # derby.log goes beside the metastore, not into the working directory; set
        # before the first catalog call, which is when Hive boots Derby.
        jvm.java.lang.System.setProperty(  # type: ignore[union-attr]
            "derby.system.home", str(settings.home_path)
        )

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


_HELD: dict[Path, IO[str]] = {}  # the local-profile lock of this process, held to its exit
LOCK_FILE = "local-profile.lock"
DERBY_RELEASE_SECONDS = 30.0  # a JVM that ended its Python process lets Derby go by then


def hold_local_profile(home: Path) -> None:
    """Take the local profile's lock (one process a home at a time) for the rest of
    this process's life, or say who holds it.

    One OS lock, taken before any JVM touches Derby: no check-then-open race, and it
    is released by the kernel however the holder ends (kill -9 included)."""
    if home in _HELD:
        return
    path = home / LOCK_FILE
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        holder = handle.read().strip() or "another headwater process"
        handle.close()
        raise MetastoreBusyError(
            f"the local profile at {home} is in use by {holder}",
            hint="the local profile runs one headwater process at a time: wait for it to "
            "finish, or use the stack profile (make up) for concurrent runs",
            path=str(home),
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}: {' '.join(sys.argv)[:200]}\n")
    handle.flush()
    _HELD[home] = handle


def _wait_for_derby(metastore: Path, timeout: float = DERBY_RELEASE_SECONDS) -> None:
    """The previous holder's JVM may outlive its Python process by a moment, Derby
    still open; wait for it to let go (this process holds the profile's lock, so no
    new holder can come)."""
    lock = metastore / "dbex.lck"
    if not lock.exists():
        return
    deadline = time.monotonic() + timeout
    with lock.open("r+b") as handle:
        while True:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise MetastoreBusyError(
                        f"the embedded metastore {metastore} is still open in another process "
                        f"after {timeout:.0f} s",
                        hint="a Spark process of an earlier command is still running: end it "
                        "(ps aux | grep spark), or use the stack profile (make up)",
                        path=str(metastore),
                    ) from exc
                time.sleep(0.2)
        with contextlib.suppress(OSError):
            fcntl.lockf(handle, fcntl.LOCK_UN)


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
