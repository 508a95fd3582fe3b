"""Database connections from ``headwater.yaml`` (Glue's Connections), in one place.

```yaml
connections:
  shop:
    url: jdbc:postgresql://127.0.0.1:5432/shop
    user: shop_reader
    password_env: SHOP_PASSWORD        # or password_file: /run/secrets/shop
    ssl_mode: verify-full              # disable | prefer | require | verify-ca | verify-full
    ssl_root_cert: /etc/ssl/shop-ca.pem
  warehouse:                           # any other JDBC database: its driver from Maven
    url: jdbc:h2:/srv/h2/warehouse
    driver: com.h2database:h2:2.3.232  # group:artifact:version, fetched into the jar cache
    driver_class: org.h2.Driver
    user: sa                           # a password is optional for these
```

A password is never written in the file: it is read from the named environment
variable or file when a connection is used, and only handed to the JVM as a Spark
setting Spark redacts (``…password``). Every Spark session (and the Thrift Server)
gets one JDBC catalog per connection, so ``SELECT * FROM shop.public.orders`` reads
the source directly; crawled source tables are views over those names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.config import definition_error, project_file, project_section
from engine.errors import ConfigError

JDBC_CATALOG = "org.apache.spark.sql.execution.datasources.v2.jdbc.JDBCTableCatalog"
# MySQL URLs (Connector/J, in the jar cache; it speaks to MariaDB too): Spark's
# catalog, full loads and crawls (engine.crawl.jdbc: database/table paths).
_URL = re.compile(r"jdbc:(postgresql|mysql)://([^/:?]+)(?::(\d+))?/([^?/]+)(\?.*)?")
# Any other database: a JDBC URL, and its driver by Maven coordinates (group:artifact:version)
_ANY_URL = re.compile(r"jdbc:([a-z0-9]+)[:;].*", re.IGNORECASE)
COORDINATES = r"^[\w.\-]+:[\w.\-]+:[\w.\-]+$"
GENERIC = "jdbc"  # Connection.kind of a database given by its driver
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
MYSQL_SSL_MODES = {
    "disable": "DISABLED",
    "prefer": "PREFERRED",
    "require": "REQUIRED",
    "verify-ca": "VERIFY_CA",
    "verify-full": "VERIFY_IDENTITY",
}
# Spark SQL catalog names: the connection name is used as one.
NAME = r"^[a-z][a-z0-9_]*$"


class ConnectionDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    user: str = Field(min_length=1)
    password_env: str | None = None
    password_file: Path | None = None
    # TLS to the source, as libpq / Connector/J name it: disable, prefer, require,
    # verify-ca, verify-full; the CA file for the verify modes.
    ssl_mode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] | None = None
    ssl_root_cert: Path | None = None
    # another database: its JDBC driver's Maven coordinates and class (both, or neither)
    driver: str | None = Field(default=None, pattern=COORDINATES)
    driver_class: str | None = Field(default=None, pattern=r"^[\w.$]+$")

    @model_validator(mode="after")
    def _check(self) -> ConnectionDefinition:
        if (self.driver is None) != (self.driver_class is None):
            raise ValueError("give both driver (Maven coordinates) and driver_class, or neither")
        if self.driver is not None:
            if _ANY_URL.fullmatch(self.url) is None:
                raise ValueError("url must be a JDBC URL: jdbc:<subprotocol>:…")
            if self.ssl_mode is not None:
                raise ValueError("ssl_mode is for PostgreSQL and MySQL: put TLS options in the url")
            if self.password_env is not None and self.password_file is not None:
                raise ValueError("give at most one of password_env or password_file")
            return self
        if _URL.fullmatch(self.url) is None:
            raise ValueError(
                "url must look like jdbc:postgresql://HOST[:PORT]/DATABASE "
                "(or jdbc:mysql://HOST[:PORT]/DATABASE; another database: give its driver "
                "and driver_class)"
            )
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError("give exactly one of password_env or password_file")
        return self


@dataclass(frozen=True)
class Connection:
    name: str
    url: str
    kind: str  # postgresql | mysql | jdbc (any other, by its driver)
    host: str
    port: int
    database: str
    user: str
    password_env: str | None = None
    password_file: Path | None = None
    ssl_mode: str | None = None
    ssl_root_cert: Path | None = None
    driver: str | None = None  # jdbc: Maven coordinates of the driver
    driver_class: str | None = None

    @property
    def subprotocol(self) -> str:
        """``h2`` of ``jdbc:h2:…``: the source's name in classifications."""
        return self.url.split(":", 2)[1].lower()

    @property
    def driver_name(self) -> str:
        """The JDBC driver class Spark loads."""
        if self.driver_class:
            return self.driver_class
        return "org.postgresql.Driver" if self.kind == "postgresql" else "com.mysql.cj.jdbc.Driver"

    def describe(self) -> str:
        """Where the connection goes (no secret), for messages."""
        if self.kind == GENERIC:
            return self.url.split(";", 1)[0].split("?", 1)[0]
        return f"{self.host}:{self.port}/{self.database}"

    def jdbc_url(self) -> str:
        """The JDBC URL with the TLS options in the driver's own terms."""
        if self.ssl_mode is None or self.kind == GENERIC:
            return self.url
        if self.kind == "postgresql":
            options = {"sslmode": self.ssl_mode}
            if self.ssl_root_cert:
                options["sslrootcert"] = str(self.ssl_root_cert)
        else:
            options = {"sslMode": MYSQL_SSL_MODES[self.ssl_mode]}
            if self.ssl_root_cert:
                options["trustCertificateKeyStoreUrl"] = f"file:{self.ssl_root_cert}"
        extra = "&".join(f"{k}={v}" for k, v in options.items())
        return f"{self.url}{'&' if '?' in self.url else '?'}{extra}"

    def libpq_options(self) -> dict[str, str]:
        """Keyword options for psycopg (PostgreSQL sources), the password read now."""
        options = {
            "host": self.host,
            "port": str(self.port),
            "dbname": self.database,
            "user": self.user,
            "password": self.password(),
            "connect_timeout": "10",
            "application_name": "headwater",
        }
        if self.ssl_mode:
            options["sslmode"] = self.ssl_mode
        if self.ssl_root_cert:
            options["sslrootcert"] = str(self.ssl_root_cert)
        return options

    def password(self) -> str:
        """The secret, read now ("" for a driver-given database without one). Never log it."""
        if self.password_env is None and self.password_file is None:
            return ""
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(
                    f"connection {self.name}: environment variable {self.password_env} "
                    "(its password_env) is not set",
                    hint=f"export {self.password_env}=… before running",
                    key=f"connections.{self.name}.password_env",
                )
            return value
        assert self.password_file is not None
        try:
            return self.password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"connection {self.name}: cannot read password_file {self.password_file} "
                f"({exc.strerror})",
                key=f"connections.{self.name}.password_file",
            ) from exc


def load_connections() -> dict[str, Connection]:
    connections = {}
    for name, body in project_section("connections").items():
        if not re.fullmatch(NAME, str(name)):
            raise ConfigError(
                f"{project_file()}: connections.{name}: a connection name is a Spark catalog "
                "name: lower case letters, digits and _",
                key=f"connections.{name}",
            )
        try:
            definition = ConnectionDefinition.model_validate(body or {})
        except ValidationError as exc:
            raise definition_error(
                exc, "connections", name, "see docs/crawler.md, JDBC targets", show_value=False
            ) from exc
        connections[name] = _connection(name, definition)
    return connections


def _connection(name: str, definition: ConnectionDefinition) -> Connection:
    if definition.driver is not None:
        return Connection(
            name=name,
            url=definition.url,
            kind=GENERIC,
            host="",
            port=0,
            database="",
            user=definition.user,
            password_env=definition.password_env,
            password_file=definition.password_file,
            driver=definition.driver,
            driver_class=definition.driver_class,
        )
    match = _URL.fullmatch(definition.url)
    assert match is not None
    kind, host, port, database = match.group(1), match.group(2), match.group(3), match.group(4)
    return Connection(
        name=name,
        url=definition.url,
        kind=kind,
        host=host,
        port=int(port) if port else DEFAULT_PORTS[kind],
        database=database,
        user=definition.user,
        password_env=definition.password_env,
        password_file=definition.password_file,
        ssl_mode=definition.ssl_mode,
        ssl_root_cert=definition.ssl_root_cert,
    )


def catalog_conf(connections: dict[str, Connection]) -> dict[str, str]:
    """One Spark JDBC catalog per connection (non-secret settings)."""
    conf = {}
    for name, connection in connections.items():
        conf[f"spark.sql.catalog.{name}"] = JDBC_CATALOG
        url = connection.jdbc_url()
        if connection.kind == "mysql" and "databaseTerm=" not in url:
            # Connector/J lists tables by catalog; as schemas, SHOW TABLES IN a
            # database lists that database's tables only (else every database's)
            url += f"{'&' if '?' in url else '?'}databaseTerm=SCHEMA"
        conf[f"spark.sql.catalog.{name}.url"] = url
        conf[f"spark.sql.catalog.{name}.user"] = connection.user
        if connection.kind == GENERIC:
            conf[f"spark.sql.catalog.{name}.driver"] = connection.driver_name
    return conf


def driver_coordinates(connections: dict[str, Connection]) -> list[str]:
    """The Maven coordinates of the drivers the connections name (sorted, once each)."""
    return sorted({c.driver for c in connections.values() if c.driver})


def catalog_secrets(connections: dict[str, Connection]) -> dict[str, str]:
    """The catalogs' passwords (unset variables are skipped: the catalog then fails
    on first use, naming the connection). Never log the result."""
    secrets = {}
    for name, connection in connections.items():
        try:
            secrets[f"spark.sql.catalog.{name}.password"] = connection.password()
        except ConfigError:
            continue
    return secrets
