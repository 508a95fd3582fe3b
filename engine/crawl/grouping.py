"""When are sibling folders (or files) one table? Pure functions over file signatures.

Two files are *compatible* when they have the same classification and compression
and their column names overlap by more than ``SIMILARITY`` — Glue's published
threshold, 0.7. Overlap is the share of the smaller schema's names found in the
larger (the overlap coefficient), not Jaccard: a file that only adds columns to
another (the commonest schema drift) is fully compatible with it, while
``{a, b}`` and ``{a, c}`` (0.5) are not. Files cluster greedily: each joins the
first cluster whose first member it is compatible with. One cluster means one
table; several mean the data does not belong together and the crawler splits it
(docs/crawler.md, "Tables and partitions").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SIMILARITY = 0.7
_VALUE_LIKE = re.compile(
    r"\d+|\d{4}-\d{2}(-\d{2})?([T ]\d{2}(:\d{2}){0,2})?|\d{4}(0[1-9]|1[0-2])(\d{2})?"
)


@dataclass(frozen=True)
class Signature:
    classification: str
    compression: str
    columns: frozenset[str]


def similarity(left: frozenset[str], right: frozenset[str]) -> float:
    """Shared names over the names of the smaller schema (1.0 when one contains the other)."""
    if not left or not right:
        return 1.0 if left == right else 0.0
    return len(left & right) / min(len(left), len(right))


def is_compatible(left: Signature, right: Signature) -> bool:
    return (
        left.classification == right.classification
        and left.compression == right.compression
        and similarity(left.columns, right.columns) > SIMILARITY
    )


def cluster(signatures: list[Signature]) -> list[list[int]]:
    """Indices of ``signatures`` grouped into compatible clusters, first-seen order."""
    clusters: list[list[int]] = []
    for index, signature in enumerate(signatures):
        for members in clusters:
            if is_compatible(signatures[members[0]], signature):
                members.append(index)
                break
        else:
            clusters.append([index])
    return clusters


def is_partition_like(folder: str) -> bool:
    """``key=value`` folders, and names that look like values (years, dates, numbers)."""
    return "=" in folder.strip("=") or bool(_VALUE_LIKE.fullmatch(folder))
