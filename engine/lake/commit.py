"""The exactly-once commit of a job's batch: its bookmark rides in the Delta commit.

Around the caller's :class:`engine.lake.sink.Write` (any writer):

1. :meth:`BookmarkCommit.begin` takes the table's one-writer lock and, when the run
   advances a bookmark, picks ``seq`` = the next transaction version of the job's
   app id (``bookmarks.next_seq`` over the entries and the table's own ``txn``);
2. :meth:`pending` records the bookmark entry PENDING right before the commit;
3. the commit carries ``txn`` = (app id, ``seq``) and :meth:`metadata`: the data and
   the bookmark land together or not at all;
4. :meth:`confirm` checks the table recorded ``seq`` and marks the entry COMMITTED
   (a run that dies before this is healed by the next one, which finds ``seq`` in
   the table);
5. :meth:`release` unlocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from engine import storage
from engine.config import Settings
from engine.errors import JobError
from engine.lake.log import read_txn_version
from engine.state import bookmarks as bm
from engine.state.store import now
from engine.vocabulary import BookmarkKind, BookmarkOption, BookmarkStatus

if TYPE_CHECKING:
    from engine.state.store import RunStore


class Batch(Protocol):
    """What a job read: its bookmark context, files and high-water mark."""

    @property
    def context(self) -> str: ...

    @property
    def described(self) -> str: ...

    @property
    def files(self) -> tuple[bm.FileMark, ...]: ...

    @property
    def high_water(self) -> bm.HighWater | None: ...


class BookmarkCommit:
    """Steps 1, 2, 4 and 5 around one job run's commit to the table at ``location``.
    ``seq`` is None when the run advances no bookmark (bookmarks disabled or paused,
    or nothing to remember)."""

    def __init__(
        self,
        state: RunStore,
        settings: Settings,
        *,
        job: str,
        run_id: str,
        option: str,
        batch: Batch,
        location: str,
        table: str,
    ) -> None:
        self.state, self.batch, self.location, self.table = state, batch, location, table
        self.job, self.run_id, self.option = job, run_id, option
        self.store, self.prefix = storage.locate(settings, location)
        self.app = bm.app_id(self.job, batch.context)
        self.seq: int | None = None

    def begin(self) -> BookmarkCommit:
        self.state.lock_table(self.location, self.run_id, now())
        if self.option == BookmarkOption.ENABLE and (self.batch.files or self.batch.high_water):
            entries = self.state.bookmark_entries(self.job, self.batch.context)
            self.seq = bm.next_seq(entries, read_txn_version(self.store, self.prefix, self.app))
        return self

    @property
    def txn(self) -> tuple[str, int] | None:
        return None if self.seq is None else (self.app, self.seq)

    def metadata(self) -> dict[str, Any]:
        """The commit's ``userMetadata``: the job, run, source and bookmark."""
        batch = self.batch
        return {
            "job": self.job,
            "run_id": self.run_id,
            "source": batch.described,
            "bookmark": {
                "context": batch.context,
                "seq": self.seq,
                "files": len(batch.files),
                "high_water": list(batch.high_water.values) if batch.high_water else None,
            },
        }

    def pending(self) -> None:
        if self.seq is None:
            return
        batch = self.batch
        entry = bm.BookmarkEntry(
            self.seq,
            BookmarkKind.DATA,
            BookmarkStatus.PENDING,
            self.run_id,
            now(),
            files=batch.files,
            high_water=batch.high_water,
            target=self.location,
        )
        self.state.put_bookmark_entry(self.job, batch.context, entry)

    def confirm(self) -> None:
        if self.seq is None:
            return
        recorded = read_txn_version(self.store, self.prefix, self.app)
        if recorded != self.seq:
            raise JobError(
                f"{self.table}: Delta recorded transaction {recorded} for {self.app}, not this "
                f"run's {self.seq}: another writer committed the same bookmark",
                hint="run one instance of the job at a time (max_concurrent_runs: 1)",
                table=self.table,
            )
        self.state.set_bookmark_status(
            self.job, self.batch.context, self.seq, BookmarkStatus.COMMITTED
        )

    def release(self) -> None:
        self.state.unlock_table(self.location, self.run_id)
