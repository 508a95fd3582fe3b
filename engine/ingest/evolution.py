"""Schema evolution of a raw table, decided without Spark.

Rules (the same for every write mode): a column the table lacks is added; a column
whose incoming type fits the table's (the widening lattice of :mod:`engine.schema`
gives the table's type back, e.g. ``int`` into ``bigint``) is cast to the table's
type; anything else is an incompatible change and fails before anything is written,
naming the column and both types. Table columns the batch lacks are left null.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import JobError
from engine.schema import widen


class SchemaEvolutionError(JobError):
    """The batch changes a column's type in a way the raw table cannot take."""


@dataclass(frozen=True)
class Evolution:
    added: tuple[tuple[str, str], ...]  # new columns, in batch order
    casts: tuple[tuple[str, str], ...]  # (column, table type) to cast the batch to


def plan_evolution(
    table: str, existing: list[tuple[str, str]], incoming: list[tuple[str, str]]
) -> Evolution:
    """How a batch with columns ``incoming`` goes into a table with ``existing``.

    Raises:
        SchemaEvolutionError: a column's type changed incompatibly.
    """
    known = {name.lower(): type_ for name, type_ in existing}
    added, casts, conflicts = [], [], []
    for name, type_ in incoming:
        current = known.get(name.lower())
        if current is None:
            added.append((name, type_))
        elif current != type_:
            if widen(current, type_) == current:
                casts.append((name, current))
            else:
                conflicts.append(f"{name} is {current} in the table but {type_} in this batch")
    if conflicts:
        raise SchemaEvolutionError(
            f"{table}: incompatible column type change: {'; '.join(conflicts)}",
            hint="cast the column in the job's --mapping to the table's type, or write a new "
            "table (or overwrite it after dropping the old one)",
            table=table,
        )
    return Evolution(tuple(added), tuple(casts))
