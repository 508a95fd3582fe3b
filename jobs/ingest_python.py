"""Python shell job (no Spark): land new files of a path in a Delta table of raw.

python jobs/ingest_python.py --JOB_NAME payments --source s3://landing/payments/ \
    --format csv --target raw.payments
Defined in headwater.yaml with ``type: python`` and ``script: jobs/ingest_python.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.errors import HeadwaterError
from engine.ingest.arrow import read_new_files, write_table
from engine.ingest.context import EXIT_TERMINAL, EXIT_TRANSIENT, JobContext
from engine.ingest.spec import parse_spec


def ingest(ctx: JobContext) -> None:
    with ctx.step("parse arguments"):
        spec = parse_spec(ctx.args)
    batch = read_new_files(ctx, spec.source)
    write_table(ctx, batch, spec.sink, lineage=spec.lineage)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        ctx = JobContext.start(argv, required=("source", "target"), job_type="python")
    except HeadwaterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TRANSIENT if exc.transient else EXIT_TERMINAL
    return ctx.run(ingest)


if __name__ == "__main__":
    sys.exit(main())
