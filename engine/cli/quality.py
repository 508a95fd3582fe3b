"""``headwater quality``: the results kept with runs, and a starting suite for a table."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer

from catalog.cli import split_name
from catalog.ddl import quote_name
from catalog.output import render, say
from engine.cli.context import open_catalog, open_state

app = typer.Typer(no_args_is_help=True, help="Data quality: results and suggested suites.")


@app.command("results")
def results(
    job: str = typer.Option(None, "--job", help="Only this job's checks."),
    run: str = typer.Option(None, "--run", help="Only this run's check."),
    limit: int = typer.Option(5, "--limit", "-n", min=1, help="Checks to show."),
    failed: bool = typer.Option(False, "--failed", help="Only the rules that failed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the rules each checked batch was held to.

    Per rule: success, unexpected rows, the observed values, and what the suite's
    action did with the batch. Exit 1 when there is none.

    Examples:
      headwater quality results --job sales
      headwater quality results --run jr_0123456789abcdef --failed --json
    """
    checks = open_state().quality_checks(run_ids=[run] if run else (), job=job, limit=limit)
    pairs = [(c, r) for c in checks for r in c.results if not (failed and r.success)]
    if not pairs and not as_json:
        say(
            "no quality results"
            + (f" for job {job}" if job else "")
            + (f" run {run}" if run else "")
        )
        raise typer.Exit(1)
    if as_json:
        render(
            [
                {
                    "run": check.run_id,
                    "job": check.job,
                    "target": check.target,
                    "suite": check.suite,
                    "action": check.action,
                    "outcome": check.outcome,
                    "rule": result.rule,
                    "expectation": result.expectation,
                    "success": result.success,
                    "rows": result.element_count,
                    "unexpected": result.unexpected_count,
                    "observed": result.observed,
                    "evaluated": check.evaluated_at,
                }
                for check, result in pairs
            ],
            as_json=True,
        )
        return
    for check in checks:
        say(
            f"[bold]{check.run_id}[/] {check.job} -> {check.target}: suite {check.suite} "
            f"({check.action}) {check.summary}  {check.evaluated_at}"
        )
    render(
        [
            {
                "run": check.run_id,
                "rule": result.rule,
                "ok": "yes" if result.success else "NO",
                "unexpected": ""
                if result.unexpected_count is None
                else f"{result.unexpected_count} of {result.element_count}",
                "observed": ", ".join(f"{k}={v}" for k, v in result.observed.items()),
            }
            for check, result in pairs
        ],
        title="quality results",
    )


@app.command("suggest")
def suggest(
    name: str = typer.Argument(..., help="The table to profile, e.g. raw.sales."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the YAML here."),
) -> None:
    """Print a starting quality suite for a table, as YAML to edit.

    The table is profiled in two SQL passes (types, null rates, ranges of numbers,
    small value sets); attach the edited suite to a job.

    Example: headwater quality suggest raw.sales -o quality/sales.yaml
    """
    from engine.quality import suggest as profiler

    database, table_name = split_name(name)
    catalog = open_catalog()
    table = catalog.get_table(database, table_name)
    columns = [*table.columns, *table.partition_keys]
    target = f"{quote_name(database)}.{quote_name(table_name)}"
    _, stats = catalog.query(profiler.stats_sql(target, columns))
    profile = profiler.parse_stats(target, columns, stats[0])
    detail = profiler.detail_sql(profile)
    if detail:
        _, found = catalog.query(detail)
        profile = profiler.with_details(profile, found[0])
    import yaml  # deferred: yaml, for this command's output only

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    document = {"action": "warn", "rules": profiler.suggest_rules(profile)}
    text = (
        f"# suggested by `headwater quality suggest {name}` from {profile.rows} rows, {stamp}.\n"
        "# Edit it: bounds and sets are what the table holds today. Attach it to a job under\n"
        "# jobs.<name>.quality in headwater.yaml, or pass it to one run with --arg quality=FILE.\n"
        + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    )
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    say(f"wrote {len(document['rules'])} rule(s) for {name} to {output}")
