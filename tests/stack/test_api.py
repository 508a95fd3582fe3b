"""``headwater serve`` driven by real AWS clients: boto3, the AWS CLI, and a Glue script
that runs unchanged (docs/examples/glue_pipeline.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import urllib3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from engine import storage
from tests.helpers import API_KEY, API_SECRET, api_server, aws_client, aws_env
from tests.stack_fixture import StackRun, connections_yaml

ROOT = Path(__file__).resolve().parents[2]
ORDERS = {
    "api/orders/dt=2026-11-01/part-0.csv": b"order_id,total,region\n1,9.5,eu\n2,3.25,us\n",
    "api/orders/dt=2026-11-02/part-0.csv": b"order_id,total,region\n3,7.0,eu\n",
    "api_more/returns/part-0.csv": b"order_id,reason\n2,damaged\n",
}


def _parquet(rows: dict[str, list[Any]]) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table(rows), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def served(
    stack: StackRun, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """The server over a project with crawler ``api_orders`` and job ``api_orders``."""
    folder = tmp_path_factory.mktemp("api")
    store = storage.open_store(stack.settings, "landing")
    for key, body in ORDERS.items():
        store.put(key, body)
    for day, ids in (("2026-11-01", [1, 2]), ("2026-11-02", [3])):
        rows = {"event_id": ids, "kind": [f"k{i}" for i in ids], "score": [i / 4 for i in ids]}
        store.put(f"api_parquet/events/dt={day}/part-0.parquet", _parquet(rows))
    project = folder / "headwater.yaml"
    project.write_text(
        connections_yaml(stack.settings) + "crawlers:\n"
        "  api_orders:\n"
        "    database: api_landing\n"
        "    targets:\n"
        "      - path: s3://landing/api/\n"
        "  api_more:\n"
        "    database: api_landing\n"
        "    targets:\n"
        "      - path: s3://landing/api_more/\n"
        "  api_parquet:\n"
        "    database: api_landing\n"
        "    targets:\n"
        "      - path: s3://landing/api_parquet/\n"
        "jobs:\n"
        "  api_orders:\n"
        "    arguments:\n"
        "      source: api_landing.orders\n"
        "      target: raw.api_orders\n"
        "triggers:\n"
        "  api_nightly:\n"
        "    type: schedule\n"
        "    schedule: '0 2 * * *'\n"
        "    actions: [{job: api_orders, arguments: {write_mode: merge}}]\n"
        "  api_now:\n"
        "    type: on_demand\n"
        "    actions: [{crawler: api_more}]\n"
        "workflows:\n"
        "  api_flow:\n"
        "    run_properties: {day: today}\n"
        "    triggers:\n"
        "      start: {type: on_demand, actions: [{crawler: api_orders}]}\n"
        "      more:\n"
        "        type: conditional\n"
        "        predicate: {conditions: [{crawler: api_orders, state: SUCCEEDED}]}\n"
        "        actions: [{crawler: api_more}]\n"
    )
    env = {**stack.env, "HEADWATER_PROJECT_FILE": str(project)}
    # the S3 keys sign API requests too: awswrangler signs Glue and S3 with one session
    s3 = stack.settings.s3
    more = ((s3.access_key, s3.secret_key.get_secret_value()),)
    with api_server(env, folder / "serve.log", more) as endpoint:
        yield endpoint, env


def test_a_glue_script_runs_unchanged_and_lands_the_table(
    stack: StackRun, served: tuple[str, dict[str, str]]
) -> None:
    endpoint, env = served
    script = ROOT / "docs" / "examples" / "glue_pipeline.py"
    result = subprocess.run(
        [sys.executable, str(script), "api_landing", "api_orders", "api_orders"],
        env=aws_env(env, endpoint),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "table api_landing.orders: order_id, total, region" in result.stdout
    assert "SUCCEEDED" in result.stdout
    assert stack.query("SELECT order_id, total FROM raw.api_orders ORDER BY order_id") == [
        (1, 9.5),
        (2, 3.25),
        (3, 7.0),
    ]

    glue = aws_client("glue", endpoint)
    crawler = glue.get_crawler(Name="api_orders")["Crawler"]
    assert crawler["State"] == "READY" and crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    crawls = glue.list_crawls(CrawlerName="api_orders")["Crawls"]
    assert crawls[0]["State"] == "COMPLETED"
    assert json.loads(crawls[0]["Summary"])["TABLE"]["ADD"] == 1
    metrics = glue.get_crawler_metrics(CrawlerNameList=["api_orders"])["CrawlerMetricsList"]
    assert metrics[0]["TablesCreated"] == 1 and metrics[0]["LastRuntimeSeconds"] > 0

    runs = glue.get_job_runs(JobName="api_orders")["JobRuns"]
    assert [r["JobRunState"] for r in runs] == ["SUCCEEDED"]
    assert runs[0]["CompletedOn"] >= runs[0]["StartedOn"]
    bookmark = glue.get_job_bookmark(JobName="api_orders")["JobBookmarkEntry"]
    assert bookmark["RunId"] == runs[0]["Id"]
    assert json.loads(bookmark["JobBookmark"])  # the files it consumed, per context

    landed = glue.get_table(DatabaseName="raw", Name="api_orders")["Table"]
    assert landed["Parameters"]["classification"] == "delta"
    assert landed["StorageDescriptor"]["Location"].startswith("s3://raw/")
    names = [c["Name"] for c in landed["StorageDescriptor"]["Columns"]]
    assert names[:2] == ["order_id", "total"]

    # a stop of a run that has ended; a second run past MaxConcurrentRuns (1); a stop
    stop = glue.batch_stop_job_run(JobName="api_orders", JobRunIds=[runs[0]["Id"]])
    assert stop["Errors"][0]["ErrorDetail"]["ErrorMessage"].endswith("is not running")
    with pytest.raises(ClientError) as stopped_crawler:
        glue.stop_crawler(Name="api_orders")
    assert stopped_crawler.value.response["Error"]["Code"] == "CrawlerNotRunningException"
    going = glue.start_job_run(JobName="api_orders")["JobRunId"]
    with pytest.raises(ClientError) as second:
        glue.start_job_run(JobName="api_orders")
    assert second.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    stop = glue.batch_stop_job_run(JobName="api_orders", JobRunIds=[going])
    assert stop["SuccessfulSubmissions"] == [{"JobName": "api_orders", "JobRunId": going}]
    _until(
        "the stopped run",
        lambda: (
            glue.get_job_run(JobName="api_orders", RunId=going)["JobRun"]["JobRunState"]
            == "STOPPED"
        ),
        60,
    )
    with pytest.raises(ClientError) as missing:
        glue.start_job_run(JobName="no_such_job")
    assert missing.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert "no_such_job" in missing.value.response["Error"]["Message"]


def test_catalog_objects_are_created_read_updated_and_deleted(
    served: tuple[str, dict[str, str]],
) -> None:
    endpoint, _ = served
    glue = aws_client("glue", endpoint)
    glue.create_database(DatabaseInput={"Name": "api_made", "Description": "made by boto3"})
    with pytest.raises(ClientError) as twice:
        glue.create_database(DatabaseInput={"Name": "api_made"})
    assert twice.value.response["Error"]["Code"] == "AlreadyExistsException"
    assert glue.get_database(Name="api_made")["Database"]["Description"] == "made by boto3"

    table_input = {
        "Name": "events",
        "StorageDescriptor": {
            "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "kind", "Type": "string"}],
            "Location": "s3://landing/api_made/events/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "SerdeInfo": {
                "SerializationLibrary": (
                    "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                )
            },
        },
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "Parameters": {"owner_team": "ml"},
    }
    glue.create_table(DatabaseName="api_made", TableInput=table_input)
    made = glue.get_table(DatabaseName="api_made", Name="events")["Table"]
    assert made["Parameters"]["classification"] == "parquet"
    assert made["Parameters"]["owner_team"] == "ml"
    assert made["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert made["StorageDescriptor"]["Location"].rstrip("/") == "s3://landing/api_made/events"

    table_input["StorageDescriptor"]["Columns"].append({"Name": "score", "Type": "double"})
    glue.update_table(DatabaseName="api_made", TableInput=table_input)
    columns = glue.get_table(DatabaseName="api_made", Name="events")["Table"]
    assert [c["Name"] for c in columns["StorageDescriptor"]["Columns"]] == ["id", "kind", "score"]
    versions = glue.get_table_versions(DatabaseName="api_made", TableName="events")
    assert [v["VersionId"] for v in versions["TableVersions"]] == ["2", "1"]

    assert [
        t["Name"] for t in glue.get_tables(DatabaseName="api_made", Expression="ev.*")["TableList"]
    ] == ["events"]
    assert glue.get_tables(DatabaseName="api_made", Expression="nothing.*")["TableList"] == []
    found = glue.search_tables(SearchText="score")["TableList"]
    assert ("api_made", "events") in [(t["DatabaseName"], t["Name"]) for t in found]

    # the crawled table's partitions, filtered as Glue's Expression does
    parts = glue.get_partitions(
        DatabaseName="api_landing", TableName="orders", Expression="dt > '2026-11-01'"
    )["Partitions"]
    assert [p["Values"] for p in parts] == [["2026-11-02"]]
    assert parts[0]["StorageDescriptor"]["Location"].endswith("/orders/dt=2026-11-02")
    batch = glue.batch_get_partition(
        DatabaseName="api_landing",
        TableName="orders",
        PartitionsToGet=[{"Values": ["2026-11-01"]}, {"Values": ["1999-01-01"]}],
    )
    assert [p["Values"] for p in batch["Partitions"]] == [["2026-11-01"]]
    assert batch["UnprocessedKeys"] == [{"Values": ["1999-01-01"]}]

    glue.delete_table(DatabaseName="api_made", Name="events")
    with pytest.raises(ClientError) as gone:
        glue.get_table(DatabaseName="api_made", Name="events")
    assert gone.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert "events" in gone.value.response["Error"]["Message"]
    glue.delete_database(Name="api_made")
    names = [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    assert "api_made" not in names and "api_landing" in names


def test_the_aws_cli_lists_tables_and_crawlers(served: tuple[str, dict[str, str]]) -> None:
    endpoint, env = served

    def aws(*args: str) -> str:
        """The AWS CLI from PyPI (its ``aws`` command), pointed at headwater."""
        done = subprocess.run(
            [sys.executable, "-m", "awscli", *args],
            env=aws_env(env, endpoint),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    listed = aws("glue", "get-tables", "--database-name", "api_landing", "--endpoint-url", endpoint)
    assert [t["Name"] for t in json.loads(listed)["TableList"]] == ["orders"]
    crawlers = aws("glue", "get-crawlers", "--query", "Crawlers[].Name", "--output", "text")
    assert crawlers.split() == ["api_more", "api_orders", "api_parquet"]


def test_wrong_keys_unknown_operations_and_bad_json_get_aws_errors(
    served: tuple[str, dict[str, str]],
) -> None:
    endpoint, _ = served
    wrong = aws_client("glue", endpoint, secret="not-the-secret")
    with pytest.raises(ClientError) as signed_wrong:
        wrong.get_databases()
    assert signed_wrong.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert signed_wrong.value.response["Error"]["Code"] == "InvalidSignatureException"

    stranger = aws_client("glue", endpoint, key="AKIDSTRANGER", secret=API_SECRET)
    with pytest.raises(ClientError) as unknown_key:
        stranger.get_databases()
    assert unknown_key.value.response["Error"]["Code"] == "UnrecognizedClientException"

    unsigned = boto3.client(
        "glue",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED),
    )
    with pytest.raises(ClientError) as anonymous:
        unsigned.get_databases()
    assert anonymous.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    glue = aws_client("glue", endpoint)
    with pytest.raises(ClientError) as unsupported:
        glue.create_crawler(Name="x", Role="r", Targets={"S3Targets": [{"Path": "s3://a/"}]})
    assert unsupported.value.response["Error"]["Code"] == "UnknownOperationException"
    assert "CreateCrawler" in unsupported.value.response["Error"]["Message"]
    unchecked = boto3.client(  # the server checks the input shape, not only the SDK
        "glue",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=API_KEY,
        aws_secret_access_key=API_SECRET,
        config=Config(parameter_validation=False),
    )
    with pytest.raises(ClientError) as invalid:
        unchecked.get_table(DatabaseName="api_landing", Name="")
    assert invalid.value.response["Error"]["Code"] == "InvalidInputException"

    # a correctly signed body that is not JSON, as a broken client would send it
    answer = _signed_post(endpoint, b"{not json")
    assert answer.status == 400
    assert json.loads(answer.data)["__type"] == "SerializationException"
    assert answer.headers["Content-Type"] == "application/x-amz-json-1.1"
    # over api.max_request_bytes (2 MiB): refused before it is read to the end
    huge = _signed_post(endpoint, b'{"Name": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    assert huge.status == 413
    assert json.loads(huge.data)["__type"] == "RequestEntityTooLargeException"


def _signed_post(endpoint: str, body: bytes) -> Any:
    """``body`` posted as GetDatabases, signed with the test keys by botocore."""
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={
            "X-Amz-Target": "AWSGlue.GetDatabases",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    credentials = botocore.credentials.Credentials(API_KEY, API_SECRET)
    botocore.auth.SigV4Auth(credentials, "glue", "us-east-1").add_auth(request)
    prepared = request.prepare()
    return urllib3.PoolManager().request(
        "POST", prepared.url, body=prepared.body, headers=dict(prepared.headers)
    )


def _until(what: str, check: Callable[[], Any], seconds: float = 180) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(1)
    return found


def test_workflows_and_triggers_run_and_switch_through_the_api(
    served: tuple[str, dict[str, str]],
) -> None:
    endpoint, _ = served
    glue = aws_client("glue", endpoint)
    workflow = glue.get_workflow(Name="api_flow", IncludeGraph=True)["Workflow"]
    assert workflow["DefaultRunProperties"] == {"day": "today"}
    graph = workflow["Graph"]
    assert {(n["Type"], n["Name"]) for n in graph["Nodes"]} == {
        ("TRIGGER", "api_flow/start"),
        ("TRIGGER", "api_flow/more"),
        ("CRAWLER", "api_orders"),
        ("CRAWLER", "api_more"),
    }
    assert {"SourceId": "crawler:api_orders", "DestinationId": "trigger:more"} in graph["Edges"]

    run_id = glue.start_workflow_run(Name="api_flow", RunProperties={"day": "2026-11-30"})["RunId"]
    run = _until(
        "the workflow run",
        lambda: (
            (r := glue.get_workflow_run(Name="api_flow", RunId=run_id)["Run"])["Status"]
            == "COMPLETED"
            and r
        ),
    )
    assert run["WorkflowRunProperties"] == {"day": "2026-11-30"}
    assert run["Statistics"]["SucceededActions"] == 2 and run["Statistics"]["FailedActions"] == 0
    assert [r["WorkflowRunId"] for r in glue.get_workflow_runs(Name="api_flow")["Runs"]] == [run_id]
    with pytest.raises(ClientError) as done:
        glue.resume_workflow_run(Name="api_flow", RunId=run_id, NodeIds=["crawler:api_more"])
    assert done.value.response["Error"]["Code"] == "IllegalWorkflowStateException"

    names = [t["Name"] for t in glue.get_triggers()["Triggers"]]
    assert names == ["api_nightly", "api_now", "api_flow/start", "api_flow/more"]
    nightly = glue.get_trigger(Name="api_nightly")["Trigger"]
    assert (nightly["Type"], nightly["State"], nightly["Schedule"]) == (
        "SCHEDULED",
        "ACTIVATED",
        "cron(0 2 * * ? *)",
    )
    assert nightly["Actions"] == [{"JobName": "api_orders", "Arguments": {"--write_mode": "merge"}}]
    glue.stop_trigger(Name="api_nightly")
    assert glue.get_trigger(Name="api_nightly")["Trigger"]["State"] == "DEACTIVATED"
    glue.start_trigger(Name="api_nightly")
    assert glue.get_trigger(Name="api_nightly")["Trigger"]["State"] == "ACTIVATED"

    crawls = len(glue.list_crawls(CrawlerName="api_more")["Crawls"])
    glue.start_trigger(Name="api_now")  # on demand: it fires now
    _until(
        "the on-demand trigger's crawl",
        lambda: len(glue.list_crawls(CrawlerName="api_more")["Crawls"]) == crawls + 1,
    )
    with pytest.raises(ClientError) as missing:
        glue.get_trigger(Name="api_flow/nothing")
    assert missing.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_awswrangler_reads_a_crawled_parquet_table_through_the_catalog(
    stack: StackRun, served: tuple[str, dict[str, str]]
) -> None:
    import awswrangler as wr

    endpoint, _ = served
    glue = aws_client("glue", endpoint)
    glue.start_crawler(Name="api_parquet")
    _until("the crawl", lambda: glue.get_crawler(Name="api_parquet")["Crawler"]["State"] == "READY")
    s3 = stack.settings.s3
    session = boto3.Session(
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key.get_secret_value(),
        region_name="us-east-1",
    )
    wr.config.glue_endpoint_url = endpoint
    wr.config.s3_endpoint_url = s3.endpoint
    try:
        tables = wr.catalog.tables(database="api_landing", boto3_session=session)
        assert "events" in set(tables["Table"])
        assert wr.catalog.get_table_types("api_landing", "events", boto3_session=session) == {
            "event_id": "bigint",
            "kind": "string",
            "score": "double",
            "dt": "string",
        }
        frame = wr.s3.read_parquet_table(
            database="api_landing", table="events", boto3_session=session
        )
        assert sorted(frame["event_id"].tolist()) == [1, 2, 3]
        assert sorted(frame["dt"].astype(str).tolist()) == [
            "2026-11-01",
            "2026-11-01",
            "2026-11-02",
        ]
    finally:
        wr.config.reset()
