"""What every native service offers the launcher."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.config import Settings
from engine.errors import SetupError
from engine.process import ManagedProcess, is_port_open


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    running: bool
    healthy: bool
    pid: int | None
    log: Path

    @property
    def state(self) -> str:
        if self.healthy:
            return "healthy"
        return "starting or unhealthy" if self.running else "stopped"


class Service:
    """A service with a data dir, a log and a pid under the stack's state dir."""

    name: str = "service"
    start_timeout: float = 60.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.stack.host
        self.dir = settings.state_dir / self.name
        self.process = ManagedProcess(
            name=self.name,
            pid_file=settings.state_dir / "pids" / f"{self.name}.pid",
            log_file=settings.state_dir / "logs" / f"{self.name}.log",
        )

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def is_healthy(self) -> bool:
        """Accepting connections on its port (services override with a real probe)."""
        return is_port_open(self.host, self.port)

    def is_running(self) -> bool:
        return self.process.is_running()

    def start(self) -> None:
        raise NotImplementedError

    def after_start(self) -> None:
        """Work that needs the service up (create a database, buckets …)."""

    def stop(self) -> bool:
        return self.process.stop()

    def status(self) -> ServiceStatus:
        return ServiceStatus(
            name=self.name,
            address=self.address,
            running=self.is_running(),
            healthy=self.is_healthy(),
            pid=self.process.pid,
            log=self.process.log_file,
        )

    def prepare_dirs(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.process.log_file.parent.mkdir(parents=True, exist_ok=True)


def java_binary() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise SetupError("no 'java' on PATH", hint="install a JDK 17 (openjdk-17-jdk-headless)")
    return found


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
