"""Crawl sampling on Spark executors: the crawl job's file mapper.

The driver lists and decides; only examining files (ranged reads, classification,
footers) is spread, because that is the part that grows with the file count. Each
executor task opens its own store from the settings (credentials travel inside
the task, never in its logs) and returns small picklable outcomes, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.classify.registry import Classifier
from engine.config import Settings
from engine.crawl.inference import FileMapper, Job, Outcome, examine_file
from engine.storage import ObjectStore, open_store

FILES_PER_TASK = 200


def spark_file_mapper(spark: Any, settings: Settings) -> FileMapper:
    """A :data:`FileMapper` that examines files in Spark tasks."""

    def mapper(
        store: ObjectStore, classifiers: tuple[Classifier, ...], jobs: list[Job]
    ) -> list[Outcome]:
        bucket = store.bucket
        tasks = max(1, -(-len(jobs) // FILES_PER_TASK))

        def examine(part: Iterator[Job]) -> Iterator[Outcome]:
            local = open_store(settings, bucket)
            for obj, limit in part:
                yield examine_file(local, obj, classifiers, limit)

        rdd = spark.sparkContext.parallelize(jobs, tasks)
        return list(rdd.mapPartitions(examine).collect())

    return mapper
