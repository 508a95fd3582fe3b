"""What every API operation works with, and the table of operations.

An operation is a function ``(api, params) -> dict`` registered under its service and
AWS name with :func:`operation`. It calls the same engine code as the CLI. Long work
(a job run, a crawl, a replication task) is handed to :class:`Launcher`: the CLI's own
command in a process of its own, so the call returns at once, as AWS's do, and the
run goes on if the server stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.hive import HiveCatalog
from engine.api.protocol import ApiError
from engine.catalogs import open_catalog
from engine.config import Settings, check_name
from engine.state.store import RunStore, now, open_run_store

Handler = Callable[["Api", dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[tuple[str, str], Handler] = {}
PAGE = 100  # items per page when the caller gives no MaxResults
KEEP_LAUNCHED = 1000  # launches remembered; the run store has the runs' records


def operation(service: str, name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        OPERATIONS[(service, name)] = handler
        return handler

    return register


def not_found(what: str) -> ApiError:
    return ApiError("EntityNotFoundException", f"{what} not found")


def page(
    items: list[Any], params: dict[str, Any], default: int = PAGE
) -> tuple[list[Any], str | None]:
    """One page of ``items`` for NextToken/MaxResults (the token is an offset)."""
    token = params.get("NextToken") or "0"
    if not token.isdigit():
        raise ApiError("InvalidInputException", f"NextToken {token!r} was not given by this API")
    start, size = int(token), int(params.get("MaxResults") or default)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    started_at: str
    log: Path
    stopping: bool = False

    @property
    def running(self) -> bool:
        return self.process.poll() is None


class Launcher:
    """``headwater <args>`` in a new session (its own process group), output to a log
    under ``<home>/logs/api/``; remembered by a key (``crawler:sales``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.launched: dict[str, Launched] = {}

    def start(self, key: str, args: list[str]) -> Launched:
        log = self.settings.home_path / "logs" / "api" / f"{key.replace(':', '-')}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "engine.cli.app", "--profile", str(self.settings.profile)]
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*command, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.launched[key] = Launched(process, now(), log)
        if len(self.launched) > KEEP_LAUNCHED:  # a server runs for weeks: forget old ends
            ended = [k for k, v in self.launched.items() if not v.running]
            for old in ended[: len(self.launched) - KEEP_LAUNCHED // 2]:
                del self.launched[old]
        return self.launched[key]

    def get(self, key: str) -> Launched | None:
        return self.launched.get(key)

    def running(self, key: str) -> bool:
        found = self.launched.get(key)
        return found is not None and found.running

    def stop(self, key: str) -> bool:
        """SIGTERM to the process group of ``key``'s launch; whether one was running."""
        found = self.launched.get(key)
        if found is None or not found.running:
            return False
        found.stopping = True
        try:
            os.killpg(found.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True

    def tail(self, key: str, lines: int = 5) -> str:
        found = self.launched.get(key)
        if found is None or not found.log.is_file():
            return ""
        return " ".join(found.log.read_text(errors="replace").strip().splitlines()[-lines:])


@dataclass
class Api:
    """The server's state: settings, the run store and catalog (opened on first use, on
    the one thread that runs operations), the launcher."""

    settings: Settings
    launcher: Launcher = field(init=False)
    _store: RunStore | None = None
    _catalog: HiveCatalog | None = None

    def __post_init__(self) -> None:
        self.launcher = Launcher(self.settings)

    @property
    def store(self) -> RunStore:
        if self._store is None:
            self._store = open_run_store(self.settings)
        return self._store

    @property
    def catalog(self) -> HiveCatalog:
        if self._catalog is None:
            self._catalog = open_catalog(self.settings)
        return self._catalog

    @property
    def account(self) -> str:
        return self.settings.api.account

    def arn(self, service: str, kind: str, name: str) -> str:
        api = self.settings.api
        return f"arn:aws:{service}:{api.region}:{api.account}:{kind}:{name}"

    def name_in(self, arn: str, service: str, kind: str) -> str:
        """The name at the end of an ARN of ``kind`` (a bare name is taken as it is)."""
        prefix = f"arn:aws:{service}:"
        if arn.startswith(prefix):
            parts = arn.split(":", 6)
            if len(parts) != 7 or parts[5] != kind:
                raise ApiError(
                    "InvalidParameterValueException", f"{arn} is not the ARN of a {kind}"
                )
            arn = parts[6]
        try:
            return check_name(kind, arn)
        except Exception:
            raise ApiError(
                "InvalidParameterValueException", f"{arn!r} is not a {kind} name"
            ) from None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
