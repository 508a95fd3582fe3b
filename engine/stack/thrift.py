"""The Spark Thrift Server (HiveServer2 protocol) for SQL clients such as PyHive.

It is a reader of the lake: headwater's jobs are the only writers of a Delta table
(Delta on S3A is safe with one writing driver per table). Its ``NONE``
authentication accepts any password, so it binds loopback only; a team deployment
needs ``hive.server2.authentication=CUSTOM`` or LDAP (docs/stack.md).
"""

from __future__ import annotations

import os

from catalog.hive import HiveCatalog
from catalog.hiveserver2 import HiveServer2Runner
from engine import artifacts
from engine.spark.conf import DRIVER_JAVA_OPTIONS, spark_conf, spark_secrets
from engine.stack.base import Service, write_private

THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


class ThriftServerService(Service):
    name = "thrift"
    start_timeout = 180.0

    @property
    def port(self) -> int:
        return self.settings.stack.thrift_port

    def start(self) -> None:
        self.prepare_dirs()
        conf = {
            **spark_conf(self.settings, app_name="headwater-thrift-server"),
            **spark_secrets(self.settings),
            # --properties-file replaces spark-defaults.conf, so the jars go here too.
            **artifacts.jar_properties(self.settings),
            "spark.driver.memory": "1g",
            "spark.local.dir": str(self.dir / "tmp"),
        }
        conf.pop(DRIVER_JAVA_OPTIONS, None)  # a server for days: peak speed, not start-up
        properties = self.dir / "spark-thrift.conf"
        write_private(properties, "".join(f"{k} {v}\n" for k, v in sorted(conf.items())))
        hive = {
            "hive.server2.thrift.bind.host": self.host,
            "hive.server2.thrift.port": str(self.port),
            "hive.server2.authentication": "NONE",
            "hive.server2.transport.mode": "binary",
            "hive.server2.logging.operation.log.location": str(self.dir / "operation_logs"),
            "hive.exec.local.scratchdir": str(self.dir / "scratch"),
            "hive.exec.scratchdir": str(self.dir / "hive-scratch"),
            "hive.server2.enable.doAs": "false",
        }
        hive_args = [part for k, v in hive.items() for part in ("--hiveconf", f"{k}={v}")]
        env = {
            **os.environ,
            "SPARK_HOME": str(artifacts.spark_home()),
            "SPARK_LOCAL_IP": self.host,
        }
        self.process.start(
            [
                str(artifacts.spark_home() / "bin" / "spark-submit"),
                "--master",
                "local[2]",
                "--class",
                THRIFT_SERVER_CLASS,
                "--name",
                "headwater-thrift-server",
                "--properties-file",
                str(properties),
                *hive_args,
                "spark-internal",
            ],
            env=env,
            cwd=self.dir,
        )

    def after_start(self) -> None:
        """The stack comes with its two databases, as it comes with its two buckets."""
        runner = HiveServer2Runner(self.host, self.port)
        try:
            catalog = HiveCatalog(runner)
            for database in (self.settings.buckets.landing, self.settings.buckets.raw):
                catalog.create_database(database)
        finally:
            runner.close()
