"""CSV column typing: decimals, non-ISO dates and timestamps, trimming, restrictions."""

from __future__ import annotations

from engine.classify.csvtypes import exact_decimal, restrict, temporal_layout, type_columns
from engine.classify.registry import classify, make_sample


def test_non_iso_dates_and_timestamps_get_one_format_per_table() -> None:
    assert temporal_layout(["2026/01/31", "2026/2/1"]).pattern == "yyyy/M/d"  # type: ignore[union-attr]
    assert temporal_layout(["01/31/2026", "02/01/2026"]).pattern == "M/d/yyyy"  # type: ignore[union-attr]
    assert temporal_layout(["31/01/2026", "01/02/2026"]).pattern == "d/M/yyyy"  # type: ignore[union-attr]
    assert temporal_layout(["31.01.2026 10:11:12"]).pattern == "d.M.yyyy H:mm:ss"  # type: ignore[union-attr]
    assert temporal_layout(["13/13/2026"]) is None
    assert temporal_layout(["2026/01/31", "soon"]) is None

    typed = type_columns(["a", "b"], [["2026/01/31 10:00", "31.01.2026"], ["", "1.2.2026"]])
    assert typed.types == ("timestamp", "date")
    assert typed.options == {"timestampFormat": "yyyy/M/d H:mm", "dateFormat": "d.M.yyyy"}
    # an ISO date column beside a dotted one: Spark reads one date layout per table
    clash = type_columns(["iso", "dotted"], [["2026-01-31", "31.01.2026"]])
    assert clash.types == ("date", "string") and clash.options == {}


def test_decimals_only_where_a_double_would_lose_digits() -> None:
    assert exact_decimal(["1.5", "2.25"]) is None
    assert exact_decimal(["12345678901234567.25", "-1.5"]) == "decimal(19,2)"
    assert exact_decimal(["123456789012345678901234"]) == "decimal(24,0)"
    assert exact_decimal(["1e30"]) is None
    typed = type_columns(["id", "x"], [["98765432109876543210", "0.1"], ["1", "0.2"]])
    assert typed.types == ("decimal(20,0)", "double")


def test_padded_typed_values_make_spark_trim_and_untrimmed_mode_keeps_text() -> None:
    data = b"id,name\n 1, a\n 2,b \n"
    verdict = classify(make_sample("p.csv", len(data), data))
    assert [(c.name, c.type) for c in verdict.columns] == [("id", "bigint"), ("name", "string")]
    assert verdict.options["ignoreLeadingWhiteSpace"] == "true"
    assert type_columns(["id"], [[" 1"], ["2"]], trim=False).types == ("string",)
    clean = b"id,name\n1,a\n2,b\n"
    assert "ignoreLeadingWhiteSpace" not in classify(make_sample("c.csv", 9, clean)).options


def test_restricted_types_fall_back_to_the_narrowest_allowed() -> None:
    allowed = frozenset({"double", "timestamp"})
    assert restrict("bigint", allowed) == "double"
    assert restrict("date", allowed) == "timestamp"
    assert restrict("boolean", allowed) == "string"
    assert restrict("bigint", frozenset({"decimal"})) == "decimal(19,0)"
    assert restrict("bigint", frozenset()) == "bigint"


def test_zstd_content_is_classified_even_when_the_sample_cuts_the_stream() -> None:
    import pyarrow as pa

    from engine.classify.registry import decompress_head

    rows = (b"%d,name%d,%d\n" % (i, i * 7919 % 10007, i * 31 % 977) for i in range(200_000))
    text = b"id,name,score\n" + b"".join(rows)
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(text)
    packed = sink.getvalue().to_pybytes()
    cut = packed[: 256 * 1024]  # what the crawler reads raw; zstd decodes whole blocks
    assert len(cut) < len(packed)
    head = decompress_head(cut, "zstd", 4096)
    assert len(head) == 4096 and text.startswith(head)
    verdict = classify(make_sample("big.csv.zst", len(packed), cut))
    assert (verdict.classification, verdict.properties["compressionType"]) == ("csv", "zstd")
    assert [(c.name, c.type) for c in verdict.columns] == [
        ("id", "bigint"),
        ("name", "string"),
        ("score", "bigint"),
    ]


def test_messy_csv_shapes_from_the_duckdb_corpus() -> None:
    # a trailing delimiter on the header only
    v = classify(make_sample("t.csv", 40, b"id,name,lat,lon,\n1,a,0,0\n2,b,1,1\n3,c,2,2\n"))
    assert [c.name for c in v.columns] == ["id", "name", "lat", "lon"]
    # classic Mac line ends
    mac = b"a|b|c\r1|2|x\r3|4|y\r"
    assert [c.type for c in classify(make_sample("m.csv", len(mac), mac)).columns] == [
        "bigint",
        "bigint",
        "string",
    ]
    # a stray NUL inside text is text; binary is not
    stray = b"id,note\n" + b"1,ok\n" * 50 + b"2,bad\x00value\n3,fine\n"
    assert classify(make_sample("n.csv", len(stray), stray)).classification == "csv"
    noise = bytes(range(256)) * 8
    assert classify(make_sample("x.csv", len(noise), noise)).classification == "UNKNOWN"
