"""Parquet: recognised by its magic bytes; the schema comes from the footer."""

from __future__ import annotations

from engine.classify.model import Classification, Sample, no_match

NAME = "parquet"
MAGIC = b"PAR1"


def classify_parquet(sample: Sample) -> Classification:
    if sample.compression == "none" and sample.head.startswith(MAGIC):
        return Classification(
            NAME,
            "parquet",
            1.0,
            "starts with the Parquet magic bytes PAR1",
            properties={"classification": "parquet", "compressionType": "none"},
        )
    return no_match(NAME, "no PAR1 magic bytes at the start")
