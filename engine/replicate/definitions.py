"""Replication tasks from ``headwater.yaml`` (DMS's replication task settings).

```yaml
replication_tasks:
  shop:
    connection: shop                      # a PostgreSQL (CDC) or MySQL/MariaDB source
    migration_type: full-load-and-cdc     # full-load | cdc | full-load-and-cdc
    table_mappings: mappings/shop.json    # DMS JSON: a file beside headwater.yaml, or inline
    target_database: shop                 # catalog database (default: the task's name)
    target_prep_mode: drop-and-create     # do-nothing | drop-and-create | truncate
    max_full_load_subtasks: 8             # tables loaded at once (DMS MaxFullLoadSubTasks)
    partitions_per_table: 4               # parallel JDBC reads of one table (key ranges)
    continuous_interval_seconds: 10       # pause between batches under --continuous
    validation: true                      # compare source and lake after the full load
    quality:                              # suites per source table (full load, CDC)
      public.orders: {action: fail, rules: [{not_null: customer_id}]}
```

DMS's own spellings of the prep mode (``DROP_AND_CREATE``, ``TRUNCATE_BEFORE_LOAD``,
``DO_NOTHING``) are accepted too.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.config import definition_error, project_file, project_section
from engine.connections import Connection, load_connections
from engine.errors import ConfigError
from engine.ingest.definitions import JobDefinition
from engine.quality.definitions import QualityDefinition, QualitySuite, build_suite
from engine.replicate.mapping import TableMapping, parse_mapping
from engine.vocabulary import QualityAction

if TYPE_CHECKING:
    from engine.ingest.definitions import JobDefinition

FULL_LOAD, CDC, FULL_LOAD_AND_CDC = "full-load", "cdc", "full-load-and-cdc"
DO_NOTHING, DROP_AND_CREATE, TRUNCATE = "do-nothing", "drop-and-create", "truncate"
_DMS_PREP = {
    "DO_NOTHING": DO_NOTHING,
    "DROP_AND_CREATE": DROP_AND_CREATE,
    "TRUNCATE_BEFORE_LOAD": TRUNCATE,
}
DMS_MAX_SUBTASKS = 49
TASK_NAME = r"^[a-z][a-z0-9_]*$"
LSN = r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$"
BINLOG = r"^[^:/\s]+\.[0-9]+:[0-9]+$"  # a MySQL binlog file and offset
POSITION = f"{LSN}|{BINLOG}"
_DMS_ERROR_POLICY = {
    "STOP_TASK": "stop-task",
    "SUSPEND_TABLE": "suspend-table",
    "IGNORE_RECORD": "skip-record",
    "LOG_ERROR": "skip-record",
}


class ReplicationTaskDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection: str
    migration_type: Literal["full-load", "cdc", "full-load-and-cdc"] = "full-load-and-cdc"
    table_mappings: str | dict[str, Any]
    target_database: str | None = Field(default=None, pattern=TASK_NAME)
    target_prep_mode: Literal["do-nothing", "drop-and-create", "truncate"] = "drop-and-create"
    max_full_load_subtasks: int = Field(default=8, ge=1, le=DMS_MAX_SUBTASKS)
    partitions_per_table: int = Field(default=4, ge=1, le=256)
    continuous_interval_seconds: float = Field(default=10.0, gt=0)
    # A batch's bounds: it ends after the transaction in which either is reached
    # (a larger transaction is one batch, whole); the rest follows in the next batch.
    batch_max_changes: int = Field(default=100_000, ge=1)  # pgoutput messages
    batch_max_megabytes: float = Field(default=256.0, gt=0)  # of messages read
    # decoded changes a batch holds in the driver; past it, tables go to Parquet
    # files in the lake (engine.replicate.spill)
    batch_memory_changes: int = Field(default=20_000, ge=1)
    # compact the targets and change tables after every this many batches (0: never)
    optimize_every_batches: int = Field(default=100, ge=0)
    # DMS's recoverable-error settings (engine.replicate.supervise): -1 retries forever
    recoverable_error_count: int = Field(default=-1, ge=-1)
    recoverable_error_interval_seconds: float = Field(default=5.0, gt=0)
    recoverable_error_throttling_max_seconds: float = Field(default=1800.0, gt=0)
    # DMS's heartbeat: a logical message on the source before a batch, at most this
    # often, so the slot always has a change of its own database to move past
    heartbeat_enable: bool = True
    heartbeat_frequency_minutes: float = Field(default=5.0, gt=0)
    validation: bool = True
    slot_name: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,63}$")
    # DMS's TableErrorPolicy: a table whose batch fails (not a recoverable error)
    # stops the task, or is suspended while the others stream on (reload it after)
    table_error_policy: Literal["stop-task", "suspend-table"] = "stop-task"
    # DMS's DataErrorPolicy: changes with a value the target type cannot hold
    # (PostgreSQL's infinity timestamps, NaN numerics): stop the task, suspend the
    # table, or log and skip those changes (counted in status)
    data_error_policy: Literal["stop-task", "suspend-table", "skip-record"] = "stop-task"
    # DMS's CdcStartPosition for a cdc task: "slot" (an existing slot ``slot_name``,
    # from where it is) or a WAL position X/Y (that slot, moved forward to it); MySQL:
    # a binlog position file:offset (mysql-bin.000003:4)
    cdc_start_position: str | None = Field(default=None, pattern=rf"^slot$|{POSITION}")
    # DMS's CdcStopPosition: the WAL position X/Y (MySQL: file:offset) at which CDC ends
    cdc_stop_position: str | None = Field(default=None, pattern=POSITION)
    # source table (schema.table) -> its suite, on full loads and CDC batches (docs/quality.md)
    quality: dict[str, QualityDefinition] = Field(default_factory=dict)

    @field_validator("quality")
    @classmethod
    def _mirror(cls, value: dict[str, QualityDefinition]) -> dict[str, QualityDefinition]:
        for table, suite in value.items():
            if suite.action == QualityAction.QUARANTINE:
                raise ValueError(
                    f"{table}: a replication target mirrors its source, so its suite can "
                    "fail or warn, not quarantine rows (validation would report them missing)"
                )
        return value

    @field_validator("target_prep_mode", mode="before")
    @classmethod
    def _dms_spelling(cls, value: Any) -> Any:
        return _DMS_PREP.get(value, value) if isinstance(value, str) else value

    @field_validator("table_error_policy", "data_error_policy", mode="before")
    @classmethod
    def _dms_policy(cls, value: Any) -> Any:
        return _DMS_ERROR_POLICY.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _positions(self) -> ReplicationTaskDefinition:
        if self.cdc_start_position and self.migration_type != CDC:
            raise ValueError(
                "cdc_start_position needs migration_type cdc (a full load reads the "
                "snapshot of a slot created with it, at the slot's own position)"
            )
        if self.cdc_stop_position and not self.has_cdc:
            raise ValueError("cdc_stop_position needs a migration_type with cdc")
        return self

    @property
    def has_full_load(self) -> bool:
        return self.migration_type in (FULL_LOAD, FULL_LOAD_AND_CDC)

    @property
    def has_cdc(self) -> bool:
        return self.migration_type in (CDC, FULL_LOAD_AND_CDC)


def job_name_of(task: str) -> str:
    """The job name a task's runs are recorded under."""
    return f"replicate-{task}"


class ReplicationTask:
    """A validated task: its definition, connection and parsed table mapping."""

    def __init__(
        self, name: str, definition: ReplicationTaskDefinition, connection: Connection
    ) -> None:
        self.name = name
        self.definition = definition
        self.connection = connection
        self.mapping: TableMapping = parse_mapping(
            _mapping_document(name, definition.table_mappings), f"replication task {name}"
        )
        base = project_file().resolve().parent
        # quality suites by source table (lower-case schema.table)
        self.suites: dict[str, QualitySuite] = {
            table.lower(): build_suite(
                suite, f"{name}.{table}", f"replication_tasks.{name}.quality.{table}", base
            )
            for table, suite in definition.quality.items()
        }

    @property
    def database(self) -> str:
        return self.definition.target_database or self.name

    @property
    def slot(self) -> str:
        """The replication slot (and publication) of the task on the source."""
        return self.definition.slot_name or f"headwater_{self.name}"[:63]

    @property
    def job_name(self) -> str:
        """The name its runs are recorded under (``headwater job runs`` shows them)."""
        return job_name_of(self.name)


def _mapping_document(name: str, value: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(value, dict) or value.lstrip().startswith(("{", "[")):
        return value
    path = Path(value)
    if not path.is_absolute():
        path = project_file().resolve().parent / path
    try:
        return json.loads(path.read_text()) if path.suffix == ".json" else path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"replication task {name}: cannot read table_mappings file {path} ({exc.strerror})",
            key=f"replication_tasks.{name}.table_mappings",
        ) from exc
    except json.JSONDecodeError:
        return path.read_text()  # parse_mapping reports where the JSON breaks


def load_tasks() -> dict[str, ReplicationTaskDefinition]:
    tasks = {}
    for name, body in project_section("replication_tasks").items():
        if not re.fullmatch(TASK_NAME, str(name)):
            raise ConfigError(
                f"{project_file()}: replication_tasks.{name}: a task name is lower case "
                "letters, digits and _",
                key=f"replication_tasks.{name}",
            )
        try:
            tasks[str(name)] = ReplicationTaskDefinition.model_validate(body or {})
        except ValidationError as exc:
            raise definition_error(
                exc, "replication_tasks", name, "see docs/replication.md"
            ) from exc
    return tasks


def replication_task(name: str) -> ReplicationTask:
    tasks = load_tasks()
    if name not in tasks:
        raise ConfigError(
            f"no replication task named {name!r} in {project_file()} "
            f"(defined: {', '.join(sorted(tasks)) or 'none'})",
            hint="define it under 'replication_tasks:' (see docs/replication.md)",
            key=f"replication_tasks.{name}",
        )
    definition = tasks[name]
    connections = load_connections()
    if definition.connection not in connections:
        raise ConfigError(
            f"replication task {name}: connection {definition.connection!r} is not defined "
            f"(defined: {', '.join(sorted(connections)) or 'none'})",
            key=f"replication_tasks.{name}.connection",
        )
    connection = connections[definition.connection]
    if definition.has_cdc and connection.kind not in ("postgresql", "mysql"):
        raise ConfigError(
            f"replication task {name}: change data capture needs a PostgreSQL or MySQL "
            f"source; connection {connection.name} is a {connection.subprotocol} database",
            hint="use migration_type full-load (reloaded on a schedule), or an ingest job "
            "with --bookmark_keys for key/timestamp increments (docs/replication.md)",
            key=f"replication_tasks.{name}.migration_type",
        )
    kind = "an LSN X/Y" if connection.kind == "postgresql" else "a binlog file:offset"
    pattern = LSN if connection.kind == "postgresql" else BINLOG
    for key in ("cdc_start_position", "cdc_stop_position"):
        value = getattr(definition, key)
        if value and value != "slot" and not re.match(pattern, value):
            raise ConfigError(
                f"replication task {name}: {key} {value!r} is not {kind}, the position of a "
                f"{connection.kind} source",
                hint="PostgreSQL: X/Y (pg_current_wal_lsn()); MySQL: file:offset "
                "(SHOW MASTER STATUS)",
                key=f"replication_tasks.{name}.{key}",
            )
        if value == "slot" and connection.kind != "postgresql":
            raise ConfigError(
                f"replication task {name}: cdc_start_position slot needs a PostgreSQL source "
                "(MySQL has no slot)",
                hint="give a binlog position file:offset (SHOW MASTER STATUS)",
                key=f"replication_tasks.{name}.{key}",
            )
    task = ReplicationTask(name, definition, connection)
    if task.database in connections:
        raise ConfigError(
            f"replication task {name}: target database {task.database!r} is also the name of a "
            "connection, which Spark SQL reads as that connection's catalog",
            hint="set target_database to another name",
            key=f"replication_tasks.{name}.target_database",
        )
    return task


def replication_run(
    name: str, action: str, continuous: bool = False
) -> tuple[ReplicationTask, JobDefinition]:
    """The task and the job that runs one ``action`` of it (start, resume, reload,
    validate) through the job runner: ``jobs/replicate.py`` under spark-submit."""
    task = replication_task(name)  # a bad definition or mapping fails here, before Spark
    definition = JobDefinition(
        script="jobs/replicate.py",
        arguments={"task": name, "action": action, "continuous": continuous},
    )
    if continuous:  # it goes on until stopped: no overall timeout
        definition = definition.model_copy(update={"timeout_minutes": math.inf})
    return task, definition
