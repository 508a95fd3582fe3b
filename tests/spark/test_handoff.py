"""The ML hand-off on the local profile: a catalog table read by name at pinned Delta
versions (pandas, pyarrow, Spark), partition filters, manifests that read back to
the same rows after later writes, and the errors for what does not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog.errors import DatabaseNotFoundError, TableNotFoundError
from engine import handoff
from engine.config import Settings
from engine.handoff import HandoffError, TableSnapshot


def _rows(frame: Any) -> list[tuple[int, str, str]]:
    return sorted(zip(frame["id"], frame["label"], frame["day"], strict=True))


@pytest.fixture(scope="module")
def versions(spark: Any, local_settings: Settings) -> list[list[tuple[int, str, str]]]:
    """raw_handoff.events at versions 0 (create), 1 (insert), 2 (insert), 3 (delete)."""
    location = local_settings.lake_path / "raw" / "handoff_events"
    spark.sql("CREATE DATABASE IF NOT EXISTS raw_handoff")
    spark.sql(
        "CREATE TABLE raw_handoff.events (id BIGINT, label STRING, day STRING) USING delta "
        f"PARTITIONED BY (day) LOCATION 'file://{location}'"
    )
    states: list[list[tuple[int, str, str]]] = [[]]
    batches = [
        [(i, f"first-{i}", f"2026-01-0{1 + i % 3}") for i in range(1, 41)],
        [(i, f"second-{i}", f"2026-01-0{1 + i % 3}") for i in range(41, 61)],
    ]
    for batch in batches:
        values = ", ".join(f"({i}, '{label}', '{day}')" for i, label, day in batch)
        spark.sql(f"INSERT INTO raw_handoff.events VALUES {values}")
        states.append(sorted([*states[-1], *batch]))
    spark.sql("DELETE FROM raw_handoff.events WHERE id % 10 = 0")
    states.append([r for r in states[-1] if r[0] % 10 != 0])
    return states


def test_each_version_reads_back_exactly(
    versions: list[list[tuple[int, str, str]]], local_settings: Settings
) -> None:
    for number, expected in enumerate(versions):
        frame = handoff.read_table("raw_handoff.events", version=number, settings=local_settings)
        assert _rows(frame) == expected
    latest = handoff.read_table("raw_handoff.events", settings=local_settings)
    assert _rows(latest) == versions[-1]


def test_columns_and_partition_filters_on_every_engine(
    versions: list[list[tuple[int, str, str]]], local_settings: Settings
) -> None:
    wanted = [r for r in versions[2] if r[2] >= "2026-01-02"]
    table = handoff.read_table(
        "raw_handoff.events",
        version=2,
        columns=["id", "day"],
        partitions=[("day", ">=", "2026-01-02")],
        engine="arrow",
        settings=local_settings,
    )
    assert table.column_names == ["id", "day"]
    assert sorted(table.column("id").to_pylist()) == sorted(r[0] for r in wanted)
    frame = handoff.read_table(
        "raw_handoff.events",
        version=2,
        partitions=[("day", "in", ["2026-01-02", "2026-01-03"])],
        engine="spark",
        settings=local_settings,
    )
    assert sorted((r.id, r.label, r.day) for r in frame.collect()) == wanted


def test_a_manifest_reads_back_the_same_rows_after_later_writes(
    versions: list[list[tuple[int, str, str]]], local_settings: Settings, spark: Any
) -> None:
    manifest = handoff.snapshot("raw_handoff.events", version=1, settings=local_settings)
    assert (manifest.version, manifest.row_count) == (1, len(versions[1]))
    assert manifest.table == "raw_handoff.events" and manifest.files
    assert [f["name"] for f in manifest.schema] == ["id", "label", "day"]
    spark.sql("INSERT INTO raw_handoff.events VALUES (999, 'later', '2026-01-09')")
    again = TableSnapshot.from_json(manifest.to_json())
    assert _rows(handoff.read_snapshot(again, settings=local_settings)) == versions[1]
    latest = handoff.snapshot("raw_handoff.events", settings=local_settings)
    assert latest.version == len(versions) and latest.checksum != manifest.checksum

    tampered = json.loads(manifest.to_json())
    tampered["checksum"] = "0" * 64
    with pytest.raises(HandoffError, match="no longer has the files the manifest recorded"):
        handoff.read_snapshot(json.dumps(tampered), settings=local_settings)
    with pytest.raises(HandoffError, match="not a headwater snapshot manifest"):
        TableSnapshot.from_json(json.dumps({"format": "other"}))


def test_what_does_not_exist_is_named(
    versions: list[list[tuple[int, str, str]]], local_settings: Settings
) -> None:
    with pytest.raises(HandoffError, match=r"has no version 42 \(versions 0-"):
        handoff.read_table("raw_handoff.events", version=42, settings=local_settings)
    with pytest.raises(TableNotFoundError, match=r"did you mean raw_handoff\.events"):
        handoff.read_table("raw_handoff.event", settings=local_settings)
    with pytest.raises(DatabaseNotFoundError, match="did you mean raw_handoff"):
        handoff.read_table("raw_handof.events", settings=local_settings)
    with pytest.raises(HandoffError, match="'label' is not a partition column"):
        handoff.read_table(
            "raw_handoff.events", partitions=[("label", "=", "x")], settings=local_settings
        )
