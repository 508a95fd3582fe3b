"""Exclude patterns, as Glue's crawler takes them: globs over keys below the include path.

``*`` matches within one path segment, ``**`` across segments, ``?`` one character,
``[abc]`` a set, ``{a,b}`` alternatives. ``*.tmp`` excludes ``.tmp`` files at the top
level only; ``**.tmp`` or ``**/*.tmp`` at any depth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
                i = end
        elif char == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                options = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(re.escape(o) for o in options) + ")")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def is_excluded(relative_key: str, patterns: Iterable[re.Pattern[str]]) -> bool:
    return any(p.fullmatch(relative_key) for p in patterns)
