"""The built-in JSON classifier: JSON Lines, arrays of objects and single documents.

Records must be JSON objects. The schema is the union of the sampled records'
fields, nested objects as ``struct<…>`` and lists as ``array<…>``, widened with the
rules of :mod:`engine.schema`. A sample cut mid-record (the file is longer than
the sample) is fine: only complete records vote.
"""

from __future__ import annotations

import json
from typing import Any

from catalog.model import Column
from engine.classify.csv import decode
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
MAX_RECORDS = 1000
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
        return records, "array of objects", True
    lines = [line for line in stripped.splitlines() if line.strip()]
    if truncated and lines:
        lines = lines[:-1]  # may be cut
    records = []
    try:
        for line in lines[:MAX_RECORDS]:
            value = json.loads(line)
            if not isinstance(value, dict):
                return None
            records.append(value)
        if records:
            return records, "JSON Lines", False
    except json.JSONDecodeError:
        pass
    try:  # one document spread over several lines
        value, end = decoder.raw_decode(stripped)
    except json.JSONDecodeError:
        return None
    if stripped[end:].strip() or not isinstance(value, dict):
        return None  # trailing text after the document: not a JSON file
    return [value], "one multi-line document", True


def classify_json(sample: Sample) -> Classification:
    decoded = decode(sample.head)
    if decoded is None:
        return no_match(NAME, "binary data (NUL bytes) in the sample")
    text, encoding = decoded
    found = _records(text, sample.is_truncated)
    if found is None:
        return no_match(NAME, "does not start with JSON objects")
    records, layout, multiline = found
    if not records:
        return no_match(NAME, "no complete JSON record in the sample")
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
    return Classification(NAME, "json", 1.0, reason, columns, properties, options)
