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
}

_REFERENCE = re.compile(r"%\{(\w+)(?::(\w+))?(?::(int|float|double|string))?\}")
_TYPES = {"int": "int", "float": "double", "double": "double", "string": "string"}


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


# Glue's built-in log classifiers, in Glue's order, plus syslog.
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
    (
        "syslog",
        r"%{SYSLOGTIMESTAMP:timestamp} %{SYSLOGHOST:logsource} %{PROG:program}"
        r"(?:\[%{POSINT:pid:int}\])?: %{GREEDYDATA:message}",
    ),
)
MIN_MATCHING = 0.95  # share of sampled lines a log pattern must match
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
        misses = 0
        for line in lines:  # stop as soon as too many lines missed
            if not pattern.python.fullmatch(line):
                misses += 1
                if misses > allowed_misses:
                    return no_match(
                        classification,
                        f"grok pattern missed {misses} of the first lines "
                        f"(at most {allowed_misses} of {len(lines)} may miss)",
                    )
        matched = len(lines) - misses
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
            options={"input.regex": pattern.java_regex},
        )

    classify_log.__name__ = f"classify_{classification}"
    return classify_log


LOG_CLASSIFIERS = tuple(grok_classifier(name, expression) for name, expression in BUILT_IN_LOGS)
LOG_CLASSIFICATIONS = frozenset(name for name, _ in BUILT_IN_LOGS)
