"""Snapshot pins in the run-state database: a version of a Delta table that a
``headwater snapshot`` manifest reads back, which VACUUM must keep readable.
Mixed into :class:`engine.state.store.RunStore`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

PINS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS snapshot_pins (
        location TEXT NOT NULL, version BIGINT NOT NULL, table_name TEXT NOT NULL,
        committed_at TEXT NOT NULL, checksum TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (location, version))""",
)


@dataclass(frozen=True)
class Pin:
    location: str  # the Delta table's location (a table renamed keeps its pins)
    version: int
    table_name: str
    committed_at: str  # the version's commit time (ISO, UTC)
    checksum: str  # the manifest's
    created_at: str


_PIN = tuple(f.name for f in fields(Pin))


class PinStateMixin:
    """SQL for pins; the host class provides ``_cursor`` and ``_sql``."""

    _cursor: Any
    _sql: Any

    def save_pin(self, pin: Pin) -> None:
        values = asdict(pin)
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM snapshot_pins WHERE location = ? AND version = ?"),
                (pin.location, pin.version),
            )
            cursor.execute(
                self._sql(
                    f"INSERT INTO snapshot_pins ({', '.join(_PIN)}) "
                    f"VALUES ({', '.join('?' for _ in _PIN)})"
                ),
                tuple(values[name] for name in _PIN),
            )

    def pins(self, location: str) -> list[Pin]:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {', '.join(_PIN)} FROM snapshot_pins WHERE location = ? "
                    "ORDER BY version"
                ),
                (location.rstrip("/"),),
            )
            return [Pin(str(r[0]), int(r[1]), *map(str, r[2:])) for r in cursor.fetchall()]

    def release_pin(self, location: str, version: int) -> bool:
        with self._cursor() as cursor:
            cursor.execute(
                self._sql("DELETE FROM snapshot_pins WHERE location = ? AND version = ?"),
                (location.rstrip("/"), version),
            )
            return bool(cursor.rowcount)
