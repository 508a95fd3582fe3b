"""PostgreSQL from Debian's packages: the metastore's database (and later run state)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from engine.config import Settings
from engine.errors import SetupError, StackError
from engine.process import log_tail
from engine.stack.base import Service, write_private
from engine.state.store import STATE_DATABASE

PG_SYSTEM_USER = "postgres"
# Logical decoding is on from the start so replication tasks (CDC) need no restart.
SERVER_SETTINGS = """
# headwater: loopback only, logical decoding for CDC
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{socket_dir}'
wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
max_slot_wal_keep_size = 1GB
fsync = on
"""


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server installed from Debian's packages."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise SetupError(
            "no PostgreSQL server found under /usr/lib/postgresql",
            hint="install Debian's 'postgresql' package (make setup does it as root)",
        )
    return candidates[-1].parent


class PostgresService(Service):
    name = "postgres"
    start_timeout = 60.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        # The server writes its own log, so it lives in a folder the server owns.
        self.process.log_file = self.dir / "server.log"

    @property
    def port(self) -> int:
        return self.settings.stack.postgres_port

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    def _as_server_user(self, command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        return ["runuser", "-u", PG_SYSTEM_USER, "--", *command]

    def _run(self, command: list[str], what: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            self._as_server_user(command),
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"postgres: {what} failed: {(result.stderr or result.stdout).strip()[-800:]}",
                service=self.name,
            )
        return result.stdout

    def is_healthy(self) -> bool:
        bindir = postgres_bin_dir()
        result = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)],
            check=False,
        )
        return result.returncode == 0

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.is_file():
            return False
        return super().is_running()

    def start(self) -> None:
        self.prepare_dirs()
        bindir = postgres_bin_dir()
        if os.geteuid() == 0:
            _ensure_reachable_by(self.dir, PG_SYSTEM_USER)
            shutil.chown(self.dir, PG_SYSTEM_USER, PG_SYSTEM_USER)
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb(bindir)
        command = [str(bindir / "pg_ctl"), "-D", str(self.data_dir)]
        command += ["-l", str(self.process.log_file), "-w", "-t", str(int(self.start_timeout))]
        try:
            self._run([*command, "start"], "start")
        except StackError as exc:
            raise StackError(
                f"{exc.message}\nLast lines of {self.process.log_file}:\n"
                f"{log_tail(self.process.log_file)}",
                service=self.name,
            ) from exc
        pid = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        self.process.pid_file.write_text(pid)

    def _initdb(self, bindir: Path) -> None:
        pwfile = self.dir / ".pwfile"
        write_private(pwfile, self.settings.stack.postgres_password.get_secret_value())
        if os.geteuid() == 0:
            shutil.chown(pwfile, PG_SYSTEM_USER, PG_SYSTEM_USER)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.settings.stack.postgres_user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(SERVER_SETTINGS.format(host=self.host, port=self.port, socket_dir=self.dir))

    def after_start(self) -> None:
        self.ensure_database(self.settings.stack.metastore_database)
        self.ensure_database(STATE_DATABASE)  # headwater's run state

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one statement as the stack's superuser over TCP; returns unaligned rows."""
        env = {
            **os.environ,
            "PGPASSWORD": self.settings.stack.postgres_password.get_secret_value(),
        }
        result = subprocess.run(
            [
                str(postgres_bin_dir() / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.settings.stack.postgres_user,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"postgres: {result.stderr.strip()}", service=self.name)
        return result.stdout.strip()

    def ensure_database(self, name: str) -> None:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> bool:
        if not (self.data_dir / "postmaster.pid").is_file():
            self.process.pid_file.unlink(missing_ok=True)
            return False
        bindir = postgres_bin_dir()
        try:
            self._run(
                [str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                "stop",
            )
        except StackError:
            return self.process.stop()
        self.process.pid_file.unlink(missing_ok=True)
        return True


def _ensure_reachable_by(folder: Path, user: str) -> None:
    """PostgreSQL runs as ``user``: every parent of its data dir must be searchable."""
    try:
        pwd.getpwnam(user)
    except KeyError as exc:
        raise SetupError(
            f"system user '{user}' does not exist",
            hint="install Debian's 'postgresql' package",
        ) from exc
    for parent in folder.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise StackError(
                f"postgres: {parent} is not searchable by the '{user}' user, "
                f"so PostgreSQL cannot reach {folder}",
                hint="pick a state dir under a world-searchable folder "
                "(HEADWATER_STACK__STATE_DIR) or chmod o+x that folder",
            )
