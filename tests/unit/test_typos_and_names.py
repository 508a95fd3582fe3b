"""Typos and unsafe names end in one named error, before any JVM starts (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import check_name, project_section
from engine.errors import ConfigError
from tests.helpers import clean_env, run_cli

pytestmark = pytest.mark.usefixtures("isolated")


def test_an_unknown_top_level_key_is_named_with_a_suggestion() -> None:
    Path("headwater.yaml").write_text("job:\n  sales: {}\n")
    with pytest.raises(ConfigError) as caught:
        project_section("jobs")
    assert "unknown top-level key 'job'" in str(caught.value)
    assert "did you mean 'jobs'" in str(caught.value)


def test_the_project_file_is_parsed_once_per_version_of_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import yaml

    parsed = []
    real = yaml.safe_load
    monkeypatch.setattr(yaml, "safe_load", lambda text: parsed.append(text) or real(text))
    Path("headwater.yaml").write_text("jobs:\n  a: {}\ncrawlers:\n  b: {}\n")
    project_section("jobs")["a"]["changed"] = True  # a caller's copy
    assert project_section("jobs") == {"a": {}}
    assert project_section("crawlers") == {"b": {}}
    assert len(parsed) == 1
    Path("headwater.yaml").write_text("jobs:\n  c: {}\ncrawlers:\n  b: {}\n")  # same size
    assert project_section("jobs") == {"c": {}}
    assert len(parsed) == 2


@pytest.mark.parametrize("name", ["../../../x", "/etc/passwd", ".hidden", "a/b", "", "a\nb"])
def test_names_that_would_escape_as_paths_are_refused(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_name("job", name)
    assert repr(name) in str(caught.value) and "folder" in str(caught.value)


def test_ordinary_names_pass() -> None:
    assert check_name("job", "sales_2026.v1-b") == "sales_2026.v1-b"


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = clean_env(HEADWATER_HOME=str(tmp_path / "home"), HEADWATER_PROFILE="local")
    done = run_cli(list(args), env, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_a_job_named_like_a_path_is_refused_before_spark(tmp_path: Path) -> None:
    code, out = _cli(
        tmp_path, "job", "run", "../../../x", "--source", "s3://landing/x/", "--target", "raw.x"
    )
    assert code != 0 and "job name '../../../x' is not allowed" in out
    assert not (tmp_path / "x").exists() and "Traceback" not in out


def test_a_local_folder_or_an_empty_path_is_not_crawled_silently(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("id,name\n1,a\n")
    code, out = _cli(tmp_path, "crawl", "./data")
    assert code != 0 and "./data is a local folder" in out
    assert "headwater land ./data s3://landing/data/" in out

    code, out = _cli(tmp_path, "crawl", "data")  # not a crawler of headwater.yaml: the folder
    assert code != 0 and "data is a local folder" in out

    code, out = _cli(tmp_path, "land", "./data", "s3://landing/data/")
    assert code == 0, out
    assert (tmp_path / "home" / "lake" / "landing" / "data" / "a.csv").is_file()

    code, out = _cli(tmp_path, "crawl", "s3://nosuchbucket/x/", "--plan")
    assert code != 0 and "bucket 'nosuchbucket' does not exist" in out and "Traceback" not in out
    code, out = _cli(tmp_path, "crawl", "s3://landing/data/", "--database", "no-such db")
    assert code != 0 and "database name 'no-such db' is not allowed" in out


def test_classify_reports_each_file_and_reads_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "good.csv").write_text("id,name\n1,a\n2,b\n")
    (folder / "bad.parquet").write_bytes(b"PAR1" + b"\0" * 40 + b"PAR1")
    code, out = _cli(tmp_path, "classify", str(folder), "--json")
    assert code == 1  # one file failed; the other is still classified
    assert "good.csv" in out and '"classification": "csv"' in out
    assert "bad.parquet" in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--arg", "write_mode=bogus"], "--write_mode 'bogus' must be one of"),
        (["--arg", "max_bad_records=-3"], "--max_bad_records must be a number"),
        (["--arg", "quality=missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_job_arguments_are_refused_before_spark_and_leave_no_run(
    tmp_path: Path, extra: list[str], said: str
) -> None:
    args = ["job", "run", "x", "--source", "s3://landing/x/", "--target", "raw.x"]
    args += ["--arg", "format=csv"]
    args += extra
    code, out = _cli(tmp_path, *args)
    assert code != 0 and said in " ".join(out.split()), out
    assert "spark-submit" not in out and "Traceback" not in out
    code, out = _cli(tmp_path, "job", "runs", "x", "--json")
    assert code == 0 and out.strip() in ("[]", ""), out


def test_a_bad_target_and_an_unset_password_are_refused_before_spark(tmp_path: Path) -> None:
    code, out = _cli(tmp_path, "job", "run", "x", "--source", "landing.x", "--target", "nodot")
    assert code != 0 and "--target 'nodot' must be database.table" in out
    (tmp_path / "headwater.yaml").write_text(
        "connections:\n  shop_db: {url: 'jdbc:postgresql://127.0.0.1:1/shop', user: u, "
        "password_env: HW_TEST_UNSET_PASSWORD}\n"
        "jobs:\n  orders: {arguments: {connection: shop_db, source: public.orders, "
        "target: raw.orders}}\n"
    )
    env = clean_env(
        HEADWATER_HOME=str(tmp_path / "home"),
        HEADWATER_PROFILE="local",
        HEADWATER_PROJECT_FILE=str(tmp_path / "headwater.yaml"),
    )
    done = run_cli(["job", "run", "orders"], env, timeout=60)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0 and "HW_TEST_UNSET_PASSWORD" in said and "is not set" in said
    assert "spark-submit" not in said
