from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions import crawler, load_crawlers
from engine.errors import ConfigError


@pytest.fixture(autouse=True)
def _project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "headwater.yaml"
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))
    return path


def test_a_crawler_definition_becomes_targets(_project: Path) -> None:
    _project.write_text(
        "crawlers:\n"
        "  landing:\n"
        "    database: landing\n"
        "    table_prefix: l_\n"
        "    sample_size: 3\n"
        "    targets:\n"
        "      - path: s3://landing/sales/\n"
        "        exclusions: ['**.bak']\n"
    )
    (target,) = crawler("landing").crawl_targets()
    assert (target.bucket, target.prefix, target.database) == ("landing", "sales", "landing")
    assert (target.sample_size, target.exclusions, target.table_prefix) == (3, ("**.bak",), "l_")


def test_errors_name_the_file_and_key_path(_project: Path) -> None:
    _project.write_text("crawlers:\n  bad:\n    database: x\n    targets: []\n")
    with pytest.raises(ConfigError) as caught:
        load_crawlers()
    assert "crawlers.bad.targets" in str(caught.value)
    assert str(_project) in str(caught.value)
    _project.write_text(
        "crawlers:\n  bad:\n    database: x\n    sample_size: 0\n    targets: [{path: 's3://a/'}]\n"
    )
    with pytest.raises(ConfigError, match=r"crawlers\.bad\.sample_size"):
        load_crawlers()


def test_an_unknown_crawler_lists_the_known_ones(_project: Path) -> None:
    _project.write_text("crawlers:\n  one:\n    database: d\n    targets: [{path: 's3://a/'}]\n")
    with pytest.raises(ConfigError, match="known: one"):
        crawler("two")
