"""A stdio MCP server (official `mcp` SDK, FastMCP) for desktop MCP clients: explore, status, runs, export, stats.

Every tool goes through `Runs`, so callers get the operator's caps and output root and compact answers;
failures come back as MCP tool errors of one line. stdout carries the protocol only: anything else that
writes to it (a native library, a progress bar) is sent to stderr.
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
from pydantic import BaseModel, Field, ValidationError, create_model

from explore_instruct.agent.errors import flat, one_line
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.service import Runs

INSTRUCTIONS = (
    "Build instruction-tuning datasets. `explore` starts a run for a domain and returns its id and counts "
    "(the examples stay on disk); `status`, `list_runs`, `resume`, `export` and `stats` work on run ids."
)
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


def build_server(runs: Runs | None = None) -> FastMCP:
    """The server's tools bound to one `Runs` (caps, output root, operator run defaults)."""
    runs = runs or Runs()

    async def guarded(work: Awaitable[T]) -> T:
        try:
            return await work
        except Exception as e:
            raise ToolError(one_line(e)) from None

    def reporter(ctx: MCPContext | None) -> Any:
        """Progress notifications (for clients that ask) from the run's events."""
        if ctx is None:
            return None
        done = {"n": 0}
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Task[None]] = set()

        def report(event: dict[str, Any]) -> None:
            if event.get("event") not in {"proposed", "generated", "finished"}:
                return
            done["n"] += 1
            task = loop.create_task(ctx.report_progress(done["n"], None, str(event.get("event"))))
            pending.add(task)
            task.add_done_callback(pending.discard)

        return report

    async def explore(ctx: MCPContext | None = None, **arguments: Any) -> dict[str, Any]:
        async def work() -> dict[str, Any]:
            return await runs.explore(ExploreRequest(**arguments), progress=reporter(ctx))

        return await guarded(work())

    explore_tool = model_tool(
        explore,
        ExploreRequest,
        name="explore",
        description=ExploreRequest.__doc__ or "",
        annotations=ToolAnnotations(title="Explore a domain"),
    )
    server = OneLineFastMCP("explore-instruct", instructions=INSTRUCTIONS, log_level="WARNING", tools=[explore_tool])

    @server.tool(
        description="Where a run stands: status, counts, cost, what it waits for.",
        annotations=ToolAnnotations(readOnlyHint=True),
    )
    async def status(
        run: Annotated[str, Field(description="Run id (directory name under the root).")],
    ) -> dict[str, Any]:
        return await guarded(runs.status(run))

    @server.tool(
        description="The newest runs under the output root with status and counts.",
        annotations=ToolAnnotations(readOnlyHint=True),
    )
    async def list_runs(
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many.")] = 50,
    ) -> list[dict[str, Any]]:
        return await guarded(runs.list_runs(limit))

    @server.tool(description="Continue a run stopped by a budget or a fault, optionally with a larger budget.")
    async def resume(
        run: Annotated[str, Field(description="Run id.")],
        max_calls: Annotated[int | None, Field(default=None, gt=0, description="New budget: LLM calls.")] = None,
        max_tokens: Annotated[int | None, Field(default=None, gt=0, description="New budget: tokens.")] = None,
        max_cost_usd: Annotated[float | None, Field(default=None, gt=0, description="New budget: USD.")] = None,
        ctx: MCPContext | None = None,
    ) -> dict[str, Any]:
        work = runs.resume(
            run, progress=reporter(ctx), max_calls=max_calls, max_tokens=max_tokens, max_cost_usd=max_cost_usd
        )
        return await guarded(work)

    @server.tool(description="Sample a run's examples (the method's per-task quota) and write them as a training file.")
    async def export(
        run: Annotated[str, Field(description="Run id.")],
        format: Annotated[Format, Field(description="File format.")] = "jsonl",
        n: Annotated[int | None, Field(default=None, gt=0, description="Examples to sample (default all).")] = None,
        seed: Annotated[int, Field(description="Sampling seed.")] = 0,
    ) -> dict[str, Any]:
        return await guarded(runs.export(run, format, n=n, seed=seed))

    @server.tool(
        description="Shape (tasks and examples per depth), diversity (ROUGE-L) and cost of a run.",
        annotations=ToolAnnotations(readOnlyHint=True),
    )
    async def stats(
        run: Annotated[str, Field(description="Run id.")],
        verbs: Annotated[
            bool, Field(description="Count verb-noun pairs (the paper's diversity metric; needs spaCy, slower).")
        ] = True,
    ) -> dict[str, Any]:
        return await guarded(runs.stats(run, verbs=verbs))

    return server


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
