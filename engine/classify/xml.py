"""The XML classifier: rows are the repeating elements under the root.

Built in, the row tag is the most frequent child element of the document's root
(``<orders><order>…</order><order>…</order></orders>`` -> ``order``); a custom
classifier names it (Glue's ``RowTag``) and may then find it at any depth. The
schema follows Spark's XML reader, which reads the table: attributes become
``_name`` fields, child elements become fields (nested ones ``struct<…>``,
repeated ones ``array<…>``), and the text of an element that also has attributes
or children becomes ``_VALUE``. Text is typed like CSV values. Namespaced names
lose their prefix (the table then reads with ``ignoreNamespace``).

A sample cut inside the document is fine: only rows that closed before the cut
vote. Entities are never fetched (expat does not resolve external ones).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import cast
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from catalog.model import Column
from engine.classify.model import Classification, Sample, no_match
from engine.schema import (
    NULL,
    STRING,
    TypeNode,
    finalize_nested,
    infer_value_type,
    render_type,
    widen_nodes,
)

NAME = "xml"
MAX_ROWS = 500
ATTRIBUTE_PREFIX = "_"
VALUE_TAG = "_VALUE"


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1] if name.startswith("{") else name


def _text_type(text: str | None) -> TypeNode:
    return infer_value_type(text or "")


def merge(left: TypeNode, right: TypeNode) -> TypeNode:
    """Spark-XML widening: one-or-many is an array, text-or-element a ``_VALUE`` struct."""
    if left == NULL:
        return right
    if right == NULL:
        return left
    left_array = isinstance(left, tuple) and left[0] == "array"
    right_array = isinstance(right, tuple) and right[0] == "array"
    if left_array or right_array:
        return (
            "array",
            merge(left[1] if left_array else left, right[1] if right_array else right),
        )
    left_struct = isinstance(left, tuple) and left[0] == "struct"
    right_struct = isinstance(right, tuple) and right[0] == "struct"
    if left_struct or right_struct:
        left = left if left_struct else ("struct", ((VALUE_TAG, left),))
        right = right if right_struct else ("struct", ((VALUE_TAG, right),))
        fields = dict(left[1])
        for name, node in right[1]:
            fields[name] = merge(fields.get(name, NULL), node)
        return ("struct", tuple(fields.items()))
    return widen_nodes(left, right)


def element_type(element: Element) -> TypeNode:
    """The schema node of one element, Spark-XML style."""
    fields: dict[str, TypeNode] = {}
    for name, value in element.attrib.items():
        fields[ATTRIBUTE_PREFIX + _local(name)] = _text_type(value)
    counts = Counter(_local(child.tag) for child in element)
    for child in element:
        name = _local(child.tag)
        node = element_type(child)
        if counts[name] > 1:
            fields[name] = merge(fields.get(name, ("array", NULL)), ("array", node))
        else:
            fields[name] = node
    text = (element.text or "").strip()
    if not fields:
        return _text_type(text)
    if text:
        fields[VALUE_TAG] = _text_type(text)
    return ("struct", tuple(fields.items()))


def _rows(text: str, row_tag: str | None, truncated: bool) -> tuple[list[Element], str, bool] | str:
    """Complete row elements, the row tag, namespaced?; or why the text is not XML."""
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    try:
        parser.feed(text)
        if not truncated:
            parser.close()
    except ParseError as exc:
        if not truncated:
            return f"not well-formed XML ({exc})"
    depth, namespaced = 0, False
    tags: Counter[str] = Counter()
    closed: list[Element] = []  # row candidates that ended before the sample did
    document: Element | None = None
    for pair in parser.read_events():
        event, element = cast(tuple[str, Element], pair)  # start/end events carry elements
        if event == "start":
            depth += 1
            namespaced = namespaced or element.tag.startswith("{")
            if depth == 2:
                tags[_local(element.tag)] += 1
            continue
        depth -= 1
        if (row_tag is not None and _local(element.tag) == row_tag) or (
            row_tag is None and depth == 1
        ):
            closed.append(element)
        elif depth == 0:
            document = element
    if row_tag is None and tags:
        row_tag = tags.most_common(1)[0][0]
    elif row_tag is None and document is not None:
        row_tag, closed = _local(document.tag), [document]  # one record
    rows = [r for r in closed if _local(r.tag) == row_tag][:MAX_ROWS]
    if not rows or row_tag is None:
        wanted = f"<{row_tag}> element" if row_tag else "XML element"
        return f"no complete {wanted} in the sample"
    return rows, row_tag, namespaced


def xml_classifier(
    name: str = NAME, row_tag: str | None = None
) -> Callable[[Sample], Classification]:
    """The built-in XML classifier, or a custom one with a fixed row tag."""

    def classify(sample: Sample) -> Classification:
        decoded = sample.text
        if decoded is None:
            return no_match(name, "binary data (NUL or control bytes) in the sample")
        text, encoding = decoded
        if not text.lstrip().startswith("<"):
            return no_match(name, "does not start with '<'")
        found = _rows(text, row_tag, sample.is_truncated)
        if isinstance(found, str):
            return no_match(name, found, near=0.9)
        rows, tag, namespaced = found
        schema: TypeNode = ("struct", ())
        for row in rows:
            node = element_type(row)
            if not isinstance(node, tuple) or node[0] != "struct":
                node = ("struct", ((VALUE_TAG, node),))
            schema = merge(schema, node)
        fields = finalize_nested(schema)[1]
        columns = tuple(Column(field, render_type(type_)) for field, type_ in fields)
        if not columns:
            columns = (Column(VALUE_TAG, STRING),)
        record_bytes = max(1, len(text.encode("utf-8")) // len(rows))
        properties = {
            "classification": "xml",
            "rowTag": tag,
            "compressionType": sample.compression,
            "typeOfData": "file",
            "averageRecordSize": str(record_bytes),
        }
        options = {"rowTag": tag, "encoding": encoding}
        if namespaced:
            options["ignoreNamespace"] = "true"
        how = "named by the classifier" if row_tag else "the repeating element under the root"
        if len(rows) == 1 and rows[0].tag == tag and not row_tag:
            how = "one record"
        reason = f"{len(rows)} <{tag}> row(s), {how}; {len(columns)} fields"
        return Classification(name, "xml", 1.0, reason, columns, properties, options)

    classify.__name__ = f"classify_{name}"
    return classify


classify_xml = xml_classifier()
