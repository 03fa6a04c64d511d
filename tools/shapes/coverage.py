"""Coverage of a tool set by tool-calling examples: what `stats` reports for a `tool_calls` run or file.

A tool-use set is only as good as its spread: a tool no example calls, or a required parameter never filled, is a
gap the trained model will show. So: calls per tool, the tools never called, required parameters exercised, the
share of examples that call no tool, and the share of calls whose arguments validate against the tool's input
schema (checked again here, so a hand-edited or imported file is judged too).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from explore_instruct.tools.shapes.tool_checks import argument_error

__all__ = ["tool_coverage"]


def _calls(example: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(name, parsed arguments or the raw text when it is not JSON) of every assistant tool call."""
    found: list[tuple[str, Any]] = []
    for message in example.get("messages") or []:
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(fn, Mapping):
                continue
            raw = fn.get("arguments", "{}")
            try:
                args = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                args = raw
            found.append((str(fn.get("name", "")), args))
    return found


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def tool_coverage(examples: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The coverage figures over the examples that were offered tools; None when none were (not a tool set)."""
    offered: dict[str, dict[str, Any]] = {}
    per_tool: Counter[str] = Counter()
    filled: dict[str, set[str]] = {}
    total = no_tool = calls = valid = executed = 0
    for ex in examples:
        tools = ex.get("tools")
        if not isinstance(tools, list) or not tools:
            continue
        total += 1
        executed += bool(ex.get("tool_executed"))
        for tool in tools:
            fn = tool.get("function") if isinstance(tool, Mapping) else None
            if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
                offered.setdefault(fn["name"], dict(fn.get("parameters") or {}))
        made = _calls(ex)
        no_tool += not made
        for name, args in made:
            calls += 1
            per_tool[name] += 1
            params = offered.get(name)
            if params is not None and argument_error(args, params) is None:
                valid += 1
            if isinstance(args, dict):
                filled.setdefault(name, set()).update(args)
    if not total:
        return None
    required = {f"{name}.{p}" for name, params in offered.items() for p in params.get("required") or []}
    exercised = {f"{name}.{p}" for name, keys in filled.items() for p in keys} & required
    return {
        "examples": total,
        "no_tool": no_tool,
        "no_tool_share": _share(no_tool, total),
        "calls": calls,
        "calls_valid": valid,
        "valid_share": _share(valid, calls),
        "executed": executed,
        "tools_offered": len(offered),
        "tools_called": len(set(per_tool) & set(offered)),
        "per_tool": {name: per_tool.get(name, 0) for name in sorted(offered)},
        "unknown_tools_called": sorted(set(per_tool) - set(offered)),
        "required_parameters": len(required),
        "required_exercised": len(exercised),
        "required_unexercised": sorted(required - exercised),
    }
