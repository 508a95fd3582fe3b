"""Crash injection for the exactly-once tests: die right after a named step.

``HEADWATER_FAULT_AFTER`` names the start of a step (``commit to``, ``register``,
``confirm bookmark`` …); when a step whose name starts with it ends, the process is
killed with SIGKILL (``HEADWATER_FAULT_MODE=kill``, the default) or a
:class:`SimulatedCrash` is raised (``raise``: for in-process tests, it passes through
every ``except Exception`` as a dead process would). ``pause:<folder>`` holds the
step instead: it creates ``<folder>/paused`` and waits until ``<folder>/resume``
exists (the concurrency tests: a writer held inside its table lock). Unset, it costs
one lookup.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

FAULT_AFTER = "HEADWATER_FAULT_AFTER"
FAULT_MODE = "HEADWATER_FAULT_MODE"
PAUSE_LIMIT_SECONDS = 300.0


class SimulatedCrash(BaseException):
    """A process death stand-in: not an Exception, so nothing handles it."""


def after_step(name: str) -> None:
    """Crash here if the fault names this step."""
    wanted = os.environ.get(FAULT_AFTER)
    if not wanted or not name.startswith(wanted):
        return
    mode = os.environ.get(FAULT_MODE, "kill")
    if mode == "raise":
        raise SimulatedCrash(f"simulated crash after step {name!r}")
    if mode.startswith("pause:"):
        return _pause(Path(mode.removeprefix("pause:")))
    os.kill(os.getpid(), signal.SIGKILL)


def _pause(folder: Path, limit: float = PAUSE_LIMIT_SECONDS) -> None:
    (folder / "paused").touch()
    deadline = time.monotonic() + limit
    while not (folder / "resume").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
