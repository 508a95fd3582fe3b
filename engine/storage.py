"""Object storage at the edge: list objects and read byte ranges.

Two stores with one interface: :class:`LocalStore` (the ``local`` profile's folders
under ``<home>/lake/<bucket>``) and :class:`S3Store` (any S3-compatible server via
boto3). The crawler samples files through this, so a crawl reads a few kilobytes
per file instead of whole files, and never starts Spark to classify.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from engine.config import Settings, hadoop_file_uri
from engine.errors import StorageError


@dataclass(frozen=True)
class ObjectInfo:
    """One stored file: its key relative to the bucket, size in bytes, mtime (epoch s)."""

    key: str
    size: int
    modified: float


class ObjectStore(Protocol):
    bucket: str

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def read(self, key: str, start: int = 0, length: int | None = None) -> bytes: ...

    def size(self, key: str) -> int: ...

    def put(self, key: str, data: bytes) -> None: ...

    def delete(self, key: str) -> None:
        """The object ``key``, or every object under ``key`` when it ends with ``/``;
        absent ones are no error."""
        ...

    def uri(self, key: str = "") -> str: ...


class CountingStore:
    """Any store, counting the bytes read through it (a crawl's ``bytes_read``)."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.bucket = inner.bucket
        self.bytes_read = 0

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def read(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        data = self.inner.read(key, start, length)
        self.bytes_read += len(data)
        return data

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def uri(self, key: str = "") -> str:
        return self.inner.uri(key)


class LocalStore:
    """A bucket that is a folder (the ``local`` profile)."""

    def __init__(self, root: Path, bucket: str) -> None:
        self.bucket = bucket
        self.root = root / bucket

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return
        if base.is_file():
            if not prefix.endswith("/"):  # as S3 lists an object under its own key
                stat = base.stat()
                yield ObjectInfo(key=prefix, size=stat.st_size, modified=stat.st_mtime)
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                stat = path.stat()
                key = path.relative_to(self.root).as_posix()
                yield ObjectInfo(key=key, size=stat.st_size, modified=stat.st_mtime)

    def read(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        path = self.root / key
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                return handle.read() if length is None else handle.read(length)
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc

    def size(self, key: str) -> int:
        return (self.root / key).stat().st_size

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def delete(self, key: str) -> None:
        path = self.root / key
        if key.endswith("/"):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def uri(self, key: str = "") -> str:
        return hadoop_file_uri(self.root / key) if key else hadoop_file_uri(self.root)


class S3Store:
    """A bucket on an S3-compatible server."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.bucket = bucket
        self.client = client

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    if item["Key"].endswith("/"):
                        continue  # folder markers
                    yield ObjectInfo(
                        key=item["Key"],
                        size=int(item["Size"]),
                        modified=item["LastModified"].timestamp(),
                    )
        except (BotoCoreError, ClientError) as exc:
            raise _storage_error(exc, f"s3://{self.bucket}/{prefix}") from exc

    def read(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        byte_range = f"bytes={start}-" if length is None else f"bytes={start}-{start + length - 1}"
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, Range=byte_range)
            return bytes(response["Body"].read())
        except (BotoCoreError, ClientError) as exc:
            raise _storage_error(exc, f"s3://{self.bucket}/{key}") from exc

    def size(self, key: str) -> int:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except (BotoCoreError, ClientError) as exc:
            raise _storage_error(exc, f"s3://{self.bucket}/{key}") from exc

    def put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise _storage_error(exc, f"s3://{self.bucket}/{key}") from exc

    def delete(self, key: str) -> None:
        keys = [o.key for o in self.list(key)] if key.endswith("/") else [key]
        try:
            for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 at most
                chunk = [{"Key": k} for k in keys[start : start + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk})
        except (BotoCoreError, ClientError) as exc:
            raise _storage_error(exc, f"s3://{self.bucket}/{key}") from exc

    def uri(self, key: str = "") -> str:
        return f"s3a://{self.bucket}/{key}" if key else f"s3a://{self.bucket}"


def _storage_error(exc: BotoCoreError | ClientError, where: str) -> StorageError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    error = StorageError(
        f"{where}: {code}",
        hint="check that the S3 endpoint is up (`headwater stack status`) and the bucket exists",
        path=where,
    )
    error.transient = code not in {"NoSuchBucket", "NoSuchKey", "AccessDenied", "404"}
    return error


def s3_client(settings: Settings) -> Any:
    """The one boto3 S3 client factory (credentials from settings, never logged)."""
    import boto3
    from botocore.config import Config

    s3 = settings.s3
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        region_name=s3.region,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key.get_secret_value(),
        config=Config(
            s3={"addressing_style": "path" if s3.path_style else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        ),
    )


def open_store(settings: Settings, bucket: str) -> ObjectStore:
    if settings.profile == "local":
        return LocalStore(settings.lake_path, bucket)
    return S3Store(s3_client(settings), bucket)


def locate(settings: Settings, uri: str) -> tuple[ObjectStore, str]:
    """The store and key prefix behind a Hadoop URI (``s3a://bucket/prefix``, or a
    ``file://`` path: under the local lake, its bucket; elsewhere, its own folder)."""
    if uri.startswith("file:"):
        path = Path("/" + uri.removeprefix("file:").lstrip("/"))
        try:
            bucket, _, prefix = path.relative_to(settings.lake_path).as_posix().partition("/")
            return LocalStore(settings.lake_path, bucket), prefix
        except ValueError:
            return LocalStore(path.parent, path.name), ""
    text = uri.split("://", 1)[1] if "://" in uri else uri
    bucket, _, prefix = text.strip("/").partition("/")
    return open_store(settings, bucket), prefix


def ensure_buckets(settings: Settings, buckets: list[str]) -> None:
    if settings.profile == "local":
        for bucket in buckets:
            (settings.lake_path / bucket).mkdir(parents=True, exist_ok=True)
        return
    client = s3_client(settings)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)


def upload_tree(store: ObjectStore, folder: Path, prefix: str) -> int:
    """Copy a local folder into a store under ``prefix``; returns the file count."""
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}".lstrip("/")
            if isinstance(store, LocalStore):
                target = store.root / key
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)  # keeps the mtime: a re-copy is not a new file
            else:
                store.put(key, path.read_bytes())
            count += 1
    return count


def delta_uri(settings: Settings, location: str) -> tuple[str, dict[str, str]]:
    """delta-rs's URI and storage options for a Hadoop location. Never log the options."""
    if location.startswith("file:"):
        return "/" + location.removeprefix("file:").lstrip("/"), {}
    s3 = settings.s3
    options = {
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_REGION": s3.region,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key.get_secret_value(),
        "AWS_ALLOW_HTTP": str(s3.endpoint.startswith("http:")).lower(),
        # one writer per table is headwater's own lock (the run-state database)
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": str(not s3.path_style).lower(),
    }
    return "s3://" + location.split("://", 1)[1], options
