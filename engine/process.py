"""Start, watch and stop one background process with its log and pid file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import StackError

LOG_TAIL_LINES = 25


def is_port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.is_file():
        return "(no log written)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(log is empty)"


@dataclass
class ManagedProcess:
    """A process headwater started, found again through its pid file."""

    name: str
    pid_file: Path
    log_file: Path

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        pid = self.pid
        return pid is not None and is_pid_alive(pid)

    def start(
        self,
        command: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> int:
        """Start ``command`` in its own session, stdout and stderr to the log."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        return process.pid

    def wait_until(
        self,
        is_healthy: Callable[[], bool],
        *,
        timeout: float,
        what: str,
        needs_pid: bool = True,
    ) -> None:
        """Poll ``is_healthy`` until true; on exit or timeout raise with the log tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if is_healthy():
                return
            if needs_pid and not self.is_running():
                raise StackError(
                    f"{self.name} exited while starting ({what}). "
                    f"Last lines of {self.log_file}:\n{log_tail(self.log_file)}",
                    service=self.name,
                    transient=False,
                )
            time.sleep(0.5)
        raise StackError(
            f"{self.name} did not become healthy within {timeout:.0f}s ({what}). "
            f"Last lines of {self.log_file}:\n{log_tail(self.log_file)}",
            service=self.name,
        )

    def stop(self, *, grace: float = 20.0) -> bool:
        """SIGTERM the process group, wait ``grace`` seconds, then SIGKILL it."""
        pid = self.pid
        if pid is None:
            return False
        stopped = False
        if is_pid_alive(pid):
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and is_pid_alive(pid):
                _reap(pid)
                time.sleep(0.2)
            if is_pid_alive(pid):
                _signal_group(pid, signal.SIGKILL)
                time.sleep(0.2)
            _reap(pid)
            stopped = True
        # Children that outlived the leader (spark-submit launches a JVM).
        _signal_group(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return stopped


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
