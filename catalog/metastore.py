"""Catalog metadata straight from the Hive metastore's thrift API (no SQL endpoint).

Listing a database through the Spark Thrift Server (``SHOW TABLE EXTENDED``) makes
the server fetch every table from the metastore one by one; the metastore itself
answers ``get_table_objects_by_name`` for all of them in one call. The stack
profile's CLI reads listings this way (pymetastore's generated client; no JVM here).

A table Spark created keeps its real definition in table properties
(``spark.sql.sources.*``: provider, JSON schema, partition columns) and, for a data
source table, its location in the SerDe's ``path``; :func:`to_table` reads it back
the way Spark's own catalog does, so both routes describe a table alike.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from catalog import ddl
from catalog.errors import (
    CatalogError,
    CatalogUnavailableError,
    DefinitionRefusedError,
    TableNotFoundError,
)
from catalog.metastore_db import MetastoreDatabase
from catalog.model import Column, Database, Table
from catalog.spark_tables import metastore_database, metastore_table

DESCRIPTION = "description"  # a database's description, kept in its parameters

LOG = logging.getLogger("headwater.catalog")
_PREFIX = "spark.sql.sources."
# Properties Spark's catalog keeps to itself (statistics, bookkeeping; besides its
# spark.sql.* and a view's view.* ones), as SHOW TABLE EXTENDED leaves them out.
_HIDDEN = {
    "EXTERNAL",
    "numFiles",
    "numRows",
    "totalSize",
    "rawDataSize",
    "COLUMN_STATS_ACCURATE",
    "numFilesErasureCoded",
    "comment",
}
# The metastore's own DDL time: Spark drops it from data source tables only.
_DDL_TIME = "transient_lastDdlTime"
_HIVE_NAMES = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint"}
_TIMEOUT_MS = 30_000
FETCH_CONNECTIONS = 4
FETCH_IN_PARALLEL_FROM = 40  # tables; below, one call is quicker than new connections


class MetastoreReader:
    """Databases and table definitions from the metastore at ``host:port``."""

    def __init__(self, host: str, port: int, backing: MetastoreDatabase | None = None) -> None:
        self.host = host
        self.port = port
        # the metastore's own database, read directly when it can be (else None)
        self.backing = backing
        self._client: Any = None
        self._transport: Any = None

    def _open(self) -> tuple[Any, Any]:
        """A new connection: (client, transport)."""
        from pymetastore.hive_metastore import ThriftHiveMetastore
        from thrift.protocol import TBinaryProtocol
        from thrift.transport import TSocket, TTransport

        logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)
        socket = TSocket.TSocket(self.host, self.port)
        socket.setTimeout(_TIMEOUT_MS)
        transport = TTransport.TBufferedTransport(socket)
        try:
            transport.open()
        except (TTransport.TTransportException, OSError) as exc:
            raise CatalogUnavailableError(
                f"cannot reach the Hive metastore at {self.host}:{self.port}",
                hint="see which services run: `headwater stack status`; start the stack "
                "with `make up` (or `headwater stack up`)",
            ) from exc
        # the C codec when thrift was built with it (decoding 500 tables in pure Python
        # costs ~0.4 s), else the Python one
        protocol = TBinaryProtocol.TBinaryProtocolAccelerated(transport)
        return ThriftHiveMetastore.Client(protocol), transport

    def _connect(self) -> Any:
        if self._client is None:
            self._client, self._transport = self._open()
        return self._client

    def _call(self, what: str, method: str, *args: Any, client: Any = None) -> Any:
        client = client or self._connect()
        try:
            return getattr(client, method)(*args)
        except Exception as exc:  # thrift raises its generated exception types
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise CatalogError(f"the metastore failed to {what}: {message}") from exc

    def _tables(self, database: str, names: list[str]) -> list[Any]:
        """The table objects, fetched over up to FETCH_CONNECTIONS connections at once:
        the metastore reads each table separately (~5 ms each), on a thread per
        connection."""
        what = f"read tables of {database}"
        chunks = [names[i::FETCH_CONNECTIONS] for i in range(FETCH_CONNECTIONS)]
        chunks = [c for c in chunks if c]
        if len(names) < FETCH_IN_PARALLEL_FROM or len(chunks) == 1:
            return list(self._call(what, "get_table_objects_by_name", database, names))

        def fetch(chunk: list[str]) -> list[Any]:
            client, transport = self._open()
            try:
                return list(
                    self._call(what, "get_table_objects_by_name", database, chunk, client=client)
                )
            finally:
                transport.close()

        with ThreadPoolExecutor(len(chunks)) as pool:
            return [table for part in pool.map(fetch, chunks) for table in part]

    def databases(self) -> list[Database]:
        names = self._from_backing(lambda db: db.database_names())
        if names is None:
            names = self._call("list databases", "get_all_databases")
        return [Database(name) for name in sorted(names)]

    def database(self, name: str) -> Database:
        found = self._call(f"read database {name}", "get_database", name)
        described = (found.parameters or {}).get(DESCRIPTION) or found.description
        return Database(found.name, found.locationUri or None, described or None)

    def table_summaries(self, database: str, like: str = "*") -> list[Table]:
        """Tables of ``database`` whose names match the Hive pattern ``like`` (``*`` any
        run, ``|`` alternatives, case-insensitive): five queries on the metastore's
        database, else two thrift calls, whatever their number; one thrift call for a
        plain name."""
        if PLAIN_NAME.fullmatch(like):
            try:
                return [to_table(self.raw_table(database, like))]
            except TableNotFoundError:
                return []
        found = self._from_backing(lambda db: db.tables(database, like))
        if found is None:
            names = self._call(f"list tables of {database}", "get_tables", database, like)
            found = self._tables(database, list(names)) if names else []
        return sorted((to_table(t) for t in found), key=lambda t: t.name)

    def _from_backing(self, read: Any) -> Any:
        """``read(backing)``, or None when there is no backing database or it fails
        (then the thrift API answers, and the backing database is not tried again)."""
        if self.backing is None:
            return None
        try:
            return read(self.backing)
        except Exception as exc:  # psycopg's errors, or a schema other than Hive's
            LOG.info("reading the metastore's database failed (%s); using its thrift API", exc)
            self.backing.close()
            self.backing = None
            return None

    # -- one table's raw definition (for an in-place change) ----------------------------
    def raw_table(self, database: str, name: str) -> Any:
        """The metastore's thrift ``Table`` for ``database.name``.

        Raises:
            TableNotFoundError: there is none (or no such database).
        """
        from pymetastore.hive_metastore.ttypes import NoSuchObjectException

        try:
            return self._call(f"read table {database}.{name}", "get_table", database, name)
        except CatalogError as exc:
            if isinstance(exc.__cause__, NoSuchObjectException):
                raise TableNotFoundError(
                    f"table {database}.{name} does not exist", table=f"{database}.{name}"
                ) from exc
            raise

    def table_names(self, database: str) -> list[str]:
        """Every table and view of ``database`` (none when there is no such database)."""
        return list(self._call(f"list tables of {database}", "get_tables", database, "*"))

    def partition_names(self, database: str, name: str) -> list[str]:
        """``key=value/…`` of each partition, values escaped as in their paths (the form
        of ``SHOW PARTITIONS``)."""
        what = f"list the partitions of {database}.{name}"
        return list(self._call(what, "get_partition_names", database, name, -1))

    def put_raw_table(self, database: str, name: str, table: Any) -> None:
        """Replace ``database.name``'s definition with ``table`` in one metastore call.

        Raises:
            DefinitionRefusedError: the metastore will not make this change in place.
        """
        from pymetastore.hive_metastore.ttypes import InvalidOperationException

        try:
            self._connect().alter_table(database, name, table)
        except InvalidOperationException as exc:
            raise DefinitionRefusedError(
                f"the metastore refused to alter table {database}.{name}: {exc.message}"
            ) from exc
        except Exception as exc:  # thrift raises its generated exception types
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise CatalogError(
                f"the metastore failed to alter table {database}.{name}: {message}"
            ) from exc

    # -- writes in Spark's form (catalog.spark_tables), for a CLI without a JVM --------
    def create_database(self, name: str, owner: str) -> None:
        # no location: the metastore's default, <warehouse>/<name>.db, as Spark's
        self._call(
            f"create database {name}", "create_database", metastore_database(name, None, owner)
        )

    def create_table(self, table: Table, owner: str, if_not_exists: bool = False) -> None:
        from pymetastore.hive_metastore.ttypes import AlreadyExistsException, EnvironmentContext

        # the files' statistics are not listed at creation (a crawled folder may hold
        # thousands of files); Spark shows none for these tables either
        context = EnvironmentContext({"DO_NOT_UPDATE_STATS": "TRUE"})
        database = self._call(f"read database {table.database}", "get_database", table.database)
        try:
            self._connect().create_table_with_environment_context(
                metastore_table(table, owner, database.locationUri), context
            )
        except AlreadyExistsException as exc:
            if if_not_exists:
                return
            raise CatalogError(f"table {table.qualified_name} already exists") from exc
        except Exception as exc:  # thrift raises its generated exception types
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise CatalogError(
                f"the metastore failed to create table {table.qualified_name}: {message}"
            ) from exc

    def replace_table(self, table: Table, owner: str) -> None:
        """A new definition for an existing table, in Spark's form, in one call."""
        database = self._call(f"read database {table.database}", "get_database", table.database)
        self.put_raw_table(
            table.database, table.name, metastore_table(table, owner, database.locationUri)
        )

    def describe_database(self, name: str, description: str) -> None:
        database = self._call(f"read database {name}", "get_database", name)
        # the metastore alters a database's parameters, not its description
        database.parameters = {**(database.parameters or {}), DESCRIPTION: description}
        self._call(f"alter database {name}", "alter_database", name, database)

    def drop_database(self, name: str) -> None:
        """Drop a database and its tables' definitions (never their files)."""
        self._call(f"drop database {name}", "drop_database", name, False, True)

    def add_partitions(self, database: str, name: str, partitions: list[Any]) -> None:
        """Add the thrift ``Partition``s that are not there yet."""
        from pymetastore.hive_metastore.ttypes import AddPartitionsRequest

        request = AddPartitionsRequest(
            database, name, partitions, ifNotExists=True, needResult=False
        )
        self._call(f"add partitions to {database}.{name}", "add_partitions_req", request)

    def drop_table(self, database: str, name: str) -> None:
        """Drop the definition (never the files: every table here is external)."""
        from pymetastore.hive_metastore.ttypes import NoSuchObjectException

        try:
            self._call(f"drop table {database}.{name}", "drop_table", database, name, False)
        except CatalogError as exc:
            if not isinstance(exc.__cause__, NoSuchObjectException):
                raise

    def close(self) -> None:
        if self.backing is not None:
            self.backing.close()
        if self._transport is not None:
            self._transport.close()
            self._client = self._transport = None


# A table pattern that can match one name only (no `*`, `|` or other regular expression).
PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")


def to_table(raw: Any) -> Table:
    """A metastore ``Table`` (thrift) as the catalog model, as Spark reads it back."""
    parameters: dict[str, str] = dict(raw.parameters or {})
    sd = raw.sd
    serde = sd.serdeInfo if sd is not None else None
    serde_parameters: dict[str, str] = dict((serde.parameters if serde else None) or {})
    provider = parameters.get(_PREFIX + "provider", "hive").lower()
    schema = _stored_schema(parameters)
    if schema is None:  # a table Spark did not create: the metastore's own columns
        columns = [_column(c.name, c.type, c.comment) for c in (sd.cols if sd else None) or []]
        keys = [_column(c.name, c.type, c.comment) for c in raw.partitionKeys or []]
    else:
        fields = [field_column(f) for f in schema]
        part_names = _partition_columns(parameters)
        columns = [c for c in fields if c.name not in part_names]
        by_name = {c.name: c for c in fields}
        keys = [by_name.get(name, Column(name, "")) for name in part_names]
    serde_library = (serde.serializationLib if serde else None) or ""
    if raw.tableType == "VIRTUAL_VIEW":
        table_format, location = ddl.VIEW, ""
    else:
        table_format = ddl.REGEX if serde_library == ddl.REGEX_SERDE else provider
        location = serde_parameters.get("path") or (sd.location if sd else "") or ""
    return Table(
        database=raw.dbName,
        name=raw.tableName,
        columns=tuple(columns),
        location=location,
        format=table_format,
        partition_keys=tuple(keys),
        parameters={
            k: v
            for k, v in parameters.items()
            if not k.startswith(("spark.sql.", "view."))
            and k not in _HIDDEN
            and not (k == _DDL_TIME and provider != "hive")
        },
        options={"serde": serde_library},
    )


# Spark keeps the metastore's own serialization.format out of a data source table's
# options (Hive tables show it)
_HIVE_GENERATED = ("serialization.format",)


def described_table(raw: Any) -> Table:
    """A metastore ``Table`` as Spark's ``DESCRIBE TABLE EXTENDED`` and ``SHOW
    TBLPROPERTIES`` show it (:meth:`catalog.hive.HiveCatalog.get_table`'s other
    route): the reader options, and each again as an ``option.<key>`` property.
    A Delta table's columns and properties live in its log, not here."""
    table = to_table(raw)
    if table.format == ddl.VIEW:
        text = raw.viewOriginalText or raw.viewExpandedText or ""
        return dataclasses.replace(table, options={"source": text.removeprefix(ddl.VIEW_PREFIX)})
    serde = raw.sd.serdeInfo if raw.sd is not None else None
    stored: dict[str, str] = dict((serde.parameters if serde else None) or {})
    spark_table = _PREFIX + "provider" in (raw.parameters or {})
    options = {
        k: v
        for k, v in stored.items()
        if k != "path" and not (spark_table and k in _HIVE_GENERATED)
    }
    parameters = {**table.parameters, **{f"option.{k}": v for k, v in options.items()}}
    return dataclasses.replace(table, options=options, parameters=parameters)


def _stored_schema(parameters: dict[str, str]) -> list[dict[str, Any]] | None:
    """Spark's JSON schema from the properties (split into parts when long)."""
    text = parameters.get(_PREFIX + "schema")
    if text is None and (parts := parameters.get(_PREFIX + "schema.numParts")):
        text = "".join(parameters.get(f"{_PREFIX}schema.part.{i}", "") for i in range(int(parts)))
    if not text:
        return None
    fields: list[dict[str, Any]] = json.loads(text).get("fields", [])
    return fields


def _partition_columns(parameters: dict[str, str]) -> list[str]:
    count = int(parameters.get(_PREFIX + "schema.numPartCols", "0"))
    return [parameters.get(f"{_PREFIX}schema.partCol.{i}", "") for i in range(count)]


def field_column(field: dict[str, Any]) -> Column:
    metadata = field.get("metadata") or {}
    declared = metadata.get("__CHAR_VARCHAR_TYPE_STRING")  # char(n)/varchar(n) as declared
    return Column(
        str(field["name"]), declared or spark_type_name(field["type"]), metadata.get("comment")
    )


def spark_type_name(data_type: Any) -> str:
    """A Spark JSON data type (as the metastore's schema property and Delta's log
    store it) as the Hive type string DESCRIBE shows (``bigint``,
    ``array<struct<a:int>>``, ``decimal(10,2)`` …)."""
    if isinstance(data_type, str):
        if data_type.startswith(("decimal", "char", "varchar")):
            return data_type.replace(" ", "")
        return _HIVE_NAMES.get(data_type, data_type)
    kind = data_type.get("type")
    if kind == "array":
        return f"array<{spark_type_name(data_type['elementType'])}>"
    if kind == "map":
        key = spark_type_name(data_type["keyType"])
        return f"map<{key},{spark_type_name(data_type['valueType'])}>"
    if kind == "struct":
        inner = ",".join(f"{f['name']}:{spark_type_name(f['type'])}" for f in data_type["fields"])
        return f"struct<{inner}>"
    if kind == "udt":
        return spark_type_name(data_type.get("sqlType", "binary"))
    return str(kind)


def _column(name: str, hive_type: str, comment: str | None) -> Column:
    return Column(name, hive_type, None if comment == "from deserializer" else comment)
