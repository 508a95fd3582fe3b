"""Glue-style job arguments: ``--JOB_NAME demo --source landing.t --target raw.t``.

Like ``awsglue.utils.getResolvedOptions``: every option is ``--KEY value``; the
job says which keys it requires; unknown keys are kept (Glue passes its own).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import ConfigError


def resolve_options(argv: Sequence[str], required: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if not item.startswith("--"):
            raise ConfigError(f"unexpected argument {item!r}: job arguments are --KEY value pairs")
        key = item[2:]
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        elif i + 1 < len(items) and not items[i + 1].startswith("--"):
            value = items[i + 1]
            i += 2
        else:
            raise ConfigError(f"job argument --{key} has no value", key=key)
        options[key] = value
    missing = [key for key in required if key not in options]
    if missing:
        raise ConfigError(
            "missing job argument(s): " + ", ".join(f"--{k}" for k in missing),
            hint="e.g. --JOB_NAME demo --source landing.sales --target raw.sales",
        )
    return options
