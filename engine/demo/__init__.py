"""Small sample data for ``make demo``: a Hive-partitioned CSV folder and a Parquet folder."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
TABLES = ("sales", "customers")
