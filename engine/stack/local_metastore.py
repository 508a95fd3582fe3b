"""The local profile's metastore: the Hive metastore thrift service on the embedded
Derby database (``<home>/metastore_db``), started on demand.

Derby admits one JVM. Served by one metastore process, every later command and job
of the profile (Spark sessions, several at once, and the CLI's listings with no JVM
of their own) shares it as the stack profile shares its metastore. The first command
that needs it starts it on a free loopback port (under a file lock, so two commands
starting together start one); it stops itself after ``local.metastore_idle_seconds``
without a client, and ``headwater stack down`` stops it; ``stack status`` shows it.
"""

from __future__ import annotations

import fcntl
import socket
from pathlib import Path

from engine.config import Settings
from engine.errors import StackError
from engine.process import is_port_open
from engine.stack.metastore import MetastoreService

NAME = "local-metastore"
START_LOCK = "local-metastore.lock"
METASTORE_HEAP = "-Xmx512m"


class LocalMetastoreService(MetastoreService):
    name = NAME
    start_timeout = 90.0
    heap = METASTORE_HEAP

    @property
    def port_file(self) -> Path:
        return self.dir / "port"

    @property
    def port(self) -> int:
        """The port it was started on (0 before its first start)."""
        try:
            return int(self.port_file.read_text().strip())
        except (OSError, ValueError):
            return 0

    @property
    def uri(self) -> str:
        return f"thrift://{self.host}:{self.port}"

    def is_healthy(self) -> bool:
        # its own process on its port, not whatever took the port after it stopped
        return self.port > 0 and self.is_running() and is_port_open(self.host, self.port)

    def _jdo_properties(self) -> dict[str, str]:
        derby = self.settings.metastore_derby_path
        return {
            "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={derby};create=true",
            "javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.EmbeddedDriver",
        }

    def _site_properties(self) -> dict[str, str]:
        return {
            **self._jdo_properties(),
            # Spark's embedded metastore created this schema the same way (lazily);
            # Derby, unlike PostgreSQL, does not deadlock on it
            "datanucleus.schema.autoCreateAll": "true",
            "hive.metastore.schema.verification": "false",
            "hive.async.log.enabled": "false",
            "hive.metastore.warehouse.dir": self.settings.warehouse_uri,
            "hive.metastore.event.db.notification.api.auth": "false",
            # BoneCP (the default) is not in Spark's jars: the transaction handler that
            # DROP DATABASE calls pools its connections with HikariCP, which is
            "datanucleus.connectionPoolingType": "HikariCP",
            # a crawl changes column types in place (catalog.definitions)
            "hive.metastore.disallow.incompatible.col.type.changes": "false",
        }

    def _ensure_schema(self) -> None:
        """Created on first use (autoCreateAll), as Spark's embedded metastore did."""

    def _java_options(self) -> list[str]:
        # derby.log beside the database, not in the working directory
        return [f"-Dderby.system.home={self.settings.home_path}"]

    def _arguments(self) -> list[str]:
        return [str(self.settings.local.metastore_idle_seconds)]

    def start(self) -> None:
        self.prepare_dirs()
        self.settings.home_path.mkdir(parents=True, exist_ok=True)
        self.port_file.write_text(f"{_free_port(self.host)}\n")
        super().start()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ensure_local_metastore(settings: Settings) -> LocalMetastoreService:
    """The local metastore, started first if it is not serving (``.uri``, ``.port``).

    Raises:
        StackError: it did not start (the message ends with its log's last lines).
    """
    service = LocalMetastoreService(settings)
    if service.is_healthy():
        return service
    service.prepare_dirs()
    with (settings.state_dir / START_LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one starter; the others find it up
        if not service.is_healthy():
            if service.is_running():  # stuck, or its port was taken: start afresh
                service.stop()
            service.start()
            service.process.wait_until(
                service.is_healthy,
                timeout=service.start_timeout,
                what=f"the local profile's metastore on {settings.metastore_derby_path}",
            )
    if not service.is_healthy():
        raise StackError(
            f"{NAME}: not serving after its start (log: {service.process.log_file})",
            service=NAME,
        )
    return service
