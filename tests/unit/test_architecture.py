"""The package layers of docs/architecture.md, enforced (issue 17; run by `make lint`).

Every import between headwater's packages — at the top of a module or inside a
function, except under ``if TYPE_CHECKING`` — must go down the layers below, never
up and never sideways between packages of one layer. The Spark adapters live in
``engine/spark/`` (the one folder that imports pyspark) but belong to the layer of
the package they serve.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Top to bottom; packages on one line are independent of each other.
LAYERS = [
    ["engine.cli", "jobs"],
    ["engine.api"],
    ["engine.orchestrate"],
    ["engine.handoff", "engine.definitions", "engine.demo", "engine.maintenance"],
    ["engine.replicate"],
    ["engine.ingest"],
    ["engine.crawl"],
    ["engine.catalogs"],
    ["engine.spark"],
    ["engine.stack"],
    ["engine.lake"],
    ["engine.state"],
    ["engine.quality"],
    [
        "engine.classify",
        "engine.storage",
        "engine.connections",
        "engine.artifacts",
        "engine.process",
    ],
    ["engine.config", "engine.schema"],
    ["engine.errors", "engine.vocabulary", "engine.faults"],
    ["catalog"],
]
# Spark adapters: module -> the package whose layer it is in
ADAPTERS = {
    "engine.spark.crawl": "engine.crawl",
    "engine.spark.transforms": "engine.ingest",
    "engine.spark.quality": "engine.quality",
    "engine.spark.replicate": "engine.replicate",
    # the Spark settings (no pyspark): the session's and the Thrift Server's
    "engine.spark.conf": "engine.stack",
}
RANK = {package: index for index, layer in enumerate(LAYERS) for package in layer}


def component(module: str) -> str:
    """The layer package of a dotted module name (``engine.state.store`` → ``engine.state``)."""
    for adapter, owner in ADAPTERS.items():
        if module == adapter or module.startswith(adapter + "."):
            return owner
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "engine" and len(parts) > 1 else parts[0]


def module_name(relative: str) -> str:
    """``engine/state/store.py`` → ``engine.state.store``."""
    return ".".join(Path(relative).with_suffix("").parts).removesuffix(".__init__")


def imported(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every headwater import (``from a.b import c`` gives ``a.b.c``:
    c may be a module), skipping ``if TYPE_CHECKING:`` blocks."""
    skipped = {
        id(node)
        for block in tree.body
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if re.match(r"(engine|catalog|jobs)\b", name)]


def violations(relative: str, text: str) -> list[str]:
    """The imports of the module at ``relative`` (its source ``text``) that break the layers."""
    source = component(module_name(relative))
    found = []
    for line, name in imported(ast.parse(text)):
        target = component(name)
        if target not in RANK:  # ``from engine.x import Name``: x is the module
            target = component(name.rsplit(".", 1)[0])
        if target == source:
            continue
        if source not in RANK or target not in RANK:
            found.append(f"{relative}:{line}: {name} (a package of no layer)")
        elif RANK[target] <= RANK[source]:
            way = "sideways" if RANK[target] == RANK[source] else "up"
            found.append(f"{relative}:{line}: imports {name} ({way}: {source} → {target})")
    return found


def test_imports_go_down_the_layers() -> None:
    sources = [p for folder in ("engine", "catalog", "jobs") for p in (ROOT / folder).rglob("*.py")]
    assert len(sources) > 100
    found = [
        problem
        for path in sorted(sources)
        for problem in violations(str(path.relative_to(ROOT)), path.read_text())
    ]
    assert found == [], "see docs/architecture.md:\n" + "\n".join(found)


def test_every_package_has_a_layer_and_the_doc_shows_the_same_layers() -> None:
    packages = {
        component(module_name(str(p.relative_to(ROOT)))) for p in (ROOT / "engine").rglob("*.py")
    }
    packages.discard("engine")  # engine/__init__.py
    assert packages <= set(RANK), sorted(packages - set(RANK))
    doc = (ROOT / "docs" / "architecture.md").read_text()
    block = doc.split("```text\n", 1)[1].split("```", 1)[0]
    shown = [line.split("#")[0].split() for line in block.splitlines() if line.strip()]
    assert [[p.removesuffix(",") for p in line] for line in shown] == LAYERS


def test_the_checker_sees_upward_and_sideways_imports() -> None:
    text = (
        "from typing import TYPE_CHECKING\n"
        "from engine.state.store import RunStore\n"  # down: allowed
        "if TYPE_CHECKING:\n"
        "    from engine.ingest.context import JobContext\n"  # typing only: allowed
        "def f() -> None:\n"
        "    from engine.ingest import writer\n"
    )
    assert violations("engine/state/probe.py", text) == [
        "engine/state/probe.py:6: imports engine.ingest.writer (up: engine.state → engine.ingest)"
    ]
    assert violations("engine/spark/replicate.py", "import engine.replicate.mapping\n") == []
    assert violations("engine/handoff.py", "from engine.demo import DATA\n") == [
        "engine/handoff.py:1: imports engine.demo.DATA (sideways: engine.handoff → engine.demo)"
    ]


# Function-level imports defer a heavy dependency, and say so (docs/architecture.md).
HEAVY = (
    "engine.spark",  # pyspark and the JVM
    "pyspark",
    "delta",
    "py4j",
    "pyarrow",
    "deltalake",
    "great_expectations",
    "psycopg",
    "thrift",
    "pymetastore",
    "pyhive",
    "catalog.hiveserver2",  # PyHive
    "boto3",
    "botocore",
)
REASON = "# deferred:"
MODULE_REASON = "# deferred imports:"  # one line for every function-level import of a module


def deferred_without_reason(relative: str, text: str) -> list[str]:
    """Function-level imports of the module (its source ``text``) that neither import
    a heavy dependency nor give a reason on their line or for the whole module."""
    if MODULE_REASON in text:
        return []
    lines = text.splitlines()
    found = []
    for function in ast.walk(ast.parse(text)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            heavy = all(re.match(rf"({'|'.join(map(re.escape, HEAVY))})\b", n) for n in names)
            if not heavy and REASON not in lines[node.lineno - 1]:
                found.append(f"{relative}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return sorted(set(found))


def test_function_level_imports_defer_a_heavy_dependency() -> None:
    sources = [p for folder in ("engine", "catalog", "jobs") for p in (ROOT / folder).rglob("*.py")]
    found = [
        problem
        for path in sorted(sources)
        for problem in deferred_without_reason(str(path.relative_to(ROOT)), path.read_text())
    ]
    assert found == [], (
        "import at the top of the module, or say why not (docs/architecture.md):\n"
        + "\n".join(found)
    )


def test_the_checker_sees_a_function_level_import_without_a_reason() -> None:
    text = (
        "def f() -> None:\n"
        "    from engine.spark import lake\n"  # heavy: allowed
        "    import pyarrow.parquet as pq\n"
        "    from engine.state.store import now  # deferred: a cycle, see issue 17\n"
        "    from engine.errors import JobError\n"
    )
    assert deferred_without_reason("engine/x.py", text) == [
        "engine/x.py:5: from engine.errors import JobError"
    ]
    assert deferred_without_reason("engine/x.py", "# deferred imports: speed\n" + text) == []
