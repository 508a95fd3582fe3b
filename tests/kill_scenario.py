"""Killing a job with SIGKILL while it writes, for the exactly-once tests of both
profiles: the data it reads, and the kill itself."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

ROWS_PER_FILE = 150_000
PENDING_RUNS_SQL = (
    "SELECT r.pid FROM job_runs r WHERE r.state = 'RUNNING' AND EXISTS "
    "(SELECT 1 FROM job_bookmarks b WHERE b.status = 'PENDING' AND b.run_id = r.run_id)"
)


def csv_part(first_id: int) -> tuple[bytes, list[int]]:
    """One CSV file of ROWS_PER_FILE rows with ids from ``first_id``."""
    ids = list(range(first_id, first_id + ROWS_PER_FILE))
    text = "id,label,amount\n" + "".join(f"{i},row-{i},{i % 997}.25\n" for i in ids)
    return text.encode(), ids


def checksum(ids: list[int]) -> int:
    """What ``sum(id * 31 + amount * 100)`` gives over the rows of ``ids``."""
    return sum(i * 31 + (i % 997) * 100 + 25 for i in ids)


def kill_mid_write(
    command: list[str], env: dict[str, str], writing_driver: Callable[[], int | None]
) -> int:
    """Start ``command`` (``headwater job run …``); once ``writing_driver`` names the
    job's driver pid (its bookmark entry is PENDING: the Delta write is under way),
    SIGKILL the driver's process group (spark-submit, the JVM, the Python driver).
    Returns the runner's exit code."""
    runner = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 240
    driver = None
    while driver is None and runner.poll() is None:
        assert time.monotonic() < deadline, "the run never started writing"
        driver = writing_driver()
        time.sleep(0.05)
    assert driver is not None, "the run ended before it could be killed"
    os.killpg(os.getpgid(driver), signal.SIGKILL)
    return runner.wait(60)
