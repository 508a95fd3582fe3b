"""``headwater job run``: start a job as Glue does, and watch it.

The runner claims a run slot (max concurrent runs), builds the command from the
job's definition (spark-submit for ``spark`` and ``jvm`` jobs, this Python for
``python`` jobs), streams its output to the terminal and to a log file, enforces
the timeout (state TIMEOUT), retries a failed attempt up to ``max_retries`` times
(not when the job failed on bad input or configuration: that would fail again),
and turns SIGINT/SIGTERM into a STOPPED run. The job itself reports RUNNING, its
metrics and SUCCEEDED/FAILED through :class:`engine.ingest.context.JobContext`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from engine import artifacts
from engine.artifacts import spark_home
from engine.config import Settings, check_name
from engine.connections import driver_coordinates, load_connections
from engine.errors import JobError
from engine.ingest.args import resolve_options
from engine.ingest.context import EXIT_TERMINAL, new_run_id, visible_arguments
from engine.ingest.definitions import DEFAULT_SCRIPT, JobDefinition, job_suite
from engine.ingest.job import REQUIRED_ARGS
from engine.ingest.sources import connection
from engine.ingest.spec import parse_spec
from engine.spark.conf import driver_options
from engine.state.jobs import JobRun, this_host
from engine.state.store import RunStore, now
from engine.vocabulary import ACTIVE_STATES, RunState

KILL_GRACE_SECONDS = 10


def build_command(
    settings: Settings, definition: JobDefinition, arguments: list[str], master: str | None
) -> list[str]:
    entry = str(definition.resolve_path(definition.entry_point))
    if definition.type == "python":
        return [sys.executable, entry, *arguments]

    command = [str(spark_home() / "bin" / "spark-submit")]
    if master or definition.master:
        command += ["--master", str(master or definition.master)]
    # the job's own spark_conf comes after, so it wins
    for key, value in {**driver_options(settings), **definition.spark_conf}.items():
        command += ["--conf", f"{key}={value}"]
    drivers = driver_coordinates(load_connections())
    if drivers:  # other databases' JDBC drivers, on the driver's classpath from its start
        for key, value in artifacts.jar_properties(settings, drivers).items():
            command += ["--conf", f"{key}={value}"]
    if definition.type == "jvm":
        command += ["--class", str(definition.main_class)]
    return [*command, entry, *arguments]


def log_path(settings: Settings, job: str, run_id: str) -> Path:
    return settings.home_path / "logs" / "jobs" / check_name("job", job) / f"{run_id}.log"


class _Child:
    """One attempt's process (its own process group), output teed to a log file."""

    def __init__(self, command: list[str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pump = threading.Thread(target=self._copy, daemon=True)
        self.pump.start()

    def _copy(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            self.log.write(line)
            self.log.flush()
            sys.stdout.buffer.write(line)
            sys.stdout.flush()

    def kill(self) -> None:
        """SIGTERM to the whole group (spark-submit, its JVM, the Python driver), then
        SIGKILL if it is still there after a grace period."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(KILL_GRACE_SECONDS)
                return
            except subprocess.TimeoutExpired:
                continue

    def close(self) -> int:
        code = self.process.wait()
        self.pump.join(5)
        self.log.close()
        return code


def run_job(
    settings: Settings,
    store: RunStore,
    name: str,
    definition: JobDefinition,
    overrides: dict[str, str],
    *,
    master: str | None = None,
    run_id: str | None = None,
) -> JobRun:
    """Run ``name`` to a final state (with retries); the last attempt's record.
    ``run_id`` names the first attempt (the API hands out the id before the run)."""
    if definition.type != "python" and not artifacts.is_spark_defaults_current(settings):
        artifacts.write_spark_defaults(settings)  # what spark-submit reads
    check_name("job", name)
    check_arguments(name, definition, overrides)
    base = run_id or new_run_id()
    previous: str | None = None
    record: JobRun | None = None
    for attempt in range(definition.max_retries + 1):
        run_id = base if attempt == 0 else f"{base}_attempt_{attempt}"
        arguments = definition.command_arguments(name, overrides)
        shown = dict(zip(arguments[2::2], arguments[3::2], strict=False))
        record = JobRun(
            run_id=run_id,
            job=name,
            started_at=now(),
            attempt=attempt,
            previous_run_id=previous,
            state=RunState.STARTING,
            pid=os.getpid(),
            host=this_host(),
            job_type=definition.type,
            arguments=visible_arguments({k.removeprefix("--"): v for k, v in shown.items()}),
            log_path=str(log_path(settings, name, run_id)),
        )
        store.claim_job_run(record, definition.max_concurrent_runs, now())
        command = build_command(
            settings,
            definition,
            [*arguments, "--JOB_RUN_ID", run_id, "--ATTEMPT", str(attempt)],
            master,
        )
        print(f"$ {' '.join(command)}", flush=True)
        code, timed_out, stopped = _supervise(
            store, record, command, definition.timeout_minutes * 60
        )
        record = _settle(store, run_id, code, timed_out, stopped, definition)
        if record.state != RunState.FAILED or code == EXIT_TERMINAL or stopped:
            return record
        previous = run_id
        if attempt < definition.max_retries:
            print(f"job {name}: attempt {attempt} failed; retrying", file=sys.stderr)
    assert record is not None
    return record


def check_arguments(name: str, definition: JobDefinition, overrides: dict[str, str]) -> None:
    """Everything the built-in ingest job would refuse, refused now: before a JVM
    starts and before a run is recorded (arguments, quality rules, the connection's
    password)."""
    if definition.type != "spark" or definition.entry_point != DEFAULT_SCRIPT:
        return

    options = resolve_options(definition.command_arguments(name, overrides), REQUIRED_ARGS)
    spec = parse_spec(options)
    job_suite(name, options.get("quality"))
    if spec.source.connection:
        connection(spec.source.connection).password()


def _supervise(
    store: RunStore, record: JobRun, command: list[str], timeout_seconds: float
) -> tuple[int, bool, bool]:
    stopped = threading.Event()
    child = _Child(command, Path(record.log_path))
    if record.job_type == "jvm":  # a jar does not report; the runner does
        record.state, record.pid = RunState.RUNNING, child.process.pid
        store.save_job_run(record)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    handlers = {}
    if threading.current_thread() is threading.main_thread():  # Python's rule for handlers
        handlers = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    deadline = time.monotonic() + timeout_seconds
    timed_out = False
    try:
        while child.process.poll() is None:
            if stopped.is_set():
                child.kill()
                break
            if time.monotonic() > deadline:
                timed_out = True
                child.kill()
                break
            time.sleep(0.2)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return child.close(), timed_out, stopped.is_set()


def _settle(
    store: RunStore,
    run_id: str,
    code: int,
    timed_out: bool,
    stopped: bool,
    definition: JobDefinition,
) -> JobRun:
    record = store.job_run(run_id)
    if record is None:
        raise JobError(f"run {run_id} vanished from the run-state database")
    if timed_out:
        record.state = RunState.TIMEOUT
        record.error = f"stopped after its timeout of {definition.timeout_minutes} minute(s)"
    elif stopped or record.state == RunState.STOPPED:
        record.state, record.error = RunState.STOPPED, record.error or "stopped on request"
    elif record.state in ACTIVE_STATES:  # the job never reported an end
        record.state = (
            RunState.SUCCEEDED if code == 0 and definition.type == "jvm" else RunState.FAILED
        )
        if record.state == RunState.FAILED:
            record.error = record.error or f"the job process exited with code {code}"
    elif record.state == RunState.SUCCEEDED and code != 0:
        record.state, record.error = RunState.FAILED, f"the job process exited with code {code}"
    record.ended_at = record.ended_at or now()
    if record.state in (RunState.TIMEOUT, RunState.STOPPED):
        record.ended_at = now()
    store.save_job_run(record)
    return record


def stop_runs(
    store: RunStore, job: str, *, whole_group: bool = True, only: set[str] | None = None
) -> list[str]:
    """Mark the job's live runs (or only the runs in ``only``) STOPPED and end their
    processes: the whole process group (spark-submit, the JVM, the driver), or with
    ``whole_group=False`` only the driver, which may finish what it is doing first (a
    continuous replication ends after its batch)."""
    stopped = []
    for record in store.job_runs(job, limit=100):
        if record.state not in ACTIVE_STATES or record.pid is None:
            continue
        if only is not None and record.run_id not in only:
            continue
        record.state, record.error, record.ended_at = RunState.STOPPED, "stopped on request", now()
        store.save_job_run(record)
        if record.host == this_host():
            with contextlib.suppress(ProcessLookupError):
                if whole_group:
                    os.killpg(os.getpgid(record.pid), signal.SIGTERM)
                else:
                    os.kill(record.pid, signal.SIGTERM)
        stopped.append(record.run_id)
    return stopped
