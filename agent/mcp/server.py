"""The MCP server (official `mcp` SDK, FastMCP): the operations catalogue as tools, a run's exports as resources.

Served over stdio for desktop MCP clients (here) and over streamable HTTP (`agent/mcp/http.py`). The tools are
the catalogue's operations (agent/operations/catalogue.py) but `review`: each tool's input schema is its argument
model (strict: an unknown argument is an error naming it) and its output schema its answer model, so a client
sees every field of an answer; failures come back as MCP tool errors of one line. `explore` and `resume` start
the run in the background and answer at once: MCP clients time a tool call out after about a minute, and a run
takes minutes to hours. `wait=true` keeps the blocking call (with progress notifications) for scripts.

Why not FastMCP's own typed tools, or langchain-mcp-adapters' `to_fastmcp`: both build the arguments' model from
a function signature (a second copy of the model's fields, without its validators, and silent about unknown
arguments), and `to_fastmcp` advertises no output schema. So the server overrides FastMCP's public request
handlers (`list_tools`, `call_tool`, `list_resources`, `list_resource_templates`, `read_resource`) and keeps the
rest of FastMCP: sessions, progress, streamable HTTP with its DNS-rebinding protection.

A run lives in the server's process. Over stdio the client starts the server and ends it with the session, so a
run that goes on answers with a `note` saying that it stops with the client and how to resume it. stdout
carries the protocol only: anything else that writes to it (a native library, a progress bar) goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterable
from typing import Any, get_args

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ResourceError, ToolError
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.types import Resource, ResourceTemplate, ToolAnnotations
from mcp.types import Tool as MCPTool
from pydantic import AnyUrl, BaseModel, Field
from pydantic_core import to_jsonable_python

from explore_instruct.agent.errors import flat, one_line
from explore_instruct.agent.mcp import resources
from explore_instruct.agent.operations.catalogue import CATALOGUE, Call, Operation, StatusArgs
from explore_instruct.agent.operations.runner import ProgressFn, Runner, runner_of
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.service import Runs
from explore_instruct.tools.compat import lowlevel_server

INSTRUCTIONS = (
    "Build instruction-tuning datasets. `explore` starts a run for a domain in the background and answers at "
    "once with its id and planned size (the examples stay on disk); `status` follows it to its summary, "
    "`cancel` stops it, and `list_runs`, `resume`, `export` and `stats` work on run ids; `curate` records a "
    "review decision (reject, edit, rescue...) that export and stats honour. `export` answers the "
    "written files as resource URIs too: read them with resources/read."
)
WAIT_S = 50  # a status call may wait this long for the run to end, under the clients' one-minute timeout
TOOLS = ("explore", "status", "cancel", "list_runs", "resume", "export", "stats", "curate")
STDIO_NOTE = (
    "This server runs over stdio, started by your MCP client: the run goes on inside it and stops when the "
    "client ends the session (status then says 'stopped'). Keep the session open until it ends, or call "
    "resume with run={run!r} to continue it from its last checkpoint; `explore-instruct mcp --http` serves "
    "runs that outlive a client."
)


class QuickStatusArgs(StatusArgs):
    """`status` for MCP clients, which give up on a tool call after about a minute."""

    wait_s: float = Field(default=0, ge=0, le=WAIT_S, description=f"Wait up to this many seconds (<= {WAIT_S}).")


def output_schema(answer: type[BaseModel]) -> dict[str, Any]:
    """An answer model's JSON schema as MCP wants it: an object at the root (a list goes under `result`, as
    FastMCP wraps one)."""
    schema = answer.model_json_schema()
    if schema.get("type") == "array":
        defs = schema.pop("$defs", None)
        wrapped: dict[str, Any] = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
        return wrapped | ({"$defs": defs} if defs else {})
    return {"type": "object", **schema}


def _pre_parsed(args: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Lists and objects some clients send as JSON text (`"[4, 3]"`), parsed as FastMCP's own tools do (but
    never for a field that takes text, where `"[1, 2]"` is a domain like any other)."""
    out = dict(arguments)
    for key, value in arguments.items():
        field = args.model_fields.get(key)
        if isinstance(value, str) and field is not None and str not in (field.annotation, *get_args(field.annotation)):
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            if isinstance(parsed, list | dict):
                out[key] = parsed
    return out


class CatalogueServer(FastMCP):
    """FastMCP serving the catalogue's operations as tools and a run's exports as resources."""

    def __init__(self, runner: Runner, *, host: str = "127.0.0.1", note: str | None = None) -> None:
        super().__init__("explore-instruct", instructions=INSTRUCTIONS, log_level="WARNING", host=host)
        self.runner = runner
        self.note = note
        self.ops: dict[str, tuple[Operation, type[BaseModel]]] = {
            name: (CATALOGUE[name], QuickStatusArgs if name == "status" else CATALOGUE[name].args) for name in TOOLS
        }

    # -- tools

    async def list_tools(self) -> list[MCPTool]:
        return [
            MCPTool(
                name=name,
                title=op.title,
                description=op.description,
                inputSchema=args.model_json_schema(),
                outputSchema=output_schema(op.answer),
                annotations=ToolAnnotations(title=op.title, readOnlyHint=op.read_only or None),
            )
            for name, (op, args) in self.ops.items()
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run one operation; any failure is one line naming the tool (the low-level server sends it as an
        error result, and checks the answer against the output schema)."""
        if name not in self.ops:
            raise ToolError(flat(f"Unknown tool: {name}"))
        op, model = self.ops[name]
        try:
            args = op.parse(model.model_validate(_pre_parsed(model, arguments)))  # `model` is op.args or narrower
            waits = bool(getattr(args, "wait", False))
            result = await op(self.runner, args, Call(progress=self._reporter() if waits else None, note=self.note))
            if name == "export":
                uris = await asyncio.to_thread(resources.export_uris, self.runner.limits, result["files"])
                result = {**result, "resources": uris}
        except Exception as e:
            raise ToolError(flat(f"Error executing tool {name}: {one_line(e)}")) from None
        structured = to_jsonable_python(result, fallback=str)
        return {"result": structured} if isinstance(structured, list) else structured

    def _reporter(self) -> ProgressFn:
        """Progress notifications (for clients that ask) from the run's events, while a caller waits."""
        ctx = self.get_context()
        loop = asyncio.get_running_loop()
        done = {"n": 0}

        def report(event: dict[str, Any]) -> None:  # called on the runs' loop: the session lives on this one
            if event.get("event") not in {"proposed", "generated", "finished"}:
                return
            done["n"] += 1
            asyncio.run_coroutine_threadsafe(ctx.report_progress(done["n"], None, str(event.get("event"))), loop)

        return report

    # -- resources

    async def list_resource_templates(self) -> list[ResourceTemplate]:
        return [
            ResourceTemplate(
                uriTemplate=resources.FILE_TEMPLATE,
                name="export-file",
                title="A file of a run's export",
                description="One file `export` wrote: the data file, its README.md dataset card, or a file of an hf "
                "dataset folder. `export` answers these URIs.",
            ),
            ResourceTemplate(
                uriTemplate=resources.CARD_TEMPLATE,
                name="dataset-card",
                title="A run's dataset card",
                description="The README.md dataset card of the run's latest export.",
                mimeType="text/markdown",
            ),
        ]

    async def list_resources(self) -> list[Resource]:
        found = await asyncio.to_thread(resources.listing, self.runner.limits)
        return [
            Resource(uri=AnyUrl(uri), name=f"{path.parent.parent.parent.name}/{path.parent.name}/{path.name}")
            for uri, path in found
        ]

    async def read_resource(self, uri: AnyUrl | str) -> Iterable[ReadResourceContents]:
        try:
            content = await asyncio.to_thread(resources.read, self.runner.limits, str(uri))
        except Exception as e:
            raise ResourceError(one_line(e)) from None
        return [ReadResourceContents(content=content.data, mime_type=content.mime_type)]


def build_server(runs: Runs | None = None, *, host: str = "127.0.0.1", stdio: bool = False) -> FastMCP:
    """The server's tools bound to one `Runs` (caps, output root, operator run defaults). `host`: where HTTP
    serves it (a loopback host keeps the SDK's DNS-rebinding protection on); `stdio`: its runs end with the
    client's session, and their answers say so."""
    return CatalogueServer(runner_of(Background(runs or Runs())), host=host, note=STDIO_NOTE if stdio else None)


async def serve_stdio(server: FastMCP) -> None:
    """Serve on the process's stdin/stdout; fd 1 is pointed at stderr so only the protocol reaches stdout."""
    import anyio
    from mcp.server.stdio import stdio_server

    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    lowlevel = lowlevel_server(server)
    async with stdio_server(stdout=anyio.wrap_file(protocol)) as (read, write):
        await lowlevel.run(read, write, lowlevel.create_initialization_options())


def main(runs: Runs | None = None) -> None:
    asyncio.run(serve_stdio(build_server(runs, stdio=True)))


if __name__ == "__main__":
    main()
