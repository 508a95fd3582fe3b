"""Bookmark administration: reset and rewind (``headwater job bookmark …``).

Both add a control entry to the bookmark's history (nothing is deleted), so
``bookmark show`` keeps the whole story and a rewind can itself be undone by
rewinding to a later run.
"""

from __future__ import annotations

from engine.errors import ConfigError
from engine.state import bookmarks as bm
from engine.state.store import RunStore, now
from engine.vocabulary import BookmarkKind, BookmarkStatus


def contexts(store: RunStore, job: str, context: str | None = None) -> list[str]:
    """The job's bookmark contexts (or just ``context``, checked)."""
    found = store.bookmark_contexts(job)
    if context:
        if context not in found:
            raise ConfigError(
                f"job {job} has no bookmark {context!r} (has: {', '.join(found) or 'none'})"
            )
        return [context]
    if not found:
        raise ConfigError(f"job {job} has no bookmark yet", hint=f"run it: headwater job run {job}")
    return found


def reset(store: RunStore, job: str, context: str | None = None) -> list[str]:
    """Forget what ``job`` processed; returns the contexts reset."""
    done = []
    for ctx in contexts(store, job, context):
        seq = bm.next_seq(store.bookmark_entries(job, ctx), None)
        store.put_bookmark_entry(
            job,
            ctx,
            bm.BookmarkEntry(seq, BookmarkKind.RESET, BookmarkStatus.COMMITTED, "cli", now()),
        )
        done.append(ctx)
    return done


def rewind(store: RunStore, job: str, to_run: str, context: str | None = None) -> list[str]:
    """Return ``job``'s bookmarks to their state after run ``to_run``."""
    done = []
    for ctx in contexts(store, job, context):
        entries = store.bookmark_entries(job, ctx)
        base = bm.rewind_base(entries, to_run)
        entry = bm.BookmarkEntry(
            bm.next_seq(entries, None),
            BookmarkKind.REWIND,
            BookmarkStatus.COMMITTED,
            "cli",
            now(),
            base_seq=base,
        )
        store.put_bookmark_entry(job, ctx, entry)
        done.append(ctx)
    return done
