"""``headwater serve``: the Glue and DMS APIs on a local endpoint (docs/api.md)."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

import typer

from engine.cli.context import STATE


def serve(
    host: str = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port (default 8099, settings api.port)."),
) -> None:
    """Answer AWS Glue's and DMS's APIs (JSON 1.1, SigV4) for boto3, the AWS CLI and
    Airflow's Amazon operators; keys from HEADWATER_API_KEYS=AKID:SECRET.

    Example: HEADWATER_API_KEYS=AKIDLOCAL:localsecret headwater serve --port 8099
    """
    from engine.api.server import serve as run_server

    settings = STATE.settings
    changes = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if changes:
        settings = settings.model_copy(update={"api": settings.api.model_copy(update=changes)})
    run_server(settings)
