"""Shared CLI state: settings from the global options, and the catalog to use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog.hive import HiveCatalog
from engine.config import Settings, load_settings


@dataclass
class CliState:
    overrides: dict[str, Any] = field(default_factory=dict)
    debug: bool = False
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(**self.overrides)
        return self._settings


STATE = CliState()


def open_catalog(settings: Settings | None = None) -> HiveCatalog:
    """The catalog for the profile: PyHive to the Thrift Server (stack), no JVM here;
    or a Spark session on the embedded metastore (local)."""
    settings = settings or STATE.settings
    if settings.profile == "stack":
        from catalog.hiveserver2 import HiveServer2Runner

        return HiveCatalog(HiveServer2Runner(settings.stack.host, settings.stack.thrift_port))
    from engine.spark.session import SparkSqlRunner, build_session

    return HiveCatalog(SparkSqlRunner(build_session(settings, app_name="headwater-cli")))
