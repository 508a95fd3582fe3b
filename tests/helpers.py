"""Shared test helpers: free ports, clean environments, running the CLI."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.demo import DATA

HEADWATER = [sys.executable, "-m", "engine.cli.app"]
# The tests start many Spark drivers for small jobs: start-up matters more than peak
# speed (tests/conftest.py sets it for the whole run; the benchmarks do not).
FAST_START_ENV = "HEADWATER_SPARK__DRIVER_JAVA_OPTIONS"
FAST_START_JVM = "-XX:TieredStopAtLevel=1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**settings: str) -> dict[str, str]:
    """The environment minus any HEADWATER_ setting of the caller, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    for machine in ("HEADWATER_CACHE_DIR", FAST_START_ENV):  # the machine's, not the test's
        if machine in os.environ:
            env[machine] = os.environ[machine]
    env.update(settings)
    return env


def settings_env(values: dict[str, Any], prefix: str = "HEADWATER_") -> dict[str, str]:
    """Nested settings as the environment variables that set them (``__`` nesting)."""
    env = {}
    for key, value in values.items():
        name = f"{prefix}{key.upper()}"
        if isinstance(value, dict):
            env.update(settings_env(value, f"{name}__"))
        else:
            env[name] = str(value)
    return env


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HEADWATER, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


JOBS = Path(__file__).resolve().parents[1] / "jobs"


def run_spark_submit(
    script: str, args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``spark-submit jobs/<script> ARGS`` with the venv's pyspark, as a user runs it."""
    from engine.artifacts import spark_home

    return subprocess.run(
        [str(spark_home() / "bin" / "spark-submit"), str(JOBS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_cli_json(args: list[str], env: dict[str, str]) -> Any:
    result = run_cli([*args, "--json"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def demo_sales_rows() -> list[dict[str, str]]:
    """The sample sales rows, read straight from the CSV files (with their dt)."""
    rows = []
    for path in sorted((DATA / "sales").glob("dt=*/*.csv")):
        dt = path.parent.name.split("=", 1)[1]
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({**row, "dt": dt})
    return rows


def tree_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def delta_live_files(table_dir: Path) -> list[Path]:
    """The data files of a local Delta table's latest version, read from its log."""
    live: dict[str, Path] = {}
    for commit in sorted((table_dir / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                path = urllib.parse.unquote(action["add"]["path"])
                live[path] = table_dir / path
            elif "remove" in action:
                live.pop(urllib.parse.unquote(action["remove"]["path"]), None)
    return list(live.values())


def until(test: Callable[[], Any], what: str, seconds: float = 300.0, poll: float = 0.2) -> None:
    """Wait for ``test()`` to be true, or fail naming ``what`` was waited for."""
    deadline = time.monotonic() + seconds
    while not test():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


# `headwater serve` for the API tests: its keys, and the clients' view of it
API_KEY, API_SECRET = "AKIDHEADWATERTEST", "test-secret-" + os.urandom(8).hex()


@contextmanager
def api_server(
    env: dict[str, str], log: Path, more_keys: tuple[tuple[str, str], ...] = ()
) -> Iterator[str]:
    """``headwater serve`` on a free port with ``env`` (and ``more_keys`` beside the
    test keys); its endpoint URL. Stopped after."""
    port = free_port()
    keys = ",".join(f"{key}:{secret}" for key, secret in ((API_KEY, API_SECRET), *more_keys))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*HEADWATER, "serve", "--port", str(port)],
            env={**env, "HEADWATER_API_KEYS": keys},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "headwater serve did not listen within 60 s"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def aws_client(service: str, endpoint: str, secret: str = "", key: str = "") -> Any:
    """A boto3 client of ``endpoint`` (the test keys unless told otherwise)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key or API_KEY,
        aws_secret_access_key=secret or API_SECRET,
        config=Config(retries={"max_attempts": 1}),
    )


def aws_env(env: dict[str, str], endpoint: str) -> dict[str, str]:
    """``env`` plus what an AWS SDK or the AWS CLI reads to talk to ``endpoint``."""
    return {
        **{k: v for k, v in env.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL_GLUE": endpoint,
        "AWS_ENDPOINT_URL_DATABASE_MIGRATION_SERVICE": endpoint,
        "AWS_ACCESS_KEY_ID": API_KEY,
        "AWS_SECRET_ACCESS_KEY": API_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def selection(
    schema: str, table: str = "%", action: str = "include", rule_id: str = "1"
) -> dict[str, Any]:
    """A DMS selection rule for ``schema.table`` (``%``: every table of the schema)."""
    return {
        "rule-type": "selection",
        "rule-id": rule_id,
        "object-locator": {"schema-name": schema, "table-name": table},
        "rule-action": action,
    }
