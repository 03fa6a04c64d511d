"""The MCP server (official `mcp` SDK, FastMCP): explore, status, cancel, list_runs, resume, export, stats.

Served over stdio for desktop MCP clients (here) and over streamable HTTP (`agent/mcp/http.py`). Every tool goes
through `Runs`, so callers get the operator's caps and output root and compact answers; failures come back as
MCP tool errors of one line. `explore` and `resume` start the run in the background (`agent/runs/background.py`)
and answer at once: MCP clients time a tool call out after about a minute, and a run takes minutes to hours.
`wait=true` keeps the blocking call (with progress notifications) for scripts. The SDK's experimental
task-augmented calls (SEP-1686) are deprecated in mcp 1.30 and gone from the spec, so nothing here uses them.
stdout carries the protocol only: anything else that writes to it (a native library, a progress bar) is sent
to stderr.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.fastmcp import Context as MCPContext
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.fastmcp.tools import Tool
from mcp.server.fastmcp.utilities.func_metadata import ArgModelBase
from mcp.types import ContentBlock, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from explore_instruct.agent.errors import flat, one_line
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.runs.sizing import CALLER_NOTE

INSTRUCTIONS = (
    "Build instruction-tuning datasets. `explore` starts a run for a domain in the background and answers at "
    "once with its id and planned size (the examples stay on disk); `status` follows it to its summary, "
    "`cancel` stops it, and `list_runs`, `resume`, `export` and `stats` work on run ids."
)
EXPLORE_DESCRIPTION = f"{ExploreRequest.__doc__ or ''}\n{CALLER_NOTE}"
WAIT_S = 50  # a status call may wait this long for the run to end, under the clients' one-minute timeout
T = TypeVar("T")
Format = Literal["alpaca", "jsonl", "sharegpt", "messages", "hf"]


def model_tool(
    fn: Callable[..., Awaitable[Any]], model: type[BaseModel], *, name: str, description: str, **kw: Any
) -> Tool:
    """A tool whose advertised input schema and argument check are `model` itself.

    FastMCP builds both from the function's signature, which would be a second copy of the model's fields, and
    it drops arguments the signature does not name: `depht=5` would start a default run. Here the arguments
    are validated by `model` (strict: an unknown one is an error naming it) and handed to `fn` as keywords.
    """
    tool = Tool.from_function(fn, name=name, description=description, **kw)
    arguments = create_model(f"{name}Arguments", __base__=(ArgModelBase, model))
    metadata = tool.fn_metadata.model_copy(update={"arg_model": arguments})
    return tool.model_copy(update={"fn_metadata": metadata, "parameters": arguments.model_json_schema(by_alias=True)})


class OneLineFastMCP(FastMCP):
    """FastMCP whose tool errors are one line: its own argument check answers with pydantic's report
    (several lines and a URL), and an unknown tool's name is the caller's text."""

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Sequence[ContentBlock] | dict[str, Any]:
        try:
            return await super().call_tool(name, arguments)
        except ToolError as e:
            bad_args = e.__cause__ if isinstance(e.__cause__, ValidationError) else None
            message = f"Error executing tool {name}: {one_line(bad_args)}" if bad_args is not None else str(e)
            raise ToolError(flat(message)) from None


def strict_tool(fn: Callable[..., Awaitable[Any]], *, name: str, description: str, **kw: Any) -> Tool:
    """A tool from a function's signature that refuses arguments the signature does not name (FastMCP would
    drop them silently): `status(run=..., wiat_s=30)` is an error naming `wiat_s`."""
    tool = Tool.from_function(fn, name=name, description=description, **kw)
    base = tool.fn_metadata.arg_model
    config = ConfigDict(**{**base.model_config, "extra": "forbid"})
    arguments: type[ArgModelBase] = type(
        f"{name}Arguments", (base,), {"model_config": config, "__module__": base.__module__}
    )
    metadata = tool.fn_metadata.model_copy(update={"arg_model": arguments})
    return tool.model_copy(update={"fn_metadata": metadata, "parameters": arguments.model_json_schema(by_alias=True)})


def build_server(runs: Runs | None = None, *, host: str = "127.0.0.1") -> FastMCP:
    """The server's tools bound to one `Runs` (caps, output root, operator run defaults). `host`: where HTTP
    serves it (a loopback host keeps the SDK's DNS-rebinding protection on)."""
    runs = runs or Runs()
    background = Background(runs)

    async def guarded(work: Awaitable[T]) -> T:
        try:
            return await work
        except Exception as e:
            raise ToolError(one_line(e)) from None

    def reporter(ctx: MCPContext | None) -> Any:
        """Progress notifications (for clients that ask) from the run's events, while a caller waits."""
        if ctx is None:
            return None
        done = {"n": 0}
        loop = asyncio.get_running_loop()

        def report(event: dict[str, Any]) -> None:  # called on the runs' loop: the session lives on this one
            if event.get("event") not in {"proposed", "generated", "finished"}:
                return
            done["n"] += 1
            asyncio.run_coroutine_threadsafe(ctx.report_progress(done["n"], None, str(event.get("event"))), loop)

        return report

    async def explore(ctx: MCPContext | None = None, **arguments: Any) -> dict[str, Any]:
        async def work() -> dict[str, Any]:
            req = ExploreRequest(**arguments)
            return await background.explore(req, progress=reporter(ctx) if req.wait else None)

        return await guarded(work())

    async def status(
        run: Annotated[str, Field(description="Run id (directory name under the root).")],
        wait_s: Annotated[
            float, Field(ge=0, le=WAIT_S, description=f"Wait up to this many seconds (<= {WAIT_S}) for it to end.")
        ] = 0,
    ) -> dict[str, Any]:
        return await guarded(background.status(run, wait_s=wait_s))

    async def cancel(run: Annotated[str, Field(description="Run id.")]) -> dict[str, Any]:
        return await guarded(background.cancel(run))

    async def list_runs(
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many.")] = 50,
    ) -> list[dict[str, Any]]:
        return await guarded(runs.list_runs(limit))

    async def resume(
        run: Annotated[str, Field(description="Run id.")],
        max_calls: Annotated[int | None, Field(default=None, gt=0, description="New budget: LLM calls.")] = None,
        max_tokens: Annotated[int | None, Field(default=None, gt=0, description="New budget: tokens.")] = None,
        max_cost_usd: Annotated[float | None, Field(default=None, gt=0, description="New budget: USD.")] = None,
        wait: Annotated[bool, Field(description="Answer when the run ends (default: at once).")] = False,
        ctx: MCPContext | None = None,
    ) -> dict[str, Any]:
        work = background.resume(
            run,
            wait=wait,
            progress=reporter(ctx) if wait else None,
            max_calls=max_calls,
            max_tokens=max_tokens,
            max_cost_usd=max_cost_usd,
        )
        return await guarded(work)

    async def export(
        run: Annotated[str, Field(description="Run id.")],
        format: Annotated[Format, Field(description="File format.")] = "jsonl",
        n: Annotated[int | None, Field(default=None, gt=0, description="Examples to sample (default all).")] = None,
        seed: Annotated[int, Field(description="Sampling seed.")] = 0,
    ) -> dict[str, Any]:
        return await guarded(runs.export(run, format, n=n, seed=seed))

    async def stats(
        run: Annotated[str, Field(description="Run id.")],
        verbs: Annotated[
            bool, Field(description="Count verb-noun pairs (the paper's diversity metric; needs spaCy, slower).")
        ] = True,
    ) -> dict[str, Any]:
        return await guarded(runs.stats(run, verbs=verbs))

    read_only = ToolAnnotations(readOnlyHint=True)
    tools = [
        model_tool(
            explore,
            ExploreRequest,
            name="explore",
            description=EXPLORE_DESCRIPTION,
            annotations=ToolAnnotations(title="Explore a domain"),
        ),
        strict_tool(
            status,
            name="status",
            description="Where a run stands: running (phase, counts, calls, cost, ETA), its final summary, or what "
            "it waits for (a review, a budget).",
            annotations=read_only,
        ),
        strict_tool(
            cancel, name="cancel", description="Stop a running run at the step it is in; `resume` continues it."
        ),
        strict_tool(
            list_runs,
            name="list_runs",
            description="The newest runs under the output root with status and counts.",
            annotations=read_only,
        ),
        strict_tool(
            resume,
            name="resume",
            description="Continue a run stopped by a budget, a fault, a cancel or a restart, optionally with a "
            "larger budget; in the background like explore.",
        ),
        strict_tool(
            export,
            name="export",
            description="Sample a run's examples (the method's per-task quota) and write them as a training file.",
        ),
        strict_tool(
            stats,
            name="stats",
            description="Shape (tasks and examples per depth), diversity (ROUGE-L) and cost of a run.",
            annotations=read_only,
        ),
    ]
    return OneLineFastMCP("explore-instruct", instructions=INSTRUCTIONS, log_level="WARNING", tools=tools, host=host)


async def serve_stdio(server: FastMCP) -> None:
    """Serve on the process's stdin/stdout; fd 1 is pointed at stderr so only the protocol reaches stdout."""
    import anyio
    from mcp.server.stdio import stdio_server

    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    async with stdio_server(stdout=anyio.wrap_file(protocol)) as (read, write):
        await server._mcp_server.run(read, write, server._mcp_server.create_initialization_options())


def main(runs: Runs | None = None) -> None:
    asyncio.run(serve_stdio(build_server(runs)))


if __name__ == "__main__":
    main()
