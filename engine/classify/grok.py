"""Grok: named log patterns, and the built-in log classifiers.

``%{PATTERN}`` inserts a library pattern, ``%{PATTERN:field}`` captures it as a
column, ``%{PATTERN:field:int}`` (or ``:float``) types the column. A grok
expression compiles to a Python regex (to classify samples) and to a Java regex
with one capture group per column, in column order (Hive's ``RegexSerDe`` reads
the table with it, so Spark SQL and the Thrift Server can query log tables).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from catalog.model import Column
from engine.classify.model import Classification, Sample, no_match

# The common subset of the logstash/Glue library. Library patterns use only
# non-capturing groups so that capture groups are exactly the named fields.
PATTERNS: dict[str, str] = {
    "USERNAME": r"[a-zA-Z0-9._-]+",
    "USER": r"%{USERNAME}",
    "INT": r"(?:[+-]?(?:[0-9]+))",
    "POSINT": r"\b(?:[1-9][0-9]*)\b",
    "NONNEGINT": r"\b(?:[0-9]+)\b",
    "NUMBER": r"(?:[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))",
    "BASE10NUM": r"%{NUMBER}",
    "WORD": r"\b\w+\b",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "QUOTEDSTRING": r'"(?:[^"\\]|\\.)*"',
    "QS": r"%{QUOTEDSTRING}",
    "IPV4": r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)",
    "IPV6": r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}",
    "IP": r"(?:%{IPV6}|%{IPV4})",
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*\.?\b",
    "IPORHOST": r"(?:%{IP}|%{HOSTNAME})",
    "HOSTPORT": r"%{IPORHOST}:%{POSINT}",
    "URIPATHPARAM": r"\S+",
    "MONTH": r"\b(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|"
    r"[Jj]un(?:e)?|[Jj]ul(?:y)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo]ct(?:ober)?|"
    r"[Nn]ov(?:ember)?|[Dd]ec(?:ember)?)\b",
    "MONTHNUM": r"(?:0?[1-9]|1[0-2])",
    "MONTHDAY": r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])",
    "DAY": r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|"
    r"Sat(?:urday)?|Sun(?:day)?)",
    "YEAR": r"(?:\d\d){1,2}",
    "HOUR": r"(?:2[0123]|[01]?[0-9])",
    "MINUTE": r"(?:[0-5][0-9])",
    "SECOND": r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)",
    "TIME": r"%{HOUR}:%{MINUTE}(?::%{SECOND})?",
    "ISO8601_TIMEZONE": r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))",
    "TIMESTAMP_ISO8601": r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}"
    r"(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    "HTTPDATE": r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}",
    "SYSLOGTIMESTAMP": r"%{MONTH} +%{MONTHDAY} %{TIME}",
    "PROG": r"[\x21-\x5a\x5c\x5e-\x7e]+",
    "SYSLOGHOST": r"%{IPORHOST}",
    "LOGLEVEL": r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|"
    r"[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|"
    r"CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    "COMMONAPACHELOG": r"%{IPORHOST:clientip} %{USER:ident} %{USER:auth} "
    r"\[%{HTTPDATE:timestamp}\] \"(?:%{WORD:verb} %{NOTSPACE:request}"
    r"(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})\" %{NUMBER:response:int} "
    r"(?:%{NUMBER:bytes:int}|-)",
    "COMBINEDAPACHELOG": r"%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}",
    "RUBY_LOGLEVEL": r"(?:DEBUG|FATAL|ERROR|WARN|INFO|ANY)",
    "REDISTIMESTAMP": r"%{MONTHDAY} %{MONTH} (?:%{YEAR} )?%{TIME}",
    "JAVACLASS": r"(?:[a-zA-Z$_][a-zA-Z$_0-9-]*\.)*[a-zA-Z$_][a-zA-Z$_0-9]*",
    # Timestamps of the common log families (engine.classify.logtime gives Spark's
    # pattern for each): ISO-like (comma or dot fraction), Spark's yy/MM/dd, HDFS's.
    "LOGTIME": r"(?:%{TIMESTAMP_ISO8601}|\d{2}/\d{2}/\d{2} %{TIME}|\d{6} \d{6})",
    "LOGCATTIME": r"%{MONTHNUM}-%{MONTHDAY} %{TIME}",
    "HTTPDERROR_DATE": r"%{MONTH} %{MONTHDAY} %{TIME} %{YEAR}",
    "BGLTIME": r"\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d+",
    "HEALTHTIME": r"\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3}",
    "PROXIFIERTIME": r"%{MONTHNUM}\.%{MONTHDAY} %{TIME}",
    "SYSLOGANYTIME": r"(?:%{SYSLOGTIMESTAMP}|%{TIMESTAMP_ISO8601})",
    "LOGCATLEVEL": r"[VDIWEFA]",
}

_REFERENCE = re.compile(r"%\{(\w+)(?::(\w+))?(?::(int|bigint|long|float|double|string))?\}")
_TYPES = {
    "int": "int",
    "bigint": "bigint",
    "long": "bigint",
    "float": "double",
    "double": "double",
    "string": "string",
}


@dataclass(frozen=True)
class GrokPattern:
    expression: str
    python: re.Pattern[str]
    java_regex: str
    columns: tuple[Column, ...]


class GrokError(ValueError):
    """A grok expression names an unknown pattern or recurses."""


def compile_grok(expression: str, custom: Mapping[str, str] | None = None) -> GrokPattern:
    library = {**PATTERNS, **(custom or {})}
    columns: list[Column] = []

    def expand(text: str, depth: int, capture: bool) -> tuple[str, str]:
        if depth > 20:
            raise GrokError(f"grok pattern recursion too deep in {expression!r}")
        python_parts, java_parts, position = [], [], 0
        for match in _REFERENCE.finditer(text):
            python_parts.append(text[position : match.start()])
            java_parts.append(text[position : match.start()])
            name, field, type_ = match.groups()
            if name not in library:
                raise GrokError(f"unknown grok pattern %{{{name}}} in {expression!r}")
            named = bool(field) and capture
            inner_py, inner_java = expand(library[name], depth + 1, capture and not named)
            if named:
                columns.append(Column(field, _TYPES.get(type_ or "string", "string")))
                python_parts.append(f"(?P<{field}>{inner_py})")
                java_parts.append(f"({inner_java})")
            else:
                python_parts.append(f"(?:{inner_py})")
                java_parts.append(f"(?:{inner_java})")
            position = match.end()
        python_parts.append(text[position:])
        java_parts.append(text[position:])
        return "".join(python_parts), "".join(java_parts)

    python, java = expand(expression, 0, True)
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise GrokError(f"grok expression {expression!r} captures a field twice")
    try:
        compiled = re.compile(python)
    except re.error as exc:
        raise GrokError(f"grok expression {expression!r} is not a valid regex: {exc}") from exc
    return GrokPattern(expression, compiled, java, tuple(columns))


# Glue's built-in log classifiers, in Glue's order, then syslog and the common
# families of system logs (docs/classifiers.md lists them with a line of each).
# The more specific pattern comes first; every one comes before CSV, so a comma in a
# log's timestamp cannot make it a CSV file.
BUILT_IN_LOGS: tuple[tuple[str, str], ...] = (
    ("combined_apache", "%{COMBINEDAPACHELOG}"),
    ("apache", "%{COMMONAPACHELOG}"),
    (
        "linux_kernel",
        r"%{SYSLOGTIMESTAMP:timestamp} %{SYSLOGHOST:logsource} kernel: "
        r"\[ *%{NUMBER:uptime:float}\] %{GREEDYDATA:message}",
    ),
    (
        "ruby_logger",
        r"[DFEWIA], \[%{TIMESTAMP_ISO8601:timestamp} #%{POSINT:pid:int}\] *"
        r"%{RUBY_LOGLEVEL:loglevel} -- %{DATA:progname}: %{GREEDYDATA:message}",
    ),
    (
        "squid",
        r"%{NUMBER:timestamp:double} +%{INT:duration:int} %{IP:client_address} "
        r"%{WORD:cache_result}/%{POSINT:status_code:int} %{INT:bytes:int} "
        r"%{WORD:request_method} %{NOTSPACE:url} %{NOTSPACE:user} "
        r"%{WORD:hierarchy_code}/%{NOTSPACE:server} %{NOTSPACE:content_type}",
    ),
    (
        "redislog",
        r"%{POSINT:pid:int}:%{WORD:role} %{REDISTIMESTAMP:timestamp} [*#.-] "
        r"%{GREEDYDATA:message}",
    ),
    (  # BSD (``Jun 14 15:16:01``) or ISO timestamps; Linux, macOS, OpenSSH, cron …
        "syslog",
        r"%{SYSLOGANYTIME:timestamp} %{SYSLOGHOST:logsource} %{PROG:program}"
        r"(?:\[%{INT:pid:int}\])?: %{GREEDYDATA:message}",
    ),
    (  # Windows CBS: ``2016-09-28 04:30:30, Info   CBS    Loaded …``
        "windows_cbs",
        r"%{TIMESTAMP_ISO8601:timestamp}, %{LOGLEVEL:level} +%{WORD:component} +"
        r"%{GREEDYDATA:message}",
    ),
    (  # OpenStack (oslo.log), optionally after the log file's name
        "openstack",
        r"(?:%{NOTSPACE:log_file} )?%{TIMESTAMP_ISO8601:timestamp} %{INT:pid:int} "
        r"%{LOGLEVEL:level} %{JAVACLASS:component} (?:\[%{DATA:context}\] )?"
        r"%{GREEDYDATA:message}",
    ),
    (  # Python's logging.basicConfig-style ``time - name - LEVEL - message``
        "python_logging",
        r"%{TIMESTAMP_ISO8601:timestamp} - %{NOTSPACE:component} - %{LOGLEVEL:level} - "
        r"%{GREEDYDATA:message}",
    ),
    (  # log4j layouts: Hadoop, HDFS, Spark, Zookeeper, Kafka …
        "log4j",
        r"%{LOGTIME:timestamp}(?: %{INT:pid:int})?(?: -)? +%{LOGLEVEL:level} +"
        r"(?:\[%{DATA:thread}\] +)?(?:- )?(?:%{JAVACLASS:component}: )?%{GREEDYDATA:message}",
    ),
    (  # Android logcat, threadtime format
        "logcat",
        r"%{LOGCATTIME:timestamp} +%{INT:pid:int} +%{INT:tid:int} "
        r"%{LOGCATLEVEL:level} %{DATA:component}: %{GREEDYDATA:message}",
    ),
    (  # Apache httpd error log (2.2 and 2.4)
        "apache_error",
        r"\[%{DAY} %{HTTPDERROR_DATE:timestamp}\] \[(?:%{WORD:module}:)?%{LOGLEVEL:level}\] "
        r"(?:\[pid %{INT:pid:int}(?::tid %{INT:tid})?\] )?"
        r"(?:\[client %{NOTSPACE:client}\] )?%{GREEDYDATA:message}",
    ),
    (  # BlueGene/L RAS
        "bluegene",
        r"%{NOTSPACE:alert} %{INT:epoch:bigint} %{NOTSPACE:date} %{NOTSPACE:node} "
        r"%{BGLTIME:timestamp} %{NOTSPACE:node_repeat} %{WORD:type} %{WORD:component} "
        r"%{LOGLEVEL:level} %{GREEDYDATA:message}",
    ),
    (  # Thunderbird (syslog behind an alert tag, epoch and date)
        "thunderbird",
        r"%{NOTSPACE:alert} %{INT:timestamp} %{NOTSPACE:date} %{NOTSPACE:user} "
        r"%{SYSLOGTIMESTAMP:syslog_timestamp} %{NOTSPACE:location} "
        r"%{DATA:program}(?:\[%{INT:pid:int}\])?: %{GREEDYDATA:message}",
    ),
    (  # Proxifier: ``[10.30 16:49:06] chrome.exe - proxy…``
        "proxifier",
        r"\[%{PROXIFIERTIME:timestamp}\] %{DATA:program} - %{GREEDYDATA:message}",
    ),
    (  # HealthApp: ``20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579``
        "healthapp",
        r"%{HEALTHTIME:timestamp}\|%{DATA:component}\|%{INT:pid:int}\|%{GREEDYDATA:message}",
    ),
    (  # HPC cluster logs: id, node, component, state, epoch, flag, message
        "hpc",
        r"%{INT:log_id:bigint} %{NOTSPACE:node} %{NOTSPACE:component} %{NOTSPACE:state} "
        r"%{INT:timestamp} %{INT:flag:int} %{GREEDYDATA:message}",
    ),
)
# How Spark reads the ``timestamp`` column of a log family: its datetime pattern
# (or ``iso``: a plain cast; ``epoch``: seconds since 1970), found from the sampled
# values. A timestamp without a year (syslog's ``Jun 14 15:16:01``, logcat's,
# Proxifier's) matches none and stays a string: the file does not say the year.
TIMESTAMP_FORMAT = "headwater.timestampFormat"
ISO, EPOCH = "iso", "epoch"
LOG_TIME_LAYOUTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (spark_pattern, re.compile(regex))
    for spark_pattern, regex in (
        (ISO, r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?"),
        ("yyyy-MM-dd HH:mm:ss,SSS", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}"),
        ("yy/MM/dd HH:mm:ss", r"\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"),
        ("yyMMdd HHmmss", r"\d{6} \d{6}"),
        ("MMM dd HH:mm:ss yyyy", r"[A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \d{4}"),
        ("MMM dd HH:mm:ss.SSSSSS yyyy", r"[A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2}\.\d{6} \d{4}"),
        ("yyyy-MM-dd-HH.mm.ss.SSSSSS", r"\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d{6}"),
        ("yyyyMMdd-H:m:s:SSS", r"\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{3}"),
        (EPOCH, r"\d{9,10}"),
    )
)


def log_time_format(values: list[str]) -> str | None:
    """The one layout every sampled timestamp follows, or None (a string column)."""
    if not values:
        return None
    for spark_pattern, regex in LOG_TIME_LAYOUTS:
        if all(regex.fullmatch(value) for value in values):
            return spark_pattern
    return None


# Share of sampled lines a log pattern must match; the ingest sets the lines it does
# not match aside (quarantine) with their text: a stack trace, a wrapped message.
MIN_MATCHING = 0.8
# None of the first lines that start a record (not with a blank) fits: not this log,
# without trying the 40 misses a 200-line sample allows.
OPENING_LINES = 5
MAX_LINES = 200


def grok_classifier(
    classification: str, expression: str, custom: Mapping[str, str] | None = None
) -> Callable[[Sample], Classification]:
    """A classifier that matches when nearly every sampled line fits ``expression``."""
    pattern = compile_grok(expression, custom)

    def classify_log(sample: Sample) -> Classification:
        if sample.text is None:
            return no_match(classification, "binary data (NUL or control bytes) in the sample")
        lines = sample.lines[:MAX_LINES]
        if not lines:
            return no_match(classification, "no lines in the sample")
        allowed_misses = int(len(lines) * (1 - MIN_MATCHING) + 1e-9)
        misses = heads = 0
        stamps: list[str] = []
        for checked, line in enumerate(lines, 1):  # stop once too many lines missed
            match = pattern.python.fullmatch(line)
            if match and match.groupdict().get("timestamp"):
                stamps.append(match.group("timestamp"))
            if not match:
                misses += 1
                heads += not line[:1].isspace()  # a stack trace's "\tat …" lines aside
                if misses > allowed_misses or heads == checked - (misses - heads) == OPENING_LINES:
                    return no_match(
                        classification,
                        f"grok pattern missed {misses} of the first {checked} lines "
                        f"(at most {allowed_misses} of {len(lines)} may miss)",
                        near=(checked - misses) / checked,
                    )
        matched = len(lines) - misses
        options = {"input.regex": pattern.java_regex}
        if (stamp_format := log_time_format(stamps)) is not None:
            options[TIMESTAMP_FORMAT] = stamp_format
        return Classification(
            classifier=classification,
            classification=classification,
            certainty=1.0,
            reason=f"grok pattern matched {matched} of {len(lines)} sampled lines",
            columns=pattern.columns,
            properties={
                "classification": classification,
                "compressionType": sample.compression,
                "typeOfData": "file",
                "grokPattern": expression,
            },
            options=options,
        )

    classify_log.__name__ = f"classify_{classification}"
    return classify_log


LOG_CLASSIFIERS = tuple(grok_classifier(name, expression) for name, expression in BUILT_IN_LOGS)
LOG_CLASSIFICATIONS = frozenset(name for name, _ in BUILT_IN_LOGS)
