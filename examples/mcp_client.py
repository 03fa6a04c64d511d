"""An MCP client: start `explore-instruct mcp` over stdio and call its tools, as a desktop MCP client would.

    python examples/mcp_client.py                       # offline, runs on the embedded model

The server is configured by flags (output root, model, endpoint) and EXPLORE_INSTRUCT_HARD_* caps; the
client only sees tools and compact results. `explore` answers at once while the run goes on in the server;
`status` follows it (`wait_s` waits up to 50 s per call, under the clients' one-minute timeout).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

from _common import parser
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def server_command() -> str:
    """The console script next to this interpreter (a venv), else the one on PATH."""
    local = Path(sys.executable).parent / "explore-instruct"
    return str(local) if local.exists() else (shutil.which("explore-instruct") or "explore-instruct")


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    server_args = ["mcp", "--root", args.out, "--model", args.model, "--similarity", args.similarity]
    if args.base_url:
        server_args += ["--base-url", args.base_url]
    params = StdioServerParameters(command=server_command(), args=server_args, env=dict(os.environ))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        print("tools:", ", ".join(t.name for t in tools.tools))
        result = await session.call_tool(
            "explore", {"domain": args.domain, "depth": 1, "breadth": [2], "examples": [2], "output_dir": "mcp-demo"}
        )
        if result.isError:
            raise SystemExit(f"explore failed: {result.content[0].text}")  # type: ignore[union-attr]
        run = result.structuredContent or {}
        print("explore:", json.dumps({k: run.get(k) for k in ("run_id", "status", "planned")}))
        while True:  # each call waits up to 50 s for the run to end
            status = await session.call_tool("status", {"run": run["run_id"], "wait_s": 50})
            done = status.structuredContent or {}
            if done.get("status") != "running":
                break
            print("  ...", done.get("phase"), "ETA", done.get("eta_s"), "s")
        print("status:", json.dumps({k: done.get(k) for k in ("run_id", "status", "tasks", "examples", "calls")}))
        listed = await session.call_tool("list_runs", {})
        print("runs:", [r["run_id"] for r in (listed.structuredContent or {}).get("result", [])])
        capped = await session.call_tool("explore", {"domain": args.domain, "depth": 6, "breadth": [12]})
        print("over the cap:", capped.content[0].text)  # type: ignore[union-attr]


if __name__ == "__main__":
    asyncio.run(main())
