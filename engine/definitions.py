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

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.config import project_file, project_section
from engine.crawl.crawler import DEFAULT_SAMPLE_SIZE, CrawlTarget
from engine.crawl.exclude import glob_to_regex
from engine.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class S3TargetDefinition(_Strict):
    path: str
    exclusions: list[str] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _has_bucket(cls, value: str) -> str:
        if not value.split("://", 1)[-1].strip("/"):
            raise ValueError("names no bucket (e.g. s3://landing/sales/)")
        return value


class SchemaChangePolicy(_Strict):
    """What the crawler does to the catalog when data changes (Glue's names, lower case)."""

    update_behavior: Literal["update_in_database", "log"] = "update_in_database"
    delete_behavior: Literal["deprecate_in_database", "delete_from_database", "log"] = (
        "deprecate_in_database"
    )


class CrawlerDefinition(_Strict):
    database: str
    targets: list[S3TargetDefinition] = Field(min_length=1)
    table_prefix: str = Field(default="", max_length=64, pattern=r"^[a-z0-9_]*$")
    sample_size: int = Field(default=DEFAULT_SAMPLE_SIZE, ge=1, le=249)
    schema_change_policy: SchemaChangePolicy = Field(default_factory=SchemaChangePolicy)

    def crawl_targets(self) -> list[CrawlTarget]:
        return [
            CrawlTarget.parse(
                target.path,
                self.database,
                self.sample_size,
                exclusions=tuple(target.exclusions),
                table_prefix=self.table_prefix,
                update_behavior=self.schema_change_policy.update_behavior,
                delete_behavior=self.schema_change_policy.delete_behavior,
            )
            for target in self.targets
        ]


def _describe(exc: ValidationError, section: str, name: str) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in (section, name, *first["loc"]))
    return ConfigError(
        f"{project_file()}: {key} = {first.get('input')!r}: {first['msg']}",
        hint="see docs/crawler.md for the crawler definition",
        key=key,
    )


def load_crawlers() -> dict[str, CrawlerDefinition]:
    crawlers: dict[str, CrawlerDefinition] = {}
    for name, body in project_section("crawlers").items():
        try:
            crawlers[name] = CrawlerDefinition.model_validate(body or {})
        except ValidationError as exc:
            raise _describe(exc, "crawlers", name) from exc
        for target in crawlers[name].targets:
            for pattern in target.exclusions:
                glob_to_regex(pattern)  # fails early on a malformed glob
    return crawlers


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
