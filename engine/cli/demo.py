"""``headwater demo``: the whole flow on the sample data, step by step.

Each step is a separate process, exactly as a user would run it; in the local
profile they share the metastore service the first one starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import typer

from catalog.output import say
from engine import storage
from engine.cli.context import STATE
from engine.config import PROJECT_FILE_ENV
from engine.demo import DATA, TABLES
from engine.errors import HeadwaterError

HEADWATER = [sys.executable, "-m", "engine.cli.app"]


def _step(title: str, command: list[str], env: dict[str, str] | None = None) -> None:
    shown = ["headwater", *command[len(HEADWATER) :]] if command[:3] == HEADWATER else command
    say(f"\n[bold cyan]== {title}[/]\n$ {' '.join(shown)}")
    started = time.monotonic()
    result = subprocess.run(command, check=False, env=env)
    if result.returncode != 0:
        raise HeadwaterError(
            f"demo step '{title}' failed (exit {result.returncode})",
            hint="its error is printed above; rerun with --debug for details",
        )
    say(f"[dim]({time.monotonic() - started:.0f}s)[/]")


def demo(
    what: str = typer.Argument(
        "files", help="files (land, crawl, ingest) or replication (DMS on the stack)."
    ),
) -> None:
    """Land the sample data, crawl it, ingest it to Delta and list the result; or,
    with `replication`, replicate a sample PostgreSQL database (the stack's).

    Examples:
      headwater demo
      headwater demo replication
    """
    if what == "replication":
        return replication_demo()
    if what != "files":
        raise HeadwaterError(f"no demo {what!r}", hint="headwater demo [files|replication]")
    settings = STATE.settings
    landing, raw = settings.buckets.landing, settings.buckets.raw
    storage.ensure_buckets(settings, [landing, raw])
    store = storage.open_store(settings, landing)
    copied = storage.upload_tree(store, DATA, "")
    say(f"[bold cyan]== 1. landed {copied} sample files in {store.uri()}[/]")
    say(f"profile: {settings.profile}")

    profile = ["--profile", str(settings.profile)]
    _step(
        "2. crawl the landing bucket into database 'landing'",
        [*HEADWATER, *profile, "crawl", f"s3://{landing}/", "--database", "landing"],
    )
    for number, table in enumerate(TABLES, start=3):
        _step(
            f"{number}. ingest landing.{table} into a Delta table raw.{table}",
            [
                *HEADWATER,
                *profile,
                "job",
                "run",
                f"demo_{table}",
                "--source",
                f"landing.{table}",
                "--target",
                f"raw.{table}",
                "--arg",
                "write_mode=overwrite",  # a demo rerun re-lands the re-uploaded samples
            ],
        )
    _step(
        "5. the landed tables in database 'raw'",
        [*HEADWATER, *profile, "catalog", "tables", "raw", "--counts"],
    )
    where = (
        f"the local metastore on {settings.metastore_derby_path} (`headwater stack down` "
        "stops it; idle, it stops itself)"
        if settings.profile == "local"
        else f"the Hive metastore at {settings.stack.metastore_uri}"
    )
    say(
        f"\nDelta tables lie under {settings.bucket_uri(raw)}/; the catalog is {where}.\n"
        "Next: headwater catalog describe raw.sales · headwater classify <file> · "
        "make up && headwater --profile stack demo"
    )


def replication_demo() -> None:
    """DMS on the stack: a sample ``demo_shop`` database in its PostgreSQL, the task
    ``shop`` (full load, then CDC), two waves of changes each taken by a batch,
    validation, status and the landed tables."""
    from engine.demo import replication as sample  # deferred: the stack's machinery

    settings = STATE.settings
    if settings.profile != "stack":
        raise HeadwaterError(
            "the replication demo replicates the stack's PostgreSQL",
            hint="start the stack (make up), then: headwater demo replication",
        )
    sample.create_source(settings)
    path, written = sample.project(settings)
    say(
        f"[bold cyan]== 1. a sample database {sample.DATABASE} (customers, orders) in the "
        f"stack's PostgreSQL; task {sample.TASK} in {path}[/]"
        + ("" if written else " (headwater.yaml here is yours: the demo's task is apart)")
    )
    env = {**os.environ, PROJECT_FILE_ENV: str(path), "HEADWATER_PROFILE": "stack"}
    replicate = [*HEADWATER, "replicate"]
    _step(
        "2. full load in the slot's snapshot, then CDC from that position",
        [*replicate, "reload", sample.TASK],
        env,
    )
    for wave in range(len(sample.CHANGES)):
        sample.change_source(settings, wave)
        say(f"\n[dim]changed the source: {'; '.join(sample.CHANGES[wave])}[/]")
        _step(
            f"{3 + wave}. one CDC batch takes the changes", [*replicate, "resume", sample.TASK], env
        )
    step = 3 + len(sample.CHANGES)
    _step(
        f"{step}. validate: the lake against the source", [*replicate, "validate", sample.TASK], env
    )
    _step(f"{step + 1}. status", [*replicate, "status", sample.TASK], env)
    _step(
        f"{step + 2}. the landed tables (current state, and __ct change tables)",
        [*HEADWATER, "catalog", "tables", sample.TASK, "--counts"],
        env,
    )
    follow = "" if written else f"HEADWATER_PROJECT_FILE={path} "
    say(
        f"\nNext: {follow}headwater replicate resume {sample.TASK} --continuous · "
        f"{follow}headwater replicate status {sample.TASK} · docs/replication.md"
    )
