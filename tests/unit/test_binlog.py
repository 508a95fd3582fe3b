"""MySQL binlog events into row changes (engine.replicate.binlog): positions, values
in their full-load text form, transaction boundaries, bounds, key changes, TRUNCATE.
The events are the shapes the stack's MariaDB writes (GTID, table map + rows, XID)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.replicate.binlog import (
    BinlogBatch,
    Event,
    ends_transaction,
    file_of,
    format_position,
    pack,
    parse_position,
    text_value,
    time_text,
    truncated_table,
)

pytestmark = pytest.mark.unit
KEYS = {("shop", "t"): ("id",)}


def test_positions_compare_across_files_and_print_as_file_and_offset() -> None:
    assert parse_position("mariadb-bin.000003:1234") == (3 << 32) | 1234
    assert parse_position("mysql-bin.000002:4294967295") < parse_position("mysql-bin.000003:4")
    assert format_position(pack(3, 1234), "mariadb-bin") == "mariadb-bin.000003:1234"
    assert file_of(pack(12, 99), "binlog") == ("binlog.000012", 99)
    with pytest.raises(ValueError, match="not a binlog position"):
        parse_position("0/16B3748")


def test_values_take_the_text_form_the_full_load_reads() -> None:
    assert text_value(None) is None
    assert text_value(Decimal("1.50")) == "1.50"
    assert text_value(18446744073709551615) == "18446744073709551615"
    assert text_value(dt.datetime(2024, 1, 2, 3, 4, 5, 678000)) == "2024-01-02 03:04:05.678000"
    assert text_value(dt.date(2024, 1, 2)) == "2024-01-02"
    assert text_value(dt.timedelta(hours=-1, minutes=-2, seconds=-3)) == "-01:02:03"
    assert text_value(dt.timedelta(hours=838, microseconds=5)) == "838:00:00.000005"
    assert time_text(dt.timedelta(seconds=1, microseconds=500_000), 3) == "00:00:01.500"
    assert time_text(dt.timedelta(seconds=-1), 2) == "-00:00:01.00"
    assert text_value(b"\x00\xff") == "\\x00ff"
    assert text_value({"y", "x"}) == "x,y"
    assert text_value({"k": [1, 2]}) == '{"k": [1, 2]}'
    assert text_value(0.1) == "0.1"


def test_statements_that_end_a_transaction_and_truncates() -> None:
    assert not ends_transaction("BEGIN")
    assert not ends_transaction("savepoint `a`")
    assert ends_transaction("COMMIT")
    assert ends_transaction("ALTER TABLE t ADD COLUMN c int")
    assert truncated_table("TRUNCATE TABLE `shop`.`t`", "other") == ("shop", "t")
    assert truncated_table("truncate t", "shop") == ("shop", "t")
    assert truncated_table("TRUNCATE `we``ird`", "shop") == ("shop", "we`ird")
    assert truncated_table("DROP TABLE t", "shop") is None


def _transaction(start: int, seq: int, *rows: Event) -> list[Event]:
    """A GTID event, rows events, an XID event, back to back from ``start``."""
    events = [Event("begin", start, start + 40, 1_700_000_000, gtid_seq=seq)]
    position = start + 40
    for row in rows:
        size = row.end
        row.start, row.end = position, position + size
        events.append(row)
        position += size
    events.append(Event("commit", position, position + 31))
    return events


def _rows(op: str, *rows: object, table: str = "t") -> Event:
    return Event(
        "rows", 0, 100, op=op, schema="shop", table=table, columns=("id", "v"), rows=list(rows)
    )


def _stream() -> list[Event]:
    first = _transaction(
        1000,
        7,
        _rows("I", {"id": 1, "v": "a"}, {"id": 2, "v": None}),
        _rows("I", {"id": 9}, table="x"),
    )
    second = _transaction(
        first[-1].end,
        8,
        _rows(
            "U",
            ({"id": 1, "v": "a"}, {"id": 1, "v": "b"}),
            ({"id": 2, "v": None}, {"id": 3, "v": None}),
        ),
        _rows("D", {"id": 1, "v": "b"}),
    )
    ddl = [
        Event("begin", second[-1].end, second[-1].end + 40, gtid_seq=9),
        Event("query", second[-1].end + 40, second[-1].end + 90, schema="shop", query="TRUNCATE t"),
    ]
    return [Event("other", 4, 4), *first, *second, *ddl]


def test_a_batch_reads_whole_transactions_of_its_tables_up_to_its_end() -> None:
    events = _stream()
    batch = BinlogBatch(events, upto=events[-1].end, tables=KEYS)
    changes = list(batch)
    assert [(c.op, c.values.get("id")) for c in changes] == [
        ("I", "1"),
        ("I", "2"),
        ("U", "1"),
        ("U", "3"),
        ("D", "1"),
        ("T", None),
    ]
    inserted, moved = changes[0], changes[3]
    assert inserted.commit_lsn == 1000 and inserted.xid == 7
    assert inserted.commit_micros == 1_700_000_000 * 1_000_000
    assert changes[1].lsn == inserted.lsn + 1  # rows of one event: consecutive positions
    assert len({c.lsn for c in changes}) == len(changes)
    assert [c.lsn for c in changes] == sorted(c.lsn for c in changes)
    assert changes[2].old_key is None  # the key did not move
    assert moved.old_key == {"id": "2"} and moved.values == {"id": "3", "v": None}
    assert batch.end == events[-1].end and not batch.cut


def test_a_batch_stops_before_a_transaction_past_its_end_and_at_its_bounds() -> None:
    events = _stream()
    first_end = next(e.end for e in events if e.kind == "commit")  # the first XID
    batch = BinlogBatch(events, upto=first_end, tables=KEYS)
    assert [c.op for c in batch] == ["I", "I"] and batch.end == first_end

    bounded = BinlogBatch(events, upto=events[-1].end, tables=KEYS, messages=2)
    assert [c.op for c in bounded] == ["I", "I"]  # the whole first transaction, then cut
    assert bounded.cut and bounded.end == first_end
    rest = BinlogBatch(
        [e for e in events if e.start >= first_end], upto=events[-1].end, tables=KEYS
    )
    assert [c.op for c in rest] == ["U", "U", "D", "T"]
