"""``headwater crawl`` and ``headwater classify``."""

# deferred imports: a command imports its machinery when it runs; `headwater --help` loads none
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from catalog.output import render, say
from engine.cli.context import STATE, open_catalog
from engine.errors import HeadwaterError

# How a planned deletion shows, by delete behaviour.
DELETION_ACTIONS = {
    "delete_from_database": "delete",
    "deprecate_in_database": "deprecate",
    "log": "delete-logged",
}

if TYPE_CHECKING:
    from engine.crawl.crawler import CrawlResult
    from engine.crawl.jdbc import JdbcCrawlTarget
    from engine.storage import ObjectInfo, ObjectStore


def crawl(
    target: str = typer.Argument(
        ..., help="A crawler defined in headwater.yaml, or a path: s3://bucket/prefix."
    ),
    database: str = typer.Option("landing", "--database", "-d", help="Database (paths only)."),
    sample_size: int = typer.Option(
        10, "--sample-size", min=1, help="Files sampled per leaf folder (paths only)."
    ),
    plan: bool = typer.Option(False, "--plan", help="Show what would change; write nothing."),
    new_folders_only: bool = typer.Option(
        False,
        "--new-folders-only",
        help="Sample only leaf folders earlier crawls of this path did not see (paths only).",
    ),
    single_schema: bool = typer.Option(
        False,
        "--single-schema",
        help="One table for the path when its files share a format (paths only).",
    ),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Succeed when the path holds no file (paths only)."
    ),
    check_data: bool = typer.Option(
        False,
        "--check-data",
        help="Decode the first rows of each sampled Parquet/ORC file (paths only).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Crawl files into catalog tables (with partitions).

    Example: headwater crawl s3://landing/ --database landing --plan
    """
    from engine.crawl.crawler import CrawlTarget, check_bucket
    from engine.crawl.crawler import crawl as run_crawl
    from engine.crawl.jdbc import JdbcCrawlTarget
    from engine.crawl.plan import CRAWL_EVERYTHING, CRAWL_NEW_FOLDERS_ONLY
    from engine.state.store import open_run_store

    name = None
    targets: list[CrawlTarget | JdbcCrawlTarget]
    if "://" in target or "/" in target:
        _refuse_local_folder(target)
        recrawl = CRAWL_NEW_FOLDERS_ONLY if new_folders_only else CRAWL_EVERYTHING
        targets = [
            CrawlTarget.parse(
                target,
                database,
                sample_size,
                recrawl_behavior=recrawl,
                single_schema=single_schema,
                allow_empty=allow_empty,
                check_data=check_data,
            )
        ]
    else:
        from engine.definitions import crawl_targets, load_crawlers

        if target not in load_crawlers() and Path(target).is_dir():
            _refuse_local_folder(target)  # a folder here, not a crawler of headwater.yaml
        name, targets = target, crawl_targets(target)
    for crawl_target in targets:
        if isinstance(crawl_target, CrawlTarget):
            check_bucket(STATE.settings, crawl_target)  # before the catalog (a JVM, locally)
    catalog = open_catalog()
    state = open_run_store(STATE.settings)
    rows = []
    for crawl_target in targets:
        result = run_crawl(
            STATE.settings, catalog, crawl_target, dry_run=plan, state=state, crawler_name=name
        )
        rows += [
            {
                "table": f"{crawl_target.database}.{c.table.name}",
                "action": c.action,
                "format": c.table.format,
                "columns": len(c.table.columns),
                "partition keys": ",".join(k.name for k in c.table.partition_keys),
                "new partitions": len(c.new_partitions),
                "why": "; ".join(c.reasons),
            }
            for c in result.plan.changes
        ]
        rows += [
            {
                "table": d.table.qualified_name,
                "action": DELETION_ACTIONS[d.behavior],
                "format": d.table.format,
                "columns": len(d.table.columns),
                "partition keys": ",".join(k.name for k in d.table.partition_keys),
                "new partitions": 0,
                "why": "its files are gone",
            }
            for d in result.plan.deletions
        ]
        if not as_json:
            _summarise(
                result, plan, "tables" if isinstance(crawl_target, JdbcCrawlTarget) else "files"
            )
    verb = "would change" if plan else "changed"
    render(rows, as_json=as_json, title=f"crawl {target} ({verb})")


def _refuse_local_folder(target: str) -> None:
    """A crawl reads a bucket; a local folder is landed first (one command)."""
    from engine.errors import CrawlError

    local = target.startswith(("./", "../", "/", "~", "file:")) or Path(target).is_dir()
    if not local:
        return
    folder = Path(target.removeprefix("file://")).expanduser()
    name = folder.resolve().name or "data"
    landing = STATE.settings.buckets.landing
    raise CrawlError(
        f"{target} is a local folder: a crawl reads a bucket ({'s3://' + landing}/…)",
        hint=f"land it, then crawl it: headwater land {target} s3://{landing}/{name}/ && "
        f"headwater crawl s3://{landing}/{name}/",
        path=target,
    )


def land(
    folder: Path = typer.Argument(..., help="A local folder (its files, recursively)."),
    target: str = typer.Argument(..., help="Where to put them: s3://bucket/prefix/."),
) -> None:
    """Copy a local folder's files into a bucket (the local lake or S3), keeping the
    folder layout (``key=value`` partition folders included), to crawl them there.

    Example: headwater land ./data s3://landing/data/
    """
    from engine.errors import SourceNotFoundError
    from engine.storage import open_store, upload_tree

    if not folder.is_dir():
        raise SourceNotFoundError(
            f"{folder}: no such folder", hint="give a local folder", path=str(folder)
        )
    if "://" not in target:
        raise SourceNotFoundError(
            f"{target}: not a bucket path", hint="e.g. s3://landing/data/", path=target
        )
    bucket, _, prefix = target.split("://", 1)[1].partition("/")
    count = upload_tree(open_store(STATE.settings, bucket), folder, prefix)
    say(f"{count} file(s) from {folder} -> s3://{bucket}/{prefix}")


def _summarise(result: CrawlResult, plan: bool, things: str) -> None:
    summary = result.plan
    say(
        f"{summary.count('create')} created, {summary.count('update')} updated, "
        f"{summary.count('unchanged')} unchanged, {summary.partitions_added} partitions added; "
        f"{result.files_listed} {things} listed, {result.files_sampled} sampled, "
        f"{result.bytes_read:,} bytes read, {len(summary.skipped)} skipped, "
        f"{result.seconds:.1f}s" + (" (plan only: nothing written)" if plan else "")
    )
    for skip in summary.skipped[:20]:
        say(f"  skipped {skip.key}: {skip.reason}")
    if len(summary.skipped) > 20:
        say(f"  … and {len(summary.skipped) - 20} more")


def classify_files(
    paths: list[str] = typer.Argument(..., help="Local files, or s3://bucket/key objects."),
    crawler: str | None = typer.Option(
        None, "--crawler", help="Try this crawler's custom classifiers first, as its crawl does."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show every classifier's verdict and certainty for each file, and the schema.

    The file is sampled as a crawl samples it (64 KiB of content; more raw bytes for
    compressed files); Parquet and ORC columns come from the footer.

    Example: headwater classify data/sales.csv s3://landing/events/part-0.json.gz
    """
    from engine.classify.registry import BUILT_IN, classify_all
    from engine.crawl.inference import FOOTER_READERS, sample_file

    chain = BUILT_IN
    if crawler:
        from engine.crawl.crawler import CrawlTarget
        from engine.definitions import crawl_targets

        files = [t for t in crawl_targets(crawler) if isinstance(t, CrawlTarget)]
        chain = (*(files[0].classifiers if files else ()), *BUILT_IN)
    rows = []
    failed = 0
    for path in _expand(paths):
        try:
            store, obj = _locate(path)
            sample = sample_file(store, obj)
            verdicts = classify_all(sample, chain)
        except (HeadwaterError, OSError) as exc:  # this file: the others are still shown
            failed += 1
            rows.append(_failed_row(path, exc))
            continue
        for verdict in verdicts:
            columns = verdict.columns
            reader = FOOTER_READERS.get(verdict.classification)
            if reader is not None and verdict.certainty >= 1.0:
                try:
                    columns = reader(store, obj.key, obj.size)[0]
                except (HeadwaterError, OSError) as exc:
                    failed += 1
                    rows.append(_failed_row(path, exc))
                    continue
            rows.append(
                {
                    "file": path,
                    "classifier": verdict.classifier,
                    "classification": verdict.classification,
                    "certainty": verdict.certainty,
                    "columns": ", ".join(f"{c.name}:{c.type}" for c in columns),
                    "why": verdict.reason,
                }
            )
    render(rows, as_json=as_json)
    if failed:
        raise typer.Exit(1)


def _failed_row(path: str, exc: BaseException) -> dict[str, object]:
    text = str(exc).strip() or type(exc).__name__
    typer.echo(f"error: {text if path in text else f'{path}: {text}'}", err=True)
    return {
        "file": path,
        "classifier": "-",
        "classification": "ERROR",
        "certainty": 0.0,
        "columns": "",
        "why": text if path in text else f"{path}: {text}",
    }


def _expand(paths: list[str]) -> list[str]:
    """Each path; a local folder stands for the files under it (hidden ones left out)."""
    expanded = []
    for path in paths:
        folder = Path(path)
        if "://" in path or not folder.is_dir():
            expanded.append(path)
            continue
        expanded += [
            str(f)
            for f in sorted(folder.rglob("*"))
            if f.is_file()
            and not any(p.startswith((".", "_")) for p in f.relative_to(folder).parts)
        ]
    return expanded


def _locate(path: str) -> tuple[ObjectStore, ObjectInfo]:
    """A store and the object of ``path``: a local file or ``s3://bucket/key``."""
    from engine.errors import SourceNotFoundError
    from engine.storage import LocalStore, ObjectInfo, open_store

    if "://" in path:
        bucket, _, key = path.split("://", 1)[1].partition("/")
        store = open_store(STATE.settings, bucket)
        return store, ObjectInfo(key, store.size(key), 0.0)
    file = Path(path).resolve()
    if not file.is_file():
        raise SourceNotFoundError(
            f"{path}: no such file", hint="give a file path, or s3://bucket/key", path=path
        )
    return LocalStore(file.parent.parent, file.parent.name), ObjectInfo(
        file.name, file.stat().st_size, file.stat().st_mtime
    )
