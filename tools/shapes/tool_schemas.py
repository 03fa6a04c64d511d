"""Checking tool definitions before a run uses them: an OpenAI tools list (a file, a saved `tools.json`) or the
tools an MCP server lists, every schema against its JSON-Schema meta-schema.

A bad definition fails here, in one line, and not as a thousand dropped examples later; an MCP tool that cannot be
offered to an OpenAI-format model is left out with why (the run reports the list).
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for

# OpenAI's rule for a function name; an MCP tool named otherwise cannot be offered to an OpenAI-format model.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolsetError(ValueError):
    """Tools that cannot be read or used; its message is one line."""


def _check_schema(schema: Any, where: str) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise ToolsetError(f"{where}: a JSON Schema must be an object, got {type(schema).__name__}")
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as e:
        path = "/".join(str(p) for p in e.path) or "top level"
        raise ToolsetError(f"{where}: not a valid JSON Schema at {path}: {e.message[:200]}") from None
    if schema.get("type", "object") != "object":
        raise ToolsetError(f"{where}: tool arguments must be a JSON object schema (type 'object')")
    return schema


def check_tools(tools: Any, where: str) -> list[dict[str, Any]]:
    """The OpenAI tools list normalised (`parameters` always present), or a one-line ToolsetError."""
    if isinstance(tools, dict) and "tools" in tools:
        tools = tools["tools"]  # a chat request body, or a saved tools.json
    if not isinstance(tools, list):
        raise ToolsetError(f"{where}: expected a list of tools (OpenAI format), got {type(tools).__name__}")
    if not tools:
        raise ToolsetError(f"{where}: the tools list is empty")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        at = f"{where}: tool {i}"
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
            raise ToolsetError(f'{at}: expected {{"type": "function", "function": {{...}}}}')
        fn = tool["function"]
        name = fn.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ToolsetError(f"{at}: the name must be 1-64 letters, digits, _ or -, got {name!r}")
        if name in seen:
            raise ToolsetError(f"{at}: the name {name!r} is used twice")
        seen.add(name)
        description = fn.get("description", "")
        if not isinstance(description, str):
            raise ToolsetError(f"{at} ({name}): the description must be a string")
        params = _check_schema(fn.get("parameters", {"type": "object", "properties": {}}), f"{at} ({name})")
        entry = {"name": name, "description": description, "parameters": params}
        if "strict" in fn:
            entry["strict"] = fn["strict"]
        out.append({"type": "function", "function": entry})
    return out


def from_mcp_tools(listed: list[Any]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """MCP `Tool`s as an OpenAI tools list, their output schemas, and the ones left out (with why)."""
    tools: list[dict[str, Any]] = []
    outputs: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for tool in listed:
        if not _NAME.match(tool.name):
            skipped.append(f"{tool.name}: not a valid OpenAI function name")
            continue
        try:
            params = _check_schema(dict(tool.inputSchema), f"MCP tool {tool.name}")
            out_schema = _check_schema(dict(tool.outputSchema), f"MCP tool {tool.name}") if tool.outputSchema else None
        except ToolsetError as e:
            skipped.append(str(e))
            continue
        params.pop("$schema", None)
        params.setdefault("properties", {})
        description = tool.description or getattr(tool, "title", None) or tool.name
        tools.append(
            {"type": "function", "function": {"name": tool.name, "description": description, "parameters": params}}
        )
        if out_schema:
            outputs[tool.name] = out_schema
    return tools, outputs, skipped
