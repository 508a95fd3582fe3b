"""The Hive metastore thrift service (the wheel's hive-metastore 2.3.10) on PostgreSQL.

Started through :class:`LoopbackMetastore` (see ``java/``) because Hive 2.3's own
``HiveMetaStore.main`` binds every interface. The schema is created once with
DataNucleus's SchemaTool before the first start: lazy schema creation deadlocks on
PostgreSQL (research-stack.md, addendum).
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from engine import artifacts
from engine.errors import StackError
from engine.process import log_tail
from engine.stack.base import Service, java_binary, write_private
from engine.stack.postgres import PostgresService

HIVE_METASTORE_JAR = "hive-metastore-2.3.10.jar"
# The metastore needs the cache's JDBC driver and S3A (database and table locations
# are s3a:// and the metastore creates their folders), not the Spark-side jars.
NOT_FOR_METASTORE = ("delta-", "unitycatalog-", "mysql-connector")

LOG4J2 = """status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.datanucleus.name = DataNucleus
logger.datanucleus.level = warn
"""


def _property(name: str, value: str) -> str:
    return f"  <property><name>{escape(name)}</name><value>{escape(value)}</value></property>"


class MetastoreService(Service):
    name = "metastore"
    start_timeout = 120.0
    heap = "-Xmx1g"

    @property
    def port(self) -> int:
        return self.settings.stack.metastore_port

    @property
    def conf_dir(self) -> Path:
        return self.dir / "conf"

    def _jdbc_url(self) -> str:
        stack = self.settings.stack
        return f"jdbc:postgresql://{stack.host}:{stack.postgres_port}/{stack.metastore_database}"

    def _jdo_properties(self) -> dict[str, str]:
        stack = self.settings.stack
        return {
            "javax.jdo.option.ConnectionURL": self._jdbc_url(),
            "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
            "javax.jdo.option.ConnectionUserName": stack.postgres_user,
            "javax.jdo.option.ConnectionPassword": stack.postgres_password.get_secret_value(),
        }

    def _site_properties(self) -> dict[str, str]:
        s3 = self.settings.s3
        return {
            **self._jdo_properties(),
            "datanucleus.schema.autoCreateAll": "false",
            "datanucleus.identifierFactory": "datanucleus1",
            "datanucleus.rdbms.useLegacyNativeValueStrategy": "true",
            "hive.metastore.schema.verification": "false",
            "hive.async.log.enabled": "false",
            "hive.metastore.warehouse.dir": self.settings.warehouse_uri,
            "hive.metastore.event.db.notification.api.auth": "false",
            # BoneCP (the default) is not in Spark's jars: the transaction handler that
            # DROP DATABASE calls pools its connections with HikariCP, which is
            "datanucleus.connectionPoolingType": "HikariCP",
            # a crawl changes column types in place (catalog.definitions)
            "hive.metastore.disallow.incompatible.col.type.changes": "false",
            "fs.s3a.endpoint": s3.endpoint,
            "fs.s3a.endpoint.region": s3.region,
            "fs.s3a.path.style.access": str(s3.path_style).lower(),
            "fs.s3a.connection.ssl.enabled": str(s3.endpoint.startswith("https")).lower(),
            "fs.s3a.access.key": s3.access_key,
            "fs.s3a.secret.key": s3.secret_key.get_secret_value(),
            "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        }

    def _classpath(self, *extra: Path) -> str:
        jars = [
            jar
            for jar in artifacts.cached_jars(self.settings)
            if not jar.name.startswith(NOT_FOR_METASTORE)
        ]
        parts = [*map(str, extra), str(artifacts.spark_home() / "jars" / "*"), *map(str, jars)]
        return ":".join(parts)

    def _write_conf(self) -> None:
        site = "\n".join(_property(k, v) for k, v in self._site_properties().items())
        write_private(
            self.conf_dir / "hive-site.xml",
            f'<?xml version="1.0"?>\n<configuration>\n{site}\n</configuration>\n',
        )
        (self.conf_dir / "log4j2.properties").write_text(LOG4J2)

    def _ensure_schema(self) -> None:
        postgres = PostgresService(self.settings)
        database = self.settings.stack.metastore_database
        if postgres.psql("""SELECT to_regclass('public."DBS"') IS NOT NULL""", database) == "t":
            return
        jdo_dir = self.dir / "jdo"
        hive_jar = artifacts.spark_home() / "jars" / HIVE_METASTORE_JAR
        with zipfile.ZipFile(hive_jar) as archive:
            archive.extract("package.jdo", jdo_dir)
        props = {
            "javax.jdo.PersistenceManagerFactoryClass": (
                "org.datanucleus.api.jdo.JDOPersistenceManagerFactory"
            ),
            **self._jdo_properties(),
            "datanucleus.schema.autoCreateAll": "true",
            "datanucleus.identifierFactory": "datanucleus1",
            "datanucleus.rdbms.useLegacyNativeValueStrategy": "true",
            "datanucleus.storeManagerType": "rdbms",
        }
        props_file = self.dir / "schematool.properties"
        write_private(props_file, "".join(f"{k}={v}\n" for k, v in props.items()))
        log = self.dir / "schematool.log"
        with log.open("w") as out:
            result = subprocess.run(
                [
                    java_binary(),
                    f"-Dlog4j2.configurationFile={self.conf_dir / 'log4j2.properties'}",
                    "-cp",
                    self._classpath(),
                    "org.datanucleus.store.schema.SchemaTool",
                    "-create",
                    "-api",
                    "JDO",
                    "-props",
                    str(props_file),
                    str(jdo_dir / "package.jdo"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        props_file.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(
                f"metastore: creating the schema in PostgreSQL failed. Last lines of {log}:\n"
                f"{log_tail(log)}",
                service=self.name,
            )

    def _java_options(self) -> list[str]:
        return []

    def _arguments(self) -> list[str]:
        """After host and port (the local metastore's idle period)."""
        return []

    def start(self) -> None:
        self.prepare_dirs()
        self._write_conf()
        self._ensure_schema()
        launcher = artifacts.compile_launcher(self.settings)
        self.process.start(
            [
                java_binary(),
                self.heap,
                f"-Dlog4j2.configurationFile={self.conf_dir / 'log4j2.properties'}",
                "-Djava.net.preferIPv4Stack=true",
                f"-Djava.io.tmpdir={self.dir}",
                *self._java_options(),
                "-cp",
                self._classpath(self.conf_dir, launcher),
                artifacts.METASTORE_LAUNCHER,
                self.host,
                str(self.port),
                *self._arguments(),
            ],
            cwd=self.dir,
        )
