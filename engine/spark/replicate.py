"""The Spark side of replication: full-load reads in a source snapshot, typed change
frames, the change-table append and the current-state MERGE, lake checksums."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from catalog.ddl import quote_name
from engine.connections import Connection
from engine.errors import ReplicationError
from engine.lake.merge import merge_condition
from engine.replicate.mapping import TablePlan
from engine.replicate.mysql import quote as mysql_quote
from engine.replicate.postgres import quote as pg_quote
from engine.replicate.validate import Bucketing, compared_columns, spark_row_hash
from engine.spark.lake import (
    AUTO_MERGE,
    DEFAULT_COLUMN_MAPPING,
    TXN_APP_ID,
    TXN_VERSION,
    USER_METADATA,
    _first_line,
    _session_conf,
    enable_column_mapping,
    jdbc_properties,
    needs_column_mapping,
)

OP, LSN, COMMIT_LSN, COMMIT_TS, XID, COMMIT_DATE = (
    "Op",
    "_lsn",
    "_commit_lsn",
    "_commit_timestamp",
    "_xid",
    "_commit_date",
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
    return pg_quote if dialect == "postgresql" else mysql_quote


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
        if key and partitions > 1:
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


# -- writing --------------------------------------------------------------------------------
def write_table(
    df: DataFrame,
    location: str,
    *,
    mode: str,
    replace_schema: bool,
    partition_by: tuple[str, ...] = (),
    txn: tuple[str, int] | None = None,
    user_metadata: dict[str, Any],
) -> tuple[int, int]:
    """Append or overwrite: (the new Delta version, rows written)."""
    spark = df.sparkSession
    conf = {
        USER_METADATA: json.dumps(user_metadata, sort_keys=True, default=str),
        AUTO_MERGE: "true",
    }
    if txn:
        conf[TXN_APP_ID], conf[TXN_VERSION] = txn[0], str(txn[1])
    exists = DeltaTable.isDeltaTable(spark, location)
    mapped = needs_column_mapping(df.schema)
    if mapped and (replace_schema or not exists):
        conf[DEFAULT_COLUMN_MAPPING] = "name"
    writer = df.write.format("delta").mode(mode)
    if replace_schema:
        writer = writer.option("overwriteSchema", "true")
    else:
        writer = writer.option("mergeSchema", "true")
    if partition_by and (replace_schema or not exists):
        writer = writer.partitionBy(*partition_by)
    try:
        if mapped and exists and not replace_schema:
            enable_column_mapping(spark, location)
        with _session_conf(spark, conf):
            writer.save(location)
    except (AnalysisException, PySparkException, Py4JJavaError) as exc:
        raise ReplicationError(
            f"writing the Delta table at {location} failed: {_first_line(exc)}", path=location
        ) from exc
    last = DeltaTable.forPath(spark, location).history(1).collect()[0]
    return int(last["version"]), int((last["operationMetrics"] or {}).get("numOutputRows", 0))


# -- changes ---------------------------------------------------------------------------------
def change_frame(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, CHANGE_SCHEMA, verifySchema=False)


def typed_changes(changes: DataFrame, plan: TablePlan) -> DataFrame:
    """Source columns typed from their text form (as the full load types them), plus
    ``Op``, position, commit time and transaction id."""
    columns = []
    for column in plan.source.columns:
        text = sf.col("values").getItem(column.name)
        if column.spark_type == "binary":
            value = sf.unhex(sf.substring(text, 3, 1 << 30))
        elif column.as_text or column.spark_type == "string":
            value = text
        else:
            value = text.cast(column.spark_type)
        columns.append(value.alias(column.name))
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
    )


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


def merge_current(
    typed: DataFrame,
    plan: TablePlan,
    location: str,
    *,
    txn: tuple[str, int],
    user_metadata: dict[str, Any],
) -> None:
    """Apply one batch to the current-state table in one MERGE: the last change per
    key wins; an update that moved the key deletes the old one; unchanged TOAST
    values keep the lake's; a TRUNCATE empties the table first."""
    spark = typed.sparkSession
    if not DeltaTable.isDeltaTable(spark, location):  # a cdc-only task's first batch
        empty = apply_plan(typed.where("false"), plan)
        write_table(
            empty, location, mode="append", replace_schema=False, user_metadata=user_metadata
        )
    _add_missing_columns(spark, location, plan)
    keys = plan.primary_key
    source_keys = plan.source.primary_key
    truncated_at = typed.where(sf.col(OP) == "T").agg(sf.max(LSN)).collect()[0][0]
    rows = typed.where(sf.col(OP) != "T")
    if truncated_at is not None:
        rows = rows.where(sf.col(LSN) > truncated_at)
    moved = rows.where(sf.col("old_key").isNotNull()).select(
        sf.lit("D").alias(OP),
        sf.col(LSN),
        sf.lit(0).alias("_sub"),
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
        OP, LSN, sf.lit(1).alias("_sub"), "unchanged", *[c.name for c in plan.source.columns]
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
    conf = {
        USER_METADATA: json.dumps(user_metadata, sort_keys=True, default=str),
        TXN_APP_ID: txn[0],
        TXN_VERSION: str(txn[1]),
        AUTO_MERGE: "true",
    }
    names = [c.name for c in plan.columns]
    source_of = {c.name: c.source for c in plan.columns}
    update: dict[str, str | Column] = {}
    for n in names:
        name = quote_name(n)
        update[name] = (
            f"CASE WHEN array_contains(s.unchanged, {_literal(source_of[n])}) "
            f"THEN t.{name} ELSE s.{name} END"
            if source_of[n]
            else f"s.{name}"
        )
    condition = merge_condition(keys, "spark")  # one row per key: ``latest``
    key_type = next((c.spark_type for c in plan.columns if c.name == keys[0]), "")
    prunable = key_type in ("tinyint", "smallint", "int", "bigint", "string", "date")
    if len(keys) == 1 and truncated_at is None and (prunable or key_type.startswith("decimal")):
        # The batch's key range, as a condition on the table alone, lets Delta skip
        # the files outside it (their min/max); every batch row lies inside it.
        low, high = (
            latest.agg(sf.min(quote_name(keys[0])), sf.max(quote_name(keys[0]))).first()
            or (None,) * 2
        )
        if low is not None:
            literal = _literal(low), _literal(high)
            first = quote_name(keys[0])
            condition += f" AND t.{first} >= {literal[0]} AND t.{first} <= {literal[1]}"
    try:
        with _session_conf(spark, conf):
            builder = (
                DeltaTable.forPath(spark, location)
                .alias("t")
                .merge(latest.alias("s"), condition)
                .whenMatchedDelete(condition=f"s.{OP} = 'D'")
                .whenMatchedUpdate(set=update)
                .whenNotMatchedInsert(
                    condition=f"s.{OP} <> 'D'",
                    values={quote_name(n): f"s.{quote_name(n)}" for n in names},
                )
            )
            if truncated_at is not None:
                builder = builder.whenNotMatchedBySourceDelete()
            builder.execute()
    except (AnalysisException, PySparkException, Py4JJavaError) as exc:
        raise ReplicationError(
            f"applying changes to {location} failed: {_first_line(exc)}",
            table=plan.source_name,
        ) from exc


def _literal(value: Any) -> str:
    """A Spark SQL literal of a key value (numbers, strings, dates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (bytes, bytearray)):
        return f"X'{bytes(value).hex()}'"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


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
    columns = compared_columns(plan)
    df = (
        spark.read.format("delta")
        .load(location)
        .selectExpr(f"{buckets.spark()} AS bucket", f"{spark_row_hash(columns)} AS hash")
    )
    rows = df.groupBy("bucket").agg(sf.count(sf.lit(1)).alias("n"), sf.sum("hash").alias("s"))
    return {int(r["bucket"]): (int(r["n"]), int(r["s"] or 0)) for r in rows.collect()}


def lake_keys(
    spark: SparkSession, location: str, plan: TablePlan, buckets: Bucketing, chosen: list[int]
) -> dict[str, int]:
    columns = compared_columns(plan)
    df = (
        spark.read.format("delta")
        .load(location)
        .selectExpr(
            f"{buckets.spark()} AS bucket",
            f"{buckets.spark_key()} AS key",
            f"{spark_row_hash(columns)} AS hash",
        )
    )
    rows = df.where(sf.col("bucket").isin(chosen)).select("key", "hash").collect()
    return {str(r["key"]): int(r["hash"]) for r in rows}
