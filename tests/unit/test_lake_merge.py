"""The merge key's meaning, as each writer's dialect spells it (pure)."""

from __future__ import annotations

import pytest

from engine.lake.merge import duplicate_keys_error, merge_condition


def test_keys_compare_null_safe_and_quoted_in_both_dialects() -> None:
    assert merge_condition(["id", "we`ird"], "spark") == (
        "t.`id` <=> s.`id` AND t.`we``ird` <=> s.`we``ird`"
    )
    assert merge_condition(['my "col"'], "datafusion") == (
        't."my ""col""" IS NOT DISTINCT FROM s."my ""col"""'
    )
    with pytest.raises(ValueError):
        merge_condition([], "spark")


def test_the_duplicate_error_names_keys_values_and_the_table() -> None:
    error = duplicate_keys_error(("id", "day"), [(3, "mon"), (None, "tue")], 5, "s3a://raw/t")
    assert error.message == (
        "the batch has 5 merge key(s) on more than one row (e.g. id=3, day='mon'; "
        "id=None, day='tue'); nothing was written to s3a://raw/t"
    )
    assert "merge_keys" in str(error.hint)
