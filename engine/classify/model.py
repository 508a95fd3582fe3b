"""What a classifier says about a file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from catalog.model import Column

UNKNOWN = "UNKNOWN"
SAMPLE_BYTES = 64 * 1024  # bytes read from the head of a file to classify it
# When SAMPLE_BYTES hold not one line break (a JSON record or CSV row longer than
# that), the head is read again this far — Glue's own per-file limit.
LONG_RECORD_BYTES = 1024 * 1024


_CONTROL = bytes(c for c in range(32) if c not in b"\t\n\r\f") + b"\x7f"


def is_binary(probe: bytes) -> bool:
    """Binary, not text: more than 1 % NUL bytes or 5 % other control bytes (random
    or compressed bytes have about 11 %; text with a stray NUL has next to none)."""
    if not probe:
        return False
    nuls = probe.count(0)
    controls = len(probe) - len(probe.translate(None, _CONTROL))
    return nuls > len(probe) / 100 or controls > len(probe) / 20


def decode(head: bytes, truncated: bool = True) -> tuple[str, str] | None:
    """Text and encoding of a sample, or None for binary data. Only a ``truncated``
    sample may end in a multi-byte character cut in two."""
    if is_binary(head[:4096]):
        return None
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:].decode("utf-8", errors="replace"), "UTF-8"
    try:
        return head.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(head) - 3:  # a multi-byte character cut by the sample end
            return head[: exc.start].decode("utf-8"), "UTF-8"
        if _is_mostly_utf8(head):
            # mixed: UTF-8 text with some bytes in another encoding. Reading it all as
            # Latin-1 would garble every UTF-8 character; read as UTF-8, the foreign
            # bytes become U+FFFD and the ingest sets those records aside.
            return head.decode("utf-8", errors="replace"), "UTF-8"
        return head.decode("latin-1"), "ISO-8859-1"


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _is_mostly_utf8(data: bytes) -> bool:
    """Whether ``data`` holds well-formed multi-byte UTF-8 characters, at least twice
    as many as bytes that are not UTF-8 (Latin-1 text almost never holds any: it would
    take an accented capital followed by symbols; Shift_JIS and the like hold some by
    chance, among many more that are not)."""
    valid = len(_UTF8_SEQUENCE.findall(data))
    invalid = data.decode("utf-8", errors="replace").count("\ufffd")
    return valid > 0 and valid >= 2 * invalid


@dataclass(frozen=True)
class Sample:
    """What a classifier sees of one file: its name, size and first bytes."""

    key: str
    size: int
    head: bytes
    compression: str = "none"
    problem: str = ""  # why the head cannot be classified at all (corrupt compression)

    @property
    def is_truncated(self) -> bool:
        return len(self.head) < self.size or self.compression != "none"

    @cached_property
    def text(self) -> tuple[str, str] | None:
        """The head as text and its encoding (decoded once for every classifier)."""
        return decode(self.head, self.is_truncated)

    @cached_property
    def lines(self) -> list[str]:
        """Complete non-blank lines of the text (the last one dropped if it may be cut)."""
        if self.text is None:
            return []
        lines = [line.rstrip("\r") for line in self.text[0].splitlines() if line.strip()]
        return lines[:-1] if self.is_truncated and len(lines) > 1 else lines


@dataclass(frozen=True)
class Classification:
    """A classifier's verdict: format, certainty 0..1, schema, table properties.

    ``columns`` may be empty for formats whose schema is read elsewhere (Parquet
    footers). ``reason`` says in words why, for ``headwater classify``. ``near``
    (0..1), of a no-match: how close the file came to the format (the share of log
    lines the pattern matched, 0.9 for a file that starts like the format); an
    UNKNOWN file gets the reason of the nearest.
    """

    classifier: str
    classification: str
    certainty: float
    reason: str
    columns: tuple[Column, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    near: float = 0.0

    @property
    def is_match(self) -> bool:
        return self.certainty > 0.0


def no_match(classifier: str, reason: str, near: float = 0.0) -> Classification:
    return Classification(classifier, UNKNOWN, 0.0, reason, near=near)
