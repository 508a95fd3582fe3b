"""What a classifier says about a file."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.model import Column

UNKNOWN = "UNKNOWN"
SAMPLE_BYTES = 64 * 1024  # bytes read from the head of a file to classify it


@dataclass(frozen=True)
class Sample:
    """What a classifier sees of one file: its name, size and first bytes."""

    key: str
    size: int
    head: bytes
    compression: str = "none"

    @property
    def is_truncated(self) -> bool:
        return len(self.head) < self.size or self.compression != "none"


@dataclass(frozen=True)
class Classification:
    """A classifier's verdict: format, certainty 0..1, schema, table properties.

    ``columns`` may be empty for formats whose schema is read elsewhere (Parquet
    footers). ``reason`` says in words why, for ``headwater classify``.
    """

    classifier: str
    classification: str
    certainty: float
    reason: str
    columns: tuple[Column, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_match(self) -> bool:
        return self.certainty > 0.0


def no_match(classifier: str, reason: str) -> Classification:
    return Classification(classifier, UNKNOWN, 0.0, reason)
