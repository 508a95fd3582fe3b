"""Definitions from ``headwater.yaml``: what a user names and runs (crawlers so far).

```yaml
crawlers:
  landing:
    database: landing
    targets:
      - path: s3://landing/
        exclusions: ["**/_tmp/**", "**.bak"]
    table_prefix: ""
    sample_size: 10
```

A bad definition gets one message naming the file, the key path, the value and
what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.classify.csv import CsvRules, csv_classifier
from engine.classify.grok import GrokError, grok_classifier
from engine.classify.json import json_classifier
from engine.classify.registry import Classifier
from engine.classify.xml import xml_classifier
from engine.config import definition_error, project_file, project_section
from engine.connections import load_connections
from engine.crawl.crawler import DEFAULT_SAMPLE_SIZE, CrawlTarget
from engine.crawl.exclude import glob_to_regex
from engine.crawl.jdbc import JdbcCrawlTarget
from engine.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class S3TargetDefinition(_Strict):
    path: str
    exclusions: list[str] = Field(default_factory=list)
    allow_empty: bool = False  # a path without files is not an error

    @field_validator("path")
    @classmethod
    def _has_bucket(cls, value: str) -> str:
        if not value.split("://", 1)[-1].strip("/"):
            raise ValueError("names no bucket (e.g. s3://landing/sales/)")
        return value


class JdbcTargetDefinition(_Strict):
    """Tables of a database connection: ``path`` is db/schema/table (PostgreSQL) or
    db/table (MySQL), with SQL LIKE wildcards; exclusions are globs over it."""

    connection: str
    path: str = Field(min_length=1)
    exclusions: list[str] = Field(default_factory=list)


class SchemaChangePolicy(_Strict):
    """What the crawler does to the catalog when data changes (Glue's names, lower case)."""

    update_behavior: Literal["update_in_database", "log"] = "update_in_database"
    delete_behavior: Literal["deprecate_in_database", "delete_from_database", "log"] = (
        "deprecate_in_database"
    )


class GrokClassifierDefinition(_Strict):
    classification: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    pattern: str
    custom_patterns: dict[str, str] = Field(default_factory=dict)


InferableType = Literal["boolean", "bigint", "double", "decimal", "date", "timestamp", "string"]
COLUMN_TYPE = (
    r"^(boolean|tinyint|smallint|int|bigint|float|double|string|binary|date|timestamp"
    r"|timestamp_ntz|decimal\(\d{1,2},\s*\d{1,2}\))$"
)


class CsvClassifierDefinition(_Strict):
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    header: Literal["detect", "present", "absent"] = "detect"
    allow_single_column: bool | None = None
    header_names: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list
    )
    trim_white_space: bool = True
    # Glue's custom datatypes: the types inference may pick from (string always).
    allowed_types: list[InferableType] = Field(default_factory=list)
    column_types: dict[str, Annotated[str, Field(pattern=COLUMN_TYPE)]] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _quote_differs(self) -> CsvClassifierDefinition:
        if self.delimiter is not None and self.delimiter == self.quote:
            raise ValueError("the quote must differ from the delimiter")
        return self


class XmlClassifierDefinition(_Strict):
    row_tag: str = Field(pattern=r"^[A-Za-z_][\w.\-]*$")


class JsonClassifierDefinition(_Strict):
    # Spark SQL tables read top-level records only: each line/document, or the
    # objects of a top-level array. Deeper paths ($.records[*]) would need a view.
    json_path: Literal["$", "$[*]"]


KINDS = ("grok", "csv", "xml", "json")


class ClassifierDefinition(_Strict):
    """One custom classifier: exactly one of ``grok``, ``csv``, ``xml`` or ``json``."""

    grok: GrokClassifierDefinition | None = None
    csv: CsvClassifierDefinition | None = None
    xml: XmlClassifierDefinition | None = None
    json_: JsonClassifierDefinition | None = Field(default=None, alias="json")

    @model_validator(mode="after")
    def _exactly_one(self) -> ClassifierDefinition:
        given = [self.grok, self.csv, self.xml, self.json_]
        if sum(kind is not None for kind in given) != 1:
            raise ValueError("give exactly one of 'grok', 'csv', 'xml' or 'json'")
        return self

    def build(self, name: str) -> Classifier:
        if self.grok is not None:
            try:
                return grok_classifier(
                    self.grok.classification, self.grok.pattern, self.grok.custom_patterns
                )
            except GrokError as exc:
                raise ConfigError(
                    f"{project_file()}: classifiers.{name}.grok.pattern: {exc}",
                    key=f"classifiers.{name}.grok.pattern",
                ) from exc
        if self.xml is not None:
            return xml_classifier(name, row_tag=self.xml.row_tag)
        if self.json_ is not None:
            return json_classifier(name, array_records=self.json_.json_path == "$[*]")
        assert self.csv is not None
        return csv_classifier(
            name,
            CsvRules(
                delimiter=self.csv.delimiter,
                quote=self.csv.quote,
                header=self.csv.header,
                allow_single_column=self.csv.allow_single_column,
                header_names=tuple(self.csv.header_names),
                trim=self.csv.trim_white_space,
                allowed_types=frozenset(self.csv.allowed_types),
                column_types=tuple(self.csv.column_types.items()),
            ),
        )


class CrawlerDefinition(_Strict):
    database: str
    targets: list[S3TargetDefinition | JdbcTargetDefinition] = Field(min_length=1)
    table_prefix: str = Field(default="", max_length=64, pattern=r"^[a-z0-9_]*$")
    sample_size: int = Field(default=DEFAULT_SAMPLE_SIZE, ge=1, le=249)
    schema_change_policy: SchemaChangePolicy = Field(default_factory=SchemaChangePolicy)
    classifiers: list[str] = Field(default_factory=list)  # custom, tried first, in order
    # Glue's RecrawlPolicy; new folders only forces updates and deletions to "log".
    recrawl_policy: Literal["crawl_everything", "crawl_new_folders_only"] = "crawl_everything"
    # Glue's "create a single schema for each S3 path": the include path is one table
    # whenever its files share a format and compression, whatever the columns.
    single_schema: bool = False
    # Decode the first rows of each sampled Parquet/ORC file (corrupt data behind a
    # valid footer is then skipped, named, at the crawl instead of failing queries).
    check_data: bool = False

    def crawl_targets(
        self, classifiers: tuple[Classifier, ...] = ()
    ) -> list[CrawlTarget | JdbcCrawlTarget]:
        policy = self.schema_change_policy
        targets: list[CrawlTarget | JdbcCrawlTarget] = []
        for target in self.targets:
            if isinstance(target, JdbcTargetDefinition):
                targets.append(
                    JdbcCrawlTarget(
                        connection=target.connection,
                        path=target.path,
                        database=self.database,
                        exclusions=tuple(target.exclusions),
                        table_prefix=self.table_prefix,
                        update_behavior=policy.update_behavior,
                        delete_behavior=policy.delete_behavior,
                    )
                )
                continue
            targets.append(
                CrawlTarget.parse(
                    target.path,
                    self.database,
                    self.sample_size,
                    exclusions=tuple(target.exclusions),
                    table_prefix=self.table_prefix,
                    update_behavior=policy.update_behavior,
                    delete_behavior=policy.delete_behavior,
                    classifiers=classifiers,
                    recrawl_behavior=self.recrawl_policy,
                    single_schema=self.single_schema,
                    allow_empty=target.allow_empty,
                    check_data=self.check_data,
                )
            )
        return targets


def _describe(exc: ValidationError, section: str, name: str) -> ConfigError:
    return definition_error(exc, section, name, "see docs/crawler.md for the crawler definition")


def load_crawlers() -> dict[str, CrawlerDefinition]:
    crawlers: dict[str, CrawlerDefinition] = {}
    for name, body in project_section("crawlers").items():
        try:
            crawlers[name] = CrawlerDefinition.model_validate(body or {})
        except ValidationError as exc:
            raise _describe(exc, "crawlers", name) from exc
        connections = None
        for index, target in enumerate(crawlers[name].targets):
            if isinstance(target, JdbcTargetDefinition):
                connections = connections if connections is not None else load_connections()
                if target.connection not in connections:
                    raise ConfigError(
                        f"{project_file()}: crawlers.{name}.targets[{index}].connection = "
                        f"{target.connection!r} is not defined (defined: "
                        f"{', '.join(sorted(connections)) or 'none'})",
                        hint="define it under 'connections:'",
                        key=f"crawlers.{name}.targets",
                    )
            for pattern in target.exclusions:
                glob_to_regex(pattern)  # fails early on a malformed glob
    return crawlers


def classifier_definitions() -> dict[str, ClassifierDefinition]:
    definitions: dict[str, ClassifierDefinition] = {}
    for name, body in project_section("classifiers").items():
        try:
            definitions[name] = ClassifierDefinition.model_validate(body or {})
        except ValidationError as exc:
            raise _describe(exc, "classifiers", name) from exc
    return definitions


def load_classifiers() -> dict[str, Classifier]:
    return {name: d.build(name) for name, d in classifier_definitions().items()}


def crawl_targets(name: str) -> list[CrawlTarget | JdbcCrawlTarget]:
    """The targets of a defined crawler, with its custom classifiers resolved."""
    definition = crawler(name)
    known = load_classifiers()
    for index, wanted in enumerate(definition.classifiers):
        if wanted not in known:
            raise ConfigError(
                f"{project_file()}: crawlers.{name}.classifiers[{index}] = {wanted!r} is not "
                f"defined (defined: {', '.join(sorted(known)) or 'none'})",
                hint="define it under 'classifiers:'",
                key=f"crawlers.{name}.classifiers",
            )
    return definition.crawl_targets(tuple(known[c] for c in definition.classifiers))


def crawler(name: str) -> CrawlerDefinition:
    crawlers = load_crawlers()
    if name not in crawlers:
        known = ", ".join(sorted(crawlers)) or "none defined"
        raise ConfigError(
            f"no crawler named {name!r} in {project_file()} (known: {known})",
            hint="define it under 'crawlers:' or crawl a path: headwater crawl s3://bucket/prefix",
            key=f"crawlers.{name}",
        )
    return crawlers[name]


def as_dict(definition: CrawlerDefinition) -> dict[str, Any]:
    return definition.model_dump()
