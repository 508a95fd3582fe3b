"""Start, check and stop the native services: the one launcher headwater has.

``up`` is idempotent (a healthy service is left alone), ``down`` stops in reverse
order and leaves no process behind, ``status`` reports each service's address and
health. Every service keeps its data, log and pid under ``settings.state_dir``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.config import ACTIVE_MARKER, Settings
from engine.errors import StackError
from engine.process import is_port_open
from engine.stack.base import Service, ServiceStatus
from engine.stack.cluster import SparkMasterService, SparkWorkerService
from engine.stack.local_metastore import LocalMetastoreService
from engine.stack.mariadb import MariaDBService
from engine.stack.metastore import MetastoreService
from engine.stack.minio import MinioService
from engine.stack.postgres import PostgresService
from engine.stack.thrift import ThriftServerService

# Start order; stop order is the reverse (the metastore before its database).
SERVICES: dict[str, type[Service]] = {
    "postgres": PostgresService,
    "minio": MinioService,
    "metastore": MetastoreService,
    "thrift": ThriftServerService,
    "spark-master": SparkMasterService,
    "spark-worker": SparkWorkerService,
    "mariadb": MariaDBService,  # a source database to replicate from; not in the stack
    # the local profile's, on its embedded database: started on demand (not by `up`)
    "local-metastore": LocalMetastoreService,
}
STACK = ("postgres", "minio", "metastore", "thrift")
CLUSTER = ("spark-master", "spark-worker")

Progress = Callable[[str], None]


def _select(settings: Settings, names: Iterable[str]) -> list[Service]:
    wanted = list(names)
    unknown = [n for n in wanted if n not in SERVICES]
    if unknown:
        raise StackError(
            f"unknown service(s): {', '.join(unknown)}",
            hint=f"choose from {', '.join(SERVICES)}",
            transient=False,
        )
    return [SERVICES[name](settings) for name in SERVICES if name in wanted]


def up(
    settings: Settings, names: Iterable[str] = STACK, progress: Progress = lambda _: None
) -> list[ServiceStatus]:
    """Start each named service that is not already healthy, in dependency order."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    statuses = []
    for service in _select(settings, names):
        if service.is_healthy():
            progress(f"{service.name} already up at {service.address}")
        else:
            if not service.is_running() and is_port_open(service.host, service.port):
                raise StackError(
                    f"{service.name}: port {service.address} is taken by another process",
                    hint=f"stop it, or pick another port (HEADWATER_STACK__{service.name.upper()}"
                    "_PORT)",
                    service=service.name,
                    transient=False,
                )
            progress(f"starting {service.name} on {service.address}")
            if not service.is_running():
                service.start()
            service.process.wait_until(
                service.is_healthy,
                timeout=service.start_timeout,
                what=f"waiting for {service.address}",
            )
        service.after_start()
        statuses.append(service.status())
    if set(STACK) <= {s.name for s in statuses}:
        (settings.state_dir / ACTIVE_MARKER).write_text("the native stack is up\n")
    return statuses


def down(
    settings: Settings,
    names: Iterable[str] = tuple(SERVICES),
    progress: Progress = lambda _: None,
) -> None:
    """Stop the named services in reverse start order."""
    selected = _select(settings, names)
    if any(service.name in STACK for service in selected):
        (settings.state_dir / ACTIVE_MARKER).unlink(missing_ok=True)
    for service in reversed(selected):
        if service.stop():
            progress(f"stopped {service.name}")


def status(settings: Settings, names: Iterable[str] = tuple(SERVICES)) -> list[ServiceStatus]:
    return [service.status() for service in _select(settings, names)]
