"""The Spark side of replication: full-load reads in a source snapshot, typed change
frames, the change-table append and the current-state MERGE, lake checksums."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from catalog.ddl import quote_name
from engine.connections import Connection
from engine.errors import ReplicationError
from engine.lake.sink import Write
from engine.replicate.current import (
    DELETE,
    OLD_KEY_SUB,
    ROW_SUB,
    TRUNCATE,
    merge_statement,
    prunable,
)
from engine.replicate.jdbc import quote as jdbc_quote
from engine.replicate.mapping import TablePlan
from engine.replicate.mysql import quote as mysql_quote
from engine.replicate.pgoutput import Change
from engine.replicate.postgres import quote as pg_quote
from engine.replicate.validate import Bucketing, compared_columns, spark_row_hash
from engine.spark.lake import (
    SparkWriter,
    _first_line,
    _session_conf,
    commit_conf,
    jdbc_properties,
)

OP, LSN, COMMIT_LSN, COMMIT_TS, XID, COMMIT_DATE, BAD = (
    "Op",
    "_lsn",
    "_commit_lsn",
    "_commit_timestamp",
    "_xid",
    "_commit_date",
    "_bad",
)
CHANGE_SCHEMA = st.StructType(
    [
        st.StructField("op", st.StringType(), False),
        st.StructField("lsn", st.LongType(), False),
        st.StructField("commit_lsn", st.LongType(), False),
        st.StructField("commit_micros", st.LongType(), False),
        st.StructField("xid", st.LongType(), False),
        st.StructField("values", st.MapType(st.StringType(), st.StringType(), True), False),
        st.StructField("unchanged", st.ArrayType(st.StringType()), False),
        st.StructField("old_key", st.MapType(st.StringType(), st.StringType(), True), True),
    ]
)


# -- full load ----------------------------------------------------------------------------
def _quote(dialect: str) -> Callable[[str], str]:
    if dialect == "postgresql":
        return pg_quote
    return mysql_quote if dialect == "mysql" else jdbc_quote


def source_select(plan: TablePlan, dialect: str) -> str:
    """The source query: the mapped source columns (text-landed types as text) under
    the selection filters."""
    quote = _quote(dialect)
    as_text = "{0}::text AS {0}" if dialect == "postgresql" else "CAST({0} AS CHAR) AS {0}"
    columns = ", ".join(
        as_text.format(quote(c.name)) if c.as_text else quote(c.name) for c in plan.source.columns
    )
    sql = f"SELECT {columns} FROM {quote(plan.source.schema)}.{quote(plan.source.name)}"
    where = plan.filter_sql(quote)
    return f"{sql} WHERE {where}" if where else sql


def read_full_load(
    spark: SparkSession,
    connection: Connection,
    plan: TablePlan,
    *,
    snapshot: str | None,
    dialect: str,
    partitions: int,
    bounds: tuple[int, int] | None,
) -> DataFrame:
    """The table read in parallel: DMS ``ranges`` segments when the mapping has them,
    else ranges of a single integer key between ``bounds``, else hash buckets of the
    key; every session imports ``snapshot`` (the slot's exported one) when given."""
    options = {**jdbc_properties(connection), "fetchsize": "10000"}
    if snapshot:
        options["sessionInitStatement"] = (
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; "
            f"SET TRANSACTION SNAPSHOT '{snapshot}'"
        )
    relation = f"({source_select(plan, dialect)}) AS headwater_source"
    quote = _quote(dialect)
    key = plan.source.primary_key
    types = {c.name: c.spark_type for c in plan.source.columns}
    try:
        reader = spark.read.format("jdbc").options(**options)
        if plan.ranges:
            return _with_predicates(spark, options, relation, list(plan.segments(quote)))
        if len(key) == 1 and types[key[0]] in ("smallint", "int", "bigint") and bounds:
            if partitions > 1 and bounds[1] > bounds[0]:
                reader = (
                    reader.option("partitionColumn", key[0])
                    .option("lowerBound", str(bounds[0]))
                    .option("upperBound", str(bounds[1] + 1))
                    .option("numPartitions", str(partitions))
                )
            return reader.option("dbtable", relation).load()
        if key and partitions > 1 and dialect in ("postgresql", "mysql"):
            if dialect == "postgresql":
                text = " || '|' || ".join(f"coalesce({quote(k)}::text, '')" for k in key)
                bucket = f"abs(hashtext({text}) % {partitions})"
            else:
                bucket = f"CRC32(CONCAT_WS('|', {', '.join(quote(k) for k in key)})) % {partitions}"
            predicates = [f"{bucket} = {i}" for i in range(partitions)]
            return _with_predicates(spark, options, relation, predicates)
        return reader.option("dbtable", relation).load()
    except (AnalysisException, PySparkException, Py4JJavaError) as exc:
        raise ReplicationError(
            f"connection {connection.name}: cannot read {plan.source_name}: {_first_line(exc)}",
            table=plan.source_name,
        ) from exc


def _with_predicates(
    spark: SparkSession, options: dict[str, str], relation: str, predicates: list[str]
) -> DataFrame:
    properties = {k: v for k, v in options.items() if k != "url"}
    return spark.read.jdbc(options["url"], relation, predicates=predicates, properties=properties)


def apply_plan(df: DataFrame, plan: TablePlan, keep: tuple[str, ...] = ()) -> DataFrame:
    """Source-named columns → the mapping's target columns (renamed, retyped, added
    from expressions, removed); ``keep`` columns pass through first."""
    out = [sf.col(quote_name(k)) for k in keep]
    for column in plan.columns:
        if column.source is None:
            try:
                value = sf.expr(column.expression or "NULL")
            except (AnalysisException, PySparkException) as exc:
                raise ReplicationError(
                    f"rule {column.rule_id}: expression: {_first_line(exc)}",
                    rule_id=column.rule_id,
                    field="expression",
                ) from exc
            out.append(value.cast(column.spark_type).alias(column.name))
        elif column.source in df.columns:
            value = sf.col(quote_name(column.source))
            if column.cast:
                value = sf.expr(f"try_cast({quote_name(column.source)} AS {column.spark_type})")
            out.append(value.cast(column.spark_type).alias(column.name))
        else:  # dropped on the source since: kept in the lake, null from now on
            out.append(sf.lit(None).cast(column.spark_type).alias(column.name))
    return df.select(*out)


# -- changes ---------------------------------------------------------------------------------
def change_frame(spark: SparkSession, changes: Sequence[Change]) -> DataFrame:
    """The batch's changes of one table as rows of ``CHANGE_SCHEMA``."""
    rows = [
        (
            c.op,
            c.lsn,
            c.commit_lsn,
            c.commit_micros,
            c.xid,
            c.values,
            list(c.unchanged),
            c.old_key,
        )
        for c in changes
    ]
    return spark.createDataFrame(rows, CHANGE_SCHEMA, verifySchema=False)


def spilled_changes(spark: SparkSession, uri: str) -> DataFrame:
    """A batch's changes of one table from the Parquet files it was spilled to
    (engine.replicate.spill): rows of ``CHANGE_SCHEMA``."""
    return spark.read.schema(CHANGE_SCHEMA).parquet(uri)


def typed_changes(changes: DataFrame, plan: TablePlan) -> DataFrame:
    """Source columns typed from their text form (as the full load types them), plus
    ``Op``, position, commit time, transaction id and ``_bad``: the source columns
    whose value the type cannot hold (PostgreSQL's ``infinity`` timestamps, ``NaN``
    numerics…), comma-separated, empty for a sound change (:func:`data_errors`)."""
    columns, checks = [], []
    for column in plan.source.columns:
        text = sf.col("values").getItem(column.name)
        if column.spark_type == "binary":
            value = sf.unhex(sf.substring(text, 3, 1 << 30))
        elif column.as_text or column.spark_type == "string":
            value = text
        else:
            value = text.try_cast(column.spark_type)
        if value is not text:
            checks.append(sf.when(text.isNotNull() & value.isNull(), sf.lit(column.name)))
        columns.append(value.alias(column.name))
    bad = sf.concat_ws(",", *checks) if checks else sf.lit("")
    where = plan.filter_sql(quote_name)
    if where:  # the selection filters hold for changes too; a delete carries only the key
        changes = changes.select("*", *columns).where(f"op IN ('D', 'T') OR ({where})")
        columns = [sf.col(quote_name(c.name)) for c in plan.source.columns]
    return changes.select(
        sf.col("op").alias(OP),
        sf.col("lsn").alias(LSN),
        sf.col("commit_lsn").alias(COMMIT_LSN),
        sf.timestamp_micros("commit_micros").alias(COMMIT_TS),
        sf.col("xid").alias(XID),
        sf.to_date(sf.timestamp_micros("commit_micros")).alias(COMMIT_DATE),
        sf.col("unchanged"),
        sf.col("old_key"),
        *columns,
        bad.alias(BAD),
    )


def data_errors(typed: DataFrame, first: int = 5) -> tuple[int, list[tuple[int, str]]]:
    """Changes with a value their column's type cannot hold: how many, and the first
    ``first`` as (position, column names) — never the values."""
    found = typed.where(sf.col(BAD) != "")
    rows = found.orderBy(LSN).select(LSN, BAD).limit(first).collect()
    if not rows:
        return 0, []
    return found.count(), [(int(r[LSN]), str(r[BAD])) for r in rows]


def sound_changes(typed: DataFrame) -> DataFrame:
    """The changes without data errors (data_error_policy skip-record)."""
    return typed.where(sf.col(BAD) == "")


CHANGE_COLUMNS = (OP, LSN, COMMIT_LSN, COMMIT_TS, XID, COMMIT_DATE)


def change_rows(typed: DataFrame, plan: TablePlan) -> DataFrame:
    """The change table's rows: Op, position, commit time, transaction, then the
    mapped columns; partitioned by commit date."""
    return apply_plan(typed.where(sf.col(OP) != "T"), plan, keep=CHANGE_COLUMNS)


def row_images(typed: DataFrame, plan: TablePlan) -> DataFrame:
    """The new row of each insert and update (mapped columns), as quality rules check
    it. Updates that left a TOASTed value unchanged carry no value for it and are left
    out, so a rule never sees a null the source does not have."""
    new = (sf.col(OP) == "I") | ((sf.col(OP) == "U") & (sf.size("unchanged") == 0))
    return apply_plan(typed.where(new), plan)


def merge_current(typed: DataFrame, plan: TablePlan, request: Write) -> None:
    """Apply one batch to the current-state table at ``request.location`` in one
    MERGE, as :mod:`engine.replicate.current` decides: the last change per key wins,
    an update that moved the key deletes the old one, unchanged TOAST values keep
    the table's, a TRUNCATE empties the table first."""
    spark, location = typed.sparkSession, request.location
    if not DeltaTable.isDeltaTable(spark, location):  # a cdc-only task's first batch
        SparkWriter().write(apply_plan(typed.where("false"), plan), replace(request, txn=None))
    _add_missing_columns(spark, location, plan)
    keys = plan.primary_key
    source_keys = plan.source.primary_key
    truncated = typed.where(sf.col(OP) == TRUNCATE).agg(sf.max(LSN)).collect()[0][0]
    rows = typed.where(sf.col(OP) != TRUNCATE)
    if truncated is not None:
        rows = rows.where(sf.col(LSN) > truncated)
    moved = rows.where(sf.col("old_key").isNotNull()).select(
        sf.lit(DELETE).alias(OP),
        sf.col(LSN),
        sf.lit(OLD_KEY_SUB).alias("_sub"),
        sf.array().cast("array<string>").alias("unchanged"),
        *[
            sf.col("old_key").getItem(c.name).cast(c.spark_type).alias(c.name)
            if c.name in source_keys
            else sf.lit(None).cast(c.spark_type).alias(c.name)
            for c in plan.source.columns
            if c.spark_type != "binary"
        ],
    )
    current = rows.select(
        OP, LSN, sf.lit(ROW_SUB).alias("_sub"), "unchanged", *[c.name for c in plan.source.columns]
    )
    if source_keys and all(
        c.spark_type != "binary" for c in plan.source.columns if c.name in source_keys
    ):
        current = current.unionByName(moved, allowMissingColumns=True)
    mapped = apply_plan(current, plan, keep=(OP, LSN, "_sub", "unchanged"))
    order = Window.partitionBy(*[sf.col(quote_name(k)) for k in keys]).orderBy(
        sf.col(LSN).desc(), sf.col("_sub").desc()
    )
    latest = mapped.withColumn("_rank", sf.row_number().over(order)).where("_rank = 1")
    key_range = None
    key_type = next((c.spark_type for c in plan.columns if c.name == keys[0]), "")
    if len(keys) == 1 and truncated is None and prunable(key_type):
        low, high = (
            latest.agg(sf.min(quote_name(keys[0])), sf.max(quote_name(keys[0]))).first()
            or (None,) * 2
        )
        key_range = None if low is None else (low, high)
    statement = merge_statement(
        [(c.name, c.source) for c in plan.columns],
        keys,
        op=OP,
        unchanged="unchanged",
        truncated=truncated is not None,
        key_range=key_range,
    )
    conf = commit_conf(request)
    try:
        with _session_conf(spark, conf):
            builder = (
                DeltaTable.forPath(spark, location)
                .alias("t")
                .merge(latest.alias("s"), statement.condition)
                .whenMatchedDelete(condition=statement.delete_when)
                .whenMatchedUpdate(set=dict(statement.update_set))
                .whenNotMatchedInsert(
                    condition=statement.insert_when, values=dict(statement.insert_values)
                )
            )
            if statement.delete_unmatched:
                builder = builder.whenNotMatchedBySourceDelete()
            builder.execute()
    except (AnalysisException, PySparkException, Py4JJavaError) as exc:
        raise request.error(
            f"applying changes to {location} failed: {_first_line(exc)}",
            table=plan.source_name,
        ) from exc


def _add_missing_columns(spark: SparkSession, location: str, plan: TablePlan) -> None:
    """Columns the source gained (DDL) are added to the table before the MERGE that
    fills them (a MERGE's explicit SET cannot create columns)."""
    existing = {c.lower() for c in spark.read.format("delta").load(location).columns}
    missing = [c for c in plan.columns if c.name.lower() not in existing]
    if missing:
        columns = ", ".join(f"{quote_name(c.name)} {c.spark_type}" for c in missing)
        spark.sql(f"ALTER TABLE delta.{quote_name(location)} ADD COLUMNS ({columns})")


def delta_columns(spark: SparkSession, location: str) -> list[str] | None:
    if not DeltaTable.isDeltaTable(spark, location):
        return None
    return list(spark.read.format("delta").load(location).columns)


# -- validation ------------------------------------------------------------------------------
def lake_buckets(
    spark: SparkSession, location: str, plan: TablePlan, buckets: Bucketing
) -> dict[int, tuple[int, int]]:
    return frame_buckets(spark.read.format("delta").load(location), plan, buckets)


def frame_buckets(df: DataFrame, plan: TablePlan, buckets: Bucketing) -> dict[int, tuple[int, int]]:
    """Per bucket: rows and the sum of their hashes, over target-named columns."""
    columns = compared_columns(plan)
    hashed = df.selectExpr(f"{buckets.spark()} AS bucket", f"{spark_row_hash(columns)} AS hash")
    rows = hashed.groupBy("bucket").agg(sf.count(sf.lit(1)).alias("n"), sf.sum("hash").alias("s"))
    return {int(r["bucket"]): (int(r["n"]), int(r["s"] or 0)) for r in rows.collect()}


def lake_keys(
    spark: SparkSession, location: str, plan: TablePlan, buckets: Bucketing, chosen: list[int]
) -> dict[str, int]:
    return frame_keys(spark.read.format("delta").load(location), plan, buckets, chosen)


def frame_keys(
    df: DataFrame, plan: TablePlan, buckets: Bucketing, chosen: list[int]
) -> dict[str, int]:
    columns = compared_columns(plan)
    df = df.selectExpr(
        f"{buckets.spark()} AS bucket",
        f"{buckets.spark_key()} AS key",
        f"{spark_row_hash(columns)} AS hash",
    )
    rows = df.where(sf.col("bucket").isin(chosen)).select("key", "hash").collect()
    return {str(r["key"]): int(r["hash"]) for r in rows}
