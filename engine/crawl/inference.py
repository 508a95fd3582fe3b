"""From a proposed table layout to catalog tables: sample, classify, group, build.

Reads only what it must: the first 64 KiB of sampled text files (more raw bytes for
compressed ones), the footers of Parquet files. A file that cannot be read or
classified is reported by path and never stops the crawl.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from catalog.ddl import REGEX
from catalog.model import Column, Partition, Table
from engine.classify.csv import FIRST_TABLE, SKIP_LINES
from engine.classify.grok import LOG_CLASSIFICATIONS
from engine.classify.model import (
    LONG_RECORD_BYTES,
    SAMPLE_BYTES,
    UNKNOWN,
    Classification,
    Sample,
)
from engine.classify.registry import (
    BUILT_IN,
    COMPRESSED_HEAD_BYTES,
    Classifier,
    classify,
    compression_of,
    make_sample,
)
from engine.crawl.footer import check_first_rows, read_orc_footer, read_parquet_footer
from engine.crawl.grouping import Signature, cluster
from engine.crawl.layout import Skipped, TableLayout, split_by_child, split_by_file
from engine.errors import HeadwaterError
from engine.schema import STRING, merge_schemas
from engine.storage import CountingStore, ObjectInfo, ObjectStore

# Spark and Hive choose a codec by file name; content compressed under another
# name would be read as garbage.
CODEC_SUFFIXES = {"gzip": (".gz", ".gzip"), "bzip2": (".bz2",), "zstd": (".zst", ".zstd")}
# Columnar formats: schema and exact row count from the footer.
FOOTER_READERS = {"parquet": read_parquet_footer, "orc": read_orc_footer}
# Formats whose reader needs no options from the sample.
SELF_DESCRIBING = frozenset({"parquet", "orc", "avro"})
# The short look at a table's files after its first (see sample_layout).
CONFIRM_BYTES = 8 * 1024
# An unpartitioned folder whose files disagree is split file by file; past this
# many files it is reported instead (nobody wants a thousand one-file tables).
MAX_FILE_TABLES = 50


@dataclass(frozen=True)
class FileVerdict:
    """One sampled file: its classification and its columns (footer or sample)."""

    obj: ObjectInfo
    verdict: Classification
    columns: tuple[Column, ...]
    compression: str
    rows: int | None = None

    @property
    def signature(self) -> Signature:
        return Signature(
            self.verdict.classification,
            self.compression,
            frozenset(c.name for c in self.columns),
        )


@dataclass
class Sampling:
    verdicts: list[FileVerdict]
    skipped: list[Skipped]
    files_sampled: int = 0
    bytes_read: int = 0

    def add(self, outcome: Outcome) -> None:
        self.files_sampled += 1
        self.bytes_read += outcome.bytes_read
        if outcome.verdict is not None:
            self.verdicts.append(outcome.verdict)
        if outcome.skipped is not None:
            self.skipped.append(outcome.skipped)


@dataclass(frozen=True)
class Outcome:
    """What examining one file gave: a verdict or the reason it was skipped."""

    verdict: FileVerdict | None
    skipped: Skipped | None
    bytes_read: int


# One file to examine: the object and how many bytes of it to sample.
Job = tuple[ObjectInfo, int]
# Examines many files of one store with examine_file, keeping their order:
# in-process (``map_in_process``) or on Spark executors (engine.spark.crawl).
FileMapper = Callable[[ObjectStore, tuple[Classifier, ...], list[Job]], list[Outcome]]


def map_in_process(
    store: ObjectStore, classifiers: tuple[Classifier, ...], jobs: list[Job]
) -> list[Outcome]:
    return [examine_file(store, obj, classifiers, limit) for obj, limit in jobs]


def table_format(classification: str) -> str:
    """How Spark reads files of a classification: its datasource, or a Hive SerDe."""
    return REGEX if classification in LOG_CLASSIFICATIONS else classification


def sample_file(store: ObjectStore, obj: ObjectInfo, limit: int = SAMPLE_BYTES) -> Sample:
    """The classifier's view of one file: its first ``limit`` bytes of content."""
    head = store.read(obj.key, 0, min(obj.size, limit))
    if compression_of(obj.key, head) != "none" and obj.size > len(head):
        raw_limit = limit * COMPRESSED_HEAD_BYTES // SAMPLE_BYTES
        head += store.read(obj.key, len(head), min(obj.size, raw_limit) - len(head))
    return make_sample(obj.key, obj.size, head, limit)


def _classified(
    store: ObjectStore, obj: ObjectInfo, classifiers: tuple[Classifier, ...], limit: int
) -> tuple[Sample, Classification]:
    sample = sample_file(store, obj, limit)
    verdict = classify(sample, classifiers)
    if verdict.classification == UNKNOWN and limit < SAMPLE_BYTES and sample.is_truncated:
        sample = sample_file(store, obj)  # a short look was not enough: the full sample
        verdict = classify(sample, classifiers)
    long_records = sample.text is not None and not any(c in sample.text[0] for c in "\n\r")
    if verdict.classification == UNKNOWN and sample.is_truncated and long_records:
        sample = sample_file(store, obj, LONG_RECORD_BYTES)  # one record fills the sample
        verdict = classify(sample, classifiers)
    return sample, verdict


def examine_file(
    store: ObjectStore, obj: ObjectInfo, classifiers: tuple[Classifier, ...], limit: int
) -> Outcome:
    """Sample, classify and (Parquet/ORC) read the footer of one file. Never raises
    for a bad file: the outcome then says why it was skipped."""
    counting = CountingStore(store)
    try:
        sample, verdict = _classified(counting, obj, classifiers, limit)
        suffixes = CODEC_SUFFIXES.get(sample.compression)
        if verdict.classification == UNKNOWN:
            reason = f"unclassified: {verdict.reason}"
            return Outcome(None, Skipped(obj.key, reason), counting.bytes_read)
        if suffixes and not obj.key.lower().endswith(suffixes):
            reason = (
                f"{sample.compression} content without a {suffixes[0]} name: Spark would "
                f"not decompress it; rename it to end in {suffixes[0]}"
            )
            return Outcome(None, Skipped(obj.key, reason), counting.bytes_read)
        columns, rows = verdict.columns, None
        footer_reader = FOOTER_READERS.get(verdict.classification)
        if footer_reader is not None:
            columns, rows = footer_reader(counting, obj.key, obj.size)
        found = FileVerdict(obj, verdict, columns, sample.compression, rows)
        return Outcome(found, None, counting.bytes_read)
    except HeadwaterError as exc:
        return Outcome(None, Skipped(obj.key, str(exc)), counting.bytes_read)


def check_sampled_data(store: ObjectStore, sampling: Sampling) -> None:
    """The crawler's ``check_data``: decode the first rows of each sampled Parquet
    and ORC file; a file whose data is corrupt behind a valid footer is skipped,
    named, instead of failing the table's queries later."""
    kept = []
    for found in sampling.verdicts:
        kind = found.verdict.classification
        if kind in FOOTER_READERS:
            counting = CountingStore(store)
            try:
                check_first_rows(counting, found.obj.key, found.obj.size, kind)
            except HeadwaterError as exc:
                sampling.skipped.append(Skipped(found.obj.key, str(exc)))
                continue
            finally:
                sampling.bytes_read += counting.bytes_read
        kept.append(found)
    sampling.verdicts[:] = kept


def sampling_jobs(layout: TableLayout, per_folder: int) -> list[Job]:
    """Up to ``per_folder`` files of every leaf folder of ``layout``, with their limits.

    The table's first file gets the full sample; the others a short look
    (``CONFIRM_BYTES``: the header and about a hundred rows), widened to the full
    sample only when the short look recognises nothing. So a crawl's cost follows
    the number of files it samples, not their size.
    """
    objects = [obj for p in layout.partitions for obj in p.files[:per_folder]]
    return [(obj, SAMPLE_BYTES if i == 0 else CONFIRM_BYTES) for i, obj in enumerate(objects)]


def sample_layout(
    store: ObjectStore,
    layout: TableLayout,
    per_folder: int,
    classifiers: tuple[Classifier, ...] = BUILT_IN,
    mapper: FileMapper = map_in_process,
) -> Sampling:
    """Examine the files :func:`sampling_jobs` picks, through ``mapper``."""
    sampling = Sampling([], [])
    for outcome in mapper(store, classifiers, sampling_jobs(layout, per_folder)):
        sampling.add(outcome)
    return sampling


def decide_tables(
    store: ObjectStore,
    layout: TableLayout,
    sampling: Sampling,
    classifiers: tuple[Classifier, ...] = BUILT_IN,
    combine: bool = False,
) -> list[tuple[TableLayout, list[FileVerdict]]]:
    """One table, or the layout split where its files do not belong together.

    With ``combine`` (one schema per include path) the layout stays one table: the
    majority format wins and files of another are reported (build_table).
    """
    clusters = cluster([v.signature for v in sampling.verdicts])
    if len(clusters) <= 1 or combine:
        return [(layout, sampling.verdicts)]
    if layout.partition_keys and layout.partition_keys[0].startswith("partition_"):
        decided = []
        for child in split_by_child(layout):
            prefix = child.prefix
            mine = [v for v in sampling.verdicts if v.obj.key.startswith(prefix)]
            decided += decide_tables(store, child, Sampling(mine, []), classifiers)
        return decided
    if not layout.partition_keys and len(layout.files) <= MAX_FILE_TABLES:
        decided = []
        for single in split_by_file(layout):
            one = [v for v in sampling.verdicts if v.obj.key == single.prefix]
            if not one:  # not sampled yet: classify it now
                outcome = examine_file(
                    store, single.partitions[0].files[0], classifiers, SAMPLE_BYTES
                )
                sampling.add(outcome)
                one = [outcome.verdict] if outcome.verdict else []
            if one:
                decided.append((single, one))
        return decided
    return [(layout, sampling.verdicts)]  # Hive partitions never split: majority wins


def _extension(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name[name.index(".") :] if "." in name else ""


def _hide_excluded(layout: TableLayout, kind: str, options: dict[str, str]) -> list[Skipped]:
    """Keep excluded files out of queries too, where Spark allows: ``pathGlobFilter``
    on the table's one file extension. Otherwise warn that queries will read them."""
    if not layout.excluded:
        return []
    extensions = {_extension(f.key) for f in layout.files}
    (only,) = extensions if len(extensions) == 1 else (None,)
    filterable = kind != "regex" and only and not any(k.endswith(only) for k in layout.excluded)
    if filterable:
        options["pathGlobFilter"] = f"*{only}"
        return []
    return [
        Skipped(
            key,
            f"excluded from the crawl, but it lies in table {layout.name}'s folder: "
            "queries will still read it; move it out of the folder",
        )
        for key in layout.excluded
    ]


def _agree_on_lines_above(
    table: str, chosen: list[FileVerdict], properties: dict[str, str], options: dict[str, str]
) -> list[Skipped]:
    """One reading of the lines above the data for all of a CSV table's files.

    Files with headers of one row must all have one (else no header is skipped).
    Files read line by line (text above the header, a header over two rows, several
    tables) skip the most common count of lines; a file with another count is named
    (its first rows would read wrong). One file holding several tables makes the
    table read only the first table of each file (the rest is quarantined)."""
    counts = Counter(v.verdict.properties.get("skip.header.line.count") for v in chosen)
    if any(v.verdict.options.get(FIRST_TABLE) for v in chosen):
        options[FIRST_TABLE] = "true"
    if not any(v.verdict.options.get(SKIP_LINES) for v in chosen):
        if None in counts or len(counts) > 1:  # files must agree
            properties.pop("skip.header.line.count", None)
            options["header"] = "false"
        return []
    count = max(counts, key=lambda c: (counts[c], c is not None))
    properties["skip.header.line.count"] = options[SKIP_LINES] = count or "0"
    options["header"] = str(count is not None).lower()
    return [
        Skipped(
            v.obj.key,
            f"{seen or 0} line(s) above its data where table {table} skips {count or 0} "
            f"in each file: its first rows will read wrong; give the files one layout",
        )
        for v in chosen
        if (seen := v.verdict.properties.get("skip.header.line.count")) != count
    ]


def build_table(
    store: ObjectStore,
    layout: TableLayout,
    verdicts: list[FileVerdict],
    database: str,
    run_id: str,
) -> tuple[Table, list[Partition], list[Skipped]]:
    """The catalog table of one decided layout (the majority format wins)."""
    skipped: list[Skipped] = []
    kind = Counter(v.verdict.classification for v in verdicts).most_common(1)[0][0]
    chosen = [v for v in verdicts if v.verdict.classification == kind]
    for v in verdicts:
        if v.verdict.classification != kind:
            skipped.append(
                Skipped(v.obj.key, f"classified {v.verdict.classification}, table is {kind}")
            )
    files = layout.files
    size = sum(f.size for f in files)
    first = chosen[0].verdict
    properties = dict(first.properties)
    options: dict[str, str] = {} if kind in SELF_DESCRIBING else dict(first.options)
    columns = merge_schemas([v.columns for v in chosen])
    if kind in FOOTER_READERS:  # exact row counts from footers, scaled to unsampled files
        rows = sum(v.rows or 0 for v in chosen)
        sampled_bytes = sum(v.obj.size for v in chosen)
        record_count = round(rows * size / sampled_bytes) if sampled_bytes else rows
    else:
        record_count = size // max(1, int(properties.get("averageRecordSize", "1")))
        if any(v.verdict.options.get("multiLine") == "true" for v in chosen):
            options["multiLine"] = "true"
        encodings = Counter(v.verdict.options.get("encoding") for v in chosen)
        if len(encodings) > 1:  # Spark reads a table in one encoding: the majority's
            encoding = encodings.most_common(1)[0][0] or "UTF-8"
            options["encoding"] = encoding
            skipped += [
                Skipped(
                    v.obj.key,
                    f"encoded {v.verdict.options.get('encoding')}, table {layout.name} reads "
                    f"{encoding}: its non-ASCII characters will read wrong; re-encode it",
                )
                for v in chosen
                if v.verdict.options.get("encoding") != encoding
            ]
        if kind == "csv":
            skipped += _agree_on_lines_above(layout.name, chosen, properties, options)

    skipped += _hide_excluded(layout, kind, options)
    partition_names = {key.lower() for key in layout.partition_keys}  # Spark: any case
    properties.update(
        {
            "recordCount": str(record_count),
            "sizeKey": str(size),
            "objectCount": str(len(files)),
            "UPDATED_BY_CRAWLER": "headwater",
            "CRAWL_RUN_ID": run_id,
        }
    )
    table = Table(
        database=database,
        name=layout.name,
        columns=tuple(c for c in columns if c.name.lower() not in partition_names),
        location=store.uri(layout.prefix.rstrip("/")),
        # custom grok classifications are log tables too (they carry a regex)
        format=REGEX if "input.regex" in options else table_format(kind),
        partition_keys=tuple(Column(k, STRING) for k in layout.partition_keys),
        parameters=properties,
        options=options,
    )
    partitions = [
        Partition(p.values, store.uri(p.prefix.rstrip("/"))) for p in layout.partitions if p.values
    ]
    return table, partitions, skipped
