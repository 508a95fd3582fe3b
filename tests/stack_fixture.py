"""The real native stack for tests: own ports, own state dir, stopped afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.config import Settings, load_settings
from engine.process import is_pid_alive
from engine.stack import launcher
from tests.helpers import clean_env, free_port, settings_env


@dataclass
class StackRun:
    settings: Settings
    env: dict[str, str]
    state_dir: Path
    project: Path  # headwater.yaml with the source connection, known to the Thrift Server

    def postgres_params(self) -> dict[str, Any]:
        """psycopg connection keywords for the stack's PostgreSQL (add ``dbname``)."""
        pg = self.settings.stack
        return {
            "host": "127.0.0.1",
            "port": pg.postgres_port,
            "user": pg.postgres_user,
            "password": pg.postgres_password.get_secret_value(),
        }

    def source(self) -> Any:
        """An autocommit psycopg connection to the source database (created if absent)."""
        import psycopg

        params = self.postgres_params()
        with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
            if not admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (SOURCE_DB,)
            ).fetchall():
                admin.execute(f"CREATE DATABASE {SOURCE_DB}")
        return psycopg.connect(**params, dbname=SOURCE_DB, autocommit=True)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` through the Thrift Server (PyHive), as a BI tool reads them."""
        from pyhive import hive

        with hive.connect(host="127.0.0.1", port=self.settings.stack.thrift_port) as conn:
            cursor = conn.cursor()
            cursor.execute(sql)
            return [tuple(r) for r in cursor.fetchall()]

    def mariadb(self, sql: str) -> None:
        """Run ``sql`` with the ``mariadb`` client on the stack's MariaDB."""
        stack = self.settings.stack
        client = ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(stack.mariadb_port)]
        subprocess.run(
            [*client, "-u", stack.postgres_user],
            input=sql,
            text=True,
            check=True,
            env={**os.environ, "MYSQL_PWD": stack.postgres_password.get_secret_value()},
        )

    @property
    def source_url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.settings.stack.postgres_port}/{SOURCE_DB}"


# A source database on the stack's own PostgreSQL, reached through connection "shop".
SOURCE_DB = "shop"
SOURCE_PASSWORD_ENV = "HW_TEST_SHOP_PASSWORD"
MARIA = "maria"  # the stack's MariaDB as a connection (same user and password)


def connections_yaml(settings: Settings) -> str:
    """Connection ``shop`` (the stack's PostgreSQL) and ``maria`` (its MariaDB, started
    by the tests that use it; a Spark JDBC catalog connects on first use only)."""
    port = settings.stack.postgres_port
    return (
        "connections:\n"
        f"  {SOURCE_DB}:\n"
        f"    url: jdbc:postgresql://127.0.0.1:{port}/{SOURCE_DB}\n"
        f"    user: {settings.stack.postgres_user}\n"
        f"    password_env: {SOURCE_PASSWORD_ENV}\n"
        f"  {MARIA}:\n"
        f"    url: jdbc:mysql://127.0.0.1:{settings.stack.mariadb_port}/{SOURCE_DB}\n"
        f"    user: {settings.stack.postgres_user}\n"
        f"    password_env: {SOURCE_PASSWORD_ENV}\n"
    )


@contextmanager
def running_stack() -> Iterator[StackRun]:
    """The whole native stack on free ports in its own state dir, stopped afterwards
    (the stack tests' fixture; the soak benchmark runs its own)."""
    # Under /tmp (world-searchable) because PostgreSQL runs as the postgres user.
    state = Path(tempfile.mkdtemp(prefix="headwater-stack-"))
    state.chmod(0o755)
    minio_port = free_port()
    values: dict[str, Any] = {
        "profile": "stack",
        "home": str(state / "home"),
        "stack": {
            "state_dir": str(state / "services"),
            "postgres_port": free_port(),
            "metastore_port": free_port(),
            "minio_port": minio_port,
            "minio_console_port": free_port(),
            "thrift_port": free_port(),
            "mariadb_port": free_port(),
            "master_port": free_port(),
            "master_ui_port": free_port(),
            "worker_ui_port": free_port(),
            "postgres_password": f"pg-{secrets.token_hex(8)}",
        },
        "s3": {
            "endpoint": f"http://127.0.0.1:{minio_port}",
            "secret_key": f"s3-{secrets.token_hex(8)}",
        },
    }
    settings = load_settings(**values)
    project = state / "headwater.yaml"
    project.write_text(connections_yaml(settings))
    env = clean_env(**settings_env(values), HEADWATER_PROJECT_FILE=str(project))
    env[SOURCE_PASSWORD_ENV] = settings.stack.postgres_password.get_secret_value()
    run = StackRun(settings, env, state, project)
    try:
        # The Thrift Server learns the connections (a JDBC catalog each) when it starts.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HEADWATER_PROJECT_FILE", str(project))
            patch.setenv(SOURCE_PASSWORD_ENV, env[SOURCE_PASSWORD_ENV])
            launcher.up(settings)
        yield run
    finally:
        pids = [s.pid for s in launcher.status(settings) if s.pid]
        launcher.down(settings)
        leftovers = [pid for pid in pids if is_pid_alive(pid)]
        shutil.rmtree(state, ignore_errors=True)
        assert not leftovers, f"stack processes still alive after down: {leftovers}"


@pytest.fixture(scope="session")
def stack() -> Iterator[StackRun]:
    with running_stack() as run:
        yield run
