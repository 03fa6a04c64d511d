"""`ablate`: the paper's K=0 vs K comparison as one command (agent/batch/ablation.py), with its table and figure;
with `--docs`, the grounded tree against the flat per-chunk baseline on one corpus (agent/batch/grounded_ablation.py),
whose table adds corpus coverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from explore_instruct.agent.cli.console import guard, out, say
from explore_instruct.agent.cli.diversity import METRICS, show
from explore_instruct.tools.prompts.full import Flavour

ABLATION_JSON = "ablation.json"
ABLATION_PNG = "ablation.png"


def ablate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the three runs, ablation.json and the PNG go.")],
    n: Annotated[int, typer.Option("-n", "--n", min=2, help="Examples each side is sampled to (the paper: 10000).")],
    preset: Annotated[str | None, typer.Option(help="rewriting, brainstorming or math (a built-in seed tree).")] = None,
    domain: Annotated[str | None, typer.Option(help="A one-sentence domain instead of a preset.")] = None,
    docs: Annotated[
        str | None,
        typer.Option(help="A corpus (or documents to ingest): tree vs flat (a task per chunk) on it, not K=0 vs K."),
    ] = None,
    flavour: Annotated[Flavour | None, typer.Option(help="Prompt flavour (a preset sets its own).")] = None,
    model: Annotated[str | None, typer.Option(help="provider:model (default local:smollm2).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint.")] = None,
    depth: Annotated[int, typer.Option(min=1, max=4, help="K of the exploring side.")] = 2,
    breadth: Annotated[str, typer.Option(help="New subtasks per task at each depth, e.g. 3,2.")] = "3,2",
    similarity: Annotated[str | None, typer.Option(help="embedding (default), rouge or exact.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Parallel LLM calls.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed of the scoring.")] = 0,
    config: Annotated[Path | None, typer.Option(help="YAML file of further run parameters.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print ablation.json.")] = False,
) -> None:
    """Run the same pipeline at K=0 (the root alone) and at depth K, sample both to N, and compare diversity."""

    def run() -> dict[str, Any]:
        import asyncio

        from explore_instruct.agent.batch.ablation import Ablation, run_ablation
        from explore_instruct.agent.cli.report import Progress
        from explore_instruct.agent.config import load_config
        from explore_instruct.tools.light_imports import import_rouge_score
        from explore_instruct.tools.parsing import parse_ints
        from explore_instruct.tools.tree.presets import preset as find_preset

        if docs is not None and preset is not None:
            raise ValueError("ablate: --docs compares tree and flat on a corpus; give no --preset with it")
        if docs is None and (preset is None) == (domain is None):
            raise ValueError("ablate: give exactly one of --preset or --domain (or --docs, with --domain optional)")
        given = {"model": model, "base_url": base_url, "similarity": similarity, "max_concurrency": concurrency}
        params = {**load_config(config), **{k: v for k, v in given.items() if v is not None}}
        if preset is not None:
            params["flavour"] = find_preset(preset).flavour.value
        if flavour is not None:
            params["flavour"] = flavour.value
        plan = Ablation(out_dir, n, depth, list(parse_ints(breadth)), domain, preset, params, seed)
        import_rouge_score()
        with Progress(as_json) as progress:
            if docs is not None:
                from explore_instruct.agent.batch.grounded_ablation import run_docs_ablation

                where = str(Path(docs).expanduser().resolve())
                result = asyncio.run(run_docs_ablation(plan, where, progress))
            else:
                result = asyncio.run(run_ablation(plan, progress))
        write_outputs(out_dir, result)
        return result

    result = guard(run)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif "coverage" in result:
        print_docs_ablation(result)
    else:
        print_ablation(result)


def write_outputs(out_dir: Path, result: dict[str, Any]) -> None:
    from explore_instruct.tools.dataset.plots import plot_ablation
    from explore_instruct.tools.fileio import write_file_atomic, write_text_atomic

    write_text_atomic(out_dir / ABLATION_JSON, json.dumps(result, ensure_ascii=False, indent=2))
    a, b = ("flat", "tree") if "coverage" in result else ("k0", "k")
    rows = [(label, result[a]["overall"].get(key), result[b]["overall"].get(key)) for key, label, _ in METRICS]
    if "coverage" in result:
        rows += [(label, result["coverage"][a].get(key), result["coverage"][b].get(key)) for key, label, _ in COVERAGE]
        labels = ("flat (a task per chunk)", f"tree (K={result['depth']})")
    else:
        labels = ("K=0 (root only)", f"K={result['depth']} (explored)")
    title = "The grounded tree vs flat, on one corpus and equal N" if "coverage" in result else None
    write_file_atomic(out_dir / ABLATION_PNG, lambda p: plot_ablation(rows, labels, p, *([title] if title else [])))


def print_ablation(result: dict[str, Any]) -> None:
    from rich.table import Table

    k = result["depth"]
    table = Table(title=f"K=0 vs K={k} on N={result['n']} ({result['model']})")
    for col in ("metric", "better", "K=0", f"K={k}"):
        table.add_column(col, justify="left" if col in ("metric", "better") else "right")
    for key, label, better in METRICS:
        table.add_row(label, better, show(result["k0"]["overall"].get(key)), show(result["k"]["overall"].get(key)))
    out.print(table)
    if result["n"] < result.get("n_asked", result["n"]):
        say(f"scored at N={result['n']}, not {result['n_asked']}: the runs hold {result['available']} examples")
    say(f"unique verb–noun pairs, K={k} / K=0: {show(result['verb_noun_ratio'])}")
    paper = result.get("paper")
    if paper:
        say(f"the paper at N={paper['n']}: {paper['k0']} vs {paper['k2']} pairs, ratio {paper['ratio']}")
    for name, row in result["runs"].items():
        say(f"{name}: {row['examples']} examples, {row['calls']} calls, {row['wall_s']} s ({row['run_dir']})")


# Corpus coverage on the N-sample (tools/dataset/provenance.py): key, label, which way is better.
COVERAGE = [
    ("chunk_coverage", "share of chunks cited", "higher"),
    ("documents_cited", "documents cited", "higher"),
    ("document_skew", "per-document skew (max/mean)", "lower"),
    ("verified_quote_share", "share with a verified quote", "higher"),
]


def print_docs_ablation(result: dict[str, Any]) -> None:
    from rich.table import Table

    k = result["depth"]
    table = Table(title=f"flat vs tree (K={k}) on one corpus, N={result['n']} ({result['model']})")
    for col in ("metric", "better", "flat", f"tree K={k}"):
        table.add_column(col, justify="left" if col in ("metric", "better") else "right")
    for key, label, better in METRICS:
        table.add_row(label, better, show(result["flat"]["overall"].get(key)), show(result["tree"]["overall"].get(key)))
    for key, label, better in COVERAGE:
        table.add_row(
            label, better, show(result["coverage"]["flat"].get(key)), show(result["coverage"]["tree"].get(key))
        )
    out.print(table)
    if result["n"] < result.get("n_asked", result["n"]):
        say(f"scored at N={result['n']}, not {result['n_asked']}: the runs hold {result['available']} examples")
    say(f"unique verb–noun pairs, tree / flat: {show(result['verb_noun_ratio'])}")
    for name, row in result["runs"].items():
        say(f"{name}: {row['examples']} examples, {row['calls']} calls, {row['wall_s']} s ({row['run_dir']})")


def register(app: typer.Typer) -> None:
    app.command("ablate")(ablate_cmd)
