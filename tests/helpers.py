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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.demo import DATA

HEADWATER = [sys.executable, "-m", "engine.cli.app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**settings: str) -> dict[str, str]:
    """The environment minus any HEADWATER_ setting of the caller, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    if "HEADWATER_CACHE_DIR" in os.environ:
        env["HEADWATER_CACHE_DIR"] = os.environ["HEADWATER_CACHE_DIR"]
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
