"""Create a database, crawl into it, list its tables, run a job and wait for it: a
script written for AWS Glue's API, run unchanged against ``headwater serve``.

Against AWS it needs nothing more. Against headwater, the endpoint and keys come
from the environment, as boto3 reads them (docs/api.md):

    export AWS_ENDPOINT_URL_GLUE=http://127.0.0.1:8099
    export AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=localsecret
    export AWS_DEFAULT_REGION=us-east-1
    python docs/examples/glue_pipeline.py DATABASE CRAWLER JOB
"""

from __future__ import annotations

import contextlib
import sys
import time

import boto3


def main(database: str, crawler: str, job: str) -> int:
    glue = boto3.client("glue")
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": database})

    glue.start_crawler(Name=crawler)
    while (found := glue.get_crawler(Name=crawler)["Crawler"])["State"] != "READY":
        time.sleep(2)
    if found["LastCrawl"]["Status"] != "SUCCEEDED":
        print(f"crawler {crawler}: {found['LastCrawl']}", file=sys.stderr)
        return 1

    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for table in page["TableList"]:
            columns = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
            print(f"table {database}.{table['Name']}: {', '.join(columns)}")

    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    while True:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] not in ("STARTING", "RUNNING", "STOPPING", "WAITING"):
            break
        time.sleep(5)
    print(f"job run {run_id}: {run['JobRunState']} {run.get('ErrorMessage', '')}".rstrip())
    return 0 if run["JobRunState"] == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
