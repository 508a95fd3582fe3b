"""A python-shell job for the runner tests: sleeps, fails or succeeds as told."""

from __future__ import annotations

import sys
import time

from engine.errors import ConfigError
from engine.ingest.context import JobContext


def body(ctx: JobContext) -> None:
    time.sleep(float(ctx.args.get("sleep", "0")))
    fail = ctx.args.get("fail", "")
    if fail == "terminal":
        raise ConfigError("--fail terminal: a bad argument", key="fail")
    if fail == "crash" or (fail == "first" and ctx.run_record.attempt == 0):
        raise RuntimeError(f"crash on attempt {ctx.run_record.attempt}")
    ctx.run_record.rows_written = 7


if __name__ == "__main__":
    sys.exit(JobContext.main(body, job_type="python"))
