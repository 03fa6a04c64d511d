"""The `explore-instruct` command line.

Exit codes: 0 ok, 2 bad input, 3 stopped by a budget, 1 anything else. Errors are one line unless
`--debug` is given, because the people reading them need the cause, not a stack.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from explore_instruct.agent.runner import RunOutcome, resume_run, run_status, start_run
from explore_instruct.graphs.context import Context
from explore_instruct.tools.decompose import DecomposeRequest, decompose
from explore_instruct.tools.generate import GenerateRequest, generate_examples
from explore_instruct.tools.llm import ModelConfigError, ModelSpec, make_chat_model
from explore_instruct.tools.prompts import Flavour
from explore_instruct.tools.runstore import DROPPED, RUN_META
from explore_instruct.tools.seeds import SeedError, load_ei_dir, load_seed, write_ei_dir
from explore_instruct.tools.similarity import SimilarityError
from explore_instruct.tools.tree import DomainTree
from explore_instruct.tools.treeops import filter_tree, open_index, prune_report

app = typer.Typer(
    name="explore-instruct",
    help="Explore a domain as a tree of tasks and generate instruction-tuning data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_BUDGET = 3
T = TypeVar("T")


class _State:
    debug = False


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _State.debug = debug


def _one_line(text: str) -> str:
    """Some ValueErrors (pydantic's) span lines; the error line holds them all, without the docs link."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(line for line in lines if not line.startswith("For further information visit"))


def _guard(fn: Callable[[], T]) -> T:
    """Map known failures to one-line errors and exit codes."""
    try:
        return fn()
    except (SeedError, ModelConfigError, SimilarityError, ValueError) as e:
        if _State.debug:
            raise
        err.print(f"[red]error:[/red] {escape(_one_line(str(e)))}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as e:
        if _State.debug:
            raise
        first = str(e).splitlines()[0] if str(e) else ""
        err.print(
            f"[red]error:[/red] {type(e).__name__}: {escape(first)}", markup=True, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None


def _print_tree(tree: DomainTree) -> None:
    table = Table(title=f"Domain: {escape(tree.root.name)}", show_lines=False)
    table.add_column("task")
    table.add_column("depth", justify="right")
    table.add_column("examples", justify="right")
    for node in tree.preorder(include_pruned=True):
        label = (
            "  " * node.depth
            + escape(node.name)
            + (f" [dim]({node.status.value})[/dim]" if node.status != "accepted" else "")
        )
        table.add_row(label, str(node.depth), str(len(node.examples)))
    out.print(table)
    s = tree.summary()
    out.print(f"nodes per depth: {s['nodes_per_depth']}  examples: {s['examples']}  pruned: {s['pruned']}")


@app.command("tree")
def tree_cmd(
    seed: Annotated[
        str, typer.Argument(help="A domain sentence, a YAML/JSON seed file, or an Explore-Instruct tree dir.")
    ],
    export_ei: Annotated[
        Path | None, typer.Option("--export-ei", help="Write the tree as an Explore-Instruct directory here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Validate a seed and summarise it."""

    def run() -> None:
        tree = load_seed(seed)
        written = write_ei_dir(tree, export_ei) if export_ei else []
        if as_json:
            summary = tree.summary() | ({"written": [str(p) for p in written]} if written else {})
            typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            _print_tree(tree)
            if written:
                out.print(f"wrote {len(written)} files to {escape(str(export_ei))}")

    _guard(run)


@app.command("try")
def try_cmd(
    domain: Annotated[str, typer.Argument(help="A one-sentence domain (or a seed file / tree dir).")],
    model: Annotated[str | None, typer.Option(help="provider:model, e.g. local:smollm2, openai:gpt-4o-mini")] = None,
    base_url: Annotated[str | None, typer.Option(help="Base URL of an OpenAI-compatible endpoint.")] = None,
    flavour: Annotated[Flavour, typer.Option(help="Domain flavour of the prompts.")] = Flavour.GENERIC,
    subtasks: Annotated[int, typer.Option("--subtasks", "-k", min=1, max=12, help="Subtasks to propose.")] = 3,
    examples: Annotated[int, typer.Option("--examples", "-n", min=1, max=50, help="Examples to generate.")] = 4,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Decompose a domain once and generate examples for its first new subtask."""

    def run() -> dict[str, Any]:
        tree = load_seed(domain)
        spec = ModelSpec(seed=seed)
        spec.model = model or spec.model
        spec.base_url = base_url or spec.base_url
        chat = make_chat_model(spec)
        return asyncio.run(_try(tree, chat, spec, flavour, subtasks, examples, quiet=as_json))

    result = _guard(run)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    if not result["subtasks"]:
        raise typer.Exit(1)


async def _try(
    tree: DomainTree, chat: Any, spec: ModelSpec, flavour: Flavour, k: int, n: int, *, quiet: bool
) -> dict[str, Any]:
    root = tree.root
    kids = tree.children(root.id)
    t0 = time.perf_counter()
    if not quiet:
        out.print(f"[bold]Domain:[/bold] {escape(root.name)}   [dim]model {escape(spec.model)}[/dim]")
    dec = await decompose(
        chat,
        DecomposeRequest(
            target=root.name,
            target_reason=root.reason,
            existing_children=[c.name for c in kids],
            demonstrations=root.examples[:2],
            k=k,
            flavour=flavour,
        ),
        model_label=spec.model,
    )
    calls = [dec.call] if dec.call else []
    result: dict[str, Any] = {
        "domain": root.name,
        "model": spec.model,
        "subtasks": [
            {"name": s.name, "reason": s.reason, "examples": [e.model_dump() for e in s.examples]} for s in dec.subtasks
        ],
        "skipped": [s.__dict__ for s in dec.skipped],
    }
    if not quiet:
        if dec.call and not dec.call.ok:
            err.print(f"decompose failed: {dec.call.error_kind}: {escape(str(dec.call.error))}", highlight=False)
        for s in dec.subtasks:
            out.print(f"\n[bold cyan]Subtask:[/bold cyan] {escape(s.name)}\n  [dim]reason:[/dim] {escape(s.reason)}")
            for e in s.examples:
                _print_example(e.instruction, e.input, e.output)
        if dec.skipped:
            out.print(f"[dim]skipped: {', '.join(sorted({f'{s.what}:{s.rule}' for s in dec.skipped}))}[/dim]")
    if dec.subtasks:
        first = dec.subtasks[0]
        gen = await generate_examples(
            chat,
            GenerateRequest(
                task=first.name,
                task_reason=first.reason,
                parent=root.name,
                siblings=[s.name for s in dec.subtasks[1:]],
                demonstrations=first.examples,
                flavour=flavour,
            ),
            n,
            per_call=min(n, 5),
            model_label=spec.model,
        )
        calls.extend(gen.calls)
        result["generated"] = {"task": first.name, "examples": [e.model_dump() for e in gen.examples]}
        result["generate_skipped"] = [s.__dict__ for s in gen.skipped]
        if not quiet:
            out.print(f"\n[bold green]Generated for[/bold green] {escape(first.name)}: {len(gen.examples)} examples")
            for e in gen.examples:
                _print_example(e.instruction, e.input, e.output)
    result["calls"] = [c.as_dict() | {"raw_text": None} for c in calls]
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    if not quiet:
        ok = sum(1 for c in calls if c.ok)
        toks = sum(c.output_tokens for c in calls)
        out.print(f"\n[dim]{len(calls)} calls, {ok} valid, {toks} completion tokens, {result['wall_s']} s[/dim]")
    return result


def _print_example(instruction: str, inp: str, output: str) -> None:
    out.print(f"  • [bold]{escape(instruction)}[/bold]", highlight=False)
    if inp:
        out.print(f"    [dim]input:[/dim] {escape(inp)}", highlight=False)
    out.print(f"    [dim]output:[/dim] {escape(output)}", highlight=False)


# ---- run / resume / status ------------------------------------------------------------------------


def _context_from(config: Path | None, **flags: Any) -> Context:
    params: dict[str, Any] = {}
    if config is not None:
        try:
            loaded = yaml.safe_load(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise ValueError(f"{config}: cannot read config ({str(e).splitlines()[0] if str(e) else e})") from None
        except RecursionError:
            raise ValueError(f"{config}: cannot read config (nesting is too deep)") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config}: config must be a mapping of parameter names to values")
        # Keys may be anything YAML can write (numbers, null); chat_model is a live object, never a setting.
        unknown = sorted(set(loaded) - (set(Context.__dataclass_fields__) - {"chat_model"}), key=repr)
        if unknown:
            raise ValueError(f"{config}: unknown parameter {unknown[0]!r}")
        params.update(loaded)
    params.update({k: v for k, v in flags.items() if v is not None})
    try:
        return Context(**params)
    except TypeError as e:
        raise ValueError(f"config: {e}") from None


class _Progress:
    """Live bars: exploration (tasks proposed) and enrichment (calls done, with ETA)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.explore = self.bar.add_task("explore", total=None)
        self.enrich = self.bar.add_task("enrich", total=0, visible=False)
        self.tokens = 0
        self.tasks = 0

    def __enter__(self) -> _Progress:
        if not self.quiet:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.quiet:
            self.bar.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "proposed":
            self.tasks += len(event.get("subtasks", []))
            self.bar.update(self.explore, advance=1, description=f"explore: {self.tasks} subtasks proposed")
        elif kind == "enrich_round":
            task = self.bar.tasks[self.enrich]
            self.bar.update(self.enrich, total=(task.total or 0) + event["calls"], visible=True)
            self.bar.update(self.explore, total=self.bar.tasks[self.explore].completed)
        elif kind == "generated":
            self.tokens += int(event.get("tokens", 0))
            self.bar.update(self.enrich, advance=1, description=f"enrich: {self.tokens} tokens")


def _report(outcome: RunOutcome, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2, default=str))
        return
    s = outcome.summary
    if s:
        out.print(
            escape(
                f"{s.get('root')}: tasks per depth {s.get('nodes_per_depth')}, examples {s.get('examples')} "
                f"{s.get('examples_per_depth')}, pruned {s.get('tasks_pruned')}"
            ),
            highlight=False,
        )
        if s.get("shortfall"):
            out.print(escape(f"short of the target: {s['shortfall']}"), highlight=False)
    st = outcome.stats
    cost = "unknown" if st.get("cost_unknown_calls") else f"${st.get('cost_usd', 0.0):.4f}"
    out.print(
        escape(
            f"calls {st.get('calls', 0)} ({st.get('calls_ok', 0)} valid), tokens {st.get('input_tokens', 0)} in / "
            f"{st.get('output_tokens', 0)} out, cost {cost}, faults {st.get('faults', {})}, drops {st.get('drops', {})}"
        ),
        highlight=False,
    )
    out.print(escape(f"run directory: {outcome.run_dir}"), highlight=False)
    if outcome.status == "provider":
        err.print(
            escape(f"paused: {(outcome.interrupt or {}).get('reason')}: explore-instruct resume {outcome.run_dir}"),
            highlight=False,
        )
    if outcome.status == "budget":
        err.print(
            escape(
                f"stopped: {(outcome.interrupt or {}).get('reason')}; resume with a larger budget: "
                f"explore-instruct resume {outcome.run_dir} --max-calls N"
            ),
            highlight=False,
        )


def check_similarity(ctx: Context) -> None:
    """An embedder that cannot load or a Chroma server that is down fails before the run starts."""
    if ctx.similarity == "embedding":
        from explore_instruct.tools.embeddings import chroma_client, make_embedder

        make_embedder(ctx.embedder)
        if ctx.chroma_host:
            chroma_client(None, ctx.chroma_host, ctx.chroma_port)


def _review_prompt(request: dict[str, Any]) -> dict[str, Any]:
    proposals = request.get("proposals", [])
    for i, p in enumerate(proposals, 1):
        err.print(escape(f"  {i}. {p['name']} (under {p['target']}): {p['reason']}"), highlight=False)
    answer = typer.prompt("Numbers to reject (comma-separated, empty keeps all)", default="", show_default=False)
    reject = []
    for part in answer.replace(" ", "").split(","):
        if part.isdigit() and 1 <= int(part) <= len(proposals):
            reject.append(proposals[int(part) - 1]["name"])
    return {"reject": reject}


def _exit_for(outcome: RunOutcome) -> None:
    if outcome.status == "budget":
        raise typer.Exit(EXIT_BUDGET)
    if outcome.status != "done":
        raise typer.Exit(1)


@app.command("run")
def run_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Run directory (everything to resume lives here).")],
    domain: Annotated[str | None, typer.Option(help="A one-sentence domain.")] = None,
    seed_path: Annotated[str | None, typer.Option("--seed", help="A YAML/JSON seed file or a tree directory.")] = None,
    model: Annotated[str | None, typer.Option(help="provider:model (default local:smollm2).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint.")] = None,
    depth: Annotated[int | None, typer.Option("--depth", help="Max depth K.")] = None,
    breadth: Annotated[str | None, typer.Option(help="New subtasks per node per depth, e.g. 8,6.")] = None,
    examples: Annotated[str | None, typer.Option(help="Examples per node per depth, e.g. 50,50,50.")] = None,
    subtasks_per_call: Annotated[int | None, typer.Option(help="Subtasks per lookahead/backtracking call.")] = None,
    examples_per_call: Annotated[int | None, typer.Option(help="Examples per enrich call.")] = None,
    strategy: Annotated[str | None, typer.Option(help="dfs (default) or bfs.")] = None,
    flavour: Annotated[Flavour | None, typer.Option(help="Prompt flavour.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Parallel LLM calls.")] = None,
    max_calls: Annotated[int | None, typer.Option(help="Budget: LLM calls.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Budget: tokens.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Budget: USD.")] = None,
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
    config: Annotated[Path | None, typer.Option(help="YAML file of run parameters.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Explore a domain and enrich every task; the API key comes from the environment only."""

    def run() -> RunOutcome:
        if bool(domain) == bool(seed_path):
            raise ValueError("run: give exactly one of --domain or --seed")
        ctx = _context_from(
            config,
            model=model,
            base_url=base_url,
            max_depth=depth,
            breadth=breadth,
            examples=examples,
            subtasks_per_call=subtasks_per_call,
            examples_per_call=examples_per_call,
            strategy=strategy,
            flavour=flavour,
            max_concurrency=concurrency,
            max_calls=max_calls,
            max_tokens=max_tokens,
            max_cost_usd=max_cost,
            seed=random_seed,
            similarity=similarity,
            prune_threshold=prune_threshold,
            filter_threshold=filter_threshold,
            dedup_scope=dedup_scope,
            embedder=embedder,
            chroma_host=chroma_host,
            chroma_port=chroma_port,
            review=review or None,
            run_dir=str(out_dir),
        )
        if seed_path:
            load_seed(seed_path)  # fail fast, before anything is written
        make_chat_model(ctx.model_spec())  # a bad model string or a missing key fails here, not mid-run
        check_similarity(ctx)
        with _Progress(quiet or as_json) as progress:
            return asyncio.run(
                start_run(
                    ctx, domain=domain, seed=seed_path, progress=progress, on_review=_review_prompt if review else None
                )
            )

    outcome = _guard(run)
    _report(outcome, as_json)
    _exit_for(outcome)


@app.command("resume")
def resume_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by `run`.")],
    concurrency: Annotated[int | None, typer.Option(help="Parallel LLM calls.")] = None,
    max_calls: Annotated[int | None, typer.Option(help="Budget: LLM calls.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Budget: tokens.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Budget: USD.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Continue a stopped or killed run where it was."""

    def run() -> RunOutcome:
        with _Progress(quiet or as_json) as progress:
            return asyncio.run(
                resume_run(
                    str(run_dir),
                    progress=progress,
                    max_concurrency=concurrency,
                    max_calls=max_calls,
                    max_tokens=max_tokens,
                    max_cost_usd=max_cost,
                )
            )

    outcome = _guard(run)
    _report(outcome, as_json)
    _exit_for(outcome)


@app.command("status")
def status_cmd(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Where a run stands (JSON)."""
    typer.echo(json.dumps(_guard(lambda: asyncio.run(run_status(str(run_dir)))), indent=2, default=str))


# ---- similarity on existing trees and runs -------------------------------------------------------

SimilarityMode = Literal["rouge", "embedding", "exact"]


@app.command("filter")
def filter_cmd(
    tree_dir: Annotated[Path, typer.Argument(help="An Explore-Instruct tree directory.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the filtered tree.")],
    mode: Annotated[str, typer.Option(help="rouge (the method), embedding or exact.")] = "rouge",
    threshold: Annotated[float | None, typer.Option(help="Drop above this similarity (mode default).")] = None,
    scope: Annotated[str, typer.Option(help="node (the reference) or tree.")] = "node",
    force: Annotated[bool, typer.Option(help="Write into a non-empty --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the drops as JSON.")] = False,
) -> None:
    """Drop near-duplicate instructions from an existing tree and write it back in the same format."""

    def run() -> dict[str, Any]:
        if mode not in ("rouge", "embedding", "exact") or scope not in ("node", "tree"):
            raise ValueError("filter: --mode is rouge|embedding|exact and --scope node|tree")
        if out_dir.exists() and any(out_dir.iterdir()) and not force:
            raise ValueError(f"{out_dir}: not empty; choose another --out or pass --force")
        if out_dir.resolve() == tree_dir.resolve():
            raise ValueError(f"{out_dir}: --out must differ from the input tree")
        tree = load_ei_dir(tree_dir)
        index = open_index(mode, threshold, scope, kind="instructions")  # type: ignore[arg-type]
        filtered, drops = filter_tree(tree, index)
        write_ei_dir(filtered, out_dir)
        before = sum(len(n.examples) for n in tree.nodes.values())
        return {
            "examples_before": before,
            "examples_after": before - len(drops),
            "dropped": drops,
            "out": str(out_dir),
            "mode": mode,
            "threshold": index.threshold,
            "scope": scope,
        }

    result = _guard(run)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        out.print(
            escape(
                f"kept {result['examples_after']} of {result['examples_before']} examples "
                f"({result['mode']}, threshold {result['threshold']}, scope {result['scope']}); "
                f"wrote {result['out']}"
            ),
            highlight=False,
        )


@app.command("prune")
def prune_cmd(
    tree_dir: Annotated[Path, typer.Argument(help="An Explore-Instruct tree directory.")],
    mode: Annotated[str, typer.Option(help="rouge (the method), embedding or exact.")] = "rouge",
    threshold: Annotated[float | None, typer.Option(help="Prune above this similarity (mode default).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the tasks that would be pruned, with their nearest kept task and score."""

    def run() -> list[dict[str, Any]]:
        if mode not in ("rouge", "embedding", "exact"):
            raise ValueError("prune: --mode is rouge|embedding|exact")
        tree = load_ei_dir(tree_dir)
        return prune_report(tree, open_index(mode, threshold, "tree", kind="tasks"))  # type: ignore[arg-type]

    rows = _guard(run)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} tasks would be pruned")
    for col in ("task", "depth", "nearest kept task", "score"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r["name"]), str(r["depth"]), escape(str(r["nearest"])), f"{r['score']:.3f}")
    out.print(table)


@app.command("drops")
def drops_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    rule: Annotated[str | None, typer.Option(help="Only this rule (e.g. similar_instruction, blacklist).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0 = all).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON lines.")] = False,
) -> None:
    """What a run dropped and why: the rule, and for similarity drops the nearest kept item and score."""

    def run() -> list[dict[str, Any]]:
        path = run_dir / DROPPED
        if not (run_dir / RUN_META).is_file():
            raise ValueError(f"{run_dir}: not a run directory")
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill; the rest of the log is still good
            if rule is None or row.get("rule") == rule:
                rows.append(row)
        return rows[:limit] if limit else rows

    rows = _guard(run)
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("rule", "?")] = counts.get(r.get("rule", "?"), 0) + 1
    table = Table(title=f"drops by rule: {counts}")
    for col in ("stage", "rule", "item", "nearest", "score"):
        table.add_column(col)
    for r in rows:
        item = (
            r.get("instruction") or r.get("name") or (r.get("item") or {}).get("instruction") or r.get("detail") or ""
        )
        score = r.get("score")
        table.add_row(
            r.get("stage", ""),
            r.get("rule", ""),
            escape(str(item))[:80],
            escape(str(r.get("nearest") or ""))[:60],
            "" if score is None else f"{score:.3f}",
        )
    out.print(table)


def _register_faces() -> None:
    """Commands that live in their own modules (dataset out, MCP, run listing) join the same app."""
    import importlib

    for module in ("explore_instruct.agent.dataset_cli", "explore_instruct.agent.faces_cli"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        mod.register(app)


_register_faces()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
