"""Damaged files for the fuzz suite (issue 16): a clean source with known rows, then
one kind of damage. Each case says which source rows it left intact: those must land
exactly once with their values, or be quarantined; no row may land twice or appear
from nowhere.

Seeded: the same seed gives the same cases (``HEADWATER_FUZZ_SEED`` to vary it).
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field

DAMAGES = (
    "none",
    "truncated",
    "stray_quote",
    "wider_row",
    "narrower_row",
    "bad_gzip",
    "truncated_gzip",
    "latin1_rows",
    "long_record",
    "unclosed_multiline",
    "blank_and_crlf",
    "json_bad_line",
    "json_truncated",
    "parquet_truncated",
)


@dataclass
class FuzzCase:
    name: str
    damage: str
    file_name: str
    data: bytes
    rows: dict[int, tuple[str, float]]  # every source row: id -> (name, amount)
    intact: set[int] = field(default_factory=set)  # ids the damage did not touch


def _rows(rng: random.Random, count: int) -> dict[int, tuple[str, float]]:
    words = ["alpha", "beta", "gamma", "delta x", "eps;ilon", "zeta|z", "eta\tq", "théta"]
    return {
        i: (f"{rng.choice(words)}-{i}", round(rng.uniform(-1e4, 1e4), 2))
        for i in range(1, count + 1)
    }


def _csv_line(i: int, name: str, amount: float) -> str:
    quoted = '"' + name.replace('"', '""') + '"' if any(c in name for c in ',"\n') else name
    return f"{i},{quoted},{amount}"


def make_case(index: int, damage: str, rng: random.Random) -> FuzzCase:
    rows = _rows(rng, rng.randint(40, 400))
    ids = sorted(rows)
    name = f"c{index:03d}_{damage}"
    lines = ["id,name,amount"] + [_csv_line(i, *rows[i]) for i in ids]
    intact = set(ids)
    file_name = "data.csv"
    if damage == "truncated":
        text = "\n".join(lines) + "\n"
        cut = rng.randint(len(text) // 2, len(text) - 2)
        kept = text[:cut]
        last_complete = kept.count("\n") - 1  # data lines ending before the cut
        intact = set(ids[:last_complete])
        return FuzzCase(name, damage, file_name, kept.encode(), rows, intact)
    if damage in ("stray_quote", "wider_row", "narrower_row", "latin1_rows"):
        hit = rng.sample(ids, k=min(len(ids), rng.randint(1, 5)))
        for i in hit:
            n, amount = rows[i]
            if damage == "stray_quote":
                lines[i] = f'{i},{n[: len(n) // 2]}"{n[len(n) // 2 :]},{amount}'
            elif damage == "wider_row":
                lines[i] = _csv_line(i, n, amount) + ",extra"
            elif damage == "narrower_row":
                lines[i] = f"{i},{n}"
            intact.discard(i)
        if damage == "latin1_rows":
            data = b""
            for number, line in enumerate(lines):
                row_id = ids[number - 1] if number else None
                encoding = "latin-1" if row_id in hit else "utf-8"
                data += line.encode(encoding, errors="replace") + b"\n"
            return FuzzCase(name, damage, file_name, data, rows, intact)
    if damage == "long_record":
        i = rng.choice(ids)
        rows[i] = ("L" * rng.randint(70_000, 300_000), rows[i][1])
        lines[i] = _csv_line(i, *rows[i])
    if damage == "unclosed_multiline":
        first = ids[0]
        rows[first] = ("two\nlines", rows[first][1])  # a real quoted line break
        lines[1] = _csv_line(first, *rows[first])
        i = rng.choice(ids[len(ids) // 2 :])
        lines[i] = f'{i},"never closed,{rows[i][1]}'
        intact = {j for j in ids if j < i}  # the rows below are swallowed: quarantined
    if damage == "blank_and_crlf":
        text = "\r\n".join(lines).replace("\r\n5,", "\r\n\r\n5,") + "\r\n\r\n"
        return FuzzCase(name, damage, file_name, text.encode(), rows, intact)
    if damage in ("json_bad_line", "json_truncated"):
        records = [json.dumps({"id": i, "name": rows[i][0], "amount": rows[i][1]}) for i in ids]
        file_name = "data.json"
        if damage == "json_bad_line":
            i = rng.choice(ids)
            records[i - 1] = records[i - 1][:-3]  # cut before the closing brace
            intact.discard(i)
        text = "\n".join(records) + "\n"
        if damage == "json_truncated":
            cut = rng.randint(len(text) // 2, len(text) - 2)
            text = text[:cut]
            intact = set(ids[: text.count("\n")])
        return FuzzCase(name, damage, file_name, text.encode(), rows, intact)
    if damage == "parquet_truncated":
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = io.BytesIO()
        pq.write_table(
            pa.table(
                {
                    "id": ids,
                    "name": [rows[i][0] for i in ids],
                    "amount": [rows[i][1] for i in ids],
                }
            ),
            sink,
        )
        whole = sink.getvalue()
        data = whole[: rng.randint(8, len(whole) - 8)]
        return FuzzCase(name, damage, "data.parquet", data, rows, set())
    text = "\n".join(lines) + "\n"
    data = text.encode()
    if damage in ("bad_gzip", "truncated_gzip"):
        packed = bytearray(gzip.compress(data))
        file_name = "data.csv.gz"
        if damage == "bad_gzip":
            for _ in range(8):
                spot = rng.randint(20, len(packed) - 10)
                packed[spot] ^= 0xFF
        else:
            packed = packed[: rng.randint(len(packed) // 2, len(packed) - 10)]
        return FuzzCase(name, damage, file_name, bytes(packed), rows, set())
    return FuzzCase(name, damage, file_name, data, rows, intact)


def make_cases(seed: int, per_damage: int) -> list[FuzzCase]:
    rng = random.Random(seed)
    cases = []
    for _ in range(per_damage):
        for damage in DAMAGES:
            cases.append(make_case(len(cases), damage, rng))
    return cases
