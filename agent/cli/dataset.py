"""The dataset-out commands: `sample` and `export`, joined to the main app by `register`.

They read only what a run (or any Explore-Instruct tree directory) has stored, so a dataset can be redrawn
with another N, seed or format at no LLM cost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from explore_instruct.agent.cli.console import guard, out

DEFAULT_EXPORT_DIR = "export"

SourceArg = Annotated[Path, typer.Argument(help="A run directory or an Explore-Instruct tree directory.")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="alpaca | jsonl | sharegpt | messages | openai | hf")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Sampling seed (same seed, same draw).")]
CapOpt = Annotated[int, typer.Option("--weight-cap", help="Per-task weight cap of the quota (the method's 500).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing files.")]
MetaOpt = Annotated[
    bool, typer.Option("--meta/--no-meta", help="Alpaca only: keep id, node_id, depth, task_path (default on).")
]
PushOpt = Annotated[
    str | None, typer.Option("--push-to-hub", help="Also push to this HF dataset repo (needs HF_TOKEN); private.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
ReasoningOpt = Annotated[
    bool,
    typer.Option(
        "--include-reasoning",
        help="alpaca, jsonl, openai: put each example's reasoning before its answer in <think> tags (the other "
        "formats always carry it in their own field).",
    ),
]
MinScoreOpt = Annotated[
    int | None, typer.Option("--min-score", min=1, max=5, help="Only examples the judge scored at least this.")
]


def _write(
    source: Path,
    n: int | None,
    fmt_name: str,
    out: Path,
    *,
    seed: int,
    max_depth: int | None,
    weight_cap: int,
    force: bool,
    meta: bool,
    push: str | None,
    min_score: int | None = None,
    include_reasoning: bool = False,
) -> dict[str, Any]:
    from explore_instruct.tools.dataset.card import card_for
    from explore_instruct.tools.dataset.export import check_format, hub_token, plan_output, push_to_hub, write_dataset
    from explore_instruct.tools.dataset.sampling import load_tree_source, sample

    fmt = check_format(fmt_name)
    if push and hub_token() is None:
        raise ValueError("--push-to-hub: set HF_TOKEN in the environment to push to the Hub")
    loaded = load_tree_source(source)
    if min_score is not None:  # only what the judge scored at least this (unjudged examples are left out)
        from explore_instruct.tools.dataset.sampling import at_least

        loaded = at_least(loaded, min_score)
    result = sample(loaded, n, seed=seed, max_depth=max_depth, weight_cap=weight_cap)
    if not result.examples:
        raise ValueError(f"{source}: no examples to export (no task that is not pruned has any)")
    plan = plan_output(out, fmt)
    card = card_for(loaded, result, fmt=fmt, files=[plan.data.name], include_reasoning=include_reasoning)
    written = write_dataset(
        fmt, result.examples, out, card=card, force=force, with_meta=meta, include_reasoning=include_reasoning
    )
    report: dict[str, Any] = {
        "format": fmt,
        "written": [str(p) for p in written],
        "card": str(plan.card),
        "message": result.describe(),
        **result.params(),
        "examples_per_depth": _per_depth(result.examples),
    }
    if push:
        report["pushed"] = push_to_hub(result.examples, push, card=card)
    return report


def _per_depth(examples: list[Any]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for s in examples:
        counts[s.depth] = counts.get(s.depth, 0) + 1
    return dict(sorted(counts.items()))


def _print_written(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for text in (
        f"{report['message']}; per depth {report['examples_per_depth']}",
        f"wrote {report['format']}: {', '.join(report['written'])}",
        *([f"pushed to {report['pushed']}"] if report.get("pushed") else []),
    ):
        out.print(escape(text), highlight=False, soft_wrap=True)


def sample_cmd(
    source: SourceArg,
    n: Annotated[int, typer.Option("-n", "--n", help="How many examples to draw.")],
    out_path: Annotated[Path, typer.Option("--out", help="Data file (.json/.jsonl) or directory (hf: the dataset).")],
    fmt: FormatOpt = "alpaca",
    seed: SeedOpt = 0,
    max_depth: Annotated[int, typer.Option("--max-depth", help="Only tasks at this depth or above.")] = 3,
    weight_cap: CapOpt = 500,
    force: ForceOpt = False,
    meta: MetaOpt = True,
    push: PushOpt = None,
    min_score: MinScoreOpt = None,
    include_reasoning: ReasoningOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Draw N examples from a run or any Explore-Instruct tree by the method's quotas, and write them."""

    report = guard(
        lambda: _write(
            source,
            n,
            fmt,
            out_path,
            seed=seed,
            max_depth=max_depth,
            weight_cap=weight_cap,
            force=force,
            meta=meta,
            push=push,
            min_score=min_score,
            include_reasoning=include_reasoning,
        )
    )
    _print_written(report, as_json)


def export_cmd(
    source: SourceArg,
    fmt: FormatOpt = "alpaca",
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Data file or directory (default RUN/export/FORMAT/).")
    ] = None,
    n: Annotated[int | None, typer.Option("-n", "--n", help="Sample N examples (default: export all).")] = None,
    seed: SeedOpt = 0,
    max_depth: Annotated[
        int | None, typer.Option("--max-depth", help="Only tasks at this depth or above (default: all; 3 with -n).")
    ] = None,
    weight_cap: CapOpt = 500,
    force: ForceOpt = False,
    meta: MetaOpt = True,
    push: PushOpt = None,
    min_score: MinScoreOpt = None,
    include_reasoning: ReasoningOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a run's kept examples (pruned tasks left out) as training data with a dataset card."""
    from explore_instruct.tools.dataset.sampling import DEFAULT_MAX_DEPTH, is_run_dir

    def run() -> dict[str, Any]:
        target = out_path
        if target is None:
            if not is_run_dir(source):
                raise ValueError(f"{source}: not a run directory; give --out to export a tree directory")
            target = source / DEFAULT_EXPORT_DIR / fmt
        depth = max_depth if max_depth is not None else (DEFAULT_MAX_DEPTH if n is not None else None)
        return _write(
            source,
            n,
            fmt,
            target,
            seed=seed,
            max_depth=depth,
            weight_cap=weight_cap,
            force=force,
            meta=meta,
            push=push,
            min_score=min_score,
            include_reasoning=include_reasoning,
        )

    _print_written(guard(run), as_json)


def register(app: typer.Typer) -> None:
    app.command("sample")(sample_cmd)
    app.command("export")(export_cmd)
