"""Job definitions from ``headwater.yaml`` (Glue's job properties).

```yaml
jobs:
  sales:
    type: spark                  # spark (PySpark module) | python (no Spark) | jvm (a jar)
    script: jobs/ingest.py       # the default for spark jobs
    arguments:                   # Glue's default arguments, without the leading --
      source: landing.sales
      target: raw.sales
      write_mode: merge
      merge_keys: [id]           # a list of names is passed comma-separated
      mapping: [[id, string, id, bigint], [amount, string, amount, double]]  # JSON
    spark_conf: {spark.executor.memory: 1g}
    master: spark://127.0.0.1:7077   # default: the settings' spark.master
    timeout_minutes: 60
    max_retries: 1
    max_concurrent_runs: 1
    quality:                     # great-expectations rules checked before the commit
      action: quarantine         # fail | warn | quarantine (docs/quality.md)
      rules: [{not_null: id}, {between: {column: amount, min: 0}}]
  train_export:
    type: jvm
    jar: build/export.jar
    main_class: com.example.Export
```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.config import check_name, definition_error, project_file, project_section
from engine.errors import ConfigError
from engine.quality.definitions import (
    QualityDefinition,
    QualitySuite,
    build_suite,
    suite_from_file,
)
from engine.vocabulary import BOOKMARK_OPTIONS

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCRIPT = "jobs/ingest.py"
GLUE_DEFAULT_TIMEOUT_MINUTES = 2880


class JobDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["spark", "python", "jvm"] = "spark"
    script: str | None = None
    jar: str | None = None
    main_class: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    spark_conf: dict[str, str] = Field(default_factory=dict)
    master: str | None = None
    timeout_minutes: float = Field(default=GLUE_DEFAULT_TIMEOUT_MINUTES, gt=0)
    max_retries: int = Field(default=0, ge=0, le=10)
    max_concurrent_runs: int = Field(default=1, ge=1, le=100)
    quality: QualityDefinition | None = None  # checked before each commit (docs/quality.md)

    @model_validator(mode="after")
    def _shape(self) -> JobDefinition:
        if self.type == "jvm":
            if not self.jar or not self.main_class:
                raise ValueError("a jvm job needs 'jar' and 'main_class'")
            if self.script:
                raise ValueError("a jvm job has a 'jar', not a 'script'")
        elif self.jar or self.main_class:
            raise ValueError(f"'jar' and 'main_class' are for jvm jobs, not {self.type}")
        if self.type == "python" and not self.script:
            raise ValueError("a python job needs its 'script'")
        if self.quality is not None and self.type != "spark":
            raise ValueError(
                f"'quality' suites are checked by spark jobs (great-expectations on the "
                f"batch's DataFrame), not {self.type} jobs"
            )
        option = self.arguments.get("job-bookmark-option")
        if option is not None and option not in BOOKMARK_OPTIONS:
            raise ValueError(f"job-bookmark-option must be one of {', '.join(BOOKMARK_OPTIONS)}")
        return self

    def command_arguments(self, name: str, overrides: dict[str, str]) -> list[str]:
        """``--JOB_NAME name --key value …`` (definition arguments, then overrides)."""
        values = {key.removeprefix("--"): argument_text(v) for key, v in self.arguments.items()}
        values.update({key.removeprefix("--"): v for key, v in overrides.items()})
        values.pop("JOB_NAME", None)
        command = ["--JOB_NAME", name]
        for key, value in values.items():
            command += [f"--{key}", value]
        return command

    def resolve_path(self, value: str) -> Path:
        """A script or jar path: relative to headwater.yaml's folder, else to headwater."""
        path = Path(value)
        if path.is_absolute():
            return path
        for base in (project_file().resolve().parent, PACKAGE_ROOT):
            if (base / path).is_file():
                return base / path
        raise ConfigError(
            f"{value} not found (looked beside {project_file()} and in {PACKAGE_ROOT})",
            key="script" if self.type != "jvm" else "jar",
        )

    @property
    def entry_point(self) -> str:
        if self.type == "jvm":
            return str(self.jar)
        return self.script or DEFAULT_SCRIPT


def argument_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ",".join(str(v) for v in value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def load_jobs() -> dict[str, JobDefinition]:
    jobs = {}
    for name, body in project_section("jobs").items():
        check_name("job", str(name))
        try:
            jobs[str(name)] = JobDefinition.model_validate(body or {})
        except ValidationError as exc:
            raise definition_error(exc, "jobs", name, "see docs/jobs.md") from exc
    return jobs


def job(name: str) -> JobDefinition:
    jobs = load_jobs()
    if name not in jobs:
        raise ConfigError(
            f"no job named {name!r} in {project_file()} "
            f"(defined: {', '.join(sorted(jobs)) or 'none'})",
            hint="define it under 'jobs:', or run the ingest job ad hoc: headwater job run NAME "
            "--source landing.t --target raw.t",
            key=f"jobs.{name}",
        )
    return jobs[name]


def max_concurrent_runs(name: str) -> int:
    definition = load_jobs().get(name)
    return definition.max_concurrent_runs if definition else 1


def job_suite(job: str, argument: str | None) -> QualitySuite | None:
    """The suite a run of ``job`` checks: ``--quality FILE``, else the job definition's."""
    if argument:
        return suite_from_file(Path(argument))
    definition = load_jobs().get(job)
    if definition is None or definition.quality is None:
        return None
    return build_suite(
        definition.quality, job, f"jobs.{job}.quality", project_file().resolve().parent
    )
