from __future__ import annotations

import re

import pytest

from catalog import ddl
from catalog.model import Column, Table
from engine.classify.grok import GrokError, compile_grok, grok_classifier
from engine.classify.registry import classify, make_sample

LOGS = {
    "combined_apache": b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 '
    b'2326 "http://example.com/" "Mozilla/4.08"\n'
    b'10.0.0.2 - - [10/Oct/2000:13:55:37 -0700] "POST /x HTTP/1.1" 404 - "-" "curl/8"\n',
    "apache": b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326\n',
    "linux_kernel": b"Jan  1 10:00:00 host1 kernel: [   12.345678] usb 1-1: new device\n"
    b"Jan  1 10:00:01 host1 kernel: [   13.000001] eth0: link up\n",
    "ruby_logger": b"I, [2026-01-01T10:00:00.123456 #1234]  INFO -- app: started\n"
    b"E, [2026-01-01T10:00:01.000001 #1234] ERROR -- app: boom\n",
    "squid": b"1286536308.779    180 192.168.0.224 TCP_MISS/200 411 GET http://example.com/ - "
    b"DIRECT/1.2.3.4 text/html\n",
    "redislog": b"1234:M 14 Nov 2026 07:01:22.119 * Ready to accept connections\n"
    b"1234:M 14 Nov 2026 07:01:23.001 # Warning: no config file\n",
    "syslog": b"Nov 28 03:00:01 web01 CRON[1234]: (root) CMD (run-parts /etc/cron.hourly)\n"
    b"Nov 28 03:00:02 web01 sshd[99]: Accepted publickey for x\n",
}


@pytest.mark.parametrize("classification", sorted(LOGS))
def test_each_built_in_log_format_is_recognised(classification: str) -> None:
    data = LOGS[classification]
    verdict = classify(make_sample("x.log", len(data), data))
    assert verdict.classification == classification
    assert verdict.properties["grokPattern"]
    assert verdict.options["input.regex"]


def test_typed_fields_and_the_java_regex_have_one_group_per_column() -> None:
    pattern = compile_grok("%{COMMONAPACHELOG}")
    assert [c.name for c in pattern.columns][:3] == ["clientip", "ident", "auth"]
    assert dict((c.name, c.type) for c in pattern.columns)["response"] == "int"
    java = re.compile(pattern.java_regex)  # the Java dialect is also valid Python here
    line = LOGS["apache"].decode().strip()
    match = java.fullmatch(line)
    assert match is not None and match.groups().__len__() == len(pattern.columns)
    assert match.group(1) == "127.0.0.1" and "200" in match.groups()


def test_custom_patterns_and_bad_expressions() -> None:
    pattern = compile_grok("%{ORDER:order} %{INT:qty:int}", {"ORDER": r"ORD-\d+"})
    assert pattern.python.fullmatch("ORD-17 3").groupdict() == {"order": "ORD-17", "qty": "3"}
    with pytest.raises(GrokError, match="unknown grok pattern"):
        compile_grok("%{NOPE:x}")
    with pytest.raises(GrokError, match="twice"):
        compile_grok("%{INT:a} %{INT:a}")


def test_a_mostly_unmatched_file_is_not_a_log() -> None:
    classifier = grok_classifier("apache", "%{COMMONAPACHELOG}")
    data = LOGS["apache"] + b"not a log line\nnor this\n"
    assert classifier(make_sample("x.log", len(data), data)).certainty == 0.0


def test_log_tables_are_hive_regex_serde_tables() -> None:
    table = Table(
        "landing",
        "kern",
        (Column("uptime", "double"),),
        "s3a://landing/kern",
        "regex",
        (Column("dt", "string"),),
        {"classification": "linux_kernel"},
        {"input.regex": r"\[(\d+)\]"},
    )
    sql = ddl.create_table_sql(table)
    assert "(`uptime` double) PARTITIONED BY (`dt` string) ROW FORMAT SERDE" in sql
    assert "'org.apache.hadoop.hive.serde2.RegexSerDe'" in sql
    assert r"WITH SERDEPROPERTIES ('input.regex' = '\\[(\\d+)\\]')" in sql
    assert "STORED AS TEXTFILE LOCATION 's3a://landing/kern'" in sql
