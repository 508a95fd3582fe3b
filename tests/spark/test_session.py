"""The session factory: Delta and Hive on, and a clear error when Derby is taken."""

from __future__ import annotations

import os
from typing import Any

from engine.config import Settings
from tests.helpers import clean_env, run_cli


def test_session_has_delta_hive_and_the_lake_layout(spark: Any, local_settings: Settings) -> None:
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.sql.catalogImplementation") == "hive"
    assert "DeltaSparkSessionExtension" in conf.get("spark.sql.extensions")
    assert spark.conf.get("spark.sql.warehouse.dir").startswith(
        f"file:{local_settings.lake_path}/raw"
    )


def test_a_second_process_on_the_same_embedded_metastore_gets_a_clear_error(
    spark: Any, local_settings: Settings
) -> None:
    spark.sql("SHOW DATABASES").collect()  # this process now holds the Derby metastore
    env = clean_env(HEADWATER_PROFILE="local", HEADWATER_HOME=str(local_settings.home_path))
    result = run_cli(["catalog", "databases"], env)
    assert result.returncode == 1
    said = " ".join(result.stderr.split())
    assert f"is in use by pid {os.getpid()}" in said  # names the holder: this test process
    assert "one headwater process at a time" in said
    assert "Traceback" not in result.stderr and "at org.apache" not in result.stderr
