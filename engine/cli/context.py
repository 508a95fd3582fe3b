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
    """The catalog for the profile of the CLI's settings (see :mod:`engine.catalogs`)."""
    from engine import catalogs

    return catalogs.open_catalog(settings or STATE.settings)
