"""Each class of messy input (tests/pollution_cases.py) is classified as it must be:
the right format, header and column names — or a named refusal."""

from __future__ import annotations

import pytest

from engine.classify.model import UNKNOWN
from engine.classify.registry import classify, make_sample
from tests.pollution_cases import CASES, Pollution


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_messy_file_is_classified_as_it_is_written(case: Pollution) -> None:
    verdict = classify(make_sample(case.file_name, len(case.data), case.data))
    if case.refused:
        assert verdict.classification == UNKNOWN
        assert case.refused in verdict.reason, verdict.reason
        return
    assert verdict.classification == case.classification, verdict.reason
    assert tuple(c.name for c in verdict.columns) == case.columns


def test_an_unknown_file_gets_the_reason_of_the_nearest_classifier() -> None:
    text = b"a,b,c\n1,2\n3,4,5,6\n7\n"
    verdict = classify(make_sample("x.csv", len(text), text))
    assert verdict.classification == UNKNOWN
    assert verdict.reason.startswith("not csv: rows disagree on the column count")
    lines = b"".join(b"Nov 28 03:00:%02d web01 CRON[12]: job %d\n" % (i, i) for i in range(15))
    lines += b"not a log line\n" * 5  # 75 %: no log, and no table split by blanks
    verdict = classify(make_sample("x.log", len(lines), lines))
    assert verdict.classification == UNKNOWN
    assert verdict.reason.startswith("not syslog: grok pattern missed 5 of the first 20 lines")


def test_a_log_most_of_whose_lines_fit_is_a_log_not_a_table_split_by_blanks() -> None:
    lines = b"".join(b"Nov 28 03:00:%02d web01 CRON[12]: job %d\n" % (i, i) for i in range(9))
    lines += b"--- last message repeated 1 time ---\n"
    verdict = classify(make_sample("x.log", len(lines), lines))
    assert verdict.classification == "syslog", verdict.reason
    lines = b"".join(b"Nov 28 03:00:%02d web01 CRON[12]: job %d\n" % (i, i) for i in range(15))
    lines += b"seven words that are not a log\n" * 4 + b"other\n"  # 7 blank-split fields
    verdict = classify(make_sample("x.log", len(lines), lines))
    assert verdict.classification == UNKNOWN  # not a table split by blanks either
    assert verdict.reason.startswith("not syslog:"), verdict.reason


def test_a_rotated_log_that_opens_mid_stack_trace_is_still_a_log() -> None:
    trace = b"".join(b"\tat org.example.Worker.run(Worker.java:%d)\n" % i for i in range(8))
    lines = b"".join(
        b"2015-10-18 18:01:%02d,000 INFO [main] org.example.App: step %d\n" % (i, i)
        for i in range(40)
    )
    verdict = classify(make_sample("app.log.1", len(trace + lines), trace + lines))
    assert verdict.classification == "log4j", verdict.reason
