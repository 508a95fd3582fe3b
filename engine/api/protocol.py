"""The AWS JSON 1.1 protocol of Glue and DMS, from botocore's own service models.

A request is ``POST /`` with ``X-Amz-Target: AWSGlue.GetTables`` (or
``AmazonDMSv20160101.…``) and a JSON body. The body is checked against the
operation's input shape with botocore's validator, and a handler's answer is written
out through the operation's output shape: only members the shape has (a member it
does not have is our bug, and fails loudly), timestamps as epoch seconds, blobs as
base64. Errors are ``{"__type": Code, "message": …}`` with the HTTP status AWS gives
them, which every SDK turns into its ``ClientError``.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import botocore.session
from botocore.model import OperationModel, OperationNotFoundError, ServiceModel, Shape
from botocore.validate import ParamValidator

CONTENT_TYPE = "application/x-amz-json-1.1"
# X-Amz-Target prefix -> botocore's service name (and SigV4's)
SERVICES = {"AWSGlue": "glue", "AmazonDMSv20160101": "dms"}
# the code each service answers a request that breaks its input shape with
INVALID_INPUT = {"glue": "InvalidInputException", "dms": "InvalidParameterValueException"}


class ApiError(Exception):
    """An AWS error: its code, a message naming the entity, its HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()


@functools.cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation_of(target: str) -> tuple[str, OperationModel]:
    """``AWSGlue.GetTables`` → ("glue", its operation model)."""
    prefix, _, name = target.partition(".")
    service = SERVICES.get(prefix)
    if service is None or not name:
        raise ApiError(
            "UnknownOperationException",
            f"X-Amz-Target {target or '(missing)'!r} names no operation of {' or '.join(SERVICES)}",
        )
    try:
        return service, service_model(service).operation_model(name)
    except OperationNotFoundError:
        raise ApiError("UnknownOperationException", f"{prefix} has no operation {name!r}") from None


def parse_input(service: str, operation: OperationModel, body: bytes) -> dict[str, Any]:
    """The request's parameters, checked against the operation's input shape."""
    try:
        params = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("SerializationException", f"the request body is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "the request body must be a JSON object")
    if operation.input_shape is not None:
        report = ParamValidator().validate(params, operation.input_shape)
        if report.has_errors():
            raise ApiError(
                INVALID_INPUT[service],
                f"{operation.name}: {report.generate_report().replace(chr(10), ' ')}",
            )
    return params


def epoch(value: datetime | str | float) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return round(value.timestamp(), 3)


def write_output(shape: Shape | None, value: Any, where: str = "") -> Any:
    """``value`` as the JSON of ``shape``; None members are left out."""
    if shape is None:
        return {}
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise TypeError(f"{where or shape.name}: expected a structure, got {value!r}")
        members = shape.members
        unknown = set(value) - set(members)
        if unknown:
            raise TypeError(f"{where or shape.name}: no member(s) {sorted(unknown)} in the model")
        return {
            name: write_output(members[name], item, f"{where}.{name}")
            for name, item in value.items()
            if item is not None
        }
    if kind == "list":
        return [write_output(shape.member, item, f"{where}[]") for item in value]
    if kind == "map":
        return {str(k): write_output(shape.value, v, f"{where}{{}}") for k, v in value.items()}
    if kind == "timestamp":
        return epoch(value)
    if kind == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("double", "float"):
        return float(value)
    if kind == "boolean":
        return bool(value)
    return str(value)
