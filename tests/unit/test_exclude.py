from __future__ import annotations

import pytest

from engine.crawl.exclude import glob_to_regex, is_excluded


@pytest.mark.parametrize(
    ("pattern", "key", "excluded"),
    [
        ("*.tmp", "a.tmp", True),
        ("*.tmp", "dir/a.tmp", False),
        ("**.tmp", "dir/sub/a.tmp", True),
        ("**/*.tmp", "a.tmp", True),
        ("**/*.tmp", "dir/a.tmp", True),
        ("logs/**", "logs/2026/01/x.log", True),
        ("logs/**", "other/x.log", False),
        ("*.{csv,json}", "a.json", True),
        ("*.{csv,json}", "a.parquet", False),
        ("dt=2026-01-0[1-3]/**", "dt=2026-01-02/x.csv", True),
        ("dt=2026-01-0[1-3]/**", "dt=2026-01-05/x.csv", False),
        ("file?.csv", "file1.csv", True),
    ],
)
def test_glob_semantics(pattern: str, key: str, excluded: bool) -> None:
    assert is_excluded(key, [glob_to_regex(pattern)]) is excluded
