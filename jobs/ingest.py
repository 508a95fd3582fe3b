"""spark-submit entry point: copy a catalogued table into a Delta table in raw.

spark-submit jobs/ingest.py --JOB_NAME demo --source landing.sales --target raw.sales
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.config import load_settings
from engine.errors import HeadwaterError
from engine.ingest.args import resolve_options
from engine.ingest.job import REQUIRED_ARGS, IngestSpec, run_ingest
from engine.spark.session import build_session


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = resolve_options(sys.argv[1:] if argv is None else argv, REQUIRED_ARGS)
        spec = IngestSpec.from_options(options)
        settings = load_settings()
        spark = build_session(settings, app_name=f"headwater-job-{spec.job_name}")
        result = run_ingest(settings, spark, spec)
    except HeadwaterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"job {spec.job_name}: {result.rows_written} rows from {spec.source} -> {result.target} "
        f"(Delta version {result.delta_version}, {result.location}) in {result.seconds:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
