"""The job runner with python-shell jobs (no Spark): states, retries, timeout,
max concurrency, stop, and the logs it keeps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from engine.config import Settings, load_settings
from engine.ingest.definitions import job, load_jobs
from engine.ingest.runner import run_job, stop_runs
from engine.state.jobs import JobConcurrencyError
from engine.state.store import RunStore, open_run_store

SCRIPT = str(Path(__file__).resolve().parents[1] / "data" / "jobs" / "python_job.py")


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    jobs = {
        "ok": {"type": "python", "script": SCRIPT, "arguments": {"note": "hello"}},
        "crash_once": {
            "type": "python",
            "script": SCRIPT,
            "arguments": {"fail": "first"},
            "max_retries": 2,
        },
        "bad_input": {
            "type": "python",
            "script": SCRIPT,
            "arguments": {"fail": "terminal"},
            "max_retries": 2,
        },
        "slow": {
            "type": "python",
            "script": SCRIPT,
            "arguments": {"sleep": "60"},
            "timeout_minutes": 0.05,
        },
        "single": {"type": "python", "script": SCRIPT, "arguments": {"sleep": "20"}},
    }
    path = tmp_path / "headwater.yaml"
    path.write_text(yaml.safe_dump({"jobs": jobs}))
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))
    monkeypatch.setenv("HEADWATER_PROFILE", "local")
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path / "home"))
    return load_settings()


def store(settings: Settings) -> RunStore:
    return open_run_store(settings)


def test_a_successful_run_is_recorded_with_its_metrics_arguments_and_log(project: Settings) -> None:
    record = run_job(project, store(project), "ok", job("ok"), {"extra": "1"})
    assert (record.state, record.attempt, record.rows_written) == ("SUCCEEDED", 0, 7)
    assert record.arguments == {"note": "hello", "extra": "1"}
    assert record.ended_at and record.pid
    assert Path(record.log_path).is_file()
    assert [r.run_id for r in store(project).job_runs("ok")] == [record.run_id]


def test_a_crash_is_retried_as_a_new_attempt(project: Settings) -> None:
    record = run_job(project, store(project), "crash_once", job("crash_once"), {})
    assert (record.state, record.attempt) == ("SUCCEEDED", 1)
    assert record.run_id.endswith("_attempt_1")
    first = store(project).job_run(str(record.previous_run_id))
    assert first is not None
    assert (first.state, first.failed_step, first.error) == (
        "FAILED",
        "start",
        "crash on attempt 0",
    )
    assert "RuntimeError: crash on attempt 0" in Path(first.log_path).read_text()


def test_bad_input_fails_once_without_retries(project: Settings) -> None:
    record = run_job(project, store(project), "bad_input", job("bad_input"), {})
    assert (record.state, record.attempt) == ("FAILED", 0)
    assert "--fail terminal" in record.error
    assert len(store(project).job_runs("bad_input")) == 1


def test_the_timeout_is_enforced(project: Settings) -> None:
    started = time.monotonic()
    record = run_job(project, store(project), "slow", job("slow"), {})
    assert record.state == "TIMEOUT"
    assert "timeout of 0.05 minute" in record.error
    assert time.monotonic() - started < 30


def test_a_run_beyond_max_concurrency_is_refused_and_stop_ends_the_first(
    project: Settings,
) -> None:
    results = {}
    first = threading.Thread(
        target=lambda: results.setdefault(
            "run", run_job(project, store(project), "single", job("single"), {})
        )
    )
    first.start()
    deadline = time.monotonic() + 20
    while not any(r.state == "RUNNING" for r in store(project).job_runs("single")):
        assert time.monotonic() < deadline, "the first run never reported RUNNING"
        time.sleep(0.1)
    with pytest.raises(JobConcurrencyError, match=r"job single already has 1 run\(s\) going"):
        run_job(project, store(project), "single", job("single"), {})
    assert len(stop_runs(store(project), "single")) == 1
    first.join(30)
    assert results["run"].state == "STOPPED"


def test_a_run_whose_process_vanished_does_not_block_the_next(project: Settings) -> None:
    from engine.state.jobs import JobRun

    runs = store(project)
    ghost = JobRun("jr_ghost", "ok", "2026-01-01T00:00:00+00:00", state="RUNNING", pid=2**22 + 7)
    ghost.host = __import__("socket").gethostname()
    runs.save_job_run(ghost)
    assert run_job(project, runs, "ok", job("ok"), {}).state == "SUCCEEDED"
    gone = runs.job_run("jr_ghost")
    assert gone is not None and gone.state == "FAILED" and "without a final state" in gone.error


def test_definitions_are_validated_with_the_key_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "headwater.yaml"
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))
    path.write_text(yaml.safe_dump({"jobs": {"j": {"type": "jvm", "jar": "x.jar"}}}))
    with pytest.raises(Exception, match="a jvm job needs 'jar' and 'main_class'"):
        load_jobs()
    path.write_text(yaml.safe_dump({"jobs": {"j": {"max_retries": -1}}}))
    with pytest.raises(Exception, match=r"jobs\.j\.max_retries"):
        load_jobs()
    path.write_text(
        yaml.safe_dump(
            {
                "jobs": {
                    "j": {"arguments": {"merge_keys": ["a", "b"], "mapping": [["x", "y"]], "n": 3}}
                }
            }
        )
    )
    command = job("j").command_arguments("j", {"n": "4"})
    assert command[:2] == ["--JOB_NAME", "j"]
    assert dict(zip(command[2::2], command[3::2], strict=True)) == {
        "--merge_keys": "a,b",
        "--mapping": '[["x", "y"]]',
        "--n": "4",
    }


def test_driver_java_options_reach_sessions_and_jobs_and_a_job_may_override_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.artifacts import LOG4J2_OPTION
    from engine.ingest.runner import build_command
    from engine.spark.conf import DRIVER_JAVA_OPTIONS, spark_conf

    path = tmp_path / "headwater.yaml"
    own = {"spark.driver.extraJavaOptions": "-Xss4m"}
    path.write_text(yaml.safe_dump({"jobs": {"plain": {}, "own": {"spark_conf": own}}}))
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))
    unset = load_settings(profile="stack", spark={"driver_java_options": ""})
    assert DRIVER_JAVA_OPTIONS not in spark_conf(unset)  # spark-defaults.conf's logging stays
    assert DRIVER_JAVA_OPTIONS not in " ".join(build_command(unset, job("plain"), [], None))

    fast = load_settings(profile="stack", spark={"driver_java_options": "-XX:TieredStopAtLevel=1"})
    options = f"{LOG4J2_OPTION} -XX:TieredStopAtLevel=1"
    assert spark_conf(fast)[DRIVER_JAVA_OPTIONS] == options
    assert f"{DRIVER_JAVA_OPTIONS}={options}" in build_command(fast, job("plain"), [], None)
    command = build_command(fast, job("own"), [], None)
    assert f"{DRIVER_JAVA_OPTIONS}=-Xss4m" in command and options not in " ".join(command)
