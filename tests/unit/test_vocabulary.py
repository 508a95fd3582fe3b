"""Every recorded state and action is named through engine.vocabulary (issue 17)."""

from __future__ import annotations

import ast
from pathlib import Path

from engine import vocabulary

ROOT = Path(__file__).resolve().parents[2]
# Values no ordinary word shares: a string literal equal to one outside the
# vocabulary module is a state written by hand. ("create", "fail", "DATA" … are
# also plain words and SQL; those enums are checked by the type checker only.)
DISTINCT = {
    *vocabulary.RunState,
    *vocabulary.BookmarkStatus,
    *vocabulary.BookmarkOption,
    *vocabulary.RuleOutcome,
    *vocabulary.TableLoadState,
    *vocabulary.FiringOutcome,
    vocabulary.CrawlAction.LOGGED,
}


def _bare_states(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in DISTINCT
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_no_module_spells_a_state_by_hand() -> None:
    sources = [
        path
        for folder in ("engine", "catalog", "jobs")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "engine" / "vocabulary.py"
    ]
    assert len(sources) > 50
    found = [hit for path in sources for hit in _bare_states(path)]
    assert found == []


def test_members_are_their_strings() -> None:
    assert vocabulary.RunState.FAILED == "FAILED"
    assert f"{vocabulary.CrawlAction.LOGGED}" == "update-logged"
    assert vocabulary.BOOKMARK_OPTIONS == (
        "job-bookmark-enable",
        "job-bookmark-disable",
        "job-bookmark-pause",
    )
