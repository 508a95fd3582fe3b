"""MariaDB from Debian's packages: a MySQL-compatible source database to replicate
from (``headwater stack up mariadb``; not part of the default stack).

Its own data dir under the state dir, loopback only, and one account — the stack's
database user and password (``HEADWATER_STACK__POSTGRES_USER`` / ``…_PASSWORD``) —
allowed from 127.0.0.1, plus a database ``shop``. The binlog is on, in ROW format
with full row images and metadata: a source for change data capture. The password
reaches the server on the client's stdin, never on a command line.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from pathlib import Path

from engine.errors import SetupError, StackError
from engine.process import log_tail
from engine.stack.base import Service

MARIADB_SYSTEM_USER = "mysql"
SOURCE_DATABASE = "shop"


def _binary(*names: str) -> Path:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").is_file() else None
        )
        if found:
            return Path(found)
    raise SetupError(
        f"{names[0]} not found",
        hint="install Debian's 'mariadb-server' package (make system-deps does it as root)",
    )


class MariaDBService(Service):
    name = "mariadb"
    start_timeout = 60.0

    @property
    def port(self) -> int:
        return self.settings.stack.mariadb_port

    @property
    def error_log(self) -> Path:
        return self.dir / "error.log"

    @property
    def socket(self) -> Path:
        return self.dir / "mariadb.sock"

    def _as_root(self) -> list[str]:
        return ["--user", MARIADB_SYSTEM_USER] if os.geteuid() == 0 else []

    def start(self) -> None:
        data = self.dir / "data"
        self.prepare_dirs()
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # the server runs as mysql: it owns its folders
            for folder in (self.dir, data):
                shutil.chown(folder, MARIADB_SYSTEM_USER, MARIADB_SYSTEM_USER)
        if not (data / "mysql").is_dir():
            result = subprocess.run(
                [
                    str(_binary("mariadb-install-db", "mysql_install_db")),
                    "--no-defaults",
                    f"--datadir={data}",
                    "--auth-root-authentication-method=socket",
                    "--skip-test-db",
                    *self._as_root(),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise StackError(
                    f"mariadb: creating the data dir failed: {result.stderr.strip()[-2000:]}",
                    service=self.name,
                    transient=False,
                )
        self.process.start(
            [
                str(_binary("mariadbd", "mysqld")),
                "--no-defaults",
                f"--datadir={data}",
                f"--port={self.port}",
                f"--bind-address={self.host}",
                f"--socket={self.socket}",
                f"--pid-file={self.dir / 'mariadb.pid'}",
                f"--log-error={self.error_log}",
                "--skip-name-resolve",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_bin",
                "--default-time-zone=+00:00",
                # the binlog as change data capture needs it (engine/replicate/mysql.py)
                "--log-bin=mariadb-bin",
                "--server-id=1",
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--binlog-row-metadata=FULL",
                *self._as_root(),
            ]
        )

    def is_healthy(self) -> bool:
        if not self.socket.exists():
            return False
        return self._client("SELECT 1", check=False).returncode == 0

    def after_start(self) -> None:
        stack = self.settings.stack
        user = stack.postgres_user
        password = stack.postgres_password.get_secret_value().replace("'", "''")
        self._client(
            f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';"
            f"ALTER USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';"
            f"GRANT ALL ON *.* TO '{user}'@'127.0.0.1' WITH GRANT OPTION;"
            f"CREATE DATABASE IF NOT EXISTS {SOURCE_DATABASE};"
        )

    def _client(self, sql: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run SQL over the socket as the account mariadb-install-db made for this OS
        user (root, or the user headwater runs as); the SQL goes on stdin."""
        user = "root" if os.geteuid() == 0 else getpass.getuser()
        client = str(_binary("mariadb", "mysql"))
        result = subprocess.run(
            [client, "--no-defaults", f"--socket={self.socket}", f"--user={user}"],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise StackError(
                f"mariadb: {result.stderr.strip()}\n{log_tail(self.error_log)}",
                service=self.name,
            )
        return result

    def stop(self) -> bool:
        return self.process.stop()
