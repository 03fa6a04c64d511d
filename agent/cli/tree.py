"""`tree` and `try`: look at a seed, and try a model on one decomposition and one generation."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from explore_instruct.agent.cli.console import err, guard, out
from explore_instruct.tools.prompts.full import Flavour

if TYPE_CHECKING:
    from explore_instruct.tools.llm.models import ModelSpec
    from explore_instruct.tools.tree.model import DomainTree


def _print_tree(tree: DomainTree) -> None:
    from rich.table import Table

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


def tree_cmd(
    seed: Annotated[
        str | None, typer.Argument(help="A domain sentence, a YAML/JSON seed file, or an Explore-Instruct tree dir.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="A built-in seed tree instead: rewriting, brainstorming or math.")
    ] = None,
    export_ei: Annotated[
        Path | None, typer.Option("--export-ei", help="Write the tree as an Explore-Instruct directory here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Validate a seed (or show a preset) and summarise it."""

    def run() -> None:
        from explore_instruct.tools.tree.ei_dir import write_ei_dir
        from explore_instruct.tools.tree.presets import preset as find_preset
        from explore_instruct.tools.tree.seeds import load_seed

        if (seed is None) == (preset is None):
            raise ValueError("tree: give a seed or --preset NAME")
        tree = find_preset(preset).tree() if preset else load_seed(seed or "")
        written = write_ei_dir(tree, export_ei) if export_ei else []
        if as_json:
            summary = tree.summary() | ({"written": [str(p) for p in written]} if written else {})
            typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            _print_tree(tree)
            if written:
                out.print(f"wrote {len(written)} files to {escape(str(export_ei))}")

    guard(run)


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
        import asyncio

        from explore_instruct.tools.llm.models import ModelSpec, make_chat_model
        from explore_instruct.tools.tree.seeds import load_seed

        tree = load_seed(domain)
        spec = ModelSpec(seed=seed)
        spec.model = model or spec.model
        spec.base_url = base_url or spec.base_url
        chat = make_chat_model(spec)
        return asyncio.run(_try(tree, chat, spec, flavour, subtasks, examples, quiet=as_json))

    result = guard(run)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    if not result["subtasks"]:
        raise typer.Exit(1)


async def _try(
    tree: DomainTree, chat: Any, spec: ModelSpec, flavour: Flavour, k: int, n: int, *, quiet: bool
) -> dict[str, Any]:
    from explore_instruct.tools.generation.decompose import DecomposeRequest, decompose
    from explore_instruct.tools.generation.generate import GenerateRequest, generate_examples

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


def register(app: typer.Typer) -> None:
    app.command("tree")(tree_cmd)
    app.command("try")(try_cmd)
