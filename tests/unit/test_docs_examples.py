"""Every headwater.yaml example in docs/ loads as it is shown (issue 16): connections,
classifiers, crawlers, jobs (with their quality suites), replication tasks, triggers
and workflows are validated by the same loaders a run uses, so an example the docs
show cannot be one that headwater refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.config import PROJECT_FILE_ENV
from engine.connections import load_connections
from engine.definitions import load_classifiers, load_crawlers
from engine.ingest.definitions import job_suite, load_jobs
from engine.orchestrate.definitions import load_flows
from engine.replicate.definitions import load_tasks, replication_task
from tests.unit.test_dms_mapping import include

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXAMPLES = [
    (f"{doc.name}#{n}", text)
    for doc in sorted(DOCS.glob("*.md"))
    for n, text in enumerate(BLOCK.findall(doc.read_text()), 1)
]
MAPPING = {"rules": [include("1", "public", "%")]}
SUITE = {"name": "sales", "expectations": []}


@pytest.fixture(autouse=True)
def _project(isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(PROJECT_FILE_ENV, str(tmp_path / "headwater.yaml"))
    for name in ("mappings/shop.json", "mappings/orders.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(json.dumps(MAPPING))
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "sales.json").write_text(json.dumps(SUITE))
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "notify.py").write_text("print('notified')\n")


def test_the_docs_show_yaml_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_a_docs_example_loads(where: str, text: str, tmp_path: Path) -> None:
    (tmp_path / "headwater.yaml").write_text(text)
    load_connections()
    load_classifiers()
    load_crawlers()
    for name in load_jobs():
        job_suite(name, None)
    for name in load_tasks():
        replication_task(name)
    load_flows()
