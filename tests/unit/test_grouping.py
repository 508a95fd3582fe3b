from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.crawl.grouping import Signature, cluster, is_partition_like, similarity
from engine.crawl.inference import build_table, decide_tables, sample_layout
from engine.crawl.layout import group_tables
from engine.errors import StorageError
from engine.storage import LocalStore


def sig(*columns: str, kind: str = "csv") -> Signature:
    return Signature(kind, "none", frozenset(columns))


def test_similarity_threshold_is_glues_seventy_percent() -> None:
    assert similarity(frozenset("ab"), frozenset("abc")) == 1.0  # only adds a column
    assert similarity(frozenset("abcd"), frozenset("abcxy")) == 0.75
    assert cluster([sig("a", "b", "c"), sig("a", "b", "c", "d")]) == [[0, 1]]
    assert cluster([sig("a", "b"), sig("a", "c")]) == [[0], [1]]
    assert cluster([sig("a", "b", "c"), sig("a", "b", "x")]) == [[0], [1]]  # 2/3 is not > 0.7
    assert cluster([sig("a", "b"), sig("a", "b", kind="json")]) == [[0], [1]]


def test_partition_like_names() -> None:
    assert all(map(is_partition_like, ["dt=2026-01-01", "2026", "2026-01", "20260101", "7"]))
    assert not any(map(is_partition_like, ["sales", "v2", "=x", "2026_backup"]))


def _crawl_layouts(root: Path, files: dict[str, bytes]) -> list[tuple[str, tuple[str, ...], str]]:
    store = LocalStore(root, "landing")
    for key, data in files.items():
        store.put(key, data)
    layouts, _ = group_tables(list(store.list()), "", "landing")
    tables = []
    for layout in layouts:
        sampling = sample_layout(store, layout, per_folder=5)
        for decided, verdicts in decide_tables(store, layout, sampling):
            table, _, _ = build_table(store, decided, verdicts, "landing", "t")
            tables.append((table.name, tuple(k.name for k in table.partition_keys), table.format))
    return sorted(tables)


def test_incompatible_unnamed_children_split_into_tables(tmp_path: Path) -> None:
    tables = _crawl_layouts(
        tmp_path,
        {
            "exports/orders/part1.csv": b"order_id,amount\n1,2.5\n",
            "exports/orders/part2.csv": b"order_id,amount\n2,3.5\n",
            "exports/people/p.csv": b"name,city,born\nann,paris,1990-01-01\n",
        },
    )
    assert tables == [("exports_orders", (), "csv"), ("exports_people", (), "csv")]


def test_compatible_unnamed_children_are_partitions_even_with_a_new_column(tmp_path: Path) -> None:
    tables = _crawl_layouts(
        tmp_path,
        {
            "events/a/1.csv": b"id,kind,at\n1,x,2026-01-01\n",
            "events/b/1.csv": b"id,kind,at,extra\n2,y,2026-01-02,z\n",
        },
    )
    assert tables == [("events", ("partition_0",), "csv")]


def test_a_folder_of_different_files_becomes_one_table_per_file(tmp_path: Path) -> None:
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": [1]}), table)
    tables = _crawl_layouts(
        tmp_path,
        {
            "misc/a.csv": b"id,v\n1,2\n",
            "misc/b.json": b'{"k": "v"}\n',
            "misc/c.parquet": table.read_bytes(),
        },
    )
    assert tables == [
        ("misc_a_csv", (), "csv"),
        ("misc_b_json", (), "json"),
        ("misc_c_parquet", (), "parquet"),
    ]


def test_hive_partitions_with_drifting_schemas_stay_one_table(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "landing")
    store.put("s/dt=1/a.csv", b"id,v\n1,2\n")
    store.put("s/dt=2/a.csv", b"id,v,w,x,y\n1,2,3,4,5\n")
    layouts, _ = group_tables(list(store.list()), "", "landing")
    decided = decide_tables(store, layouts[0], sample_layout(store, layouts[0], 5))
    table, partitions, _ = build_table(store, *decided[0], "landing", "t")
    assert len(decided) == 1 and [c.name for c in table.columns] == ["id", "v", "w", "x", "y"]
    assert [p.values for p in partitions] == [("1",), ("2",)]


def test_excluded_files_in_a_table_folder_are_filtered_from_queries(tmp_path: Path) -> None:
    from engine.crawl.exclude import glob_to_regex

    store = LocalStore(tmp_path, "landing")
    store.put("t/a.csv", b"id,v\n1,2\n")
    store.put("t/a.csv.bak", b"id,v\n1,2\n")
    store.put("u/a.csv", b"id,v\n1,2\n")
    store.put("u/old.csv", b"id,v\n1,2\n")
    layouts, _ = group_tables(
        list(store.list()),
        "",
        "landing",
        exclusions=[glob_to_regex("**.bak"), glob_to_regex("u/old.csv")],
    )
    built = {}
    for layout in layouts:
        decided = decide_tables(store, layout, sample_layout(store, layout, 5))
        built[layout.name] = build_table(store, *decided[0], "landing", "r")
    assert built["t"][0].options["pathGlobFilter"] == "*.csv"
    assert "pathGlobFilter" not in built["u"][0].options  # same extension: cannot filter
    assert [s.key for s in built["u"][2]] == ["u/old.csv"]
    assert "queries will still read it" in built["u"][2][0].reason


class _DenyingStore(LocalStore):
    """A bucket where one object answers as S3 does to a missing grant."""

    def read(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        if key.endswith("secret.csv"):
            raise StorageError(f"access denied to s3://landing/{key}", path=key)
        return super().read(key, start, length)


def test_bad_files_are_reported_by_path_and_the_rest_still_make_the_table(
    tmp_path: Path,
) -> None:
    store = _DenyingStore(tmp_path, "landing")
    good = b"id,name\n1,ann\n2,bob\n"
    files = {
        "t/dt=1/good.csv": good,
        "t/dt=1/latin1.csv": "id,name\n3,Jos\xe9\n".encode("latin-1"),  # not UTF-8
        "t/dt=1/empty.csv": b"",
        "t/dt=2/broken.parquet": b"PAR1 this is not parquet PAR1",
        "t/dt=2/good.csv": good,
        "t/dt=2/secret.csv": good,
        "t/dt=2/noise.bin": bytes(range(256)) * 4,
    }
    for key, data in files.items():
        store.put(key, data)
    layouts, skipped = group_tables(list(store.list()), "", "landing")
    sampling = sample_layout(store, layouts[0], per_folder=10)
    reasons = {s.key: s.reason for s in [*skipped, *sampling.skipped]}
    assert reasons["t/dt=1/empty.csv"] == "empty file"
    assert "access denied" in reasons["t/dt=2/secret.csv"]
    assert "t/dt=2/broken.parquet" in reasons and "t/dt=2/noise.bin" in reasons
    ((layout, verdicts),) = decide_tables(store, layouts[0], sampling)
    table, _, warnings = build_table(store, layout, verdicts, "landing", "run")
    assert [(c.name, c.type) for c in table.columns] == [("id", "bigint"), ("name", "string")]
    assert table.options["encoding"] == "UTF-8"  # the majority
    ((key, reason),) = [(w.key, w.reason) for w in warnings]
    assert key == "t/dt=1/latin1.csv" and "encoded ISO-8859-1" in reason


def test_a_record_longer_than_the_sample_is_read_further_not_taken_for_csv(
    tmp_path: Path,
) -> None:
    import json

    store = LocalStore(tmp_path, "landing")
    record = {"id": 1, "text": "x, y; z | w " * 10_000, "tags": ["a", "b"]}  # ~120 KB, one line
    store.put("docs/a.json", (json.dumps(record) + "\n").encode() * 3)
    layouts, _ = group_tables(list(store.list()), "", "landing")
    sampling = sample_layout(store, layouts[0], per_folder=5)
    ((verdict),) = sampling.verdicts
    assert verdict.verdict.classification == "json"
    assert [c.name for c in verdict.columns] == ["id", "text", "tags"]


def test_one_schema_per_include_path_combines_folders_of_one_format(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "landing")
    store.put("orders/a.csv", b"order_id,amount\n1,2.5\n")
    store.put("people/p.csv", b"name,city\nann,paris\n")
    store.put("people/q.json", b'{"name": "bob"}\n')

    def tables(single: bool) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
        layouts, _ = group_tables(list(store.list()), "", "landing", single_table=single)
        found = []
        for layout in layouts:
            sampling = sample_layout(store, layout, per_folder=5)
            for decided, verdicts in decide_tables(store, layout, sampling, combine=single):
                table, _, _ = build_table(store, decided, verdicts, "landing", "t")
                keys = tuple(k.name for k in table.partition_keys)
                found.append((table.name, keys, tuple(c.name for c in table.columns)))
        return sorted(found)

    assert [name for name, _, _ in tables(single=False)] == [
        "orders",
        "people_p_csv",
        "people_q_json",
    ]
    # one table at the include path: CSV folders combined (JSON is another format and
    # is left out of it, reported), columns unioned, folders become partition_0
    assert tables(single=True) == [
        ("landing", ("partition_0",), ("order_id", "amount", "name", "city")),
    ]


def test_files_of_a_table_skip_the_same_lines_above_their_data(tmp_path: Path) -> None:
    """The most common count of lines above the data is the table's; a file with
    another is named, and one file of several tables makes the table read firsts."""
    store = LocalStore(tmp_path, "landing")
    body = b"id,name,amount\n1,a,2.5\n2,b,3.5\n3,c,4.5\n"
    store.put("r/1.csv", b"Sales report\nby the shop\n" + body)
    store.put("r/2.csv", b"Sales report\nby the shop\n" + body + b"\nid,name,amount\n4,d,5.5\n")
    store.put("r/3.csv", b"Sales report\n" + body)
    layouts, _ = group_tables(list(store.list()), "", "landing")
    decided = decide_tables(store, layouts[0], sample_layout(store, layouts[0], 5), combine=True)
    table, _, skipped = build_table(store, *decided[0], "landing", "t")
    assert table.options["headwater.skipLines"] == "3"
    assert table.parameters["skip.header.line.count"] == "3"
    assert table.options["headwater.firstTable"] == "true"
    assert table.options["header"] == "true"
    (odd,) = skipped
    assert odd.key == "r/3.csv"
    assert odd.reason.startswith("2 line(s) above its data where table r skips 3 in each file")


def test_check_data_skips_a_file_whose_data_is_corrupt_behind_a_valid_footer(
    tmp_path: Path,
) -> None:
    import pyarrow.orc as orc

    from engine.crawl.inference import check_sampled_data

    store = LocalStore(tmp_path, "landing")
    table = pa.table({"id": list(range(1000)), "name": [f"n{i}" for i in range(1000)]})
    for name in ("good", "bad"):
        pq.write_table(table, tmp_path / f"{name}.parquet")
        store.put(f"p/{name}.parquet", (tmp_path / f"{name}.parquet").read_bytes())
        orc.write_table(table, tmp_path / f"{name}.orc")
        store.put(f"o/{name}.orc", (tmp_path / f"{name}.orc").read_bytes())
    for key, at in (("p/bad.parquet", 4), ("o/bad.orc", 3)):  # the first page / stripe
        data = bytearray(store.read(key))
        data[at : at + 64] = b"\xff" * 64
        store.put(key, bytes(data))
    layouts, _ = group_tables(list(store.list()), "", "landing")
    for layout in layouts:
        sampling = sample_layout(store, layout, per_folder=5)
        assert len(sampling.verdicts) == 2  # both footers read
        check_sampled_data(store, sampling)
        extension = {"p/": "parquet", "o/": "orc"}[layout.prefix]
        assert [v.obj.key for v in sampling.verdicts] == [f"{layout.prefix}good.{extension}"]
        (skip,) = sampling.skipped
        assert skip.key == f"{layout.prefix}bad.{extension}"
        assert "its footer reads but its first" in skip.reason
        assert "queries of its table would fail on it" in skip.reason
