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


CUSTOM = """
classifiers:
  app_log:
    grok:
      classification: app_log
      pattern: "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{ORDER:order} %{GREEDYDATA:msg}"
      custom_patterns:
        ORDER: "ORD-\\\\d+"
  no_header:
    csv:
      header: absent
  pipes:
    csv:
      delimiter: "|"
crawlers:
  apps:
    database: apps
    classifiers: [app_log, no_header, pipes]
    targets: [{path: "s3://landing/apps/"}]
"""


def test_custom_classifiers_are_tried_first(_project: Path) -> None:
    from engine.classify.registry import BUILT_IN, classify, make_sample
    from engine.definitions import crawl_targets

    _project.write_text(CUSTOM)
    (target,) = crawl_targets("apps")
    chain = (*target.classifiers, *BUILT_IN)
    log = b"2026-01-01T10:00:00Z INFO ORD-17 started\n2026-01-01T10:00:01Z WARN ORD-18 slow\n"
    verdict = classify(make_sample("a.log", len(log), log), chain)
    assert verdict.classification == "app_log"
    assert [c.name for c in verdict.columns] == ["ts", "level", "order", "msg"]
    names = b"alpha,beta\ngamma,delta\n"
    verdict = classify(make_sample("n.csv", len(names), names), chain)
    assert (verdict.classifier, [c.name for c in verdict.columns]) == (
        "no_header",
        ["col0", "col1"],
    )
    assert classify(make_sample("n.csv", len(names), names)).options["header"] == "true"  # built-in


def test_bad_classifier_definitions_are_named(_project: Path) -> None:
    from engine.definitions import crawl_targets, load_classifiers

    _project.write_text(
        "classifiers:\n  both:\n    csv: {}\n    grok: {classification: x, pattern: y}\n"
    )
    with pytest.raises(ConfigError, match=r"classifiers\.both"):
        load_classifiers()
    _project.write_text("classifiers:\n  g:\n    grok: {classification: x, pattern: '%{NOPE:a}'}\n")
    with pytest.raises(ConfigError, match=r"classifiers\.g\.grok\.pattern.*unknown grok pattern"):
        load_classifiers()
    _project.write_text(
        "crawlers:\n  c:\n    database: d\n    classifiers: [missing]\n"
        "    targets: [{path: 's3://a/'}]\n"
    )
    with pytest.raises(ConfigError, match=r"crawlers\.c\.classifiers\[0\] = 'missing'"):
        crawl_targets("c")


def test_xml_json_and_typed_csv_classifiers_from_yaml(_project: Path) -> None:
    from engine.classify.registry import make_sample
    from engine.definitions import load_classifiers

    _project.write_text(
        "classifiers:\n"
        "  items: {xml: {row_tag: item}}\n"
        "  arrays: {json: {json_path: '$[*]'}}\n"
        "  ledger:\n"
        "    csv:\n"
        "      header_names: [account, amount, booked]\n"
        "      header: present\n"
        "      allowed_types: [bigint, string]\n"
        "      column_types: {amount: 'decimal(12,2)'}\n"
    )
    found = load_classifiers()
    xml = b"<o><item a='1'/><item a='2'/></o>"
    assert found["items"](make_sample("x.xml", len(xml), xml)).options["rowTag"] == "item"
    array, lines = b'[{"a": 1}, {"a": 2}]', b'{"a": 1}\n{"a": 2}\n'
    assert found["arrays"](make_sample("a.json", len(array), array)).certainty == 1.0
    refused = found["arrays"](make_sample("l.json", len(lines), lines))
    assert refused.certainty == 0.0 and "$[*]" in refused.reason
    csv = b"acct,amt,day\n7,1.50,2026-01-02\n8,2.25,2026-01-03\n"
    verdict = found["ledger"](make_sample("l.csv", len(csv), csv))
    assert [(c.name, c.type) for c in verdict.columns] == [
        ("account", "bigint"),
        ("amount", "decimal(12,2)"),  # declared
        ("booked", "string"),  # date is not an allowed type
    ]


def test_unsupported_json_paths_and_bad_types_are_refused(_project: Path) -> None:
    from engine.definitions import load_classifiers

    _project.write_text("classifiers:\n  deep: {json: {json_path: '$.records[*]'}}\n")
    with pytest.raises(ConfigError, match=r"classifiers\.deep\.json\.json_path"):
        load_classifiers()
    _project.write_text("classifiers:\n  t: {csv: {column_types: {a: varchar}}}\n")
    with pytest.raises(ConfigError, match=r"classifiers\.t\.csv\.column_types\.a"):
        load_classifiers()


def test_classify_cli_shows_every_verdict_footers_and_custom_classifiers(
    _project: Path, tmp_path: Path
) -> None:
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.helpers import clean_env, run_cli, run_cli_json

    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv.gz").write_bytes(gzip.compress(b"id,when\n1,2026/01/31\n2,2026/02/01\n"))
    pq.write_table(pa.table({"k": [1, 2], "v": ["a", "b"]}), data / "p.parquet")
    (data / "x.log").write_bytes(b"ORD-1 ok\nORD-2 late\n")
    _project.write_text(
        "classifiers:\n  orders: {grok: {classification: orders, pattern: '%{ORD:o} %{WORD:s}',"
        " custom_patterns: {ORD: 'ORD-\\d+'}}}\n"
        "crawlers:\n  c: {database: d, classifiers: [orders], targets: [{path: 's3://a/'}]}\n"
    )
    env = clean_env(HEADWATER_PROJECT_FILE=str(_project), HEADWATER_HOME=str(tmp_path / "home"))
    rows = run_cli_json(["classify", str(data / "a.csv.gz"), str(data / "p.parquet")], env)
    won = {(r["file"].rsplit("/", 1)[-1], r["classification"]): r for r in rows if r["certainty"]}
    assert won[("a.csv.gz", "csv")]["columns"] == "id:bigint, when:date"
    assert won[("p.parquet", "parquet")]["columns"] == "k:bigint, v:string"
    from engine.classify.registry import BUILT_IN

    assert len(rows) == 2 * len(BUILT_IN)  # every built-in classifier, for each file

    custom = run_cli_json(["classify", str(data / "x.log"), "--crawler", "c"], env)
    assert (custom[0]["classifier"], custom[0]["certainty"]) == ("orders", 1.0)

    missing = run_cli(["classify", str(data / "nope.csv")], env)
    assert missing.returncode != 0 and "nope.csv: no such file" in missing.stderr
