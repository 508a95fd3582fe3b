"""Job bookmarks: what a job has already processed, decided in plain Python.

A bookmark belongs to a job and a *context* (Glue's ``transformation_ctx``: one
per source). Its history is a list of :class:`BookmarkEntry` rows, numbered by
``seq``:

- ``DATA``: one run's progress: the files it processed, or the JDBC key window's
  upper end (the high-water mark). Written ``PENDING`` before the Delta write;
  the write carries ``txnAppId = app_id(job, context)`` and ``txnVersion = seq``,
  so the Delta commit *is* the bookmark's commit. An entry counts once the table
  has recorded that transaction version: :func:`reconcile` rolls a pending entry
  forward (the commit landed, the process died before saying so) or drops it
  (nothing landed). That is what makes a killed run's rerun exactly-once.
- ``RESET`` and ``REWIND`` (to the state after an earlier entry): control entries,
  effective at once.

The state is read newest-first: DATA entries add their files; the newest DATA
entry's high-water mark wins; RESET stops; REWIND jumps to its base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.errors import JobError
from engine.vocabulary import BookmarkKind, BookmarkStatus


def app_id(job: str, context: str) -> str:
    """The Delta ``txnAppId`` of a job's bookmark context (stable across runs)."""
    return f"headwater/{job}/{context}"


@dataclass(frozen=True)
class FileMark:
    """A processed file, as Glue's S3 bookmark keeps it."""

    path: str
    size: int
    modified: float


@dataclass(frozen=True)
class HighWater:
    """The upper end of the key window a JDBC run read (its bookmark keys' values)."""

    columns: tuple[str, ...]
    values: tuple[Any, ...]
    descending: bool = False


@dataclass(frozen=True)
class BookmarkEntry:
    seq: int
    kind: str
    status: str
    run_id: str
    created_at: str = ""
    base_seq: int | None = None  # REWIND: the entry whose state it returns to
    files: tuple[FileMark, ...] = ()
    high_water: HighWater | None = None
    target: str = ""  # the Delta table the entry's commit goes to

    @property
    def is_committed_data(self) -> bool:
        return self.kind == BookmarkKind.DATA and self.status == BookmarkStatus.COMMITTED

    def state_json(self) -> str:
        body: dict[str, Any] = {
            "files": [[f.path, f.size, f.modified] for f in self.files],
            "target": self.target,
        }
        if self.high_water is not None:
            body["high_water"] = {
                "columns": list(self.high_water.columns),
                "values": list(self.high_water.values),
                "descending": self.high_water.descending,
            }
        return json.dumps(body, sort_keys=True, default=str)

    @staticmethod
    def parse_state(text: str) -> tuple[tuple[FileMark, ...], HighWater | None, str]:
        body = json.loads(text or "{}")
        files = tuple(FileMark(str(p), int(s), float(m)) for p, s, m in body.get("files", []))
        mark = body.get("high_water")
        high_water = (
            HighWater(tuple(mark["columns"]), tuple(mark["values"]), bool(mark["descending"]))
            if mark
            else None
        )
        return files, high_water, str(body.get("target", ""))


@dataclass(frozen=True)
class BookmarkState:
    """What has been processed: the ``seq`` it was read at, files and high-water mark."""

    seq: int | None = None
    files: dict[str, FileMark] = field(default_factory=dict)
    high_water: HighWater | None = None

    @property
    def is_empty(self) -> bool:
        return not self.files and self.high_water is None


def reconcile(entries: list[BookmarkEntry], table_txn: int | None) -> dict[int, str]:
    """New statuses for pending DATA entries, given the table's recorded txn version.

    A pending entry at or below the table's version committed (its write landed);
    above it, nothing of it landed and it is abandoned.
    """
    changes: dict[int, str] = {}
    for entry in entries:
        if entry.kind == BookmarkKind.DATA and entry.status == BookmarkStatus.PENDING:
            landed = table_txn is not None and entry.seq <= table_txn
            changes[entry.seq] = BookmarkStatus.COMMITTED if landed else BookmarkStatus.ABANDONED
    return changes


def check_target(entries: list[BookmarkEntry], table_txn: int | None, target: str) -> None:
    """A committed entry the target does not know means the target was replaced."""
    committed = [
        e.seq
        for e in entries
        if e.kind == BookmarkKind.DATA and e.status == BookmarkStatus.COMMITTED
    ]
    if committed and (table_txn is None or table_txn < max(committed)):
        raise JobError(
            f"the bookmark says run seq {max(committed)} was committed to {target}, but that "
            f"table has {'no record of it' if table_txn is None else f'only seq {table_txn}'}"
            " (was it dropped or replaced?)",
            hint="reset the bookmark to load everything again: headwater job bookmark reset JOB",
            path=target,
        )


def next_seq(entries: list[BookmarkEntry], table_txn: int | None) -> int:
    """The seq of the next DATA entry: above everything effective and the table's txn."""
    used = [e.seq for e in entries if e.status != BookmarkStatus.ABANDONED]
    return max([*used, table_txn if table_txn is not None else -1, -1]) + 1


def current_state(entries: list[BookmarkEntry]) -> BookmarkState:
    """The bookmark as of the newest effective entry (see the module docstring)."""
    effective = {e.seq: e for e in entries if e.status == BookmarkStatus.COMMITTED}
    if not effective:
        return BookmarkState()
    head = max(effective)
    files: dict[str, FileMark] = {}
    high_water: HighWater | None = None
    seq: int | None = head
    seen: set[int] = set()
    while seq is not None and seq not in seen:
        seen.add(seq)
        entry = effective.get(seq)
        if entry is None:
            seq = _previous(effective, seq)
            continue
        if entry.kind == BookmarkKind.RESET:
            break
        if entry.kind == BookmarkKind.REWIND:
            seq = entry.base_seq
            continue
        for mark in entry.files:
            files.setdefault(mark.path, mark)
        if high_water is None and entry.high_water is not None:
            high_water = entry.high_water
        seq = _previous(effective, seq)
    return BookmarkState(seq=head, files=files, high_water=high_water)


def _previous(effective: dict[int, BookmarkEntry], seq: int) -> int | None:
    lower = [s for s in effective if s < seq]
    return max(lower) if lower else None


@dataclass(frozen=True)
class FileSelection:
    new: tuple[FileMark, ...]
    changed: tuple[FileMark, ...]  # processed before, now another size or mtime
    unchanged: int


def select_files(listed: list[FileMark], state: BookmarkState) -> FileSelection:
    """Files to process now: never seen, or seen with another size or mtime (as Glue,
    a rewritten file is read again; the caller warns that it may duplicate rows)."""
    new, changed, unchanged = [], [], 0
    for mark in sorted(listed, key=lambda m: m.path):
        seen = state.files.get(mark.path)
        if seen is None:
            new.append(mark)
        elif (seen.size, seen.modified) != (mark.size, mark.modified):
            changed.append(mark)
        else:
            unchanged += 1
    return FileSelection(tuple(new), tuple(changed), unchanged)


def rewind_base(entries: list[BookmarkEntry], run_id: str) -> int:
    """The seq of the committed DATA entry written by ``run_id`` (a rewind's target)."""
    for entry in entries:
        if (
            entry.kind == BookmarkKind.DATA
            and entry.status == BookmarkStatus.COMMITTED
            and entry.run_id == run_id
        ):
            return entry.seq
    runs = [
        e.run_id
        for e in entries
        if e.kind == BookmarkKind.DATA and e.status == BookmarkStatus.COMMITTED
    ]
    raise JobError(
        f"no committed bookmark entry from run {run_id!r}",
        hint=f"runs with bookmark entries: {', '.join(runs[-10:]) or 'none'}",
    )
