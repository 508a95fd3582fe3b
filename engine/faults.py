"""Crash injection for the exactly-once tests: die right after a named step.

``HEADWATER_FAULT_AFTER`` names the start of a step (``commit to``, ``register``,
``confirm bookmark`` …); when a step whose name starts with it ends, the process is
killed with SIGKILL (``HEADWATER_FAULT_MODE=kill``, the default) or a
:class:`SimulatedCrash` is raised (``raise``: for in-process tests, it passes through
every ``except Exception`` as a dead process would). Unset, it costs one lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_AFTER = "HEADWATER_FAULT_AFTER"
FAULT_MODE = "HEADWATER_FAULT_MODE"


class SimulatedCrash(BaseException):
    """A process death stand-in: not an Exception, so nothing handles it."""


def after_step(name: str) -> None:
    """Crash here if the fault names this step."""
    wanted = os.environ.get(FAULT_AFTER)
    if not wanted or not name.startswith(wanted):
        return
    if os.environ.get(FAULT_MODE, "kill") == "raise":
        raise SimulatedCrash(f"simulated crash after step {name!r}")
    os.kill(os.getpid(), signal.SIGKILL)
