"""A Spark standalone master and one worker from the wheel (``make cluster-up``).

Jobs then run with ``--master spark://127.0.0.1:7077``. Both bind loopback; the
master's REST submission port is disabled.
"""

from __future__ import annotations

import os
import sys

from engine import artifacts
from engine.stack.base import Service

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def _spark_env(host: str) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": str(artifacts.spark_home()),
        "SPARK_LOCAL_IP": host,
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
        "PYSPARK_PYTHON": sys.executable,
    }


class SparkMasterService(Service):
    name = "spark-master"

    @property
    def port(self) -> int:
        return self.settings.stack.master_port

    @property
    def url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    def start(self) -> None:
        self.prepare_dirs()
        stack = self.settings.stack
        self.process.start(
            [
                str(artifacts.spark_home() / "bin" / "spark-class"),
                MASTER_CLASS,
                "--host",
                self.host,
                "--port",
                str(stack.master_port),
                "--webui-port",
                str(stack.master_ui_port),
            ],
            env=_spark_env(self.host),
            cwd=self.dir,
        )


class SparkWorkerService(Service):
    name = "spark-worker"

    @property
    def port(self) -> int:
        return self.settings.stack.worker_ui_port

    def start(self) -> None:
        self.prepare_dirs()
        master = SparkMasterService(self.settings)
        self.process.start(
            [
                str(artifacts.spark_home() / "bin" / "spark-class"),
                WORKER_CLASS,
                "--host",
                self.host,
                "--cores",
                "1",
                "--memory",
                "2g",
                "--webui-port",
                str(self.port),
                "--work-dir",
                str(self.dir / "work"),
                master.url,
            ],
            env=_spark_env(self.host),
            cwd=self.dir,
        )
