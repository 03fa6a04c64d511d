"""The two value parsers every face and the run context share: on/off flags and lists of counts.

A person types `review=off` or `breadth=4,3`; an LLM sends `"4, 3"`, `[4, 3]` or `4`; a YAML file holds any of
them. One reading for all, so a value means the same whichever face it came through.
"""

from __future__ import annotations

import re
from typing import Any

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
_SEPARATORS = re.compile(r"[,\s]+")


def parse_bool(value: Any) -> bool:
    """`on|off`, `yes|no`, `true|false`, `1|0` (any case), or a bool; anything else is a ValueError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in TRUE:
            return True
        if v in FALSE:
            return False
    raise ValueError("use on or off")


def parse_ints(value: Any) -> Any:
    """`"4,3"`, `"4, 3"`, `"4 3"` or `4` as `[4, 3]` / `[4]`; lists pass through for the type check to judge.

    A string with anything but whole numbers is a ValueError naming the bad part; other types are returned
    as they are, so that the caller's validator reports them in its own words.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, str):
        out = []
        for part in _SEPARATORS.split(value.strip()):
            if not part:
                continue
            try:
                out.append(int(part))
            except ValueError:
                raise ValueError(f"{part!r} is not a whole number; give counts separated by commas, e.g. 4,3") from None
        return out
    return value
