"""What `make setup` puts in the cache outside the clone, and where to find it.

* JVM jars (Delta, S3A + AWS SDK modules, JDBC drivers): the pom in
  engine/stack/jars/ resolved once by Maven into ``jars.lock`` (every jar with its
  version and SHA-1), which set-up downloads from Maven Central with Python alone —
  no Maven on the user's machine;
* the loopback metastore launcher, compiled once against the wheel's Hive jars;
* a MinIO server, built once from source with ``go install`` at a pinned version;
* ``spark-defaults.conf`` in the wheel's ``conf/``, listing the cached jars, so that
  plain Python, ``spark-submit jobs/…`` and the Thrift Server all load the same jars.

Nothing here runs at job time: a missing piece raises :class:`SetupError` naming the
command that fills it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from engine.config import Settings
from engine.errors import SetupError

MINIO_MODULE = "github.com/minio/minio"
# The newest commit of MinIO's community repository (unmaintained since 2025-12).
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
METASTORE_LAUNCHER = "LoopbackMetastore"
SETUP_HINT = "run `make setup` (or `headwater stack setup`) once; it fills the cache"

_HERE = Path(__file__).resolve().parent
POM = _HERE / "stack" / "jars" / "pom.xml"
JAR_LOCK = _HERE / "stack" / "jars" / "jars.lock"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
MAVEN_REPO_ENV = "HEADWATER_MAVEN_REPO"  # a mirror of Maven Central, if yours has one
DOWNLOADS = 6
LAUNCHER_SOURCE = _HERE / "stack" / "java" / f"{METASTORE_LAUNCHER}.java"
# Spark's logging for every driver headwater starts (spark-defaults.conf names it)
LOG4J2_FILE = _HERE / "spark" / "log4j2.properties"
LOG4J2_OPTION = f"-Dlog4j2.configurationFile={LOG4J2_FILE}"  # the driver JVM's option


def spark_home() -> Path:
    """The pyspark wheel's SPARK_HOME, found without importing pyspark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("pyspark is not installed in this Python", hint=SETUP_HINT)
    for location in map(Path, spec.submodule_search_locations):
        if (location / "jars").is_dir():
            return location
    # a driver under spark-submit imports pyspark from SPARK_HOME/python/lib/pyspark.zip
    home = os.environ.get("SPARK_HOME")
    if home and (Path(home) / "jars").is_dir():
        return Path(home)
    raise SetupError("pyspark is installed without its jars (not the pip wheel?)", hint=SETUP_HINT)


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def jar_dir(settings: Settings) -> Path:
    """The cache folder of the jars the lock names."""
    return settings.jar_dir / _digest(JAR_LOCK)


@dataclass(frozen=True)
class LockedJar:
    group: str
    artifact: str
    version: str
    sha1: str

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str) -> str:
        path = "/".join([*self.group.split("."), self.artifact, self.version, self.file_name])
        return f"{repository.rstrip('/')}/{path}"


def read_jar_lock(path: Path | None = None) -> tuple[str, list[LockedJar]]:
    """(the digest of the pom it was made from, the jars) of ``jars.lock``."""
    pom_digest, jars = "", []
    for line in (path or JAR_LOCK).read_text().splitlines():
        if line.startswith("# pom "):
            pom_digest = line.split()[2]
        elif line.strip() and not line.startswith("#"):
            coordinates, sha1 = line.split()
            group, artifact, version = coordinates.split(":")
            jars.append(LockedJar(group, artifact, version, sha1))
    return pom_digest, jars


def cached_jars(settings: Settings) -> list[Path]:
    folder = jar_dir(settings)
    jars = sorted(folder.glob("*.jar"))
    if not jars:
        raise SetupError(f"the JVM jar cache {folder} is empty", hint=SETUP_HINT)
    return jars


def jar_path(settings: Settings, prefix: str) -> Path:
    """One cached jar by file-name prefix, e.g. ``postgresql-``."""
    for jar in cached_jars(settings):
        if jar.name.startswith(prefix):
            return jar
    raise SetupError(f"no jar named {prefix}* in {jar_dir(settings)}", hint=SETUP_HINT)


def resolve_jars(settings: Settings) -> Path:
    """Download the locked jars from Maven Central (or ``HEADWATER_MAVEN_REPO``) into
    the cache, once; each checked against its SHA-1. Python alone: no Maven."""
    target = jar_dir(settings)
    if any(target.glob("*.jar")):
        return target
    repository = os.environ.get(MAVEN_REPO_ENV) or MAVEN_CENTRAL
    _, jars = read_jar_lock()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="jars-", dir=target.parent))
    try:
        with ThreadPoolExecutor(DOWNLOADS) as pool:
            list(pool.map(lambda jar: _download(jar, repository, staging), jars))
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _fetch(url: str, what: str, repository: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return bytes(response.read())
    except (OSError, ValueError) as exc:
        raise SetupError(
            f"downloading {what} from {url} failed: {exc}",
            hint=f"set-up needs {repository} once (or set {MAVEN_REPO_ENV} to a mirror of "
            "Maven Central); then run `make setup` again",
        ) from exc


def _download(jar: LockedJar, repository: str, folder: Path) -> None:
    url = jar.url(repository)
    data = _fetch(url, f"{jar.group}:{jar.artifact}:{jar.version}", repository)
    found = hashlib.sha1(data).hexdigest()  # Maven Central publishes SHA-1s
    if found != jar.sha1:
        raise SetupError(
            f"{url} has SHA-1 {found}, not the locked {jar.sha1}: nothing was cached",
            hint=f"a proxy or mirror altered it? check {MAVEN_REPO_ENV}, then run `make setup`",
        )
    (folder / jar.file_name).write_bytes(data)


def driver_jar(settings: Settings, coordinates: str) -> Path:
    """The jar of a connection's JDBC driver (``group:artifact:version``), downloaded
    into the jar cache the first time (Maven Central or ``HEADWATER_MAVEN_REPO``) and
    checked against the SHA-1 published beside it. The driver jar alone: JDBC drivers
    carry their dependencies (a driver that does not is not supported)."""
    group, artifact, version = coordinates.split(":")
    jar = LockedJar(group, artifact, version, "")
    target = settings.jar_dir / "drivers" / group / jar.file_name
    if target.is_file():
        return target
    repository = os.environ.get(MAVEN_REPO_ENV) or MAVEN_CENTRAL
    url = jar.url(repository)
    data = _fetch(url, f"the JDBC driver {coordinates}", repository)
    published = _fetch(url + ".sha1", f"the SHA-1 of {coordinates}", repository)
    expected = published.decode("ascii", "replace").split()[0].strip().lower()
    found = hashlib.sha1(data).hexdigest()
    if found != expected:
        raise SetupError(
            f"{url} has SHA-1 {found}, not the published {expected}: nothing was cached",
            hint=f"a proxy or mirror altered it? check {MAVEN_REPO_ENV}",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(f".{os.getpid()}.part")
    staging.write_bytes(data)
    staging.rename(target)
    return target


def write_jar_lock() -> Path:
    """Resolve the pom with Maven and write ``jars.lock`` (developers: after changing
    pom.xml, `make jars-lock`)."""
    _require_tool("mvn", "Maven (Debian package 'maven')")
    with tempfile.TemporaryDirectory() as work:
        listing = Path(work) / "deps.txt"
        command = ["mvn", "-q", "-B", "-f", str(POM), "dependency:list"]
        command += [f"-DoutputFile={listing}", "-DoutputAbsoluteArtifactFilename=true"]
        _run(command, what="resolving the pom with Maven")
        lines = []
        for line in listing.read_text().splitlines():
            fields = line.strip().split(" ")[0].split(":")
            if len(fields) < 6 or fields[2] != "jar":
                continue
            group, artifact, _, version, _, path = fields[:6]
            sha1 = hashlib.sha1(Path(path).read_bytes()).hexdigest()
            lines.append(f"{group}:{artifact}:{version} {sha1}")
    JAR_LOCK.write_text(
        "# The JVM jars set-up downloads from Maven Central: pom.xml resolved by Maven.\n"
        "# Regenerate with `make jars-lock` after changing pom.xml.\n"
        f"# pom {_digest(POM)}\n" + "\n".join(sorted(lines)) + "\n"
    )
    return JAR_LOCK


def launcher_dir(settings: Settings) -> Path:
    return settings.cache_dir.expanduser().resolve() / "classes" / _digest(LAUNCHER_SOURCE)


def compile_launcher(settings: Settings) -> Path:
    """Compile the loopback metastore launcher against the wheel's Hive jars."""
    target = launcher_dir(settings)
    if (target / f"{METASTORE_LAUNCHER}.class").is_file():
        return target
    _require_tool("javac", "a JDK 17 (Debian package 'openjdk-17-jdk-headless')")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="classes-", dir=target.parent))
    classpath = str(spark_home() / "jars" / "*")
    _run(
        ["javac", "-nowarn", "-d", str(staging), "-cp", classpath, str(LAUNCHER_SOURCE)],
        what="compiling the metastore launcher",
    )
    staging.rename(target)
    return target


def minio_binary(settings: Settings) -> Path:
    binary = settings.cache_dir.expanduser().resolve() / "minio" / MINIO_VERSION / "minio"
    return binary


def build_minio(settings: Settings) -> Path:
    """``go install`` MinIO at the pinned version into the cache (once)."""
    binary = minio_binary(settings)
    if binary.is_file():
        return binary
    _require_tool("go", "Go 1.24 or newer")
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(binary.parent), "CGO_ENABLED": "0"}
    _run(
        ["go", "install", f"{MINIO_MODULE}@{MINIO_VERSION}"],
        what="building MinIO from source (takes a few minutes the first time)",
        env=env,
    )
    return binary


def spark_defaults_path() -> Path:
    return spark_home() / "conf" / "spark-defaults.conf"


def jar_properties(settings: Settings, drivers: list[str] | None = None) -> dict[str, str]:
    """How a Spark driver gets the cached jars: on its system classpath (threads such
    as the Thrift Server's sessions do not see jars added later through spark.jars),
    and through spark.jars for executors; ``drivers``: connections' JDBC drivers by
    Maven coordinates, added (fetched into the cache the first time)."""
    jars = [str(jar) for jar in cached_jars(settings)]
    jars += [str(driver_jar(settings, coordinates)) for coordinates in drivers or []]
    return {"spark.driver.extraClassPath": ":".join(jars), "spark.jars": ",".join(jars)}


def _spark_defaults_text(settings: Settings) -> str:
    jars = "".join(f"{key} {value}\n" for key, value in jar_properties(settings).items())
    return (
        "# Written by `headwater stack setup`: the jars headwater adds to pyspark's own,\n"
        "# and the Python that has headwater installed (for spark-submit jobs/...).\n"
        f"{jars}"
        f"spark.pyspark.python {sys.executable}\n"
        f"spark.pyspark.driver.python {sys.executable}\n"
        f"spark.driver.extraJavaOptions {LOG4J2_OPTION}\n"
    )


def write_spark_defaults(settings: Settings) -> Path:
    """List the cached jars in the wheel's spark-defaults.conf (no secrets here)."""
    path = spark_defaults_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_spark_defaults_text(settings))
    return path


def is_spark_defaults_current(settings: Settings) -> bool:
    path = spark_defaults_path()
    try:
        return path.is_file() and path.read_text() == _spark_defaults_text(settings)
    except SetupError:
        return False


def setup(settings: Settings, *, with_minio: bool = True) -> dict[str, Path]:
    """Fill the cache: jars, launcher class, spark-defaults.conf and (optionally) MinIO."""
    done = {
        "jars": resolve_jars(settings),
        "metastore launcher": compile_launcher(settings),
        "spark-defaults.conf": write_spark_defaults(settings),
    }
    if with_minio:
        done["minio"] = build_minio(settings)
    return done


def _require_tool(name: str, what: str) -> None:
    if shutil.which(name) is None:
        raise SetupError(f"'{name}' is not on PATH", hint=f"install {what}, then {SETUP_HINT}")


def _run(command: list[str], *, what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise SetupError(f"{what} failed (exit {result.returncode}):\n{tail}", hint=SETUP_HINT)
