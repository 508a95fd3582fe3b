"""spark-submit entry point: run a crawl with Spark's catalog connection.

spark-submit jobs/crawl.py --target s3://landing/ --database landing [--sample_size 10]
spark-submit jobs/crawl.py --crawler landing          # a crawler from headwater.yaml
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from catalog.hive import HiveCatalog
from engine.config import load_settings
from engine.crawl.crawler import CrawlTarget, crawl
from engine.definitions import crawl_targets
from engine.errors import ConfigError, HeadwaterError
from engine.ingest.args import resolve_options
from engine.spark.session import SparkSqlRunner, build_session
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
        catalog = HiveCatalog(SparkSqlRunner(build_session(settings, "headwater-crawl")))
        state = open_run_store(settings)
        for target in targets:
            result = crawl(settings, catalog, target, state=state, crawler_name=name)
            plan = result.plan
            print(
                f"crawl s3://{target.bucket}/{target.prefix}: {plan.count('create')} created, "
                f"{plan.count('update')} updated, {plan.count('unchanged')} unchanged, "
                f"{plan.partitions_added} partitions added, {len(plan.skipped)} skipped"
            )
    except HeadwaterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
