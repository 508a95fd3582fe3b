"""The JVM jars come from jars.lock with Python alone (issue 18: no Maven to set up)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine import artifacts
from engine.config import load_settings
from engine.errors import SetupError

pytestmark = pytest.mark.unit


def test_the_lock_was_made_from_the_current_pom() -> None:
    pom_digest, jars = artifacts.read_jar_lock()
    assert pom_digest == artifacts._digest(artifacts.POM), (
        "engine/stack/jars/pom.xml changed: run `make jars-lock` and commit jars.lock"
    )
    names = {(j.group, j.artifact) for j in jars}
    assert ("io.delta", "delta-spark_4.2_2.13") in names
    assert ("org.apache.hadoop", "hadoop-aws") in names
    assert all(len(j.sha1) == 40 for j in jars)


def _repository(tmp_path: Path, data: bytes, sha1: str) -> tuple[Path, Path]:
    """A one-jar Maven layout under tmp_path and a lock naming it."""
    jar = tmp_path / "repo" / "org" / "example" / "thing" / "1.0" / "thing-1.0.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(data)
    lock = tmp_path / "jars.lock"
    lock.write_text(f"# pom abc\norg.example:thing:1.0 {sha1}\n")
    return tmp_path / "repo", lock


def test_set_up_downloads_the_locked_jars_and_checks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"PK\x03\x04 a jar"
    repo, lock = _repository(tmp_path, data, hashlib.sha1(data).hexdigest())
    monkeypatch.setattr(artifacts, "JAR_LOCK", lock)
    monkeypatch.setenv(artifacts.MAVEN_REPO_ENV, repo.as_uri())
    settings = load_settings(profile="local", home=tmp_path / "home", cache_dir=tmp_path / "c")
    folder = artifacts.resolve_jars(settings)
    assert [p.name for p in folder.glob("*.jar")] == ["thing-1.0.jar"]
    assert (folder / "thing-1.0.jar").read_bytes() == data


def test_a_jar_whose_checksum_differs_is_refused_and_nothing_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, lock = _repository(tmp_path, b"altered", "0" * 40)
    monkeypatch.setattr(artifacts, "JAR_LOCK", lock)
    monkeypatch.setenv(artifacts.MAVEN_REPO_ENV, repo.as_uri())
    settings = load_settings(profile="local", home=tmp_path / "home", cache_dir=tmp_path / "c")
    with pytest.raises(SetupError, match=r"thing-1.0.jar has SHA-1 .*, not the locked 0000"):
        artifacts.resolve_jars(settings)
    assert not any(settings.jar_dir.rglob("*.jar"))
    missing = tmp_path / "empty"
    missing.mkdir()
    monkeypatch.setenv(artifacts.MAVEN_REPO_ENV, missing.as_uri())
    with pytest.raises(SetupError, match=r"downloading org.example:thing:1.0 from file:"):
        artifacts.resolve_jars(settings)
