"""Tool sets for the tool_calls shape: an OpenAI tools file, and real MCP servers we did not write (the reference
time and git servers over stdio, the project's own served face over streamable HTTP), listed and called through
the official `mcp` client; every bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import validator_for
from support.mcp_servers import EMPTY_SERVER, git_sandbox, git_server, served_http, time_server

from explore_instruct.tools.shapes.tool_schemas import ToolsetError, check_tools
from explore_instruct.tools.shapes.toolsets import TOOLS_FILE, McpServer, load_toolset, save_toolset, toolset_from_saved

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Forecast for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _one_line(e: pytest.ExceptionInfo[ToolsetError]) -> str:
    text = str(e.value)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# ---------------------------------------------------------------- a tools file


async def test_a_tools_file_loads_and_a_chat_request_body_does_too(tmp_path: Path) -> None:
    listed = tmp_path / "tools.json"
    listed.write_text(json.dumps([WEATHER]))
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"model": "x", "tools": [WEATHER]}))
    for path in (listed, body):
        toolset = await load_toolset(str(path), None, execute=False)
        assert toolset.names == ["get_weather"]
        assert toolset.parameters("get_weather")["required"] == ["city"]
        assert not toolset.executable


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "invalid JSON at line 1"),
        ("[]", "the tools list is empty"),
        ('{"a": 1}', "expected a list of tools"),
        ('[{"type": "function"}]', '"type": "function"'),
        ('[{"type": "function", "function": {"name": "has space"}}]', "the name must be"),
        (json.dumps([{"type": "function", "function": {"name": "f", "parameters": {"type": "strng"}}}]), "not a valid"),
        (json.dumps([{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]), "object"),
        (json.dumps([WEATHER, WEATHER]), "used twice"),
    ],
)
async def test_a_bad_tools_file_is_one_line(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "tools.json"
    path.write_text(content)
    with pytest.raises(ToolsetError) as e:
        await load_toolset(str(path), None, execute=False)
    assert says in _one_line(e)


async def test_a_missing_file_and_conflicting_sources_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ToolsetError) as e:
        await load_toolset(str(tmp_path / "nope.json"), None, execute=False)
    assert "no such file" in _one_line(e)
    with pytest.raises(ToolsetError) as e:
        await load_toolset(None, None, execute=False)
    assert "exactly one" in _one_line(e)
    (tmp_path / "t.json").write_text(json.dumps([WEATHER]))
    with pytest.raises(ToolsetError) as e:
        await load_toolset(str(tmp_path / "t.json"), None, execute=True)
    assert "--execute-tools needs --tools-from-mcp" in _one_line(e)


# ---------------------------------------------------------------- real MCP servers


def _valid_openai_tools(tools: list[dict[str, Any]]) -> None:
    assert check_tools(tools, "listed") == tools  # the same checks a file gets
    for tool in tools:
        validator_for(tool["function"]["parameters"]).check_schema(tool["function"]["parameters"])


async def test_the_time_server_lists_its_tools_as_openai_functions() -> None:
    toolset = await load_toolset(None, time_server(), execute=False)
    assert set(toolset.names) >= {"get_current_time", "convert_time"}
    _valid_openai_tools(toolset.tools)
    convert = toolset.parameters("convert_time")
    assert set(convert["required"]) == {"source_timezone", "time", "target_timezone"}
    assert toolset.source == "mcp mcp-server-time" and toolset.server is None


async def test_the_git_server_lists_its_tools_on_a_sandbox_repository(tmp_path: Path) -> None:
    toolset = await load_toolset(None, git_server(git_sandbox(tmp_path)), execute=False)
    assert {"git_status", "git_log", "git_diff_unstaged"} <= set(toolset.names)
    _valid_openai_tools(toolset.tools)
    assert "repo_path" in toolset.parameters("git_status")["required"]


async def test_a_streamable_http_server_lists_its_tools(tmp_path: Path) -> None:
    with served_http(tmp_path) as url:
        toolset = await load_toolset(None, url, execute=False)
    assert "explore" in toolset.names and "status" in toolset.names
    _valid_openai_tools(toolset.tools)


async def test_listed_tools_are_saved_and_a_resume_reads_them_back(tmp_path: Path) -> None:
    toolset = await load_toolset(None, time_server(), execute=True)
    save_toolset(toolset, tmp_path)
    again = toolset_from_saved(tmp_path)
    assert again.tools == toolset.tools and again.source == toolset.source and not again.executable
    # The saved file is itself a tools file (its "tools" key), so it can be handed to --tools.
    assert (await load_toolset(str(tmp_path / TOOLS_FILE), None)).tools == toolset.tools
    rerun = toolset_from_saved(tmp_path, tools_from_mcp=time_server(), execute=True)
    result = await rerun.execute("get_current_time", {"timezone": "Asia/Tokyo"})
    assert json.loads(result.text)["timezone"] == "Asia/Tokyo"
    with pytest.raises(ToolsetError) as e:
        toolset_from_saved(tmp_path / "elsewhere")
    _one_line(e)


async def test_executed_calls_return_real_results_and_errors() -> None:
    toolset = await load_toolset(None, time_server(), execute=True)
    done = await toolset.execute("convert_time", {"source_timezone": "Europe/London", "time": "12:00",
                                                  "target_timezone": "Asia/Tokyo"})  # fmt: skip
    assert not done.is_error
    body = json.loads(done.text)
    assert body["target"]["datetime"].endswith("21:00:00+09:00") and body["time_difference"] == "+9.0h"
    bad = await toolset.execute("get_current_time", {"timezone": "Nowhere/Special"})
    assert bad.is_error and "Nowhere/Special" in bad.text


async def test_the_git_server_runs_in_its_sandbox(tmp_path: Path) -> None:
    repo = git_sandbox(tmp_path)
    toolset = await load_toolset(None, git_server(repo), execute=True)
    status = await toolset.execute("git_status", {"repo_path": str(repo)})
    assert not status.is_error and "notes.txt" in status.text
    log = await toolset.execute("git_log", {"repo_path": str(repo)})
    assert "first commit" in log.text


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("no-such-mcp-server-command --flag", "command not found"),
        ("/bin/echo hello", "is it an MCP server"),
        ("/bin/cat", "MCP"),
        ("http://127.0.0.1:9/mcp", "tools from MCP"),
        (EMPTY_SERVER, "lists no usable tools"),
        ('"unbalanced', "cannot split"),
    ],
    ids=["not-found", "echo", "cat", "unreachable-url", "no-tools", "bad-quoting"],
)
async def test_a_server_that_is_not_one_is_one_line(spec: str, says: str) -> None:
    with pytest.raises(ToolsetError) as e:
        await load_toolset(None, spec, execute=False)
    assert says in _one_line(e)


async def test_a_server_that_does_not_answer_times_out_in_one_line() -> None:
    with pytest.raises(ToolsetError) as e:
        await McpServer("/bin/sleep 30", start_timeout=1.5).list_tools()
    assert "no answer" in _one_line(e)
