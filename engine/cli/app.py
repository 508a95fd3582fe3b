"""``headwater``: the command line. Commands are thin: parse, call engine, render.

Exit codes: 0 success; 1 a headwater error (message and hint on stderr); 2 bad
usage; 3 a service could not be reached (transient: retry after ``make up``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from catalog.cli import make_catalog_app
from catalog.output import fail
from engine.cli import crawl as crawl_cmd
from engine.cli import demo as demo_cmd
from engine.cli import handoff as handoff_cmd
from engine.cli import history as history_cmd
from engine.cli import job as job_cmd
from engine.cli import quality as quality_cmd
from engine.cli import replicate as replicate_cmd
from engine.cli import serve as serve_cmd
from engine.cli import stack as stack_cmd
from engine.cli import table as table_cmd
from engine.cli import workflow as workflow_cmd
from engine.cli.context import STATE, open_catalog
from engine.errors import HeadwaterError

EXIT_ERROR, EXIT_USAGE, EXIT_UNAVAILABLE = 1, 2, 3

app = typer.Typer(
    name="headwater",
    help="Self-hosted Glue + DMS: crawl files into a Hive catalog, land them as Delta tables.",
    epilog=(
        "Examples: headwater demo · headwater crawl s3://landing/ --database landing · "
        "headwater job run sales · headwater catalog describe raw.sales · "
        "headwater workflow run daily · headwater quality results --job sales · "
        "headwater runs --state FAILED"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    profile: str = typer.Option(
        None, "--profile", help="local (embedded, default) or stack (real services)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    if profile:
        STATE.overrides["profile"] = profile
        # spark-submit children (job run) read the same profile
        os.environ["HEADWATER_PROFILE"] = profile
    STATE.debug = debug


app.add_typer(stack_cmd.app, name="stack")
app.add_typer(job_cmd.app, name="job")
app.add_typer(replicate_cmd.app, name="replicate")
app.add_typer(workflow_cmd.app, name="workflow")
app.add_typer(workflow_cmd.trigger_app, name="trigger")
app.add_typer(quality_cmd.app, name="quality")
app.add_typer(table_cmd.app, name="table")
app.command("scheduler")(workflow_cmd.scheduler)
catalog_app = make_catalog_app(
    lambda: open_catalog(),
    history_cmd.table_facts,
    history_cmd.known_tables,
    history_cmd.recorded_tables,
    history_cmd.delta_rows,
)
catalog_app.command("versions")(history_cmd.versions)
catalog_app.command("diff")(history_cmd.diff)
catalog_app.command("history")(handoff_cmd.history)
app.add_typer(catalog_app, name="catalog")
app.command("runs")(history_cmd.runs)
app.command("crawl")(crawl_cmd.crawl)
app.command("classify")(crawl_cmd.classify_files)
app.command("land")(crawl_cmd.land)
app.command("demo")(demo_cmd.demo)
app.command("snapshot")(handoff_cmd.snapshot)
app.command("serve")(serve_cmd.serve)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        app(args=list(argv) if argv is not None else None, prog_name="headwater")
    except SystemExit as exc:  # typer's standalone mode ends every run this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except HeadwaterError as exc:
        if STATE.debug:
            raise
        fail(exc.message, exc.hint)
        return EXIT_UNAVAILABLE if exc.transient else EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
