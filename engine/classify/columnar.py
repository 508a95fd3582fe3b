"""Self-describing binary formats recognised by their magic bytes (ORC, Parquet).

Their schema is read from the footer by the crawler (:mod:`engine.crawl.footer`),
not from the sample.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.classify.model import Classification, Sample, no_match


def magic_classifier(name: str, magic: bytes) -> Callable[[Sample], Classification]:
    def classify_magic(sample: Sample) -> Classification:
        if sample.compression == "none" and sample.head.startswith(magic):
            return Classification(
                name,
                name,
                1.0,
                f"starts with the {name} magic bytes {magic!r}",
                properties={"classification": name, "compressionType": "none"},
            )
        return no_match(name, f"no {name} magic bytes {magic!r} at the start")

    classify_magic.__name__ = f"classify_{name}"
    return classify_magic


classify_orc = magic_classifier("orc", b"ORC")
classify_parquet = magic_classifier("parquet", b"PAR1")
