"""Shared CLI state: settings from the global options, and the catalog to use."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from catalog.hive import HiveCatalog
from engine.config import Settings, load_settings

if TYPE_CHECKING:
    from engine.state.store import RunStore


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


def open_state() -> RunStore:
    """The run-state database of the CLI's settings."""
    from engine.state.store import open_run_store

    return open_run_store(STATE.settings)


def key_values(values: list[str], option: str, example: str) -> dict[str, str]:
    """``KEY=VALUE`` options (``--arg``, ``--property``) as a mapping."""
    from engine.errors import ConfigError

    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"{option} {item!r} must be KEY=VALUE", hint=f"e.g. {option} {example}"
            )
        pairs[key.removeprefix("--")] = value
    return pairs


def open_catalog(settings: Settings | None = None) -> HiveCatalog:
    """The catalog for the profile of the CLI's settings (see :mod:`engine.catalogs`)."""
    from engine import catalogs

    return catalogs.open_catalog(settings or STATE.settings)
