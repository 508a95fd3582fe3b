"""Contract tests run one body against both profiles (as pyiceberg runs one catalog
test against every catalog): ``local`` cases are marked spark, ``stack`` ones stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import Settings, load_settings
from tests.helpers import clean_env


@pytest.fixture(
    params=[
        pytest.param("local", marks=pytest.mark.spark),
        pytest.param("stack", marks=pytest.mark.stack),
    ]
)
def profile_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment a user's commands run with, for each profile."""
    if request.param == "local":
        yield clean_env(HEADWATER_PROFILE="local", HEADWATER_HOME=str(tmp_path / "home"))
    else:
        yield request.getfixturevalue("stack").env


def settings_for(env: dict[str, str]) -> Settings:
    """The settings those commands would load."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
