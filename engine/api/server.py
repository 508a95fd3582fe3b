"""``headwater serve``: Glue's and DMS's APIs over HTTP (an ASGI app under uvicorn).

Every request is ``POST /`` in AWS's JSON 1.1 protocol. In order: the body's size is
capped (``api.max_request_bytes``: 413), the SigV4 signature is checked against the
configured keys (403), ``X-Amz-Target`` names the operation (400
UnknownOperationException), the body is checked against botocore's input shape (400),
the operation runs, and its answer is written through the output shape. One thread
runs the operations, one at a time: the run store's and the catalog's connections
are used from that thread only. An error is always AWS's JSON error, never a
traceback; an unexpected one is logged here and answered as InternalServiceException.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.api import dms, glue, workflows  # noqa: F401  (they register their operations)
from engine.api.context import OPERATIONS, Api
from engine.api.protocol import (
    CONTENT_TYPE,
    INVALID_INPUT,
    SERVICES,
    ApiError,
    operation_of,
    parse_input,
    service_model,
    write_output,
)
from engine.api.sigv4 import Request as SignedRequest
from engine.api.sigv4 import SignatureError, verify
from engine.config import API_KEYS_ENV, Settings, api_keys
from engine.errors import ConfigError, HeadwaterError

LOG = logging.getLogger("headwater.api")
_INTERNAL = {"glue": "InternalServiceException", "dms": "InternalFailure"}


def _answer(status: int, body: bytes, code: str | None = None) -> Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if code:
        headers["x-amzn-ErrorType"] = code
    return Response(body, status_code=status, media_type=CONTENT_TYPE, headers=headers)


def _error(error: ApiError) -> Response:
    return _answer(error.status, error.body(), error.code)


def _too_large(limit: int) -> ApiError:
    return ApiError("RequestEntityTooLargeException", f"the request is over {limit} bytes", 413)


def _from_headwater(service: str, exc: HeadwaterError) -> ApiError:
    message = exc.message + (f" ({exc.hint})" if exc.hint else "")
    if exc.transient:
        return ApiError("ServiceUnavailableException", message, 503)
    return ApiError(INVALID_INPUT[service], message)


def create_app(settings: Settings, keys: dict[str, str] | None = None) -> Starlette:
    """The ASGI app; ``keys`` (access key -> secret) default to the configured ones."""
    known = api_keys(settings) if keys is None else keys
    api = Api(settings)
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headwater-api")
    limit = settings.api.max_request_bytes

    def run(service: str, name: str, params: dict[str, Any]) -> Any:
        operation = OPERATIONS[(service, name)]
        try:
            result = operation(api, params)
        except ApiError:
            raise
        except HeadwaterError as exc:
            raise _from_headwater(service, exc) from exc
        return write_output(service_model(service).operation_model(name).output_shape, result)

    async def endpoint(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return _error(_too_large(limit))
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:  # a chunked body has no length to check first
                return _error(_too_large(limit))
        body = bytes(received)
        target = request.headers.get("x-amz-target", "")
        try:
            service, model = operation_of(target)
        except ApiError as exc:
            service, model = "", None
            failure: ApiError | None = exc
        else:
            failure = None
        signed = SignedRequest(
            method=request.method,
            path=request.scope.get("raw_path", b"/").decode("latin-1") or "/",
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        try:  # the signature first: an unsigned caller learns nothing, not even operations
            verify(signed, known, service or SERVICES.get(target.partition(".")[0], "glue"))
        except SignatureError as exc:
            return _error(ApiError(exc.code, exc.message, 403))
        if failure is not None or model is None:
            return _error(failure or ApiError("UnknownOperationException", "no operation"))
        if (service, model.name) not in OPERATIONS:
            return _error(
                ApiError(
                    "UnknownOperationException",
                    f"{model.name} is not supported by headwater (docs/api.md lists the "
                    "operations it answers)",
                )
            )
        try:
            params = parse_input(service, model, body)
            result = await asyncio.get_running_loop().run_in_executor(
                worker, run, service, model.name, params
            )
        except ApiError as exc:
            return _error(exc)
        except Exception:  # never a traceback to the caller; the log has it
            LOG.exception("%s %s failed", service, model.name)
            return _error(
                ApiError(
                    _INTERNAL[service],
                    f"{model.name} failed inside headwater; the server's log has the details",
                    500,
                )
            )
        return _answer(200, json.dumps(result).encode())

    async def refuse(request: Request) -> Response:
        return _error(
            ApiError("UnknownOperationException", "the API answers POST / (AWS JSON 1.1)", 404)
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        worker.submit(api.close).result()
        worker.shutdown()

    return Starlette(
        routes=[
            Route("/", endpoint, methods=["POST"]),
            Route("/{path:path}", refuse, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
        ],
        lifespan=lifespan,
    )


def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM."""
    import uvicorn  # deferred: the HTTP server, for this command only

    if not api_keys(settings):
        raise ConfigError(
            "headwater serve needs at least one access key to check signatures against",
            hint=f"export {API_KEYS_ENV}=AKID:SECRET (or set api.keys_file), and give "
            "those keys to the AWS SDK",
        )
    app = create_app(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    LOG.info(
        "Glue and DMS APIs on http://%s:%s (profile %s)",
        settings.api.host,
        settings.api.port,
        settings.profile,
    )
    uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level="warning")
