"""spark-submit entry point: run a crawl with Spark's catalog connection.

spark-submit jobs/crawl.py --target s3://landing/ --database landing [--sample_size 10]
spark-submit jobs/crawl.py --crawler landing          # a crawler from headwater.yaml

Tables with at least ``--distribute_from`` files to sample (default 500) are
sampled on the executors; smaller ones in the driver.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.config import load_settings
from engine.crawl.crawler import DISTRIBUTE_FROM, CrawlTarget, crawl
from engine.definitions import crawl_targets
from engine.errors import ConfigError, HeadwaterError
from engine.ingest.args import resolve_options
from engine.spark.crawl import spark_file_mapper
from engine.spark.session import build_session, session_catalog
from engine.state.store import open_run_store


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = resolve_options(sys.argv[1:] if argv is None else argv, ())
        name = options.get("crawler")
        if name:
            targets = crawl_targets(name)
        elif "target" in options:
            targets = [
                CrawlTarget.parse(
                    options["target"],
                    options.get("database", "landing"),
                    int(options.get("sample_size", "10")),
                )
            ]
        else:
            raise ConfigError("give --crawler NAME or --target s3://bucket/prefix")
        settings = load_settings()
        spark = build_session(settings, "headwater-crawl")
        catalog = session_catalog(spark)
        state = open_run_store(settings)
        mapper = spark_file_mapper(spark, settings)  # large tables: sampled on executors
        distribute_from = int(options.get("distribute_from", DISTRIBUTE_FROM))
        for target in targets:
            result = crawl(
                settings,
                catalog,
                target,
                state=state,
                crawler_name=name,
                file_mapper=mapper,
                distribute_from=distribute_from,
            )
            plan = result.plan
            print(
                f"crawl {target.where}: {plan.count('create')} created, "
                f"{plan.count('update')} updated, {plan.count('unchanged')} unchanged, "
                f"{plan.partitions_added} partitions added, {len(plan.skipped)} skipped"
            )
    except HeadwaterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
