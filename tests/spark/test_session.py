"""The session factory: Delta and Hive on, the local profile's metastore service shared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.config import Settings
from tests.helpers import clean_env, run_cli, until


def test_session_has_delta_hive_and_the_lake_layout(spark: Any, local_settings: Settings) -> None:
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.sql.catalogImplementation") == "hive"
    assert "DeltaSparkSessionExtension" in conf.get("spark.sql.extensions")
    assert spark.conf.get("spark.sql.warehouse.dir").startswith(
        f"file:{local_settings.lake_path}/raw"
    )


def test_a_second_process_shares_the_local_metastore_and_stack_down_stops_it(
    spark: Any, local_settings: Settings
) -> None:
    """Issue 18: the local profile's metastore is a service on its embedded database,
    not the first JVM's: another process lists what this one created meanwhile."""
    spark.sql("CREATE DATABASE IF NOT EXISTS shared_by_two").collect()
    env = clean_env(HEADWATER_PROFILE="local", HEADWATER_HOME=str(local_settings.home_path))
    listed = run_cli(["catalog", "databases", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    assert {"database": "shared_by_two"} in json.loads(listed.stdout)

    status = run_cli(["stack", "status", "--json"], env)
    service = next(s for s in json.loads(status.stdout) if s["service"] == "local-metastore")
    assert service["state"] == "healthy"
    assert spark.conf.get("spark.hadoop.hive.metastore.uris") == f"thrift://{service['address']}"


def test_the_local_metastore_stops_when_idle_and_on_stack_down(tmp_path: Path) -> None:
    from engine.config import load_settings
    from engine.stack.local_metastore import LocalMetastoreService, ensure_local_metastore

    home = tmp_path / "home"
    idle = load_settings(profile="local", home=home, local={"metastore_idle_seconds": 3})
    started = ensure_local_metastore(idle)
    assert started.is_healthy() and started.port > 0
    until(lambda: not started.is_running(), "the idle metastore to stop itself", 60)
    assert "no client for 3 s, stopping" in started.process.log_file.read_text()

    env = clean_env(HEADWATER_PROFILE="local", HEADWATER_HOME=str(home))
    assert run_cli(["catalog", "databases"], env).returncode == 0  # started again on demand
    again = LocalMetastoreService(load_settings(profile="local", home=home))
    assert again.is_healthy()
    stopped = run_cli(["stack", "down"], env)
    assert stopped.returncode == 0 and "stopped local-metastore" in stopped.stdout
    assert not again.is_running()
