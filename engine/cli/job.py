"""``headwater job run``: run a job module through spark-submit, as Glue runs a job."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer

from catalog.output import say
from engine.cli.context import STATE
from engine.errors import JobError

app = typer.Typer(help="Run ingestion jobs (PySpark modules under jobs/).", no_args_is_help=True)

JOBS_DIR = Path(__file__).resolve().parents[2] / "jobs"


def spark_submit_command(script: str, args: list[str], master: str | None) -> list[str]:
    from engine.stack.artifacts import spark_home

    command = [str(spark_home() / "bin" / "spark-submit")]
    if master:
        command += ["--master", master]
    return [*command, str(JOBS_DIR / script), *args]


@app.command("run")
def run(
    job_name: str = typer.Argument(..., help="The job's name (its --JOB_NAME)."),
    source: str = typer.Option(..., "--source", help="Source table, database.table."),
    target: str = typer.Option(..., "--target", help="Target table, database.table."),
    master: str = typer.Option(None, "--master", help="e.g. spark://127.0.0.1:7077."),
) -> None:
    """Run jobs/ingest.py with spark-submit.

    Example: headwater job run demo --source landing.sales --target raw.sales
    """
    from engine.stack import artifacts

    settings = STATE.settings
    if not artifacts.is_spark_defaults_current(settings):
        artifacts.write_spark_defaults(settings)
    command = spark_submit_command(
        "ingest.py", ["--JOB_NAME", job_name, "--source", source, "--target", target], master
    )
    say(f"spark-submit jobs/ingest.py --JOB_NAME {job_name} --source {source} --target {target}")
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise JobError(
            f"job {job_name} failed (spark-submit exit {result.returncode})",
            hint="the job's error is printed above",
        )
