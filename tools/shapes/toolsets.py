"""The tools a `tool_calls` run writes examples for: an OpenAI tools list from a JSON file, or a live MCP server.

A live server is read with the official `mcp` client (`list_tools`, and `call_tool` for `--execute-tools`), over
stdio ("COMMAND ARGS", spawned here) or streamable HTTP (an http(s) URL). Each MCP tool becomes an OpenAI
function: its `inputSchema` is the function's `parameters`; its `outputSchema`, which OpenAI's format has no place
for, is kept beside the list to shape simulated results. Every schema is checked against its JSON-Schema
meta-schema (tool_schemas.py), so a bad file or server fails here, in one line.

A run saves what it listed as `tools.json` in its run directory: a resume writes examples for the same tools even
if the server has changed since. Tool calls open one short session each (the server is a subprocess or a URL):
slower than one long session, but a server that crashes on one call costs that call only.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio

from explore_instruct.tools.shapes.tool_schemas import ToolsetError, check_tools, from_mcp_tools

TOOLS_FILE = "tools.json"
START_TIMEOUT_S = 30.0  # start, initialise and list: a Python server starts in 1-2 s, an npx one in a few
CALL_TIMEOUT_S = 30.0
MAX_CONCURRENT_CALLS = 4  # each call may spawn the server: bound the subprocesses on a wide fan-out


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool = False


@dataclass
class Toolset:
    """An OpenAI tools list, the output schemas an MCP server declared, and the server when calls are real."""

    tools: list[dict[str, Any]]
    output_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""
    server: McpServer | None = None
    skipped: list[str] = field(default_factory=list)  # MCP tools left out, with why
    _turn: int = 0
    _kept_direct: int = 0
    _kept_tool: int = 0

    @property
    def names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools]

    def function(self, name: str) -> dict[str, Any] | None:
        for t in self.tools:
            if t["function"]["name"] == name:
                return dict(t["function"])
        return None

    def parameters(self, name: str) -> dict[str, Any]:
        fn = self.function(name)
        return dict((fn or {}).get("parameters") or {"type": "object", "properties": {}})

    def next_tool(self, offset: int = 0) -> str:
        """Round robin over the tools (shared by every batch of a run), so each tool gets its share of examples."""
        name = self.names[(self._turn + offset) % len(self.tools)]
        self._turn += 1
        return name

    def direct_count(self, n: int, share: float) -> int:
        """How many of a batch of n answer without a tool, so that the KEPT examples of the run hold the share asked
        for: counted against what was kept so far (`kept`), since tool slots fail more often than direct ones (a
        real server refuses bad arguments) and a share of slots would leave a larger share of kept examples."""
        due = share * (self._kept_tool + self._kept_direct + n) - self._kept_direct
        return max(0, min(n, int(due + 1e-9)))

    def kept(self, *, direct: int, tool: int) -> None:
        self._kept_direct += direct
        self._kept_tool += tool

    @property
    def executable(self) -> bool:
        return self.server is not None

    async def execute(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        if self.server is None:
            raise ToolsetError("tools: no MCP server to execute calls on (--execute-tools needs --tools-from-mcp)")
        return await self.server.call(name, arguments)

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "tools": self.tools, "output_schemas": self.output_schemas}


# ---------------------------------------------------------------- MCP


def _first_line(e: BaseException) -> str:
    if isinstance(e, BaseExceptionGroup) and e.exceptions:
        return _first_line(e.exceptions[0])
    if isinstance(e, anyio.BrokenResourceError | anyio.ClosedResourceError | anyio.EndOfStream):
        return "it closed the connection before answering"
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


@dataclass
class McpServer:
    """Where a live MCP server is: a stdio command line (the operator's, never a served request's) or a URL."""

    spec: str
    start_timeout: float = START_TIMEOUT_S
    call_timeout: float = CALL_TIMEOUT_S
    _limit: anyio.Semaphore | None = None

    @property
    def is_http(self) -> bool:
        return self.spec.startswith(("http://", "https://"))

    @property
    def label(self) -> str:
        return self.spec if self.is_http else (shlex.split(self.spec) or [""])[0].rsplit("/", 1)[-1]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Any]:
        """An initialised `ClientSession` (the server's stderr goes to a temp file, read back for errors)."""
        from mcp import ClientSession

        if self.is_http:
            from mcp.client.streamable_http import streamable_http_client

            async with (
                streamable_http_client(self.spec) as (read, write, _),
                ClientSession(read, write, read_timeout_seconds=timedelta(seconds=self.call_timeout)) as session,
            ):
                await session.initialize()
                yield session
            return
        from mcp.client.stdio import StdioServerParameters, stdio_client

        argv = shlex.split(self.spec)
        params = StdioServerParameters(command=argv[0], args=argv[1:])
        with tempfile.TemporaryFile("w+") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write, read_timeout_seconds=timedelta(seconds=self.call_timeout)) as session,
            ):
                await session.initialize()
                yield session

    async def list_tools(self) -> list[Any]:
        tools: list[Any] = []
        try:
            with anyio.fail_after(self.start_timeout):
                async with self.session() as session:
                    cursor: str | None = None
                    while True:
                        page = await session.list_tools(cursor)
                        tools.extend(page.tools)
                        cursor = page.nextCursor
                        if not cursor:
                            break
        except TimeoutError:
            raise ToolsetError(
                f"tools from MCP {self.label!r}: no answer to initialise + list_tools within {self.start_timeout:.0f} s"
                " (is it an MCP server?)"
            ) from None
        except FileNotFoundError:
            raise ToolsetError(f"tools from MCP {self.label!r}: command not found") from None
        except Exception as e:  # a broken pipe, a refused connection, an MCP error: all one line
            hint = "" if self.is_http else " (is it an MCP server?)"
            raise ToolsetError(f"tools from MCP {self.label!r}: {_first_line(e)}{hint}") from None
        return tools

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """One call in a session of its own; a failure is a ToolsetError (the caller records a skip)."""
        if self._limit is None:
            self._limit = anyio.Semaphore(MAX_CONCURRENT_CALLS)
        async with self._limit:
            try:
                with anyio.fail_after(self.start_timeout + self.call_timeout):
                    async with self.session() as session:
                        result = await session.call_tool(name, arguments)
            except TimeoutError:
                raise ToolsetError(f"MCP {self.label!r}: {name} gave no result in time") from None
            except Exception as e:
                raise ToolsetError(f"MCP {self.label!r}: {name}: {_first_line(e)}") from None
        return ToolResult(result_text(result), bool(result.isError))


def result_text(result: Any) -> str:
    """A CallToolResult as the text a `tool` message carries: its structured content as JSON, else its text parts."""
    if result.structuredContent is not None:
        return json.dumps(result.structuredContent, ensure_ascii=False)
    parts = []
    for block in result.content:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else f"[{getattr(block, 'type', 'content')}]")
    return "\n".join(parts).strip()


# ---------------------------------------------------------------- loading


def _read_file(path: str) -> list[dict[str, Any]]:
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolsetError(f"--tools {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ToolsetError(f"--tools {path}: cannot read it ({type(e).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ToolsetError(f"--tools {path}: invalid JSON at line {e.lineno}: {e.msg}") from None
    return check_tools(data, f"--tools {path}")


async def load_toolset(tools_file: str | None, tools_from_mcp: str | None, *, execute: bool = False) -> Toolset:
    """The run's tools from exactly one of a file and a server; `execute` keeps the server for real calls."""
    if bool(tools_file) == bool(tools_from_mcp):
        raise ToolsetError("shape tool_calls needs exactly one of --tools FILE.json and --tools-from-mcp")
    if execute and not tools_from_mcp:
        raise ToolsetError("--execute-tools needs --tools-from-mcp (a file's tools have nothing to run them)")
    if tools_file:
        return Toolset(_read_file(tools_file), source=f"file {Path(tools_file).name}")
    assert tools_from_mcp is not None
    spec = tools_from_mcp.strip()
    try:
        argv = shlex.split(spec)
    except ValueError as e:
        raise ToolsetError(f"--tools-from-mcp: cannot split the command line ({e})") from None
    if not argv:
        raise ToolsetError("--tools-from-mcp: empty command")
    server = McpServer(spec)
    tools, outputs, skipped = from_mcp_tools(await server.list_tools())
    if not tools:
        why = f" ({'; '.join(skipped)[:200]})" if skipped else ""
        raise ToolsetError(f"tools from MCP {server.label!r}: the server lists no usable tools{why}")
    return Toolset(tools, outputs, f"mcp {server.label}", server if execute else None, skipped)


def save_toolset(toolset: Toolset, run_dir: str | Path) -> Path:
    path = Path(run_dir) / TOOLS_FILE
    path.write_text(json.dumps(toolset.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def toolset_from_saved(run_dir: str | Path, *, tools_from_mcp: str | None = None, execute: bool = False) -> Toolset:
    """The tools a run listed when it started (a resume must not see a changed server); `tools_from_mcp` and
    `execute` reattach the server for real calls."""
    path = Path(run_dir) / TOOLS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolsetError(f"{path}: no saved tools (was the run started with shape tool_calls?)") from None
    except (OSError, ValueError) as e:
        raise ToolsetError(f"{path}: unreadable ({type(e).__name__})") from None
    tools = check_tools(data, str(path))
    outputs = data.get("output_schemas", {}) if isinstance(data, dict) else {}
    source = data.get("source", "") if isinstance(data, dict) else ""
    server = McpServer(tools_from_mcp.strip()) if execute and tools_from_mcp else None
    return Toolset(tools, dict(outputs), str(source), server)
