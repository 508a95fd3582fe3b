"""``headwater table optimize|vacuum``: keeping Delta tables fast to read and their
storage bounded, without breaking what was promised to readers.

- **optimize** compacts a table's small files (continuous CDC MERGEs every few
  seconds write many). It holds the table's one-writer lock, as every write does.
- **vacuum** deletes the files no version within the retention references. A version
  pinned by a ``headwater snapshot`` manifest (recorded in the run-state database)
  stays readable: the retention is raised to cover the oldest pinned version, so no
  file it reads is deleted until the pin is released (``headwater table unpin``).

Run by ``jobs/maintain.py`` (spark-submit), from the CLI, a trigger or a workflow.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from catalog.cli import split_name
from engine.errors import JobError
from engine.ingest.definitions import JobDefinition
from engine.lake.sink import writing
from engine.state.pins import Pin
from engine.state.store import now

if TYPE_CHECKING:
    from engine.ingest.context import JobContext

OPERATIONS = ("optimize", "vacuum")
DEFAULT_RETAIN_HOURS = 168.0  # Delta's default: 7 days
PIN_MARGIN_HOURS = 1.0  # beyond a pinned version's age: clocks differ a little


def retention_hours(requested: float, pins: list[Pin], now: datetime) -> tuple[float, str]:
    """The retention VACUUM runs with: ``requested``, raised to cover the oldest
    pinned version (every file removed after its commit is then kept); and why."""
    if not pins:
        return requested, ""
    unknown = [p for p in pins if not p.committed_at]
    if unknown:
        raise JobError(
            f"{unknown[0].table_name} version {unknown[0].version} is pinned but its commit "
            "time is unknown: vacuum cannot tell which files it reads",
            hint=f"release it first: headwater table unpin {unknown[0].table_name} "
            f"--version {unknown[0].version}",
        )
    oldest = min(pins, key=lambda p: datetime.fromisoformat(p.committed_at))
    age = (now - datetime.fromisoformat(oldest.committed_at)).total_seconds() / 3600
    needed = float(math.ceil(age + PIN_MARGIN_HOURS))
    if needed <= requested:
        return requested, ""
    return needed, (
        f"retention raised to {needed:g} h: version {oldest.version} is pinned by a snapshot "
        f"made {oldest.created_at} (headwater table unpin {oldest.table_name} --version "
        f"{oldest.version} releases it)"
    )


def maintenance_job(
    table: str, operation: str, **arguments: str | float | bool
) -> tuple[str, JobDefinition]:
    """The job name and definition that run one maintenance operation on ``table``
    (``jobs/maintain.py`` under spark-submit): for the CLI, triggers and workflows."""
    definition = JobDefinition(
        script="jobs/maintain.py",
        arguments={"table": table, "operation": operation, **arguments},
    )
    return f"maintain-{table}", definition


def run_maintenance(ctx: JobContext) -> None:
    """The body of ``jobs/maintain.py``: one operation on one catalogued Delta table."""
    from engine.spark import maintenance as spark_side

    name, operation = ctx.args["table"], ctx.args.get("operation", "optimize")
    if operation not in OPERATIONS:
        raise JobError(f"--operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    database, table_name = split_name(name)
    table = ctx.catalog().get_table(database, table_name)
    if table.format != "delta":
        raise JobError(
            f"{name} is a {table.format} table: only Delta tables are optimized or vacuumed",
            hint="run it on the tables jobs and replication land (raw.*)",
            table=name,
        )
    location = table.location.rstrip("/")
    ctx.run_record.source = ctx.run_record.target = name
    with writing(ctx.store, ctx.run_id, (location,), now), ctx.step(f"{operation} {name}"):
        if operation == "optimize":
            before, after = spark_side.optimize(ctx.spark, location)
            print(f"{name}: {before} data file(s) compacted into {after}")
            ctx.run_record.files_read = before
            return
        requested = float(ctx.args.get("retain_hours", DEFAULT_RETAIN_HOURS))
        hours, why = retention_hours(
            requested, ctx.store.pins(location), datetime.now(timezone.utc)
        )
        if why:
            print(f"{name}: {why}")
        dry_run = ctx.args.get("dry_run", "false") == "true"
        files = spark_side.vacuum(ctx.spark, location, hours, dry_run)
        verb = "would delete" if dry_run else "deleted"
        print(f"{name}: {verb} {len(files)} file(s) older than {hours:g} h")
        for path in files[:20]:
            print(f"  {path}")
