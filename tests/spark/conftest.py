"""One local Spark session (embedded metastore) for the whole spark-marked run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog.hive import HiveCatalog
from engine.config import Settings, load_settings
from engine.spark.session import SparkSqlRunner, build_session


@pytest.fixture(scope="session")
def local_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("headwater-home")
    # the one session lives through the whole run: peak speed, not a fast start
    spark = {"master": "local[2]", "shuffle_partitions": 2, "driver_java_options": ""}
    return load_settings(profile="local", home=home, spark=spark)


@pytest.fixture(scope="session")
def spark(local_settings: Settings) -> Iterator[Any]:
    session = build_session(local_settings, app_name="headwater-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def catalog(spark: Any) -> HiveCatalog:
    return HiveCatalog(SparkSqlRunner(spark))
