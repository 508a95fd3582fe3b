"""The API's pure parts: SigV4 checked against botocore's own signer, the JSON 1.1
protocol from botocore's models, and the catalog in Glue's shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from catalog.glue import glue_table, hadoop_location, table_from_input
from catalog.model import Column, Table
from engine.api.protocol import ApiError, operation_of, parse_input, service_model, write_output
from engine.api.sigv4 import Request, SignatureError, verify

pytestmark = pytest.mark.unit
KEYS = {"AKIDTEST": "s3cret"}
STAMP = datetime(2026, 12, 1, 0, 0, 1, tzinfo=timezone.utc).timestamp()


def _signed(
    body: bytes = b"{}", secret: str = "s3cret", key: str = "AKIDTEST", service: str = "glue"
) -> Request:
    """A request as botocore signs it, as the server receives it."""
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url="http://127.0.0.1:8099/",
        data=body,
        headers={
            "X-Amz-Target": "AWSGlue.GetDatabases",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    credentials = botocore.credentials.Credentials(key, secret)
    botocore.auth.SigV4Auth(credentials, service, "eu-west-1").add_auth(request)
    prepared = request.prepare()
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = "127.0.0.1:8099"  # the HTTP client adds it from the URL
    return Request("POST", "/", "", headers, body)


def test_a_request_botocore_signed_is_accepted() -> None:
    assert verify(_signed(b'{"x": 1}'), KEYS, "glue") == "AKIDTEST"


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (_signed(secret="wrong"), "InvalidSignatureException"),
        (_signed(key="AKIDOTHER"), "UnrecognizedClientException"),
        (_signed(service="dms"), "InvalidSignatureException"),
    ],
)
def test_wrong_keys_are_refused_with_awss_codes(request_: Request, code: str) -> None:
    with pytest.raises(SignatureError) as refused:
        verify(request_, KEYS, "glue")
    assert refused.value.code == code


def test_a_changed_body_an_unsigned_request_and_an_old_signature_are_refused() -> None:
    good = _signed(b'{"Name": "a"}')
    tampered = Request(good.method, good.path, good.query, good.headers, b'{"Name": "b"}')
    with pytest.raises(SignatureError, match="does not match"):
        verify(tampered, KEYS, "glue")
    unsigned = Request("POST", "/", "", {"host": "x"}, b"{}")
    with pytest.raises(SignatureError) as missing:
        verify(unsigned, KEYS, "glue")
    assert missing.value.code == "MissingAuthenticationTokenException"
    later = datetime.now(timezone.utc) + timedelta(minutes=20)
    with pytest.raises(SignatureError, match="Signature expired"):
        verify(good, KEYS, "glue", now=later)


def test_operations_come_from_the_target_header() -> None:
    service, model = operation_of("AWSGlue.GetTables")
    assert (service, model.name) == ("glue", "GetTables")
    assert operation_of("AmazonDMSv20160101.StartReplicationTask")[0] == "dms"
    for target in ("AWSGlue.NoSuchThing", "Nope.GetTables", ""):
        with pytest.raises(ApiError) as unknown:
            operation_of(target)
        assert unknown.value.code == "UnknownOperationException"


def test_input_is_checked_against_the_model() -> None:
    _, model = operation_of("AWSGlue.GetTable")
    assert parse_input("glue", model, b'{"DatabaseName": "a", "Name": "b"}')["Name"] == "b"
    with pytest.raises(ApiError) as broken:
        parse_input("glue", model, b"{nope")
    assert broken.value.code == "SerializationException"
    with pytest.raises(ApiError) as missing:
        parse_input("glue", model, b'{"DatabaseName": "a"}')
    assert missing.value.code == "InvalidInputException" and "Name" in missing.value.message
    _, dms = operation_of("AmazonDMSv20160101.StartReplicationTask")
    with pytest.raises(ApiError) as wrong_type:
        parse_input("dms", dms, b'{"ReplicationTaskArn": 5, "StartReplicationTaskType": "x"}')
    assert wrong_type.value.code == "InvalidParameterValueException"
    assert json.loads(wrong_type.value.body())["__type"] == "InvalidParameterValueException"


def test_output_follows_the_model_and_refuses_what_it_does_not_have() -> None:
    shape = service_model("glue").operation_model("GetJobRun").output_shape
    written = write_output(
        shape,
        {
            "JobRun": {
                "Id": "jr_1",
                "StartedOn": "2026-12-01T00:00:01+00:00",
                "Attempt": 0,
                "ErrorMessage": None,
            }
        },
    )
    assert written == {"JobRun": {"Id": "jr_1", "StartedOn": STAMP, "Attempt": 0}}
    with pytest.raises(TypeError, match="NotAMember"):
        write_output(shape, {"JobRun": {"NotAMember": 1}})


def test_a_table_goes_to_glue_and_back() -> None:
    table = Table(
        database="raw",
        name="sales",
        columns=(Column("id", "bigint"), Column("note", "string", "free text")),
        location="s3a://raw/sales",
        format="csv",
        partition_keys=(Column("dt", "string"),),
        parameters={"classification": "csv", "skip.header.line.count": "1"},
        options={"sep": "|", "header": "true"},
    )
    glue = glue_table(table, "000000000000", version=3)
    storage = glue["StorageDescriptor"]
    assert storage["Location"] == "s3://raw/sales"
    assert storage["SerdeInfo"]["Parameters"]["field.delim"] == "|"
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert glue["VersionId"] == "3" and glue["TableType"] == "EXTERNAL_TABLE"
    back = table_from_input("raw", {k: v for k, v in glue.items() if k != "VersionId"})
    assert back == table
    assert hadoop_location("s3://a/b") == "s3a://a/b"


def test_a_table_input_without_classification_gets_its_format_from_the_serde() -> None:
    given = {
        "Name": "events",
        "StorageDescriptor": {
            "Columns": [{"Name": "ID", "Type": "BIGINT"}],
            "Location": "s3://landing/events/",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.orc.OrcSerde"},
        },
    }
    table = table_from_input("landing", given)
    assert (table.format, table.location, table.columns) == (
        "orc",
        "s3a://landing/events/",
        (Column("ID", "bigint"),),
    )


def test_schedules_and_conditions_in_glues_words() -> None:
    from engine.api.workflows import _condition, _schedule
    from engine.orchestrate.definitions import TriggerDefinition

    def schedule(cron: str) -> str | None:
        trigger = TriggerDefinition(type="schedule", schedule=cron, actions=[{"job": "a"}])
        return _schedule(trigger)

    assert schedule("0 2 * * *") == "cron(0 2 * * ? *)"
    assert schedule("*/5 * * * 1-5") == "cron(*/5 * ? * 2-6 *)"  # Glue: Sunday is 1
    assert schedule("0 9 * * 0,6") == "cron(0 9 ? * 1,7 *)"
    assert schedule("cron(0 2 * * ? *)") == "cron(0 2 * * ? *)"
    assert _condition("crawler:landing", "STOPPED") == {
        "LogicalOperator": "EQUALS",
        "CrawlerName": "landing",
        "CrawlState": "CANCELLED",
    }
    assert _condition("replication:shop", "SUCCEEDED")["JobName"] == "replicate-shop"


def test_table_name_expressions_match_as_the_metastore_matches_them() -> None:
    from engine.api.glue import name_pattern

    names = ["sales", "sales_2024", "Returns", "events"]

    def matched(expression: str) -> list[str]:
        return [n for n in names if name_pattern(expression).fullmatch(n)]

    assert matched("sales*") == ["sales", "sales_2024"]
    assert matched("ev.*") == ["events"]
    assert matched("*urn*|events") == ["Returns", "events"]
    with pytest.raises(ApiError) as broken:
        name_pattern("sales[")
    assert broken.value.code == "InvalidInputException"
