from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_settings
from engine.errors import ConfigError
from engine.ingest.args import resolve_options
from engine.ingest.spec import parse_spec

pytestmark = pytest.mark.usefixtures("isolated")


def test_defaults_are_local_and_loopback() -> None:
    settings = load_settings()
    assert settings.profile == "local"
    assert settings.stack.metastore_uri == "thrift://127.0.0.1:9083"
    assert settings.bucket_uri("raw").startswith("file:///")


def test_environment_beats_project_file_beats_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("headwater.yaml").write_text(
        "settings:\n  profile: stack\n  stack:\n    thrift_port: 11000\n    minio_port: 19000\n"
    )
    monkeypatch.setenv("HEADWATER_STACK__THRIFT_PORT", "12000")
    settings = load_settings()
    assert settings.profile == "stack"
    assert settings.stack.thrift_port == 12000  # env wins
    assert settings.stack.minio_port == 19000  # file beats default
    assert settings.bucket_uri("raw") == "s3a://raw"
    assert load_settings(profile="local").profile == "local"  # explicit override wins


def test_environment_names_are_case_blind_nested_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("headwater.yaml").write_text("settings:\n  s3:\n    region: eu-west-1\n")
    monkeypatch.setenv("headwater_stack__postgres_port", "15432")
    monkeypatch.setenv("HEADWATER_S3", '{"endpoint": "http://127.0.0.1:9100"}')
    monkeypatch.setenv("HEADWATER_S3__ACCESS_KEY", "ak")
    monkeypatch.setenv("HEADWATER_API_KEYS", "AKID:SECRET")  # read by the API, not a setting
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", "headwater.yaml")
    settings = load_settings(stack={"thrift_port": 12001})
    assert settings.stack.postgres_port == 15432
    assert settings.stack.thrift_port == 12001  # an override merges into the env's section
    assert settings.s3.endpoint == "http://127.0.0.1:9100"
    assert settings.s3.access_key == "ak"
    assert settings.s3.region == "eu-west-1"  # the file's key the environment did not set
    monkeypatch.setenv("HEADWATER_S3", "{not json")
    with pytest.raises(ConfigError, match="HEADWATER_S3 is not valid JSON"):
        load_settings()


def test_a_bad_value_names_the_key_and_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_STACK__THRIFT_PORT", "ten")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "stack.thrift_port" in str(caught.value)
    assert "HEADWATER_STACK__THRIFT_PORT" in str(caught.value)


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_S3__SECRET_KEY", "hunter2-very-secret")
    settings = load_settings()
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.s3)
    assert settings.s3.secret_key.get_secret_value() == "hunter2-very-secret"


def test_invalid_yaml_names_the_file() -> None:
    Path("headwater.yaml").write_text("settings: [unclosed\n")
    with pytest.raises(ConfigError, match=r"headwater\.yaml"):
        load_settings()


def test_active_stack_marker_makes_stack_the_default(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "ACTIVE").write_text("up")
    assert load_settings(stack={"state_dir": state}).profile == "stack"


def test_glue_style_arguments() -> None:
    options = resolve_options(
        ["--JOB_NAME", "demo", "--source=landing.t", "--target", "raw.t", "--extra", "x"],
        ["JOB_NAME", "source", "target"],
    )
    assert options == {"JOB_NAME": "demo", "source": "landing.t", "target": "raw.t", "extra": "x"}
    spec = parse_spec(options)
    assert (spec.sink.database, spec.sink.table) == ("raw", "t")


def test_missing_and_malformed_arguments_are_named() -> None:
    with pytest.raises(ConfigError, match="--target"):
        resolve_options(["--JOB_NAME", "x", "--source", "a.b"], ["JOB_NAME", "source", "target"])
    with pytest.raises(ConfigError, match="--source"):
        parse_spec({"JOB_NAME": "x", "source": "nodot", "target": "raw.t"})
