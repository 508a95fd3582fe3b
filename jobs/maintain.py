"""spark-submit entry point: compact or vacuum one Delta table (engine.maintenance).

spark-submit jobs/maintain.py --JOB_NAME maintain-raw.sales --table raw.sales \
    --operation optimize
spark-submit jobs/maintain.py --JOB_NAME maintain-raw.sales --table raw.sales \
    --operation vacuum --retain_hours 168
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.ingest.context import JobContext
from engine.maintenance import run_maintenance


def main(argv: Sequence[str] | None = None) -> int:
    return JobContext.main(run_maintenance, argv, required=("table",), job_type="maintain")


if __name__ == "__main__":
    sys.exit(main())
