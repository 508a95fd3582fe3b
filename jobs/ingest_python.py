"""Python shell job (no Spark): land new files of a path in a Delta table of raw.

python jobs/ingest_python.py --JOB_NAME payments --source s3://landing/payments/ \
    --format csv --target raw.payments
Defined in headwater.yaml with ``type: python`` and ``script: jobs/ingest_python.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.ingest.arrow import read_new_files, write_table
from engine.ingest.context import JobContext
from engine.ingest.spec import parse_spec


def ingest(ctx: JobContext) -> None:
    with ctx.step("parse arguments"):
        spec = parse_spec(ctx.args)
    batch = read_new_files(ctx, spec.source)
    write_table(ctx, batch, spec.sink, lineage=spec.lineage)


def main(argv: Sequence[str] | None = None) -> int:
    return JobContext.main(ingest, argv, required=("source", "target"), job_type="python")


if __name__ == "__main__":
    sys.exit(main())
