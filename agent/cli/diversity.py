"""`stats` and `compare`: how diverse a run, a tree directory or a dataset file is, alone or side by side.

Both score a fixed-size sample drawn by the method's sampler (`-n N --seed S`), so datasets of different sizes
compare fairly (tools/dataset/diversity.py says what each metric means and which way is better).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from explore_instruct.agent.cli.console import guard, out, say
from explore_instruct.tools.light_imports import import_rouge_score

SourceArg = Annotated[
    Path, typer.Argument(help="A run directory, an Explore-Instruct tree directory, or an Alpaca/JSONL/HF dataset.")
]
NOpt = Annotated[
    int | None, typer.Option("-n", "--n", min=2, help="Score a sample of N (default: all; compare: equal N).")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Sampling seed (same seed, same draw).")]
EmbedOpt = Annotated[bool, typer.Option("--embeddings/--no-embeddings", help="MiniLM-based metrics (slower).")]
VerbsOpt = Annotated[bool, typer.Option("--verbs/--no-verbs", help="Verb–noun pairs (needs spaCy).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

# (key, label, which way is more diverse) in the order the tables print them.
METRICS = [
    ("verb_noun_pairs", "unique verb–noun pairs", "higher"),
    ("top_pair_share", "share of the commonest pair", "lower"),
    ("distinct_1", "distinct-1", "higher"),
    ("distinct_2", "distinct-2", "higher"),
    ("compression_ratio", "gzip compression ratio", "lower"),
    ("self_repetition", "self-repetition", "lower"),
    ("rouge_l_mean", "mean pairwise ROUGE-L", "lower"),
    ("mean_cosine_distance", "mean cosine distance", "higher"),
    ("vendi", "Vendi score", "higher"),
    ("kmeans_entropy", "k-means entropy (bits)", "higher"),
]


def show(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def print_diversity(reports: list[dict[str, Any]], titles: list[str], intervals: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=f"diversity on {reports[0]['n']} instructions (seed {reports[0]['seed']})")
    table.add_column("metric")
    table.add_column("better")
    for title in titles:
        table.add_column(title, justify="right")
    for key, label, better in METRICS:
        cells = []
        for rep, ci in zip(reports, intervals, strict=True):
            value = rep["overall"].get(key)
            bounds = ci.get(key)
            cells.append(show(value) + (f" [{show(bounds[0])}, {show(bounds[1])}]" if bounds else ""))
        table.add_row(label, better, *cells)
    out.print(table)
    for rep, title in zip(reports, titles, strict=True):
        depths = ", ".join(
            f"depth {d}: {m['instructions']} ({show(m.get('verb_noun_pairs'))} pairs, distinct-2 "
            f"{show(m.get('distinct_2'))})"
            for d, m in rep["per_depth"].items()
        )
        if depths:
            say(f"{title} per depth: {depths}")
        if turns := rep.get("all_turns"):  # conversations: `overall` is over their opening turns
            figures = ", ".join(f"{label} {show(turns[key])}" for key, label, _ in METRICS if key in turns)
            say(f"{title}, all {turns['user_turns']} user turns of {turns['conversations']} conversations: {figures}")
        for what, why in rep.get("missing", {}).items():
            say(f"{title}: no {what}: {why}")


def print_stats(stats: dict[str, Any], plots: list[str]) -> None:
    say(f"{stats['source']} ({stats['kind']})" + (f": {stats['domain']}" if stats.get("domain") else ""))
    if "tasks" in stats:
        say(f"tasks {stats['tasks']} (pruned {stats['pruned']}), per depth {stats['nodes_per_depth']}")
    per_depth = f", per depth {stats['examples_per_depth']}" if "examples_per_depth" in stats else ""
    say(f"examples {stats['examples']}{per_depth}")
    per_node = stats.get("examples_per_node")
    if per_node:
        say(f"examples per task: min {per_node['min']}, mean {per_node['mean']}, max {per_node['max']}")
    within = stats.get("rouge_l_within_nodes")
    if within:
        say(f"ROUGE-L inside tasks (mean of task means): {within['mean']} over {within['nodes']} tasks")
    say(f"ROUGE-L between instructions overall: {stats['rouge_l_overall']}")
    vn = stats.get("verb_noun")
    if vn:
        say(
            f"verb–noun pairs: {vn['unique_pairs']} unique over {vn['instructions']} instructions "
            f"({vn['with_pair']} with a pair, {vn['unique_verbs']} root verbs)"
        )
        if vn["top_pair"]:
            say(f"commonest pair: '{vn['top_pair']}', {vn['top_pair_share']:.1%} of pairs")
            say("top pairs: " + ", ".join(f"{p['verb']} {p['noun']} ({p['count']})" for p in vn["top_pairs"]))
    tools = stats.get("tool_calls")
    if tools:
        say(
            f"tool calls: {tools['calls']} ({tools['calls_valid']} with valid arguments), {tools['tools_called']} of "
            f"{tools['tools_offered']} tools called {tools['per_tool']}, required parameters exercised "
            f"{tools['required_exercised']} of {tools['required_parameters']}, no tool in {tools['no_tool']} of "
            f"{tools['examples']} examples"
        )
    run = stats.get("run")
    if run:
        cost = "unknown" if run["cost_usd"] is None else f"${run['cost_usd']:.4f}"
        say(
            f"run: {run['calls']} LLM calls ({run['calls_ok']} valid), tokens {run['input_tokens']} in / "
            f"{run['output_tokens']} out, cost {cost}, dropped {run['dropped']} {run['drops']}"
        )
    corpus = stats.get("corpus")
    if corpus:
        say(
            f"corpus: {corpus['chunks_cited']} of {corpus['chunks']} chunks cited ({corpus['chunk_coverage']:.0%}), "
            f"{corpus['documents_cited']} of {corpus['documents']} documents, skew {corpus['document_skew']}; "
            f"verified quotes {corpus['examples_with_verified_quote']} of {corpus['examples']} examples"
        )
    if stats.get("diversity"):
        print_diversity([stats["diversity"]], ["value"], [{}])
    for p in plots:
        say(f"plot: {p}")


def stats_cmd(
    source: SourceArg,
    n: NOpt = None,
    seed: SeedOpt = 0,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write PNG figures into this directory.")] = None,
    verbs: VerbsOpt = True,
    embeddings: EmbedOpt = True,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing plots.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Coverage and diversity: verb–noun pairs (the paper's metric), lexical and embedding diversity, tree shape."""

    def run() -> tuple[dict[str, Any], list[str]]:
        from explore_instruct.tools.dataset.coverage import analyse
        from explore_instruct.tools.dataset.diversity import diversity_of
        from explore_instruct.tools.dataset.plots import write_plots

        import_rouge_score()  # ROUGE-L inside tasks
        analysis = analyse(source, verbs=verbs)
        stats = analysis.stats | {"diversity": diversity_of(source, n, seed, verbs=verbs, embeddings=embeddings)[0]}
        stats |= _corpus(Path(source))  # a grounded run: corpus coverage
        written: list[Path] = []
        if plots is not None:
            written = write_plots(
                plots,
                tree=analysis.tree,
                pairs=analysis.pairs,
                examples_per_depth=analysis.stats.get("examples_per_depth"),
                force=force,
            )
        return stats, [str(p) for p in written]

    stats, written = guard(run)
    if as_json:
        typer.echo(json.dumps(stats | ({"plots": written} if written else {}), ensure_ascii=False, indent=2))
    else:
        print_stats(stats, written)


def _corpus(path: Path) -> dict[str, Any]:
    """A grounded run's corpus coverage over all its kept examples (tools/dataset/provenance.py), else {}."""
    from explore_instruct.tools.dataset.provenance import run_corpus_stats

    return run_corpus_stats(path) if path.is_dir() else {}


def compare(
    a: Path, b: Path, n: int | None, seed: int, *, verbs: bool = True, embeddings: bool = True
) -> dict[str, Any]:
    """Both sources scored on N-samples (N: the smaller one's size unless given), with bootstrap intervals."""
    from explore_instruct.tools.dataset.diversity import Source, bootstrap_intervals, diversity_of

    size = min(Source.open(a).size, Source.open(b).size)
    if size < 2:
        raise ValueError("compare: each source needs at least 2 examples")
    n = min(n or size, size)
    sides, method = [], ""
    for path in (a, b):
        rep, sampled, pairs = diversity_of(path, n, seed, verbs=verbs, embeddings=embeddings)
        ci = bootstrap_intervals(sampled.texts, pairs, seed=seed)
        sides.append({"report": rep, "intervals": ci.bounds, "clipped": ci.clipped} | _corpus(path))
        method = ci.method
    ratio = None
    pa, pb = (s["report"]["overall"].get("verb_noun_pairs") for s in sides)
    if pa and pb:
        ratio = round(pb / pa, 3)
    return {
        "n": n,
        "seed": seed,
        "interval_method": method,
        "a": sides[0],
        "b": sides[1],
        "verb_noun_ratio_b_over_a": ratio,
    }


def compare_cmd(
    a: SourceArg,
    b: SourceArg,
    n: NOpt = None,
    seed: SeedOpt = 0,
    verbs: VerbsOpt = True,
    embeddings: EmbedOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Two runs, trees or datasets side by side at equal N, with 95% bootstrap intervals (pairs, distinct-2)."""

    def run() -> dict[str, Any]:
        import_rouge_score()
        return compare(a, b, n, seed, verbs=verbs, embeddings=embeddings)

    result = guard(run)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print_diversity(
        [result["a"]["report"], result["b"]["report"]],
        [f"A: {a.name}", f"B: {b.name}"],
        [result["a"]["intervals"], result["b"]["intervals"]],
    )
    say(f"intervals: {result['interval_method']}")
    for side, path in (("a", a), ("b", b)):
        if cov := result[side].get("corpus"):
            say(f"{side.upper()}: corpus chunks cited {cov['chunk_coverage']:.0%}, verified quotes "
                f"{cov['verified_quote_share']:.0%} (whole run, {path.name})")  # fmt: skip
    labels = {key: label for key, label, _ in METRICS}
    cut = [
        f"{side.upper()}: {labels.get(key, key)} ({end} end{'s' if end == 'both' else ''})"
        for side in ("a", "b")
        for key, end in result[side]["clipped"].items()
    ]
    if cut:
        say(f"clipped at a bound: {'; '.join(cut)}")
    if result["verb_noun_ratio_b_over_a"] is not None:
        say(f"verb–noun pairs, B / A: {result['verb_noun_ratio_b_over_a']}")


def register(app: typer.Typer) -> None:
    app.command("stats")(stats_cmd)
    app.command("compare")(compare_cmd)
