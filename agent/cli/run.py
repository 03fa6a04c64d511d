"""`run`, `resume` and `status`: one run directory, driven from the command line.

`run` takes the explore request's fields (generated from `ExploreRequest`, like every face's) plus the
operator's own parameters (endpoint, strategy, similarity, concurrency, ...); the person at the command line is
the operator, so no caps apply. All three go through the run lifecycle (`agent/runs/runner.py: Runner`), imported
inside the commands with the graph and the model clients: `--help` and the other commands never load them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from explore_instruct.agent.cli.console import guard, say
from explore_instruct.agent.cli.options import operator_params, request_options
from explore_instruct.agent.request import BUDGETS, stated
from explore_instruct.tools.prompts.full import Flavour

if TYPE_CHECKING:
    from explore_instruct.agent.runs.driver import RunOutcome
    from explore_instruct.graphs.context import Context

# How the CLI reads the request's fields where a caller's face reads them otherwise.
RUN_HELP = {
    "output_dir": "Run directory (everything to resume lives here).",
    "breadth": "New subtasks per task at each depth, e.g. 8,6.",
    "examples": "Examples per task at each depth, e.g. 50,50,50 (the last value repeats).",
    "model": "provider:model (default local:smollm2).",
    "max_calls": "Budget: LLM calls.",
    "max_tokens": "Budget: tokens.",
    "max_cost_usd": "Budget: USD.",
}


def check_similarity(ctx: Context) -> None:
    """An embedder that cannot load or a Chroma server that is down fails before the run starts."""
    if ctx.similarity == "embedding":
        from explore_instruct.tools.similarity.embeddings import chroma_client, make_embedder

        make_embedder(ctx.embedder)
        if ctx.chroma_host:
            chroma_client(None, ctx.chroma_host, ctx.chroma_port)


@request_options(required=("output_dir",), paths=("output_dir",), help=RUN_HELP)
def run_cmd(
    request: dict[str, Any],
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint.")] = None,
    subtasks_per_call: Annotated[int | None, typer.Option(help="Subtasks per lookahead/backtracking call.")] = None,
    examples_per_call: Annotated[int | None, typer.Option(help="Examples per enrich call.")] = None,
    strategy: Annotated[
        str | None, typer.Option(help="dfs (default), bfs, or flat (a task per chunk of --docs, no exploration).")
    ] = None,
    flavour: Annotated[Flavour | None, typer.Option(help="Prompt flavour.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Parallel LLM calls.")] = None,
    random_seed: Annotated[int | None, typer.Option("--random-seed", help="Random seed.")] = None,
    review: Annotated[bool, typer.Option(help="Review proposed subtasks at a prompt.")] = False,
    similarity: Annotated[str | None, typer.Option(help="embedding (default), rouge or exact.")] = None,
    prune_threshold: Annotated[float | None, typer.Option(help="Task-name similarity limit.")] = None,
    filter_threshold: Annotated[float | None, typer.Option(help="Instruction similarity limit.")] = None,
    dedup_scope: Annotated[str | None, typer.Option(help="tree (default) or node.")] = None,
    embedder: Annotated[
        str | None, typer.Option(help="local:all-minilm-l6-v2, openai:<model>, chroma:default.")
    ] = None,
    chroma_host: Annotated[str | None, typer.Option(help="Chroma server host (default: on disk in the run).")] = None,
    chroma_port: Annotated[int | None, typer.Option(help="Chroma server port.")] = None,
    judge_threshold: Annotated[int | None, typer.Option(help="With --judge: drop examples scored below this.")] = None,
    judge_base_url: Annotated[str | None, typer.Option(help="With --judge-model: the judge's endpoint.")] = None,
    # The operator's own: an MCP server is a program started (or a host reached) on this machine.
    tools_from_mcp: Annotated[str | None, typer.Option(help=stated("tools_from_mcp"))] = None,
    execute_tools: Annotated[bool, typer.Option(help=stated("execute_tools"))] = False,
    config: Annotated[Path | None, typer.Option(help="YAML file of run parameters.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (tasks, calls, tokens, cost range) and stop: no call.")
    ] = False,
    calibrate: Annotated[
        Path | None, typer.Option(help="A finished (pilot) run of the same model: the plan measures it.")
    ] = None,
) -> None:
    """Explore a domain and enrich every task; the API key comes from the environment only."""
    operator = operator_params(
        base_url=base_url, subtasks_per_call=subtasks_per_call, examples_per_call=examples_per_call,
        strategy=strategy, flavour=flavour, concurrency=concurrency, random_seed=random_seed, similarity=similarity,
        prune_threshold=prune_threshold, filter_threshold=filter_threshold, dedup_scope=dedup_scope,
        embedder=embedder, chroma_host=chroma_host, chroma_port=chroma_port, review=review,
        judge_threshold=judge_threshold, judge_base_url=judge_base_url, tools_from_mcp=tools_from_mcp,
        execute_tools=execute_tools,
    )  # fmt: skip

    def run() -> RunOutcome:
        import asyncio

        from explore_instruct.agent.cli.report import Progress, review_prompt
        from explore_instruct.agent.config import build_context, load_config
        from explore_instruct.agent.request import ExploreRequest
        from explore_instruct.agent.runs.plan import plan_for, plan_output
        from explore_instruct.agent.runs.runner import Runner
        from explore_instruct.tools.prompts.judge import judge_caveat
        from explore_instruct.tools.tree.seeds import load_seed

        req = ExploreRequest.model_validate(request)
        params = {
            **load_config(config),
            **req.context_params(),
            **operator,
            "run_dir": req.output_dir,
        }
        ctx = build_context(params)
        if ctx.docs:  # the operator's own path, stored absolute so a resume from elsewhere finds the corpus
            ctx.docs = str(Path(ctx.docs).expanduser().resolve())
        if ctx.tools:  # the same for a tools list
            ctx.tools = str(Path(ctx.tools).expanduser().resolve())
        seed = req.preset_seed() or req.seed
        if seed:
            load_seed(seed)  # fail fast, before anything is written
        plan = plan_for(ctx, seed=seed, calibrate=str(calibrate) if calibrate else None)
        if dry_run or req.plan:  # before the model is made: a plan needs no key and calls nothing
            say(plan_output(ctx, plan, domain=req.domain, seed=seed, as_json=as_json))
            raise typer.Exit(0)
        runner = Runner()
        runner.model_for(ctx)  # a bad model string or a missing key fails here, not mid-run
        if ctx.judge and (caveat := judge_caveat(ctx.judge_label)):
            say(f"warning: {caveat}", stderr=True)
        check_similarity(ctx)
        with Progress(quiet or as_json) as progress:
            return asyncio.run(
                runner.start(
                    ctx,
                    domain=req.domain,
                    seed=seed,
                    progress=progress,
                    on_review=review_prompt if review else None,
                    plan_file=plan,  # plan.json: the dataset card shows it against what the run spent
                )
            )

    finish(guard(run), as_json)


@request_options(fields=BUDGETS, help=RUN_HELP)
def resume_cmd(
    request: dict[str, Any],
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by `run`.")],
    concurrency: Annotated[int | None, typer.Option(help="Parallel LLM calls.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Continue a stopped or killed run where it was."""

    def run() -> RunOutcome:
        import asyncio

        from explore_instruct.agent.cli.report import Progress
        from explore_instruct.agent.runs.runner import Runner

        with Progress(quiet or as_json) as progress:  # `request`: the budgets given, by their field names
            return asyncio.run(Runner().resume(run_dir, progress=progress, max_concurrency=concurrency, **request))

    finish(guard(run), as_json)


def finish(outcome: RunOutcome, as_json: bool) -> None:
    from explore_instruct.agent.cli.report import exit_for, report

    report(outcome, as_json)
    exit_for(outcome)


def status_cmd(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Where a run stands (JSON)."""

    def run() -> dict[str, Any]:
        import asyncio

        from explore_instruct.agent.runs.runner import Runner

        return asyncio.run(Runner().status(run_dir))

    typer.echo(json.dumps(guard(run), indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("resume")(resume_cmd)
    app.command("status")(status_cmd)
