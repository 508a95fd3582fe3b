"""``headwater stack …``: fill the cache, start, check and stop the native services."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

import typer

from catalog.output import render, say
from engine.cli.context import STATE

app = typer.Typer(
    help="The native stack: PostgreSQL, Hive metastore, MinIO, Thrift Server.", no_args_is_help=True
)

SERVICES_HELP = "Services (default: the whole stack). Add spark-master/spark-worker for a cluster."


@app.command("setup")
def setup(
    minio: bool = typer.Option(True, help="Also build MinIO from source (go install)."),
) -> None:
    """Fill the cache: JVM jars from Maven Central, the metastore launcher, MinIO.

    Example: headwater stack setup
    """
    from engine import artifacts

    for what, where in artifacts.setup(STATE.settings, with_minio=minio).items():
        say(f"{what}: {where}")


@app.command("up")
def up(services: list[str] = typer.Argument(None, help=SERVICES_HELP)) -> None:
    """Start the services (idempotent) and wait until each is healthy.

    Example: headwater --profile stack stack up
    """
    from engine.stack import launcher

    statuses = launcher.up(STATE.settings, services or launcher.STACK, progress=say)
    render([{"service": s.name, "address": s.address, "state": s.state} for s in statuses])


@app.command("down")
def down(services: list[str] = typer.Argument(None, help=SERVICES_HELP)) -> None:
    """Stop the services; no process is left behind.

    Example: headwater stack down
    """
    from engine.stack import launcher

    launcher.down(STATE.settings, services or tuple(launcher.SERVICES), progress=say)


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show each service, its address, pid, health and log.

    Example: headwater stack status
    """
    from engine.stack import launcher

    rows = [
        {"service": s.name, "address": s.address, "state": s.state, "pid": s.pid, "log": str(s.log)}
        for s in launcher.status(STATE.settings)
    ]
    render(rows, as_json=as_json, title=f"stack at {STATE.settings.state_dir}")
