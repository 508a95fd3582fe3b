"""Reading sources and writing Delta tables: the Spark edge of ingestion.

Decisions (which files, which key window, how the schema evolves) are made in
:mod:`engine.ingest`; this module executes them.
"""

from __future__ import annotations

import contextlib
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote

from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st
from pyspark.sql.window import Window

from catalog.ddl import REGEX, quote_name
from catalog.errors import TableNotFoundError
from catalog.model import Table
from engine.classify.csv import FIRST_TABLE, SKIP_LINES
from engine.classify.grok import EPOCH, ISO, TIMESTAMP_FORMAT
from engine.connections import Connection
from engine.errors import HeadwaterError, JobError, SourceNotFoundError
from engine.lake.merge import SHOWN_DUPLICATES, duplicate_keys_error, merge_condition
from engine.lake.sink import MERGE, OVERWRITE, Commit, Write
from engine.spark.session import session_catalog

CORRUPT = "_corrupt_record"
MALFORMED_REASON = "_malformed_reason"  # a record Spark parsed, that headwater judged malformed
TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
TXN_VERSION = "spark.databricks.delta.write.txnVersion"
USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
AUTO_MERGE = "spark.databricks.delta.schema.autoMerge.enabled"
CSV_PRUNING = "spark.sql.csv.parser.columnPruning.enabled"
DEFAULT_COLUMN_MAPPING = "spark.databricks.delta.properties.defaults.columnMapping.mode"
DELTA_INVALID_NAME_CHARS = " ,;{}()\n\t="
GLOB_CHARS = "\\*?[]{}"


# -- sources --------------------------------------------------------------------------
def catalog_table(spark: SparkSession, qualified_name: str) -> Table:
    database, _, name = qualified_name.partition(".")
    try:
        return session_catalog(spark).get_table(database, name)
    except TableNotFoundError as exc:
        raise SourceNotFoundError(
            f"source table {qualified_name} is not in the catalog",
            hint=f"crawl its files first (headwater crawl … --database {database}), or list "
            f"what exists: headwater catalog tables {database}",
            table=qualified_name,
        ) from exc


def table_files(spark: SparkSession, qualified_name: str, predicate: str | None) -> list[str]:
    """The files Spark would read for the table, partition-pruned by ``predicate``."""
    df = spark.table(qualified_name)
    if predicate:
        df = where(df, predicate, qualified_name)
    return sorted(unquote(uri) for uri in df.inputFiles())


def where(df: DataFrame, predicate: str, source: str) -> DataFrame:
    """``df`` filtered by a user's predicate, resolved now so a bad one names the source."""
    try:
        filtered = df.where(predicate)
        filtered.schema  # noqa: B018 - resolves the predicate now, to name it in the error
    except (AnalysisException, PySparkException) as exc:
        raise JobError(
            f"--push_down_predicate {predicate!r} does not apply to {source}: "
            f"{str(exc).strip().splitlines()[0]}",
            key="push_down_predicate",
        ) from exc
    return filtered


def spark_schema(table: Table) -> st.StructType:
    """The table's columns (data, then partition keys) as a Spark schema."""
    ddl = ", ".join(
        f"{quote_name(c.name)} {c.type}" for c in (*table.columns, *table.partition_keys)
    )
    schema = st.StructType.fromDDL(ddl)
    assert isinstance(schema, st.StructType)
    return schema


def read_files(
    spark: SparkSession,
    fmt: str,
    files: list[str],
    *,
    base_path: str,
    options: dict[str, str],
    schema: st.StructType | None,
    quarantine: bool,
    partition_columns: tuple[str, ...] = (),
) -> DataFrame:
    """Exactly ``files`` (partition columns from their paths under ``base_path``),
    malformed CSV/JSON records kept in ``_corrupt_record`` when ``quarantine``."""
    if fmt == REGEX:
        assert schema is not None, "a log table's columns come from the catalog"
        return read_log_files(
            spark,
            files,
            base_path=base_path,
            options=options,
            schema=schema,
            quarantine=quarantine,
            partition_columns=partition_columns,
        )
    if fmt == "csv" and (options.get(SKIP_LINES) or options.get(FIRST_TABLE)):
        assert schema is not None, "a table read line by line has its columns in the catalog"
        return read_csv_lines(
            spark,
            files,
            base_path=base_path,
            options=options,
            schema=schema,
            quarantine=quarantine,
            partition_columns=partition_columns,
        )
    reader = spark.read.format(fmt).options(**options).option("basePath", base_path)
    if quarantine:
        reader = reader.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT)
        if schema is None:
            schema = _inferred(spark, fmt, files, base_path, options)
        if CORRUPT not in schema.fieldNames():
            schema = st.StructType([*schema.fields, st.StructField(CORRUPT, st.StringType())])
    if schema is not None:
        reader = reader.schema(schema)
    escaped = [_escape_glob(f) for f in files]
    try:
        df = reader.load(escaped)
    except (AnalysisException, PySparkException) as exc:
        raise JobError(
            f"cannot read {len(files)} {fmt} file(s) under {base_path}: "
            f"{str(exc).strip().splitlines()[0]}",
            hint="check the source's --format and --source_options",
            path=base_path,
        ) from exc
    if quarantine and fmt in ("csv", "json"):
        df = flag_malformed_records(df, fmt, options, partition_columns)
    return df


UNMATCHED_LINE = "a line the table's log pattern does not match (input.regex)"


def read_log_files(
    spark: SparkSession,
    files: list[str],
    *,
    base_path: str,
    options: dict[str, str],
    schema: st.StructType,
    quarantine: bool,
    partition_columns: tuple[str, ...] = (),
) -> DataFrame:
    """The lines of a log table's files, split by its regex (the one Hive's
    RegexSerDe reads the table with: one group per column, the whole line matched).

    Columns get their catalog types; the ``timestamp`` column is parsed with the
    layout the classifier found (``headwater.timestampFormat``) and lands as a
    timestamp. A group that took no part is null. When ``quarantine``: a line the
    regex does not match, or a value that does not parse as its type, is malformed
    and set aside with its text (Hive's reader would give a row of nulls)."""
    regex = options.get("input.regex")
    if not regex:
        raise JobError(
            f"the log table under {base_path} has no input.regex",
            hint="crawl its files again (the crawler writes the pattern)",
            path=base_path,
        )
    anchored = f"^(?:{regex})$"
    lines = spark.read.option("basePath", base_path).text([_escape_glob(f) for f in files])
    line = sf.col("value")
    stamp_format = options.get(TIMESTAMP_FORMAT)
    data = [f for f in schema.fields if f.name not in partition_columns]
    values: list[Column] = []
    unparsed: list[Column] = []
    for group, field in enumerate(data, 1):
        text = sf.regexp_extract(line, anchored, group)
        text = sf.when(text != "", text)  # an optional group that took no part
        if field.name == "timestamp" and stamp_format:
            typed = log_timestamp(text, stamp_format)
        elif isinstance(field.dataType, st.StringType):
            values.append(text.alias(field.name))
            continue
        else:
            typed = text.try_cast(field.dataType)
        values.append(typed.alias(field.name))
        unparsed.append(text.isNotNull() & typed.isNull())
    parted = [sf.col(quote_name(c)) for c in partition_columns if c in lines.columns]
    if not quarantine:
        return lines.select(*values, *parted)
    matched = line.rlike(anchored)
    reason = sf.when(~matched, sf.lit(UNMATCHED_LINE)).when(
        _any(unparsed),
        sf.lit(
            "a value that does not parse as its column's type"
            + (f" (timestamps follow {stamp_format!r})" if stamp_format else "")
        ),
    )
    return lines.select(
        *values,
        *parted,
        sf.when(reason.isNotNull(), line).alias(CORRUPT),
        reason.alias(MALFORMED_REASON),
    )


LATER_TABLE = (
    "a line below the first table of a file holding several tables one after another "
    "(only the first is read): split the file into one file per table"
)
LINE_FILE = "_line_file"  # the file of a line read by read_csv_lines (its lineage)
# Reader options that are headwater's, or that do not apply to one line (from_csv).
_NOT_FROM_CSV = ("header", "multiLine", "encoding", "comment", "pathGlobFilter", "basePath")


def read_csv_lines(
    spark: SparkSession,
    files: list[str],
    *,
    base_path: str,
    options: dict[str, str],
    schema: st.StructType,
    quarantine: bool,
    partition_columns: tuple[str, ...] = (),
) -> DataFrame:
    """A CSV table whose files have lines above their data (text above the header,
    a header over two rows: ``headwater.skipLines`` in all), or several tables one
    after another of which the first is read (``headwater.firstTable``).

    Spark's CSV reader can skip one header line only, so the files are read as
    lines, numbered per file (by the split they lie in, then their place in it),
    and each line left is parsed with ``from_csv`` and the table's options: records
    are lines (the crawler refuses such files when a value spans lines). Blank lines
    are skipped, as Spark's CSV reader does. With ``firstTable`` the first blank
    line below the data ends the table; the lines after it are quarantined with
    their reason (dropped when not quarantining). The file of each line is kept in
    ``_line_file``: the numbering moves rows between tasks, past the reader's
    ``_metadata``."""
    skip = int(options.get(SKIP_LINES) or options.get("header", "false").lower() == "true")
    lines = spark.read.option("basePath", base_path).text([_escape_glob(f) for f in files])
    lines = lines.select(
        "*",
        sf.col("_metadata.file_path").alias(LINE_FILE),
        sf.col("_metadata.file_block_start").alias("_start"),
        sf.monotonically_increasing_id().alias("_id"),
    )
    in_file = Window.partitionBy(LINE_FILE)
    lines = lines.withColumn("_n", sf.row_number().over(in_file.orderBy("_start", "_id")))
    blank = sf.trim(sf.col("value")) == ""
    below = sf.col("_n") > skip
    later = sf.lit(False)
    if options.get(FIRST_TABLE) == "true":
        first = sf.min(sf.when(below & ~blank, sf.col("_n")))
        lines = lines.withColumn("_data", first.over(in_file))
        ends = sf.min(sf.when(blank & (sf.col("_n") > sf.col("_data")), sf.col("_n")))
        lines = lines.withColumn("_end", ends.over(in_file))
        later = sf.coalesce(sf.col("_n") > sf.col("_end"), sf.lit(False))
    kept = lines.where(below & ~blank & (sf.lit(quarantine) | ~later))
    data = [f for f in schema.fields if f.name not in (*partition_columns, CORRUPT)]
    fields = [*data, st.StructField(CORRUPT, st.StringType())] if quarantine else data
    ddl = ", ".join(f"{quote_name(f.name)} {f.dataType.simpleString()}" for f in fields)
    parse = {k: v for k, v in options.items() if k not in _NOT_FROM_CSV and "." not in k}
    if quarantine:
        parse |= {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    record = sf.from_csv(sf.col("value"), ddl, parse).alias("_record")
    parted = [sf.col(quote_name(c)) for c in partition_columns if c in lines.columns]
    df = kept.select(record, *parted, LINE_FILE, later.alias("_later"), "value")
    values = [sf.col("_record").getField(f.name).alias(f.name) for f in data]
    if not quarantine:
        return df.select(*values, *parted, LINE_FILE)
    corrupt = sf.when(sf.col("_later"), sf.col("value")).otherwise(
        sf.col("_record").getField(CORRUPT)
    )
    reason = sf.when(sf.col("_later"), sf.lit(LATER_TABLE))
    df = df.select(
        *values, *parted, LINE_FILE, corrupt.alias(CORRUPT), reason.alias(MALFORMED_REASON)
    )
    return flag_malformed_records(df, "csv", options, (*partition_columns, LINE_FILE))


def log_timestamp(text: Column, stamp_format: str) -> Column:
    """A log's timestamp text as a timestamp (null when it does not parse)."""
    if stamp_format == ISO:
        return sf.try_to_timestamp(text)
    if stamp_format == EPOCH:
        return sf.timestamp_seconds(text.try_cast("bigint"))
    return sf.try_to_timestamp(text, sf.lit(stamp_format))


def flag_malformed_records(
    df: DataFrame, fmt: str, options: dict[str, str], partition_columns: tuple[str, ...] = ()
) -> DataFrame:
    """Mark records Spark parsed but that are not what the file holds.

    - Undecodable bytes: a file read as UTF-8 that holds bytes of another encoding
      (a mixed file) gets U+FFFD in their place, silently; such records are set aside.
    - Swallowed rows: with CSV ``multiLine`` a quote that never closes swallows every
      row up to the next quote (or the end of the file) into one value, and Spark
      reports nothing. A line inside a value with as many delimiters as a record has
      (its fields less one) is taken for such a row.

    The record's text is rebuilt from its fields; the reason says which it was."""
    fields = [
        f for f in df.schema.fields if f.name not in (CORRUPT, MALFORMED_REASON, *partition_columns)
    ]
    texts = [f.name for f in fields if isinstance(f.dataType, st.StringType)]
    if not texts:
        return df
    checks: list[tuple[Column, Column]] = []
    if options.get("encoding", "UTF-8").upper().replace("-", "") in ("UTF8", "UTF"):
        undecodable = _any_text(texts, lambda c: sf.instr(c, "\ufffd") > 0)
        checks.append(
            (
                undecodable,
                sf.lit(
                    "bytes that are not UTF-8 (a file mixing encodings?): they would land as "
                    "U+FFFD; fix the file's encoding and run again"
                ),
            )
        )
    delimiter = options.get("sep", options.get("delimiter", ","))
    multiline = options.get("multiLine", "false").lower() == "true"
    values = [sf.col(quote_name(f.name)).cast("string").alias(f.name) for f in fields]
    record = sf.concat_ws(delimiter, *values) if fmt == "csv" else sf.to_json(sf.struct(*values))
    if fmt == "csv" and multiline and len(fields) > 1 and len(delimiter) == 1:
        escaped = delimiter if delimiter.isalnum() else "\\" + delimiter  # a Java literal
        pattern = f"\\n(?:[^\\n{escaped}]*{escaped}){{{len(fields) - 1}}}"  # linear
        swallowed = _any_text(texts, lambda c: c.rlike(pattern))
        reason = sf.concat(
            sf.lit("a quoted value runs over "),
            (sf.size(sf.split(record, "\n")) - 1).cast("string"),
            sf.lit(
                " line break(s) into lines shaped like records of their own: a quote that "
                "never closes swallowed the rows below it (fix the quote and run again)"
            ),
        )
        checks.append((swallowed, reason))
    if not checks:
        return df
    suspect = sf.col(CORRUPT).isNull() & _any(c for c, _ in checks)
    why: Column = sf.lit(None).cast("string")
    for condition, reason in reversed(checks):
        why = sf.when(condition, reason).otherwise(why)
    return df.withColumns(
        {
            CORRUPT: sf.when(suspect, record).otherwise(sf.col(CORRUPT)),
            MALFORMED_REASON: sf.when(suspect, why).otherwise(
                sf.col(MALFORMED_REASON) if MALFORMED_REASON in df.columns else sf.lit(None)
            ),
        }
    )


def _any_text(names: list[str], test: Callable[[Column], Column]) -> Column:
    return _any(sf.coalesce(test(sf.col(quote_name(n))), sf.lit(False)) for n in names)


def _any(conditions: Iterable[Column]) -> Column:
    combined = sf.lit(False)
    for condition in conditions:
        combined = combined | condition
    return combined


def _inferred(
    spark: SparkSession, fmt: str, files: list[str], base_path: str, options: dict[str, str]
) -> st.StructType:
    reader = spark.read.format(fmt).options(**options).option("basePath", base_path)
    return reader.load([_escape_glob(f) for f in files]).schema


def _escape_glob(uri: str) -> str:
    return "".join(f"\\{c}" if c in GLOB_CHARS else c for c in uri)


def jdbc_properties(connection: Connection) -> dict[str, str]:
    """Reader options of a connection; the password is read now and never logged."""
    return {
        "url": connection.jdbc_url(),
        "user": connection.user,
        "password": connection.password(),
        "driver": connection.driver_name,
    }


def jdbc_query(spark: SparkSession, connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Run a small query on the source (bounds, high-water marks, key columns)."""
    try:
        rows = (
            spark.read.format("jdbc")
            .options(**jdbc_properties(connection))
            .option("query", sql)
            .load()
        )
        return [tuple(row) for row in rows.collect()]
    except (AnalysisException, PySparkException, Py4JJavaError) as exc:
        raise JobError(
            f"connection {connection.name}: the query failed: {_first_line(exc)}",
            hint="check the table/column names and that the database is reachable",
            connection=connection.name,
        ) from exc


# schemas a driver lists that hold the engine's own tables
SYSTEM_SCHEMAS = ("information_schema", "sys", "sysibm", "syscat", "sysstat", "pg_catalog")


def jdbc_tables(
    spark: SparkSession, connection: Connection, schema: str | None = None, table: str = "%"
) -> tuple[list[tuple[str, str, str]], dict[tuple[str, str], list[str]]]:
    """The (schema, table, kind) the driver's metadata lists (``kind``: table | view;
    system schemas and tables left out; ``schema``/``table``: only those) and each
    table's primary-key columns in key order (``DatabaseMetaData``, through the JVM:
    any JDBC database)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    registry = jvm.org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry
    try:
        registry.register(connection.driver_name)
        properties = jvm.java.util.Properties()
        properties.setProperty("user", connection.user)
        properties.setProperty("password", connection.password())
        conn = jvm.java.sql.DriverManager.getConnection(connection.jdbc_url(), properties)
    except Py4JJavaError as exc:
        raise JobError(
            f"connection {connection.name} ({connection.describe()}): cannot connect: "
            f"{_first_line(exc)}",
            hint="check the url, user, password and the driver's class (driver_class)",
            connection=connection.name,
        ) from None
    try:
        meta = conn.getMetaData()
        listed = meta.getTables(None, schema, table, None)
        tables = []
        while listed.next():
            schema, name, kind = (
                listed.getString("TABLE_SCHEM") or "",
                listed.getString("TABLE_NAME"),
                (listed.getString("TABLE_TYPE") or "").upper(),
            )
            if schema.lower() in SYSTEM_SCHEMAS or "SYSTEM" in kind:
                continue
            if "TABLE" in kind or "VIEW" in kind:
                tables.append((schema, name, "view" if "VIEW" in kind else "table"))
        listed.close()
        keys: dict[tuple[str, str], list[str]] = {}
        for owner, name, kind in tables:
            if kind != "table":
                continue
            found = meta.getPrimaryKeys(None, owner or None, name)
            columns = []
            while found.next():
                columns.append((int(found.getShort("KEY_SEQ")), found.getString("COLUMN_NAME")))
            found.close()
            keys[(owner, name)] = [column for _, column in sorted(columns)]
        return tables, keys
    finally:
        conn.close()


def jdbc_schema(
    spark: SparkSession, connection: Connection, relation: str
) -> list[tuple[str, str]]:
    """(column, Spark type) of a source table as Spark's dialect for the driver maps
    it (no rows are read)."""
    try:
        reader = spark.read.format("jdbc").options(**jdbc_properties(connection))
        schema = reader.option("dbtable", relation).load().schema
    except (AnalysisException, PySparkException, Py4JJavaError) as exc:
        raise JobError(
            f"connection {connection.name}: cannot read {relation}: {_first_line(exc)}",
            connection=connection.name,
        ) from exc
    return [(field.name, field.dataType.simpleString()) for field in schema.fields]


def read_jdbc(
    spark: SparkSession,
    connection: Connection,
    relation: str,
    *,
    partition_column: str | None,
    bounds: tuple[Any, Any] | None,
    num_partitions: int,
) -> DataFrame:
    """``relation`` (a table or a parenthesised, aliased query), read in parallel
    ranges of ``partition_column`` between ``bounds`` when given."""
    reader = spark.read.format("jdbc").options(**jdbc_properties(connection))
    reader = reader.option("dbtable", relation).option("fetchsize", "10000")
    if partition_column and bounds is not None and num_partitions > 1:
        low, high = bounds
        reader = (
            reader.option("partitionColumn", partition_column)
            .option("lowerBound", str(low))
            .option("upperBound", str(high))
            .option("numPartitions", str(num_partitions))
        )
    try:
        return reader.load()
    except (AnalysisException, PySparkException, Py4JJavaError) as exc:
        raise SourceNotFoundError(
            f"connection {connection.name}: cannot read {relation}: {_first_line(exc)}",
            hint="check the source table or query",
            table=relation,
        ) from exc


def _jvm_causes(exc: BaseException) -> list[Any]:
    """A JVM error's Java exception and its causes, outermost first (none for others)."""
    causes: list[Any] = []
    if isinstance(exc, Py4JJavaError):
        with contextlib.suppress(Exception):
            cause = exc.java_exception
            while cause is not None:
                causes.append(cause)
                cause = cause.getCause()
    return causes


def _first_line(exc: BaseException) -> str:
    """The message worth showing: for a JVM error, its root cause's first line (the
    top one is py4j's "An error occurred while calling o123.save")."""
    causes = _jvm_causes(exc)
    if causes:
        with contextlib.suppress(Exception):
            text = str(causes[-1].getMessage() or causes[-1].toString()).strip()
            if text:
                return text.splitlines()[0]
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_READ_FAILURE = re.compile(r"while reading file (\S+?)\.?(?:\s|$)")


def failed_file(exc: BaseException) -> str | None:
    """The file Spark failed to read, when a JVM error says (FAILED_READ_FILE)."""
    texts = [str(exc)]
    with contextlib.suppress(Exception):
        texts += [str(cause.getMessage() or "") for cause in _jvm_causes(exc)]
    for text in texts:
        found = _READ_FAILURE.search(text)
        if found:
            return unquote(found.group(1))
    return None


# -- malformed records ------------------------------------------------------------------
def split_corrupt(df: DataFrame) -> tuple[DataFrame, Observation]:
    """Good rows of ``df`` (without ``_corrupt_record``), observing total and bad
    counts in the same pass that writes them."""
    observation = Observation("headwater_rows")
    bad = sf.when(sf.col(CORRUPT).isNotNull(), 1).otherwise(0)
    observed = df.observe(observation, sf.count(sf.lit(1)).alias("rows"), sf.sum(bad).alias("bad"))
    return observed.where(sf.col(CORRUPT).isNull()).drop(CORRUPT, MALFORMED_REASON), observation


def corrupt_rows(
    df: DataFrame, reason: str, source_file: str | None, values: dict[str, Any]
) -> DataFrame:
    """The malformed records of ``df``: record, reason, the ``source_file`` column's
    value, then ``values`` as constant columns.

    Every column is referenced so the reader parses whole records (a pruned read
    would only check the columns it returns)."""
    data = [c for c in df.columns if c not in (CORRUPT, MALFORMED_REASON)]
    all_parsed = sf.length(
        sf.concat_ws("\u0001", *[sf.col(quote_name(c)).cast("string") for c in data])
    )
    df.sparkSession.conf.set(CSV_PRUNING, "false")
    origin = sf.col(quote_name(source_file)) if source_file in df.columns else sf.lit(None)
    why = sf.lit(reason)
    if MALFORMED_REASON in df.columns:
        why = sf.coalesce(sf.col(MALFORMED_REASON), why)
    return df.where(sf.col(CORRUPT).isNotNull() & (all_parsed >= 0)).select(
        sf.col(CORRUPT).alias("record"),
        why.alias("reason"),
        origin.cast("string").alias("source_file"),
        *[sf.lit(value).alias(name) for name, value in values.items()],
    )


# -- the Delta sink -------------------------------------------------------------------
@contextlib.contextmanager
def _session_conf(spark: SparkSession, values: dict[str, str]) -> Iterator[None]:
    previous: dict[str, str | None] = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in previous.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


class SparkWriter:
    """:class:`engine.lake.sink.TableWriter` for DataFrames: one Delta commit at
    ``request.location`` (append, overwrite, or merge on keys), carrying the
    request's ``txn`` and ``user_metadata``."""

    def write(self, rows: DataFrame, request: Write) -> Commit:
        df, location = rows, request.location
        spark = df.sparkSession
        exists = DeltaTable.isDeltaTable(spark, location)
        conf = commit_conf(request)
        mapped = needs_column_mapping(df.schema)
        if mapped and (request.replace_schema or not exists):
            conf[DEFAULT_COLUMN_MAPPING] = "name"
        merging = request.mode == MERGE
        try:
            if merging:
                check_unique_keys(df, request.merge_keys, location)
            if mapped and exists and not request.replace_schema:
                enable_column_mapping(spark, location)
            with _session_conf(spark, conf):
                if merging and exists:
                    _merge(spark, df, location, request.merge_keys)
                else:
                    writer = df.write.format("delta").mode(
                        "overwrite" if request.mode == OVERWRITE else "append"
                    )
                    if request.replace_schema:
                        writer = writer.option("overwriteSchema", "true")
                    elif request.add_columns:
                        writer = writer.option("mergeSchema", "true")
                    if request.replace_where:
                        writer = writer.option("replaceWhere", request.replace_where)
                    if request.partition_by and (request.replace_schema or not exists):
                        writer = writer.partitionBy(*request.partition_by)
                    writer.save(location)
        except (AnalysisException, PySparkException, Py4JJavaError) as exc:
            raise write_error(exc, request) from exc
        return last_commit(spark, location)


def commit_conf(request: Write) -> dict[str, str]:
    """The session settings Delta reads for one commit: its ``userMetadata``, its
    ``txn`` (app id, version) and whether the batch's new columns join the schema."""
    conf = {USER_METADATA: json.dumps(dict(request.user_metadata), sort_keys=True, default=str)}
    if request.txn is not None:
        conf[TXN_APP_ID], conf[TXN_VERSION] = request.txn[0], str(request.txn[1])
    if request.add_columns:
        conf[AUTO_MERGE] = "true"
    return conf


def write_error(exc: BaseException, request: Write) -> HeadwaterError:
    """The error of a failed write: names the damaged file Spark could not read, or
    the table and Delta's reason."""
    message, location = _first_line(exc), request.location
    damaged = failed_file(exc)
    if damaged is not None:
        return request.error(
            f"cannot read {damaged}: {message}; nothing was written to {location}",
            hint="the file is damaged (a truncated or corrupt compressed file?): replace or "
            "remove it, then run again",
            path=damaged,
        )
    hint = None
    if "MULTIPLE_SOURCE_ROW_MATCHING" in message:
        hint = (
            f"the batch has several rows with the same merge key "
            f"({', '.join(request.merge_keys)}): deduplicate them in the job, or use a finer "
            "--merge_keys"
        )
    return request.error(
        f"writing the Delta table at {location} failed: {message}", hint=hint, path=location
    )


def last_commit(spark: SparkSession, location: str) -> Commit:
    """The table's latest commit, as a :class:`engine.lake.sink.Commit`."""
    last = DeltaTable.forPath(spark, location).history(1).collect()[0]
    metrics = last["operationMetrics"] or {}
    if last["operation"] == "MERGE":  # numOutputRows there counts copied rows too
        written = int(metrics.get("numTargetRowsInserted", 0)) + int(
            metrics.get("numTargetRowsUpdated", 0)
        )
    else:
        written = int(metrics.get("numOutputRows", 0))
    return Commit(
        version=int(last["version"]),
        rows_written=int(written or 0),
        files_written=int(metrics.get("numFiles", metrics.get("numTargetFilesAdded", 0))),
        operation=str(last["operation"]),
    )


def needs_column_mapping(schema: st.StructType) -> bool:
    """Whether a name (at any depth) holds a character Delta refuses without column
    mapping (`` ,;{}()\\n\\t=``)."""
    for field in schema.fields:
        if any(c in DELTA_INVALID_NAME_CHARS for c in field.name):
            return True
        inner = field.dataType
        while isinstance(inner, st.ArrayType | st.MapType):
            inner = inner.elementType if isinstance(inner, st.ArrayType) else inner.valueType
        if isinstance(inner, st.StructType) and needs_column_mapping(inner):
            return True
    return False


def enable_column_mapping(spark: SparkSession, location: str) -> None:
    """Turn on name column mapping for an existing table (a reader/writer protocol
    upgrade; Delta keeps the data files) so new columns may carry any name."""
    target = f"delta.{quote_name(location)}"
    found = spark.sql(f"SHOW TBLPROPERTIES {target}").collect()
    if ("delta.columnMapping.mode", "name") in [(r[0], r[1]) for r in found]:
        return
    spark.sql(
        f"ALTER TABLE {target} SET TBLPROPERTIES ('delta.minReaderVersion' = '2', "
        "'delta.minWriterVersion' = '5', 'delta.columnMapping.mode' = 'name')"
    )


def _merge(spark: SparkSession, df: DataFrame, location: str, keys: tuple[str, ...]) -> None:
    condition = merge_condition(keys, "spark")
    (
        DeltaTable.forPath(spark, location)
        .alias("t")
        .merge(df.alias("s"), condition)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def check_unique_keys(df: DataFrame, keys: tuple[str, ...], location: str) -> None:
    """Refuse a merge batch that holds a key on several rows (engine.lake.merge)."""
    repeated = (
        df.groupBy(*[sf.col(quote_name(k)) for k in keys])
        .agg(sf.count(sf.lit(1)).alias("_rows"))
        .where("_rows > 1")
    )
    examples = repeated.limit(SHOWN_DUPLICATES).collect()
    if examples:
        shown = [tuple(row[: len(keys)]) for row in examples]
        raise duplicate_keys_error(keys, shown, repeated.count(), location)


def column_types(df: DataFrame) -> list[tuple[str, str]]:
    return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]


def cast_columns(df: DataFrame, casts: tuple[tuple[str, str], ...]) -> DataFrame:
    if not casts:
        return df
    wanted = {name.lower(): type_ for name, type_ in casts}
    return df.select(
        *[
            sf.col(quote_name(c)).cast(wanted[c.lower()]).alias(c)
            if c.lower() in wanted
            else sf.col(quote_name(c))
            for c in df.columns
        ]
    )


_COMPARISONS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def read_delta_version(
    spark: SparkSession,
    location: str,
    version: int,
    columns: list[str] | None,
    partitions: list[tuple[str, str, Any]],
) -> DataFrame:
    """A Delta table at ``version`` (time travel), with column selection and
    ``(column, op, value)`` partition filters (ANDed) pruning the files read."""
    df = spark.read.format("delta").option("versionAsOf", version).load(location)
    for column, op, value in partitions:
        field = sf.col(column)
        if op in ("in", "not in"):
            test = field.isin(list(value))
            df = df.where(test if op == "in" else ~test)
        else:
            df = df.where(_COMPARISONS[op](field, value))
    return df.select(*columns) if columns else df
