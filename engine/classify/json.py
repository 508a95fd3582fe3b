"""The built-in JSON classifier: JSON Lines, arrays of objects and single documents.

Records must be JSON objects. The schema is the union of the sampled records'
fields, nested objects as ``struct<…>`` and lists as ``array<…>``, widened with the
rules of :mod:`engine.schema`. A sample cut mid-record (the file is longer than
the sample) is fine: only complete records vote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from catalog.model import Column
from engine.classify.model import Classification, Sample, no_match
from engine.schema import (
    BIGINT,
    BOOLEAN,
    DOUBLE,
    NULL,
    STRING,
    TypeNode,
    finalize_nested,
    render_type,
    widen_nodes,
)

NAME = "json"
ARRAY = "array of objects"
MAX_RECORDS = 1000
MAX_BROKEN_SHARE = 0.1  # malformed lines a JSON Lines sample may hold, per valid one
_INT64 = 2**63


def value_type(value: Any) -> TypeNode:
    """The schema node of one JSON value."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return BIGINT if -_INT64 <= value < _INT64 else DOUBLE
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        element: TypeNode = NULL
        for item in value[:100]:
            element = widen_nodes(element, value_type(item))
        return ("array", element)
    return ("struct", tuple((str(k), value_type(v)) for k, v in value.items()))


def _records(text: str, truncated: bool) -> tuple[list[dict[str, Any]], str, bool] | None:
    """Complete records of the sample, the layout name, and whether it is multi-line."""
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    decoder = json.JSONDecoder()
    if stripped[0] == "[":
        records: list[dict[str, Any]] = []
        position = 1
        while len(records) < MAX_RECORDS:
            while position < len(stripped) and stripped[position] in " \t\r\n,":
                position += 1
            if position >= len(stripped) or stripped[position] == "]":
                break
            try:
                value, position = decoder.raw_decode(stripped, position)
            except json.JSONDecodeError:
                if truncated:
                    break  # the sample ends inside a record
                return None
            if not isinstance(value, dict):
                return None
            records.append(value)
        return records, ARRAY, True
    lines = [line for line in stripped.splitlines() if line.strip()]
    if truncated and lines:
        lines = lines[:-1]  # may be cut
    records = []
    broken = 0
    for line in lines[:MAX_RECORDS]:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            # a damaged record among JSON Lines (cut short, a stray character) is
            # still a JSON Lines file: the ingest job quarantines that line
            broken += 1
            if not line.lstrip().startswith("{"):
                records = []
                break
            continue
        if not isinstance(value, dict):
            return None
        records.append(value)
    if records and broken <= len(records) * MAX_BROKEN_SHARE:
        layout = f"JSON Lines ({broken} malformed line(s) left out)" if broken else "JSON Lines"
        return records, layout, False
    try:  # one document spread over several lines
        value, end = decoder.raw_decode(stripped)
    except json.JSONDecodeError:
        return None
    if stripped[end:].strip() or not isinstance(value, dict):
        return None  # trailing text after the document: not a JSON file
    return [value], "one multi-line document", True


def json_classifier(
    name: str = NAME, array_records: bool | None = None
) -> Callable[[Sample], Classification]:
    """The built-in JSON classifier (any layout), or a custom one with a JSON path:
    ``$[*]`` (``array_records``: the objects of a top-level array) or ``$`` (each
    line or the one document is a record)."""

    def classify(sample: Sample) -> Classification:
        return _classify_json(sample, name, array_records)

    classify.__name__ = f"classify_{name}"
    return classify


def _classify_json(sample: Sample, name: str, array_records: bool | None) -> Classification:
    decoded = sample.text
    if decoded is None:
        return no_match(name, "binary data (NUL or control bytes) in the sample")
    text, encoding = decoded
    found = _records(text, sample.is_truncated)
    if found is None:
        return no_match(name, "does not start with JSON objects")
    records, layout, multiline = found
    if not records:
        return no_match(name, "no complete JSON record in the sample", near=0.9)
    if array_records is not None and (layout == ARRAY) != array_records:
        path = "$[*]" if array_records else "$"
        return no_match(
            name, f"JSON path {path} selects no records: the file is {layout}", near=0.9
        )
    schema: TypeNode = ("struct", ())
    for record in records:
        schema = widen_nodes(schema, value_type(record))
    fields = finalize_nested(schema)[1]
    columns = tuple(Column(name, render_type(type_)) for name, type_ in fields)
    record_bytes = max(1, len(text.encode("utf-8")) // len(records))
    properties = {
        "classification": "json",
        "compressionType": sample.compression,
        "typeOfData": "file",
        "averageRecordSize": str(record_bytes),
    }
    options = {"multiLine": str(multiline).lower(), "encoding": encoding}
    reason = f"{len(records)} JSON object(s) as {layout}; {len(columns)} top-level fields"
    return Classification(name, "json", 1.0, reason, columns, properties, options)


classify_json = json_classifier()
