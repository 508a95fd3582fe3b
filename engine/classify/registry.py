"""Built-in classifiers in Glue's fixed order; the highest certainty wins.

Custom classifiers (issue 3) run before these. A verdict of certainty 1.0 stops
the search, as in Glue; ``classify_all`` keeps every verdict for ``headwater
classify`` so a user sees why a file became the table it became.
"""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Callable

from engine.classify.avro import classify_avro
from engine.classify.columnar import classify_orc, classify_parquet
from engine.classify.csv import classify_csv
from engine.classify.grok import LOG_CLASSIFIERS
from engine.classify.json import classify_json
from engine.classify.model import SAMPLE_BYTES, UNKNOWN, Classification, Sample
from engine.classify.xml import classify_xml

Classifier = Callable[[Sample], Classification]

# Glue's order (research-glue-crawler.md §1.2) for the formats built so far.
BUILT_IN: tuple[Classifier, ...] = (
    classify_avro,
    classify_orc,
    classify_parquet,
    classify_json,
    classify_xml,
    *LOG_CLASSIFIERS,  # combined_apache, apache, linux_kernel, ruby_logger, squid, redislog, syslog
    classify_csv,
)

MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\x28\xb5\x2f\xfd": "zstd"}
# Compressed samples are read raw; this many compressed bytes are fetched to get
# SAMPLE_BYTES of content in most cases (text compresses 3-10x).
COMPRESSED_HEAD_BYTES = 256 * 1024


def compression_of(key: str, head: bytes) -> str:
    """Whole-file compression, from the content's magic bytes (not the file name)."""
    for magic, name in MAGIC.items():
        if head.startswith(magic):
            return name
    return "none"


class CorruptCompressionError(ValueError):
    """The head of a compressed file does not decompress."""


def decompress_head(head: bytes, compression: str, limit: int = SAMPLE_BYTES) -> bytes:
    """The first ``limit`` uncompressed bytes of a compressed head (may be partial).

    Raises:
        CorruptCompressionError: the data is not valid ``compression`` data.
    """
    try:
        if compression == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, limit)
        if compression == "bzip2":
            return bz2.BZ2Decompressor().decompress(head, limit)
        if compression == "zstd":
            return _zstd_head(head, limit)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise CorruptCompressionError(f"its {compression} data is corrupt ({exc})") from exc
    return head


def _zstd_head(head: bytes, limit: int) -> bytes:
    """zstd through pyarrow, in chunks: a stream cut by the sample end still gives
    what was decoded before the cut (pyarrow refuses a truncated read as a whole)."""
    import pyarrow as pa

    out = bytearray()
    with pa.input_stream(pa.BufferReader(head), compression="zstd") as stream:
        try:
            while len(out) < limit:
                chunk = stream.read(min(16 * 1024, limit - len(out)))
                if not chunk:
                    break
                out += chunk
        except pa.ArrowException:
            pass  # truncated (or corrupt) from here on
    return bytes(out)


def make_sample(key: str, size: int, raw_head: bytes, limit: int = SAMPLE_BYTES) -> Sample:
    compression = compression_of(key, raw_head)
    try:
        return Sample(key, size, decompress_head(raw_head, compression, limit), compression)
    except CorruptCompressionError as exc:
        return Sample(key, size, b"", compression, problem=str(exc))


def classify_all(
    sample: Sample, classifiers: tuple[Classifier, ...] = BUILT_IN
) -> list[Classification]:
    if sample.problem:
        return [Classification("none", UNKNOWN, 0.0, sample.problem)]
    return [classifier(sample) for classifier in classifiers]


def classify(sample: Sample, classifiers: tuple[Classifier, ...] = BUILT_IN) -> Classification:
    """The winning verdict: the first certainty 1.0, else the highest, else UNKNOWN."""
    if sample.problem:
        return Classification("none", UNKNOWN, 0.0, sample.problem)
    best: Classification | None = None
    nearest: Classification | None = None
    for classifier in classifiers:
        verdict = classifier(sample)
        if verdict.certainty >= 1.0:
            return verdict
        if verdict.is_match and (best is None or verdict.certainty > best.certainty):
            best = verdict
        if not verdict.is_match and (nearest is None or verdict.near > nearest.near):
            nearest = verdict
    if best is not None and (nearest is None or best.certainty >= nearest.near):
        return best
    return unknown(nearest)  # (a weak match loses to a format the file nearly follows)


def unknown(nearest: Classification | None) -> Classification:
    """UNKNOWN, with the reason of the classifier that came nearest."""
    if nearest is None or not nearest.reason:
        return Classification("none", UNKNOWN, 0.0, "no classifier recognised the file")
    return Classification(
        "none", UNKNOWN, 0.0, f"not {nearest.classifier}: {nearest.reason}", near=nearest.near
    )
