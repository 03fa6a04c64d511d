"""`judge`: score any run, tree directory or dataset file with an LLM judge and write the kept copy.

A run or a tree directory is written back as an Explore-Instruct tree directory, a dataset file as a file of
the same kind (JSON or JSONL); each kept example carries its verdict in `quality`, and `judgements.jsonl` beside
it holds one row per example (id, score, reason, kept). Examples the judge could not score are kept, counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from explore_instruct.agent.cli.console import guard, say
from explore_instruct.tools.prompts.full import Flavour

JUDGEMENTS = "judgements.jsonl"


def collect(source: Path) -> tuple[Any, list[Any], list[dict[str, Any]] | None]:
    """(tree or None, items to judge, dataset rows or None) of a source."""
    from explore_instruct.tools.dataset.read_back import read_dataset
    from explore_instruct.tools.dataset.sampling import load_tree_source
    from explore_instruct.tools.quality.judge import Item
    from explore_instruct.tools.tree.model import Example

    if source.is_dir() and not (source / "state.json").is_file():
        loaded = load_tree_source(source)
        items = [
            Item(loaded.example_id(n.id, j), n.name, ex)
            for n in loaded.tree.preorder()
            for j, ex in enumerate(n.examples)
        ]
        return loaded, items, None
    rows = read_dataset(source)
    items = []
    for i, row in enumerate(rows):
        path = row.get("task_path")
        task = path[-1] if isinstance(path, list) and path else source.stem
        example = Example(instruction=row["instruction"], input=row.get("input", ""), output=row.get("output", ""))
        items.append(Item(str(row.get("id", i)), str(task), example))
    return None, items, rows


def write_kept(out: Path, source: Path, loaded: Any, rows: list[dict[str, Any]] | None, keep: dict[str, Any]) -> Path:
    """The kept examples with their `quality`, in the source's layout; returns the data path written."""
    from explore_instruct.tools.fileio import write_text_atomic
    from explore_instruct.tools.tree.ei_dir import write_ei_dir

    if loaded is not None:
        tree = loaded.tree.model_copy(deep=True)
        for node in tree.nodes.values():
            original = loaded.tree.nodes[node.id].examples
            ids = [loaded.example_id(node.id, j) for j in range(len(original))]
            node.examples = [e.model_copy(update={"quality": keep[i]}) for i, e in zip(ids, original, strict=True)
                             if i in keep]  # fmt: skip
        write_ei_dir(tree, out)
        return out
    assert rows is not None
    kept = [
        row | {"quality": keep[str(row.get("id", i))]} for i, row in enumerate(rows) if str(row.get("id", i)) in keep
    ]
    target = out / (source.name if source.suffix in (".json", ".jsonl") else f"{source.stem}.jsonl")
    text = (
        json.dumps(kept, ensure_ascii=False, indent=2)
        if target.suffix == ".json"
        else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
    )
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, text)
    return target


def judge_cmd(
    source: Annotated[Path, typer.Argument(help="A run directory, an Explore-Instruct tree directory or a dataset.")],
    out: Annotated[Path, typer.Option("--out", help="Where the kept copy and judgements.jsonl go.")],
    model: Annotated[str | None, typer.Option(help="provider:model of the judge (default local:smollm2).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint of the judge.")] = None,
    threshold: Annotated[int, typer.Option(min=1, max=5, help="Keep examples scored at least this.")] = 3,
    flavour: Annotated[
        Flavour, typer.Option(help="Rubric (math also re-solves and checks answers).")
    ] = Flavour.GENERIC,
    batch: Annotated[int, typer.Option(min=1, max=20, help="Examples per judge call.")] = 5,
    concurrency: Annotated[int, typer.Option(min=1, help="Judge calls at a time.")] = 8,
    force: Annotated[bool, typer.Option(help="Write into a non-empty --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Score every example 1-5 with an LLM judge; keep those at or above the threshold, with their verdicts."""

    def run() -> dict[str, Any]:
        import asyncio
        import time
        from collections import Counter

        from explore_instruct.tools.fileio import write_text_atomic
        from explore_instruct.tools.llm.models import ModelSpec, make_chat_model
        from explore_instruct.tools.prompts.judge import judge_caveat
        from explore_instruct.tools.quality.judge import judge_many

        if out.exists() and any(out.iterdir()) and not force:
            raise ValueError(f"{out}: not empty; choose another --out or pass --force")
        if out.resolve() == source.resolve():
            raise ValueError(f"{out}: --out must differ from the source")
        loaded, items, rows = collect(source)
        if not items:
            raise ValueError(f"{source}: holds no examples to judge")
        spec = ModelSpec(temperature=0.0)
        spec.model, spec.base_url = model or spec.model, base_url or spec.base_url
        chat = make_chat_model(spec)
        if caveat := judge_caveat(spec.model):
            say(f"warning: {caveat}", stderr=True)
        started = time.perf_counter()
        verdicts, calls = asyncio.run(judge_many(chat, items, flavour, batch=batch, concurrency=concurrency,
                                                 model_label=spec.model))  # fmt: skip
        wall = time.perf_counter() - started
        lines, keep = [], {}
        for item in items:
            v = verdicts[item.id]
            kept = v.answer_check != "mismatch" and (v.score is None or v.score >= threshold)
            verdict = {k: x for k, x in v.as_dict().items() if k != "failed"} | {"judge_model": spec.model}
            row = {"id": item.id, "task": item.task, **verdict, "kept": kept, "judge_failed": v.failed}
            lines.append(json.dumps(row, ensure_ascii=False))
            if kept:
                keep[item.id] = verdict | ({"judge_failed": True} if v.failed else {})
        data = write_kept(out, source, loaded, rows, keep)
        write_text_atomic(out / JUDGEMENTS, "\n".join(lines) + "\n")
        scores = Counter(v.score for v in verdicts.values() if v.score is not None)
        return {
            "examples": len(items),
            "kept": len(keep),
            "judge_failed": sum(v.failed for v in verdicts.values()),
            "answer_mismatch": sum(v.answer_check == "mismatch" for v in verdicts.values()),
            "scores": {str(k): scores[k] for k in sorted(scores)},
            "calls": len(calls),
            "tokens": sum(c.input_tokens + c.output_tokens for c in calls),
            "wall_s": round(wall, 2),
            "examples_per_s": round(len(items) / wall, 1) if wall else None,
            "out": str(data),
            "judgements": str(out / JUDGEMENTS),
        } | ({"caveat": caveat} if caveat else {})

    result = guard(run)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    say(
        f"kept {result['kept']} of {result['examples']} examples (scores {result['scores']}, "
        f"{result['judge_failed']} not judged, {result['answer_mismatch']} wrong answers); {result['calls']} calls, "
        f"{result['wall_s']} s; wrote {result['out']} and {result['judgements']}"
    )


def register(app: typer.Typer) -> None:
    app.command("judge")(judge_cmd)
