"""Glue's transforms on Spark DataFrames: ApplyMapping, ResolveChoice, lineage."""

from __future__ import annotations

from datetime import datetime

from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from catalog.ddl import quote_name
from engine.errors import JobError
from engine.ingest.spec import ChoiceSpec, ColumnMapping
from engine.spark.lake import LINE_FILE

INGESTED_AT, RUN_ID, SOURCE_FILE = "_ingested_at", "_run_id", "_source_file"
LINEAGE = (INGESTED_AT, RUN_ID, SOURCE_FILE)


def _field(path: str) -> Column:
    """``a.b.c`` selects a nested field; backticks quote names that hold dots."""
    if "`" in path:
        return sf.col(path)
    return sf.col(".".join(quote_name(part) for part in path.split(".")))


def apply_mapping(df: DataFrame, mappings: tuple[ColumnMapping, ...], source: str) -> DataFrame:
    """Keep, rename and cast the mapped fields (unmapped ones are dropped, as in
    Glue); lineage columns already present pass through."""
    if not mappings:
        return df
    columns = []
    for index, mapping in enumerate(mappings):
        column = _field(mapping.source)
        if mapping.target_type and mapping.target_type != mapping.source_type:
            # as Glue's ApplyMapping: a value that does not convert becomes null
            column = column.try_cast(mapping.target_type)
        columns.append(column.alias(mapping.target))
        try:
            df.select(columns[-1]).schema  # noqa: B018 - resolve now to name the entry
        except (AnalysisException, PySparkException) as exc:
            raise JobError(
                f"--mapping[{index}]: {mapping.source!r} is not a field of {source} "
                f"(its columns: {', '.join(df.columns)})",
                key="mapping",
            ) from exc
    kept = [sf.col(quote_name(c)) for c in df.columns if c in LINEAGE]
    return df.select(*columns, *kept)


def resolve_choice(df: DataFrame, specs: tuple[ChoiceSpec, ...], source: str) -> DataFrame:
    """Settle columns whose values have more than one type (see ChoiceSpec)."""
    for spec in specs:
        if spec.column not in df.columns:
            raise JobError(
                f"--resolve_choice: {spec.column!r} is not a column of {source}",
                key="resolve_choice",
            )
        value = sf.col(quote_name(spec.column))
        if spec.action in ("cast", "project"):
            df = df.withColumn(spec.column, value.try_cast(spec.types[0]))
            continue
        parts = {}
        remaining = sf.lit(True)
        for type_ in spec.types:
            converted = value.try_cast(type_)
            # each value goes to the first type it converts to
            parts[type_] = sf.when(remaining & converted.isNotNull(), converted)
            remaining = remaining & converted.isNull()
        if spec.action == "make_cols":
            for type_, column in parts.items():
                df = df.withColumn(f"{spec.column}_{_suffix(type_)}", column)
            df = df.drop(spec.column)
        else:  # make_struct
            df = df.withColumn(
                spec.column, sf.struct(*[c.alias(_suffix(t)) for t, c in parts.items()])
            )
    return df


def _suffix(type_: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in type_).strip("_")


def with_source_file(df: DataFrame) -> DataFrame:
    """``_source_file``: taken right after a file read, while the reader's hidden
    ``_metadata`` column is still reachable (or from a line read's own column);
    mappings pass it through."""
    if LINE_FILE in df.columns:
        return df.withColumnRenamed(LINE_FILE, SOURCE_FILE)
    return df.withColumn(SOURCE_FILE, sf.col("_metadata.file_path"))


def add_lineage(df: DataFrame, run_id: str, started_at: datetime) -> DataFrame:
    """``_ingested_at`` (the run's start, one value per run) and ``_run_id``."""
    return df.withColumn(INGESTED_AT, sf.lit(started_at).cast("timestamp")).withColumn(
        RUN_ID, sf.lit(run_id)
    )
