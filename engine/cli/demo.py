"""``headwater demo``: the whole flow on the sample data, step by step.

Each step is a separate process, exactly as a user would run it; in the local
profile they share the metastore service the first one starts.
"""

from __future__ import annotations

import subprocess
import sys
import time

from catalog.output import say
from engine import storage
from engine.cli.context import STATE
from engine.demo import DATA, TABLES
from engine.errors import HeadwaterError

HEADWATER = [sys.executable, "-m", "engine.cli.app"]


def _step(title: str, command: list[str]) -> None:
    shown = ["headwater", *command[len(HEADWATER) :]] if command[:3] == HEADWATER else command
    say(f"\n[bold cyan]== {title}[/]\n$ {' '.join(shown)}")
    started = time.monotonic()
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise HeadwaterError(
            f"demo step '{title}' failed (exit {result.returncode})",
            hint="its error is printed above; rerun with --debug for details",
        )
    say(f"[dim]({time.monotonic() - started:.0f}s)[/]")


def demo() -> None:
    """Land the sample data, crawl it, ingest it to Delta and list the result.

    Example: headwater demo
    """
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
