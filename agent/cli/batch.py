"""`batch`: many runs from a domains file, on Ray (`--ray ADDRESS|local`) or in this process (`--parallel`).

Every run is an ordinary run directory under `--out` (resume, status and export work on each), its checkpoints in
the shared PostgreSQL when EXPLORE_INSTRUCT_CHECKPOINT_URL is set and its vectors on the Chroma server when one is
given. Everything a run can be told comes from the run options here (the request's fields, as on `run`) and
a domains file's own per-run parameters; `--max-cost` is the budget of the whole batch (agent/batch/dispatch.py).
Everything is checked before the first run starts (the file, every run's parameters, the model and its key, the
Chroma server, the Ray cluster), each failure in one line.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from explore_instruct.agent.cli.console import EXIT_BUDGET, guard, say
from explore_instruct.agent.cli.options import operator_params, request_options
from explore_instruct.agent.request import ExploreRequest

if TYPE_CHECKING:
    from explore_instruct.agent.batch.dispatch import BatchResult
    from explore_instruct.agent.batch.jobs import Job

# The request's fields a batch gives every run (domain and seed come from the file, the budget is the batch's).
RUN_FIELDS = [
    f
    for f in ExploreRequest.model_fields
    if f not in {"domain", "seed", "preset", "output_dir", "max_cost_usd", "wait", "dry_run"}
]
HELP = {
    "breadth": "New subtasks per task at each depth, e.g. 8,6.",
    "examples": "Examples per task at each depth (the last value repeats).",
    "max_calls": "Budget per run: LLM calls.",
    "max_tokens": "Budget per run: tokens.",
}


@request_options(fields=RUN_FIELDS, help=HELP)
def batch_cmd(
    request: dict[str, Any],
    domains: Annotated[Path, typer.Argument(help="Domains file: .txt (one a line) or .yaml (domain/seed entries).")],
    out: Annotated[Path, typer.Option("--out", help="Root directory: one run directory per domain under it.")],
    ray: Annotated[str | None, typer.Option("--ray", help="Ray cluster HOST:PORT, or local (default: no Ray).")] = None,
    parallel: Annotated[int | None, typer.Option(help="Runs at once (default: Ray's CPUs, else 4).")] = None,
    split: Annotated[bool, typer.Option(help="Each entry: a depth-1 root run, then one run per subtree.")] = False,
    max_cost: Annotated[float | None, typer.Option("--max-cost", help="Budget of the whole batch, USD.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint.")] = None,
    subtasks_per_call: Annotated[int | None, typer.Option(help="Subtasks per lookahead/backtracking call.")] = None,
    examples_per_call: Annotated[int | None, typer.Option(help="Examples per enrich call.")] = None,
    strategy: Annotated[str | None, typer.Option(help="dfs (default) or bfs.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Parallel LLM calls per run.")] = None,
    similarity: Annotated[str | None, typer.Option(help="embedding (default), rouge or exact.")] = None,
    chroma_host: Annotated[str | None, typer.Option(help="Chroma server host shared by the runs.")] = None,
    chroma_port: Annotated[int | None, typer.Option(help="Chroma server port.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file of run parameters for every run.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print each run's plan and the total; no call.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Explore many domains: one run each (or per subtree with --split), on Ray or in this process."""
    operator = operator_params(
        base_url=base_url, subtasks_per_call=subtasks_per_call, examples_per_call=examples_per_call,
        strategy=strategy, concurrency=concurrency, similarity=similarity, chroma_host=chroma_host,
        chroma_port=chroma_port,
    )  # fmt: skip
    if parallel is not None and parallel < 1:
        guard(lambda: _bad("--parallel: must be at least 1"))
    if max_cost is not None and max_cost <= 0:
        guard(lambda: _bad("--max-cost: must be positive"))

    def go() -> BatchResult | None:
        import asyncio

        from explore_instruct.agent.batch.dispatch import LocalPool, run_batch
        from explore_instruct.agent.batch.split import split as split_jobs
        from explore_instruct.agent.config import load_config

        common = {**load_config(config, exclude=("run_dir", "runs_root")), **_request_params(request)}
        common |= operator
        jobs = prepare(domains, out.resolve(), common, max_cost)
        if dry_run:
            show_plans(jobs, as_json)
            return None
        then = None
        if split:
            jobs, then = split_jobs(jobs, out.resolve())
        pool: Any = LocalPool()
        # Ray prints its own notices (a worker lost, a task retried) on stdout: they go to stderr, so stdout
        # holds the summary alone (--json).
        with contextlib.redirect_stdout(sys.stderr):
            if ray is not None:
                from explore_instruct.agent.batch.ray_pool import RayPool

                pool = RayPool(ray, parallel=parallel)
            try:
                width = parallel or (pool.cpus if ray is not None else 4)
                report = None if quiet or as_json else _report(max_cost)
                batch = run_batch(jobs, pool, parallel=width, max_cost_usd=max_cost, then=then, report=report)
                return asyncio.run(batch)
            finally:
                if ray is not None:
                    pool.close()

    result = guard(go)
    if result is None:
        return
    from explore_instruct.agent.batch.dispatch import summary_table

    if as_json:
        typer.echo(json.dumps({"totals": result.totals, "runs": result.rows}, indent=2))
    else:
        say(summary_table(result))
    if any(r["status"] in ("budget", "not started") for r in result.rows):
        raise typer.Exit(EXIT_BUDGET)
    if any(r["status"] != "done" for r in result.rows):
        raise typer.Exit(1)


def _bad(message: str) -> None:
    raise ValueError(message)


def _request_params(request: dict[str, Any]) -> dict[str, Any]:
    """The run options given, by their `Context` names (the request's own validation and parsing)."""
    return ExploreRequest.model_validate({**request, "domain": "-"}).context_params()


def prepare(domains: Path, root: Path, common: dict[str, Any], max_cost: float | None) -> list[Job]:
    """Every job checked before any run starts: parameters, seeds, models and keys, the Chroma server, prices."""
    from explore_instruct.agent.batch.jobs import Job, read_domains
    from explore_instruct.agent.cli.run import check_similarity
    from explore_instruct.agent.config import build_context
    from explore_instruct.tools.llm.models import make_chat_model, price_for
    from explore_instruct.tools.tree.seeds import load_seed

    jobs: list[Job] = []
    checked: set[tuple[str, str | None, str]] = set()
    for entry in read_domains(domains):
        run_dir = root / entry["name"]
        params = {**common, **entry["params"]}
        ctx = build_context({**params, "run_dir": str(run_dir)}, where=f"{domains}: {entry['name']}")
        if entry.get("seed"):
            load_seed(entry["seed"])
        spec = ctx.model_spec()
        if (spec.model, spec.base_url, spec.api_key_env) not in checked:
            make_chat_model(spec)  # a bad model string or a missing key fails here, before any run
            checked.add((spec.model, spec.base_url, spec.api_key_env))
        if max_cost is not None:
            for model in {ctx.model, ctx.judge_label} if ctx.judge else {ctx.model}:
                if price_for(model) is None:
                    raise ValueError(f"--max-cost: no price is known for {model}, so its cost cannot be counted")
        if not jobs:
            check_similarity(ctx)
        jobs.append(Job(name=entry["name"], run_dir=str(run_dir), domain=entry.get("domain"), seed=entry.get("seed"),
                        params=params, batch_root=str(root)))  # fmt: skip
    return jobs


def show_plans(jobs: list[Job], as_json: bool) -> None:
    from explore_instruct.agent.runs.plan import plan_for
    from explore_instruct.graphs.context import Context

    rows: list[dict[str, Any]] = []
    for job in jobs:
        plan = plan_for(Context(**job.params), seed=job.seed)
        tokens = {k: round(v) for k, v in plan.tokens.items()}
        rows.append({"name": job.name, "calls": round(plan.total_calls), **tokens, "cost_usd": plan.cost_usd})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        cost = r["cost_usd"]["expected"]
        say(f"{r['name']:<50} ~{r['calls']} calls, ~{r['input'] + r['output']:,} tokens"
            + (f", ~${cost:.4f}" if cost is not None else ", cost unknown"))  # fmt: skip
    known = [r["cost_usd"]["expected"] for r in rows]
    total = f"~${sum(known):.4f}" if None not in known else "cost unknown"
    say(f"{len(rows)} runs: ~{sum(r['calls'] for r in rows)} calls, {total}")


def _report(max_cost: float | None) -> Any:
    last: list[str] = [""]

    def report(p: dict[str, Any]) -> None:
        budget = f" of ${max_cost:.4f}" if max_cost is not None else ""
        line = (f"batch: {p['done']}/{p['runs']} runs done, {p['running']} running, {p['waiting']} waiting; "
                f"{p['examples']} examples; ${p['cost_usd']:.4f}{budget}")  # fmt: skip
        if line != last[0]:
            last[0] = line
            say(line, stderr=True)

    return report


def register(app: typer.Typer) -> None:
    app.command("batch")(batch_cmd)
