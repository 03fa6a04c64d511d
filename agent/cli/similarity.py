"""Similarity on trees and runs that exist: `filter` (near-duplicate instructions out), `prune` (tasks that
would be pruned) and `drops` (what a run dropped and why). No model is called: they start fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from explore_instruct.agent.cli.console import guard, out
from explore_instruct.tools.light_imports import import_rouge_score


def filter_cmd(
    tree_dir: Annotated[Path, typer.Argument(help="An Explore-Instruct tree directory.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the filtered tree.")],
    mode: Annotated[str, typer.Option(help="rouge (the method), embedding or exact.")] = "rouge",
    threshold: Annotated[float | None, typer.Option(help="Drop above this similarity (mode default).")] = None,
    scope: Annotated[str, typer.Option(help="node (the reference) or tree.")] = "node",
    quality: Annotated[
        bool, typer.Option(help="First drop degenerate examples (repetition, copies, meta inputs), each by its rule.")
    ] = False,
    rewriting: Annotated[bool, typer.Option(help="With --quality: outputs may stay close to their input.")] = False,
    force: Annotated[bool, typer.Option(help="Write into a non-empty --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the drops as JSON.")] = False,
) -> None:
    """Drop near-duplicate (and with --quality, degenerate) examples from an existing tree; same format back."""

    def run() -> dict[str, Any]:
        from explore_instruct.tools.tree.ei_dir import load_ei_dir, write_ei_dir
        from explore_instruct.tools.tree.ops import filter_tree, open_index

        if mode not in ("rouge", "embedding", "exact") or scope not in ("node", "tree"):
            raise ValueError("filter: --mode is rouge|embedding|exact and --scope node|tree")
        if out_dir.exists() and any(out_dir.iterdir()) and not force:
            raise ValueError(f"{out_dir}: not empty; choose another --out or pass --force")
        if out_dir.resolve() == tree_dir.resolve():
            raise ValueError(f"{out_dir}: --out must differ from the input tree")
        tree = load_ei_dir(tree_dir)
        before = sum(len(n.examples) for n in tree.nodes.values())
        import_rouge_score()  # ROUGE-L: the method's mode, and the degeneracy rules' copy check
        degenerate: list[dict[str, Any]] = []
        if quality:
            from explore_instruct.tools.tree.ops import quality_filter_tree

            tree, degenerate = quality_filter_tree(tree, rewriting=rewriting)
        index = open_index(mode, threshold, scope, kind="instructions")  # type: ignore[arg-type]
        filtered, drops = filter_tree(tree, index)
        write_ei_dir(filtered, out_dir)
        by_rule: dict[str, int] = {}
        for d in degenerate:
            by_rule[d["rule"]] = by_rule.get(d["rule"], 0) + 1
        return {
            "examples_before": before,
            "examples_after": before - len(drops) - len(degenerate),
            "dropped": drops,
            "degenerate": degenerate,
            "degenerate_by_rule": by_rule,
            "out": str(out_dir),
            "mode": mode,
            "threshold": index.threshold,
            "scope": scope,
        }

    result = guard(run)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        out.print(
            escape(
                f"kept {result['examples_after']} of {result['examples_before']} examples "
                f"({result['mode']}, threshold {result['threshold']}, scope {result['scope']}"
                + (f"; degenerate: {result['degenerate_by_rule']}" if quality else "")
                + f"); wrote {result['out']}"
            ),
            highlight=False,
        )


def prune_cmd(
    tree_dir: Annotated[Path, typer.Argument(help="An Explore-Instruct tree directory.")],
    mode: Annotated[str, typer.Option(help="rouge (the method), embedding or exact.")] = "rouge",
    threshold: Annotated[float | None, typer.Option(help="Prune above this similarity (mode default).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the tasks that would be pruned, with their nearest kept task and score."""

    def run() -> list[dict[str, Any]]:
        from explore_instruct.tools.tree.ei_dir import load_ei_dir
        from explore_instruct.tools.tree.ops import open_index, prune_report

        if mode not in ("rouge", "embedding", "exact"):
            raise ValueError("prune: --mode is rouge|embedding|exact")
        tree = load_ei_dir(tree_dir)
        if mode == "rouge":
            import_rouge_score()
        return prune_report(tree, open_index(mode, threshold, "tree", kind="tasks"))  # type: ignore[arg-type]

    rows = guard(run)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} tasks would be pruned")
    for col in ("task", "depth", "nearest kept task", "score"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r["name"]), str(r["depth"]), escape(str(r["nearest"])), f"{r['score']:.3f}")
    out.print(table)


def drops_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    rule: Annotated[str | None, typer.Option(help="Only this rule (e.g. similar_instruction, blacklist).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0 = all).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON lines.")] = False,
) -> None:
    """What a run dropped and why: the rule, and for similarity drops the nearest kept item and score."""

    def run() -> list[dict[str, Any]]:
        from explore_instruct.tools.dataset.runstore import DROPPED, RUN_META

        path = run_dir / DROPPED
        if not (run_dir / RUN_META).is_file():
            raise ValueError(f"{run_dir}: not a run directory")
        if not path.is_file():
            return []
        from explore_instruct.tools.fileio import read_jsonl

        rows = [row for row in read_jsonl(path) if rule is None or row.get("rule") == rule]  # cut lines skipped
        return rows[:limit] if limit else rows

    rows = guard(run)
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("rule", "?")] = counts.get(r.get("rule", "?"), 0) + 1
    from rich.table import Table

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


def register(app: typer.Typer) -> None:
    app.command("filter")(filter_cmd)
    app.command("prune")(prune_cmd)
    app.command("drops")(drops_cmd)
