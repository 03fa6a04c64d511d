"""The `runs`, `mcp` and `web` commands, joined to the main app by `register`.

`runs` lists what is under an output root; `mcp` serves the run operations to MCP clients over stdio (desktop
apps) or streamable HTTP (`--http`); `web` serves a browser chat for the people who review the tree. The run
operations (and with them LangGraph and the model clients) are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from explore_instruct.agent.cli.console import guard, out, say
from explore_instruct.agent.cli.options import operator_params


def _run_defaults(config: Path | None, **flags: Any) -> dict[str, Any]:
    """Operator run parameters for the MCP server: a YAML file like `run --config`, then flags."""
    from explore_instruct.agent.config import build_context, load_config

    # Each run gets its own directory under the root: a config cannot name one.
    params = {**load_config(config, exclude={"run_dir"}), **operator_params(**flags)}
    build_context(params, where="mcp")  # fail now, not at the first tool call
    return params


def register(app: typer.Typer) -> None:
    @app.command("runs")
    def runs_cmd(
        root: Annotated[
            Path | None, typer.Argument(help="Output root (default: $EXPLORE_INSTRUCT_OUTPUT_ROOT or runs).")
        ] = None,
        limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
        as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    ) -> None:
        """List the runs under an output root with status and counts."""
        from explore_instruct.agent.runs.event_loops import run_sync
        from explore_instruct.agent.runs.limits import Limits
        from explore_instruct.agent.runs.service import Runs

        def run() -> list[dict[str, Any]]:
            limits = Limits(output_root=str(root)) if root is not None else Limits()
            if not limits.root.is_dir():
                raise ValueError(f"{limits.output_root}: no such directory")
            return run_sync(lambda: Runs(limits=limits).list_runs(limit))

        rows = guard(run)
        if as_json:
            typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        from rich.table import Table

        table = Table(title=f"{len(rows)} runs")
        for col in ("run", "status", "tasks", "examples", "calls", "cost", "domain"):
            table.add_column(col)
        for r in rows:
            cost = r.get("cost_usd")
            table.add_row(
                escape(r["run_id"]),
                escape(str(r.get("status"))),
                str(r.get("tasks", "")),
                str(r.get("examples", "")),
                str(r.get("calls", "")),
                "unknown" if cost is None and "error" not in r else ("" if cost is None else f"${cost:.4f}"),
                escape(str(r.get("domain") or r.get("error") or "")),
            )
        out.print(table)

    @app.command("mcp")
    def mcp_cmd(
        root: Annotated[
            Path | None, typer.Option(help="Output root for runs (default: $EXPLORE_INSTRUCT_OUTPUT_ROOT or runs).")
        ] = None,
        model: Annotated[str | None, typer.Option(help="Default model for runs (callers may pick another).")] = None,
        base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint for runs.")] = None,
        similarity: Annotated[str | None, typer.Option(help="embedding (default), rouge or exact.")] = None,
        config: Annotated[Path | None, typer.Option(help="YAML file of default run parameters.")] = None,
        http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")] = False,
        host: Annotated[str, typer.Option(help="HTTP: the address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP: the port (0: any free one).")] = 8765,
    ) -> None:
        """Serve explore, status, cancel, list_runs, resume, export and stats to MCP clients (stdio, or --http).

        Runs go on in the background: explore answers at once and status follows the run. Hard caps come from
        EXPLORE_INSTRUCT_HARD_MAX_NODES / _CALLS / _TOKENS / _COST_USD / _EXAMPLES / _RUNNING; over HTTP, every
        request must carry `Authorization: Bearer $EXPLORE_INSTRUCT_MCP_TOKEN` when that is set.
        """
        from explore_instruct.agent.mcp.server import build_server, main
        from explore_instruct.agent.runs.limits import Limits
        from explore_instruct.agent.runs.service import Runs

        def build() -> Runs:
            defaults = _run_defaults(config, model=model, base_url=base_url, similarity=similarity)
            limits = Limits(output_root=str(root)) if root is not None else Limits()
            return Runs(limits=limits, defaults=defaults)

        runs = guard(build)
        if not http:
            main(runs)
            return
        from explore_instruct.agent.mcp.http import serve_http

        server = build_server(runs, host=host)
        guard(lambda: serve_http(server, host, port))

    @app.command("web")
    def web_cmd(
        root: Annotated[
            Path | None, typer.Option(help="Output root for runs (default: $EXPLORE_INSTRUCT_OUTPUT_ROOT or runs).")
        ] = None,
        model: Annotated[str | None, typer.Option(help="provider:model the chat and its runs use.")] = None,
        base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint for the model.")] = None,
        similarity: Annotated[str | None, typer.Option(help="embedding (default), rouge or exact.")] = None,
        review: Annotated[bool, typer.Option(help="Pause runs so people review the proposed subtasks.")] = True,
        host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="The port.")] = 7860,
        allow_host: Annotated[
            list[str] | None,
            typer.Option(
                help="Another Host name the page answers to (repeatable; default: 127.0.0.1, localhost, [::1] and "
                "the --host address, at --port). Any other Host gets 400 (DNS rebinding)."
            ),
        ] = None,
    ) -> None:
        """Serve a browser chat: start runs, watch them grow, review proposals with buttons, download the data.

        Needs the `web` extra (Gradio). Same caps (EXPLORE_INSTRUCT_HARD_*) and output root as every face. Set
        EXPLORE_INSTRUCT_WEB_TOKEN to require a login with that token (any user name, the token as password).
        """

        def build() -> Any:
            from explore_instruct.agent.chat.context import ChatContext
            from explore_instruct.agent.runs.limits import Limits

            params: dict[str, Any] = {"review": review}
            for name, value in (("model", model), ("base_url", base_url), ("similarity", similarity)):
                if value is not None:
                    params[name] = value
            if root is not None:
                params["output_root"] = str(root)
            ctx = ChatContext(**params)
            Limits(output_root=ctx.output_root) if ctx.output_root else Limits()  # bad caps fail here, in one line
            try:
                from explore_instruct.agent.web import app as web_app
                from explore_instruct.agent.web.guard import exposure_warning, token
            except ImportError as e:
                raise ValueError(f"web: needs Gradio (pip install 'explore-instruct[web]'): {e}") from None
            warning = exposure_warning(host, token() is not None)
            if warning:
                say(warning, stderr=True)
            return lambda: web_app.serve(ctx, host, port, allow_hosts=allow_host or ())

        guard(guard(build))  # serving fails in one line too (a port in use, a bad root)
