"""Issue 3's first acceptance: one crawl of a mixed landing area gives exactly the
tables an engineer expects — Hive partitions, unnamed partitions, a folder of
incompatible files, gzip'd web logs — and ``--plan`` predicts it. Both profiles."""

from __future__ import annotations

import gzip
import json

from engine import storage
from tests.contract.conftest import settings_for
from tests.helpers import run_cli, run_cli_json

ACCESS = (
    '10.0.0.{n} - - [10/Oct/2026:13:55:{s:02d} +0000] "GET /p/{n} HTTP/1.1" 200 {b} '
    '"https://example.com/" "curl/8.{n}"\n'
)

FILES: dict[str, bytes] = {
    "area/sales/dt=2026-01-01/part-0.csv": b"id,amount\n1,2.5\n2,3.0\n",
    "area/sales/dt=2026-01-02/part-0.csv": b"id,amount\n3,4.5\n",
    "area/events/2026/01/e.json": (
        b'{"id": 1, "user": {"name": "a"}}\n{"id": 2, "user": {"name": "b"}}\n'
    ),
    "area/events/2026/02/e.json": b'{"id": 3, "user": {"name": "c", "age": 30}, "tags": ["x"]}\n',
    "area/misc/notes.csv": b"note,author\nhello,ann\nbye,bob\n",
    "area/misc/config.json": b'{"retries": 3, "verbose": true}\n',
    "area/logs/web-1/access.log.gz": gzip.compress(
        "".join(ACCESS.format(n=n, s=n, b=100 + n) for n in range(1, 4)).encode()
    ),
    "area/logs/web-2/access.log.gz": gzip.compress(
        "".join(ACCESS.format(n=n, s=n, b=200 + n) for n in range(4, 6)).encode()
    ),
    "area/logs/web-2/_SUCCESS": b"",
}

EXPECTED = {
    # table: (format, partition keys, row count)
    "sales": ("csv", "dt", 3),
    "events": ("json", "partition_0,partition_1", 3),
    "misc_notes_csv": ("csv", "", 2),
    "misc_config_json": ("json", "", 1),
    "logs": ("regex", "partition_0", 5),
}


def test_one_crawl_gives_the_tables_an_engineer_expects(profile_env: dict[str, str]) -> None:
    settings = settings_for(profile_env)
    storage.ensure_buckets(settings, ["landing"])
    store = storage.open_store(settings, "landing")
    for key, data in FILES.items():
        store.put(key, data)
    crawl = ["crawl", "s3://landing/area/", "--database", "area"]

    planned = {row["table"]: row for row in run_cli_json([*crawl, "--plan"], profile_env)}
    crawled = {row["table"]: row for row in run_cli_json(crawl, profile_env)}
    expected_names = {f"area.{name}" for name in EXPECTED}
    assert set(planned) == set(crawled) == expected_names
    for name, (fmt, keys, _) in EXPECTED.items():
        row = crawled[f"area.{name}"]
        assert (row["action"], row["format"], row["partition keys"]) == ("create", fmt, keys), name
        assert planned[f"area.{name}"]["format"] == fmt

    tables = {
        r["table"]: r for r in run_cli_json(["catalog", "tables", "area", "--counts"], profile_env)
    }
    assert {name: tables[name]["rows"] for name in EXPECTED} == {
        name: rows for name, (_, _, rows) in EXPECTED.items()
    }

    events = run_cli_json(["catalog", "describe", "area.events"], profile_env)[0]
    types = {c["column"]: c["type"] for c in events["columns"]}
    assert types["user"] == "struct<name:string,age:bigint>"
    assert types["tags"] == "array<string>"

    logs = run_cli_json(["catalog", "preview", "area.logs", "--limit", "10"], profile_env)
    assert sorted(r["bytes"] for r in logs) == [101, 102, 103, 204, 205]
    assert {r["partition_0"] for r in logs} == {"web-1", "web-2"}
    assert all(r["verb"] == "GET" and r["response"] == 200 for r in logs)

    # a second crawl after adding a partition and a column: only those change
    store.put("area/sales/dt=2026-01-03/part-0.csv", b"id,amount\n9,1.0\n")
    store.put("area/events/2026/03/e.json", b'{"id": 4, "user": {"name": "d"}, "country": "FR"}\n')
    again = {row["table"]: row for row in run_cli_json(crawl, profile_env)}
    assert again["area.sales"]["new partitions"] == 1
    assert again["area.events"]["action"] == "update"
    unchanged = {t for t, row in again.items() if row["action"] == "unchanged"}
    assert unchanged == {f"area.{n}" for n in EXPECTED if n != "events"}, json.dumps(again)
    result = run_cli(["catalog", "preview", "area.sales", "--limit", "10"], profile_env)
    assert result.returncode == 0 and "9" in result.stdout

    # the schema history keeps both versions, and says what changed
    versions = run_cli_json(["catalog", "versions", "area.events"], profile_env)
    assert [v["version"] for v in versions] == [1, 2]
    diff = run_cli(["catalog", "diff", "area.events", "1", "2"], profile_env)
    assert diff.returncode == 0, diff.stderr
    assert "+ column country string" in diff.stdout
    runs = run_cli_json(["runs", "--crawler", "s3://landing/area"], profile_env)
    assert [(r["state"], r["tables_created"], r["tables_updated"]) for r in runs] == [
        ("SUCCEEDED", 0, 1),
        ("SUCCEEDED", 5, 0),
    ]
    assert runs[1]["files_sampled"] >= 8 and runs[1]["bytes_read"] > 0


def _delta_table(rows: list[dict[str, object]]) -> dict[str, bytes]:
    """A minimal Delta table written by hand: one commit, one Parquet file."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    data = buffer.getvalue()
    schema = {
        "type": "struct",
        "fields": [
            {"name": "id", "type": "long", "nullable": True, "metadata": {}},
            {"name": "label", "type": "string", "nullable": True, "metadata": {}},
        ],
    }
    actions = [
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
        {
            "metaData": {
                "id": "5f2c7c2e-0000-4000-8000-000000000001",
                "format": {"provider": "parquet", "options": {}},
                "schemaString": json.dumps(schema),
                "partitionColumns": [],
                "configuration": {},
                "createdTime": 1764288000000,
            }
        },
        {
            "add": {
                "path": "part-0.parquet",
                "partitionValues": {},
                "size": len(data),
                "modificationTime": 1764288000000,
                "dataChange": True,
            }
        },
    ]
    log = "\n".join(json.dumps(a) for a in actions).encode()
    return {"_delta_log/00000000000000000000.json": log, "part-0.parquet": data}


def test_xml_zstd_and_delta_become_readable_tables(profile_env: dict[str, str]) -> None:
    import pyarrow as pa

    settings = settings_for(profile_env)
    storage.ensure_buckets(settings, ["landing"])
    store = storage.open_store(settings, "landing")
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(b"day,clicks\n2026/01/31,5\n2026/02/01,7\n2026/02/02,9\n")
    files = {
        "more/feed/orders.xml": (
            b'<?xml version="1.0"?>\n<orders><order id="1"><total>2.5</total></order>'
            b'<order id="2"><total>4</total></order></orders>\n'
        ),
        "more/clicks/c.csv.zst": sink.getvalue().to_pybytes(),
        **{
            f"more/landed/{key}": data
            for key, data in _delta_table(
                [{"id": 1, "label": "a"}, {"id": 2, "label": "b"}]
            ).items()
        },
    }
    for key, data in files.items():
        store.put(key, data)
    crawled = {
        row["table"]: row
        for row in run_cli_json(["crawl", "s3://landing/more/", "--database", "more"], profile_env)
    }
    assert {t: (r["action"], r["format"]) for t, r in crawled.items()} == {
        "more.feed": ("create", "xml"),
        "more.clicks": ("create", "csv"),
        "more.landed": ("create", "delta"),
    }
    tables = {
        r["table"]: r for r in run_cli_json(["catalog", "tables", "more", "--counts"], profile_env)
    }
    assert {name: tables[name]["rows"] for name in ("feed", "clicks", "landed")} == {
        "feed": 2,
        "clicks": 3,
        "landed": 2,
    }
    clicks = run_cli_json(["catalog", "describe", "more.clicks"], profile_env)[0]
    assert {c["column"]: c["type"] for c in clicks["columns"]} == {
        "day": "date",
        "clicks": "bigint",
    }
