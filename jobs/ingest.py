"""spark-submit entry point: land a source in a Delta table of the raw bucket.

spark-submit jobs/ingest.py --JOB_NAME sales --source landing.sales --target raw.sales
spark-submit jobs/ingest.py --JOB_NAME orders --connection shop --source public.orders \
    --target raw.orders --write_mode merge --merge_keys id
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.ingest.context import JobContext
from engine.ingest.job import REQUIRED_ARGS, ingest


def main(argv: Sequence[str] | None = None) -> int:
    return JobContext.main(ingest, argv, required=REQUIRED_ARGS)


if __name__ == "__main__":
    sys.exit(main())
