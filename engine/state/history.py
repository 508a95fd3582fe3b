"""``headwater runs``: recent runs of everything (crawls, jobs, replication tasks,
workflows, triggers) in one list, newest first."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from engine.errors import ConfigError
from engine.state.store import RunStore
from engine.vocabulary import RunState

KINDS = ("crawl", "job", "replication", "workflow", "trigger")
REPLICATION_PREFIX = "replicate-"
_SPAN = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass
class RunSummary:
    kind: str
    name: str
    run_id: str
    state: str
    started_at: str
    ended_at: str | None
    seconds: float | None
    error: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The summary with the run's own record flattened in (crawl metrics …)."""
        values = {**self.details, **asdict(self)}
        values.pop("details")
        return values


def since_time(text: str, now: datetime | None = None) -> str:
    """``30m``, ``2h``, ``1d`` before now, or an ISO time; as an ISO UTC string."""
    now = now or datetime.now(timezone.utc)
    match = _SPAN.match(text.strip())
    if match:
        return (now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})).isoformat(
            timespec="seconds"
        )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"--since {text!r} is neither a span (30m, 2h, 1d) nor an ISO time",
            hint="e.g. --since 2h or --since 2026-11-28T06:00:00+00:00",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def seconds_between(started: str | None, ended: str | None) -> float | None:
    """A run's duration from its ISO start and end (None while it runs)."""
    if not started or not ended:
        return None
    return (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()


def recent_runs(
    store: RunStore,
    kind: str | None = None,
    name: str | None = None,
    state: str | None = None,
    since: str | None = None,
    limit: int = 20,
) -> list[RunSummary]:
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
    wanted = set(KINDS if kind is None else (kind,))
    fetch = 1000 if (state or since) else limit
    found: list[RunSummary] = []
    if "crawl" in wanted:
        for crawl in store.crawl_runs(name, fetch):
            error = (
                "; ".join(e["reason"] for e in crawl.errors[:3])
                if crawl.state != RunState.SUCCEEDED
                else ""
            )
            found.append(
                RunSummary(
                    "crawl",
                    crawl.crawler,
                    crawl.run_id,
                    crawl.state,
                    crawl.started_at,
                    crawl.ended_at,
                    seconds_between(crawl.started_at, crawl.ended_at),
                    error or (crawl.log if crawl.state == RunState.FAILED else ""),
                    asdict(crawl),
                )
            )
    if wanted & {"job", "replication"}:
        job_name = None
        if name:
            job_name = f"{REPLICATION_PREFIX}{name}" if kind == "replication" else name
        for job in store.job_runs(job_name, fetch):
            is_replication = job.job.startswith(REPLICATION_PREFIX)
            what = "replication" if is_replication else "job"
            if what not in wanted:
                continue
            shown = job.job.removeprefix(REPLICATION_PREFIX) if is_replication else job.job
            error = (f"[{job.failed_step}] " if job.failed_step else "") + job.error
            found.append(
                RunSummary(
                    what,
                    shown,
                    job.run_id,
                    job.state,
                    job.started_at,
                    job.ended_at,
                    seconds_between(job.started_at, job.ended_at),
                    error,
                    asdict(job),
                )
            )
    for flow_kind in ("workflow", "trigger"):
        if flow_kind not in wanted:
            continue
        owner = f"{flow_kind}:{name}" if name else None
        for run in store.flow_runs(owner, limit=fetch):
            if run.kind != flow_kind:
                continue
            found.append(
                RunSummary(
                    flow_kind,
                    run.name,
                    run.run_id,
                    run.state,
                    run.started_at,
                    run.ended_at,
                    seconds_between(run.started_at, run.ended_at),
                    run.error,
                    {
                        "started_by": run.started_by,
                        "previous_run_id": run.previous_run_id,
                        "properties": run.properties,
                    },
                )
            )
    if state:
        found = [r for r in found if r.state == state.upper()]
    if since:
        found = [r for r in found if r.started_at >= since]
    found.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
    return found[:limit]
