"""MinIO, built from source and run as a separate, unmodified server process.

MinIO is AGPL-3.0 and unmaintained since 2025-12; headwater only speaks plain S3 to
it, so any S3-compatible server can replace it (point ``HEADWATER_S3__ENDPOINT`` at
it and skip ``make up``'s MinIO with ``--without minio``).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

from engine import artifacts, storage
from engine.stack.base import Service


class MinioService(Service):
    name = "minio"
    start_timeout = 60.0

    @property
    def port(self) -> int:
        return self.settings.stack.minio_port

    def is_healthy(self) -> bool:
        url = f"http://{self.host}:{self.port}/minio/health/live"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> None:
        self.prepare_dirs()
        binary = artifacts.minio_binary(self.settings)
        if not binary.is_file():
            binary = artifacts.build_minio(self.settings)
        s3 = self.settings.s3
        env = {
            **os.environ,
            "MINIO_ROOT_USER": s3.access_key,
            "MINIO_ROOT_PASSWORD": s3.secret_key.get_secret_value(),
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_CI_CD": "1",
        }
        console = f"{self.host}:{self.settings.stack.minio_console_port}"
        self.process.start(
            [
                str(binary),
                "server",
                "--quiet",
                "--address",
                self.address,
                "--console-address",
                console,
                str(self.dir / "data"),
            ],
            env=env,
        )

    def after_start(self) -> None:
        buckets = self.settings.buckets
        storage.ensure_buckets(self.settings, [buckets.landing, buckets.raw])
