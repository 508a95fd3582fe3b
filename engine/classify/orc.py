"""ORC: recognised by its magic bytes; the schema comes from the file footer."""

from __future__ import annotations

from engine.classify.model import Classification, Sample, no_match

NAME = "orc"
MAGIC = b"ORC"


def classify_orc(sample: Sample) -> Classification:
    if sample.compression == "none" and sample.head.startswith(MAGIC):
        return Classification(
            NAME,
            "orc",
            1.0,
            "starts with the ORC magic bytes",
            properties={"classification": "orc", "compressionType": "none"},
        )
    return no_match(NAME, "no ORC magic bytes at the start")
