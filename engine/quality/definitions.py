"""A quality suite attached to a job (``headwater.yaml``) or given to one run.

```yaml
jobs:
  sales:
    arguments: {source: landing.sales, target: raw.sales}
    quality:
      action: quarantine     # fail (default): nothing commits | warn: commit, record
                             # quarantine: failing rows aside, the rest commit
      rules:                 # the compact list (engine.quality.rules)
        - not_null: [order_id, customer_id]
        - between: {column: quantity, min: 1, max: 100}
      suite: quality/sales.json   # and/or a native great-expectations suite (JSON)
```

Ad hoc: ``headwater job run sales --arg quality=quality/sales.yaml`` (a YAML file with
the same keys) replaces the definition's suite for that run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import ConfigError
from engine.quality.rules import Rule, check_names, parse_rules, rules_from_suite
from engine.vocabulary import QualityAction


class QualityDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: QualityAction = QualityAction.FAIL
    rules: list[Any] = Field(default_factory=list)
    suite: str | None = None

    @model_validator(mode="after")
    def _has_rules(self) -> QualityDefinition:
        if not self.rules and not self.suite:
            raise ValueError("a quality suite needs 'rules', a native 'suite' file, or both")
        return self


@dataclass(frozen=True)
class QualitySuite:
    """What one run checks: the suite's name, its rules and what a failure does."""

    name: str
    action: str
    rules: tuple[Rule, ...]

    @property
    def row_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.is_row_level)


def build_suite(definition: QualityDefinition, name: str, where: str, base: Path) -> QualitySuite:
    """The suite's rules: the compact list, then the native suite's expectations."""
    rules = parse_rules(definition.rules, f"{where}.rules") if definition.rules else []
    if definition.suite:
        path = Path(definition.suite)
        path = path if path.is_absolute() else base / path
        try:
            document = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(
                f"{where}.suite: cannot read {path} ({exc.strerror})", key=f"{where}.suite"
            ) from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{where}.suite: {path} is not JSON (line {exc.lineno}: {exc.msg})",
                hint="a native suite is great-expectations' suite JSON "
                "({'name': …, 'expectations': [{'type': …, 'kwargs': {…}}]})",
                key=f"{where}.suite",
            ) from exc
        rules += rules_from_suite(document, f"{where}.suite ({path})")
    check_names(rules, where)
    return QualitySuite(name, definition.action, tuple(rules))


def suite_from_file(path: Path) -> QualitySuite:
    """A run's ``--quality FILE``: a YAML file with action, rules and/or suite."""
    try:
        body = yaml.safe_load(path.read_text())
        definition = QualityDefinition.model_validate(body or {})
    except OSError as exc:
        raise ConfigError(f"--quality: cannot read {path} ({exc.strerror})", key="quality") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"--quality: {path} is not valid YAML ({exc})", key="quality") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"--quality: {path}: {key + ': ' if key else ''}{message}",
            hint="see docs/quality.md",
            key="quality",
        ) from exc
    return build_suite(definition, path.stem, str(path), path.parent)
