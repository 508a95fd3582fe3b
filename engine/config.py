"""The one place headwater reads its configuration.

Precedence, highest first: explicit overrides (CLI flags) > environment variables
(``HEADWATER_…``, ``__`` for nesting, e.g. ``HEADWATER_S3__ENDPOINT``; names are
case-blind, a whole section may be given as JSON) > the ``settings:`` section of
``headwater.yaml`` > the defaults below. The sources are merged key by key here
rather than by pydantic-settings, whose import alone cost a CLI command 0.13 s.

Secrets are ``SecretStr``: they print as ``**********`` and are only unwrapped at
the edge that needs them (the S3 client, the Spark conf handed to the JVM).
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from engine.errors import ConfigError

ENV_PREFIX, ENV_NESTING = "HEADWATER_", "__"
PROJECT_FILE_ENV = "HEADWATER_PROJECT_FILE"
DEFAULT_PROJECT_FILE = "headwater.yaml"
DEFAULT_HOME = ".headwater"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "headwater"
LOOPBACK = "127.0.0.1"

Profile = Literal["local", "stack"]
# Written by `headwater stack up` in the state dir, removed by `down`: while the
# native stack runs, commands default to the stack profile.
ACTIVE_MARKER = "ACTIVE"


class BucketSettings(BaseModel):
    """Bucket names; in the local profile each is a folder under ``<home>/lake``."""

    landing: str = "landing"
    raw: str = "raw"


class S3Settings(BaseModel):
    """An S3-compatible endpoint (MinIO by default; any S3 server or AWS S3 works)."""

    endpoint: str = f"http://{LOOPBACK}:9000"
    region: str = "us-east-1"
    access_key: str = "headwater"
    secret_key: SecretStr = SecretStr("headwater-secret")
    path_style: bool = True


class StackSettings(BaseModel):
    """Addresses of the services the native launcher starts (all on loopback)."""

    host: str = LOOPBACK
    postgres_port: int = 5433
    metastore_port: int = 9083
    minio_port: int = 9000
    minio_console_port: int = 9001
    thrift_port: int = 10000
    mariadb_port: int = 3307  # the optional MySQL-compatible source (stack up mariadb)
    master_port: int = 7077
    master_ui_port: int = 8080
    worker_ui_port: int = 8081
    postgres_user: str = "headwater"
    postgres_password: SecretStr = SecretStr("headwater")
    metastore_database: str = "metastore"
    state_dir: Path | None = None  # default: <home>/stack

    @property
    def metastore_uri(self) -> str:
        return f"thrift://{self.host}:{self.metastore_port}"


class LocalSettings(BaseModel):
    """The local profile's metastore service (on the embedded Derby database)."""

    # it stops itself after this long without a client (0: runs until `stack down`)
    metastore_idle_seconds: int = 900


class SparkSettings(BaseModel):
    master: str = "local[*]"
    driver_memory: str = "2g"
    shuffle_partitions: int = 8
    ui_enabled: bool = False
    # Extra JVM options for the Spark drivers of jobs, crawls, replication runs and CLI
    # commands (not the Thrift Server), e.g. "-XX:TieredStopAtLevel=1" (docs/guide.md).
    driver_java_options: str = ""


class ApiSettings(BaseModel):
    """``headwater serve``: the Glue and DMS APIs on one HTTP port (docs/api.md).

    The access keys that may sign requests are secrets: never in this file, only in
    the environment variable ``HEADWATER_API_KEYS`` (``ACCESS_KEY:SECRET`` pairs,
    comma-separated) or in ``keys_file`` (one ``ACCESS_KEY SECRET`` pair per line).
    """

    host: str = LOOPBACK
    port: int = 8099
    region: str = "us-east-1"
    account: str = "000000000000"  # in the ARNs it answers with
    keys_file: Path | None = None
    max_request_bytes: int = 2 * 1024 * 1024


API_KEYS_ENV = "HEADWATER_API_KEYS"


def api_keys(settings: Settings) -> dict[str, str]:
    """Access key id -> secret key, from ``HEADWATER_API_KEYS`` and ``api.keys_file``."""
    pairs: list[tuple[str, str]] = []
    for item in os.environ.get(API_KEYS_ENV, "").split(","):
        if item.strip():
            key, sep, secret = item.strip().partition(":")
            if not sep or not key or not secret:
                raise ConfigError(
                    f"{API_KEYS_ENV}: an entry is not ACCESS_KEY:SECRET",
                    hint=f"export {API_KEYS_ENV}=AKID:SECRET[,AKID2:SECRET2]",
                )
            pairs.append((key, secret))
    path = settings.api.keys_file
    if path is not None:
        try:
            lines = path.expanduser().read_text().splitlines()
        except OSError as exc:
            raise ConfigError(
                f"api.keys_file {path}: cannot read it ({exc.strerror})",
                hint="one 'ACCESS_KEY SECRET' pair per line, readable by headwater",
            ) from exc
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                fields = line.split()
                if len(fields) != 2:
                    raise ConfigError(
                        f"api.keys_file {path}, line {number}: not 'ACCESS_KEY SECRET'",
                        hint="one pair per line, separated by a space",
                    )
                pairs.append((fields[0], fields[1]))
    return dict(pairs)


class Settings(BaseModel):
    """Every setting headwater reads. Build it with :func:`load_settings`."""

    model_config = ConfigDict(extra="forbid")

    # None: "stack" while the native stack is up (make up), else "local".
    profile: Profile | None = None
    home: Path = Path(DEFAULT_HOME)
    cache_dir: Path = DEFAULT_CACHE_DIR
    buckets: BucketSettings = Field(default_factory=BucketSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    stack: StackSettings = Field(default_factory=StackSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @model_validator(mode="after")
    def _default_profile(self) -> Settings:
        if self.profile is None:
            self.profile = "stack" if (self.state_dir / ACTIVE_MARKER).is_file() else "local"
        return self

    # -- derived locations -------------------------------------------------------------
    @cached_property
    def home_path(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def lake_path(self) -> Path:
        """Local profile: the folder that stands in for the object store."""
        return self.home_path / "lake"

    @property
    def state_dir(self) -> Path:
        """Native stack: logs, pids and data dirs of every service."""
        configured = self.stack.state_dir
        return configured.expanduser().resolve() if configured else self.home_path / "stack"

    @property
    def metastore_derby_path(self) -> Path:
        return self.home_path / "metastore_db"

    @property
    def jar_dir(self) -> Path:
        return self.cache_dir.expanduser().resolve() / "jars"

    def bucket_uri(self, bucket: str) -> str:
        """The Hadoop URI of a bucket's root, as Spark and the metastore see it."""
        if self.profile == "local":
            return hadoop_file_uri(self.lake_path / bucket)
        return f"s3a://{bucket}"

    @property
    def warehouse_uri(self) -> str:
        return f"{self.bucket_uri(self.buckets.raw)}/_warehouse"


def environment_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The settings the environment sets: ``HEADWATER_<FIELD>`` and
    ``HEADWATER_<SECTION>__<KEY>`` (any case), as a nested mapping. A section's whole
    value may be JSON (``HEADWATER_S3='{"endpoint": …}'``); variables naming no
    setting (``HEADWATER_API_KEYS``, ``HEADWATER_PROJECT_FILE``) are not settings."""
    found: dict[str, Any] = {}
    for name, value in (os.environ if environ is None else environ).items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        key, *inner = name[len(ENV_PREFIX) :].lower().split(ENV_NESTING)
        field = Settings.model_fields.get(key)
        if field is None or not all(inner) or (inner and not _is_section(field.annotation)):
            continue
        nested: Any = value
        if not inner and _is_section(field.annotation) and value.lstrip().startswith("{"):
            nested = _json_section(name, value)
        for part in reversed(inner):
            nested = {part: nested}
        _merge(found, {key: nested})
    return found


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _json_section(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:  # the message leaves the value out: it may hold a secret
        raise ConfigError(
            f"{name} is not valid JSON ({exc.msg})",
            hint=f"give the section as a JSON object, or one key at a time: {name}__KEY=VALUE",
            key=name,
        ) from exc


def _merge(into: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` laid over ``into`` key by key (mappings merged, anything else replaced)."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def hadoop_file_uri(path: Path) -> str:
    """``file://`` + the absolute path, unescaped: Hadoop takes ``%3D`` literally, so
    ``Path.as_uri()`` would break ``key=value`` partition folders."""
    return "file://" + str(path.resolve())


def project_file() -> Path:
    return Path(os.environ.get(PROJECT_FILE_ENV, DEFAULT_PROJECT_FILE))


# The top-level keys of headwater.yaml; anything else is a typo (``job:`` for ``jobs:``).
PROJECT_SECTIONS = (
    "settings",
    "connections",
    "classifiers",
    "crawlers",
    "jobs",
    "replication_tasks",
    "triggers",
    "workflows",
)
# What a name that becomes a folder (logs of jobs and workflows) may be: no path
# separator, no leading dot, no control character.
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")


def check_name(kind: str, name: str) -> str:
    """``name`` if it is safe to use as a folder name, else a ConfigError naming it."""
    if not SAFE_NAME.fullmatch(name):
        raise ConfigError(
            f"{kind} name {name!r} is not allowed: a name is letters, digits, _ . - "
            "(at most 128, not starting with . or -)",
            hint=f"rename the {kind}: its name becomes a folder under headwater's home",
            key=kind,
        )
    return name


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def project_section(name: str) -> dict[str, Any]:
    """One top-level mapping of ``headwater.yaml`` (empty if the file or key is absent).

    The one place the project file is read: settings here, definitions
    (crawlers, jobs …) in :mod:`engine.definitions`. Each version of its text is
    parsed once (reading it is cheap, parsing is not): a long-running scheduler still
    sees an edit, and a command that asks for five sections parses it once.
    """
    path = project_file()
    if not path.is_file():
        return {}
    document = _project_document(str(path), path.read_text())
    section = document.get(name) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: '{name}' must be a mapping", path=str(path), key=name)
    return copy.deepcopy(section)  # callers may change theirs; the parsed one stays


@functools.lru_cache(maxsize=4)
def _project_document(path: str, text: str) -> dict[str, Any]:
    """The parsed, top-level-checked project file (one version of its text)."""
    import yaml  # deferred: 10 ms, only when there is a project file

    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})", path=path) from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping", path=path)
    for key in document:
        if key not in PROJECT_SECTIONS:
            raise ConfigError(
                f"{path}: unknown top-level key {key!r}{_did_you_mean(str(key), PROJECT_SECTIONS)}",
                hint=f"the top-level keys are {', '.join(PROJECT_SECTIONS)}",
                path=path,
                key=str(key),
            )
    return document


def definition_error(
    exc: ValidationError, section: str, name: str, hint: str, show_value: bool = True
) -> ConfigError:
    """One message for an invalid definition: the file, the key path, the value (unless
    it could be a secret) and what is allowed."""
    first = exc.errors()[0]
    key = ".".join(str(part) for part in (section, name, *first["loc"]))
    # a whole-definition check (loc empty) would echo the entire mapping
    show_value = show_value and bool(first["loc"])
    value = f" = {first.get('input')!r}" if show_value else ""
    message = first["msg"].removeprefix("Value error, ")
    return ConfigError(f"{project_file()}: {key}{value}: {message}", hint=hint, key=key)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from overrides > environment > headwater.yaml > defaults.

    Raises:
        ConfigError: naming the key path, the offending value and what is allowed.
    """
    clean = {key: value for key, value in overrides.items() if value is not None}
    merged = _merge(_merge(project_section("settings"), environment_settings()), clean)
    try:
        return Settings(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        value = first.get("input")
        shown = "**********" if "secret" in key or "password" in key else repr(value)
        raise ConfigError(
            f"setting '{key}' = {shown}: {first['msg']} "
            f"(set it in {project_file()} under 'settings:' or as HEADWATER_"
            f"{key.upper().replace('.', '__')})",
            key=key,
        ) from exc
