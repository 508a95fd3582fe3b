"""spark-submit entry point: one run of a replication task (full load, CDC, validation).

spark-submit jobs/replicate.py --JOB_NAME replicate-shop --task shop --action start
spark-submit jobs/replicate.py --JOB_NAME replicate-shop --task shop --action resume \
    --continuous true
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.ingest.context import JobContext
from engine.replicate.task import run_task


def main(argv: Sequence[str] | None = None) -> int:
    return JobContext.main(run_task, argv, required=("task",), job_type="replicate")


if __name__ == "__main__":
    sys.exit(main())
