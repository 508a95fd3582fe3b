"""AWS Signature Version 4, checked on the server's side. Pure: no I/O.

A request is accepted when its ``Authorization`` header names a configured access
key and carries the signature that key's secret gives for the request as it arrived
(method, path, query, the signed headers, the SHA-256 of the body), dated within 15
minutes of now. The steps are AWS's ("Create a signed AWS API request", SigV4):
canonical request → string to sign → key derived from the secret, date, region and
service → HMAC-SHA256. Errors are AWS's: 403 with the code AWS answers.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)


class SignatureError(Exception):
    """A request that is not signed, or not by a key we know, or not correctly."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Request:
    """A request as it arrived: ``path`` and ``query`` as on the wire (still encoded),
    header names in lower case."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Authorization:
    access_key: str
    date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> Authorization:
    """``AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/glue/aws4_request,
    SignedHeaders=host;x-amz-date, Signature=…`` → its parts."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(
            "IncompleteSignatureException",
            f"Unsupported signature algorithm {algorithm or '(none)'}: use {ALGORITHM}",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name] = value
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise SignatureError(
            "IncompleteSignatureException",
            f"Authorization header requires {', '.join(missing)}",
        )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureError(
            "IncompleteSignatureException",
            "Credential must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request",
        )
    return Authorization(
        access_key=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(fields["SignedHeaders"].split(";")),
        signature=fields["Signature"],
    )


def canonical_request(request: Request, signed_headers: tuple[str, ...]) -> str:
    pairs = []
    for item in request.query.split("&") if request.query else []:
        name, _, value = item.partition("=")
        pairs.append((name, value))
    query = "&".join(f"{name}={value}" for name, value in sorted(pairs))
    headers = "".join(
        f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed_headers
    )
    return "\n".join(
        (
            request.method.upper(),
            quote(request.path or "/", safe="/~"),
            query,
            headers,
            ";".join(signed_headers),
            hashlib.sha256(request.body).hexdigest(),
        )
    )


def signature(secret: str, auth: Authorization, amz_date: str, canonical: str) -> str:
    scope = f"{auth.date}/{auth.region}/{auth.service}/aws4_request"
    to_sign = "\n".join(
        (ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = f"AWS4{secret}".encode()
    for part in (auth.date, auth.region, auth.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    request: Request, keys: Mapping[str, str], service: str, now: datetime | None = None
) -> str:
    """The access key that signed ``request`` for ``service``; else SignatureError."""
    header = request.headers.get("authorization")
    if not header:
        raise SignatureError("MissingAuthenticationTokenException", "Missing Authentication Token")
    auth = parse_authorization(header)
    secret = keys.get(auth.access_key)
    if secret is None:
        raise SignatureError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if auth.service != service:
        raise SignatureError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    if "host" not in auth.signed_headers:
        raise SignatureError(
            "InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization."
        )
    amz_date = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureError(
            "IncompleteSignatureException",
            "The request must carry an X-Amz-Date header (YYYYMMDDTHHMMSSZ), signed.",
        ) from None
    if "x-amz-date" not in auth.signed_headers or not amz_date.startswith(auth.date):
        raise SignatureError(
            "InvalidSignatureException", "X-Amz-Date must be signed and match the credential date."
        )
    current = now or datetime.now(timezone.utc)
    if abs(current - signed_at) > MAX_SKEW:
        raise SignatureError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than "
            f"{(current - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')} "
            f"({current.strftime('%Y%m%dT%H%M%SZ')} - 15 min.)",
        )
    expected = signature(secret, auth, amz_date, canonical_request(request, auth.signed_headers))
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return auth.access_key
