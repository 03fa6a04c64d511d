"""What a run shows about the model, for planning the next run with it (`tools/plan/inputs.py`'s `Measured`).

A plan made from defaults knows the prompts but not the model: how long its examples are, how many of the
examples it is asked for survive (short replies, filters, near-duplicates), how its tokenizer counts. A small
pilot run on the same model answers all three. `measure` reads the pilot's run directory only (run.json,
query_log.jsonl, examples.jsonl, judgements.jsonl, tree/): the example and name lengths directly; the yield as
the value at which the plan's own model makes as many enrich calls as the pilot made; the token scales as the
pilot's real tokens over what the plan, so fitted, says the pilot cost.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from explore_instruct.tools.dataset.runstore import EXAMPLES, JUDGEMENTS, QUERY_LOG, RUN_META, TREE_DIR
from explore_instruct.tools.fileio import read_jsonl
from explore_instruct.tools.plan.estimate import KINDS, PLAN_FILE, make_plan
from explore_instruct.tools.plan.inputs import Measured, Params
from explore_instruct.tools.tree.ei_dir import load_ei_dir


class MeasureError(ValueError):
    """The run directory cannot tell anything yet (no run, no enrich call); one line."""


@dataclass(frozen=True)
class RunFacts:
    """A run's shape and costs as its files record them."""

    params: Params
    levels: list[int]  # accepted tasks per depth
    calls: Counter[str]  # per purpose: decompose, generate, judge, solve
    input_tokens: int
    output_tokens: int
    examples: int
    example_chars: tuple[int, int, int] | None
    name_chars: int
    reason_chars: int
    judge_drop: float | None
    fill: float  # examples kept over the quotas of the tasks


def run_facts(run_dir: Path) -> RunFacts:
    try:
        meta = json.loads((run_dir / RUN_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MeasureError(f"{run_dir}: not a run directory (no readable {RUN_META})") from None
    params = Params.of(meta.get("context", {}))
    calls = read_jsonl(run_dir / QUERY_LOG)
    examples = read_jsonl(run_dir / EXAMPLES)
    enriched = [e for e in examples if ":r" in str(e.get("id", ""))] or examples
    chars = None
    if enriched:
        chars = tuple(
            round(statistics.mean(len(str(e.get(k, ""))) for e in enriched)) for k in ("instruction", "input", "output")
        )
    levels: list[int] = []
    names: list[int] = []
    reasons: list[int] = []
    if (run_dir / TREE_DIR).is_dir():
        tree = load_ei_dir(run_dir / TREE_DIR)
        per_depth = tree.nodes_per_depth()
        levels = [per_depth.get(d, 0) for d in range(max(per_depth) + 1)] if per_depth else []
        for node in tree.preorder():
            if node.depth:
                names.append(len(node.name))
                reasons.append(len(node.reason))
    verdicts = read_jsonl(run_dir / JUDGEMENTS)
    rejected = {str(v.get("id")) for v in verdicts if not v.get("kept", True)}
    kept = Counter(int(e.get("depth", 0)) for e in examples if str(e.get("id")) not in rejected)
    quota = sum(n * params.examples_at(d) for d, n in enumerate(levels))
    fill = (
        min(1.0, sum(min(kept[d], n * params.examples_at(d)) for d, n in enumerate(levels)) / quota) if quota else 1.0
    )
    return RunFacts(
        params=params,
        levels=levels,
        calls=Counter(str(c.get("purpose", "?")) for c in calls),
        input_tokens=sum(int(c.get("input_tokens") or 0) for c in calls),
        output_tokens=sum(int(c.get("output_tokens") or 0) for c in calls),
        examples=len(examples),
        example_chars=chars,  # type: ignore[arg-type]
        name_chars=round(statistics.mean(names)) if names else Measured.name_chars,
        reason_chars=round(statistics.mean(reasons)) if reasons else Measured.reason_chars,
        judge_drop=len(rejected) / len(verdicts) if verdicts else None,
        fill=fill,
    )


def measure(run_dir: str | Path) -> Measured:
    """The measured run's yield, lengths and token scales (see the module docstring)."""
    run_dir = Path(run_dir)
    facts = run_facts(run_dir)
    if not facts.calls.get("generate") or not facts.levels:
        raise MeasureError(f"{run_dir}: no enrich call finished yet; nothing to measure")
    base = Measured(
        example_chars=facts.example_chars,
        name_chars=facts.name_chars,
        reason_chars=facts.reason_chars,
        judge_drop=facts.judge_drop if facts.judge_drop is not None else Measured.judge_drop,
        fill=round(facts.fill, 4),
        source=f"measured on {run_dir.name}",
    )
    target = facts.calls["generate"]

    def enrich_calls(y: float) -> float:
        return make_plan(facts.params, measured=replace(base, yield_=y), levels=facts.levels).calls["enrich"]

    lo, hi = 0.02, 1.0  # fewer kept per call -> more calls: enrich_calls falls as y rises
    if enrich_calls(hi) >= target:
        lo = hi
    for _ in range(30):
        mid = (lo + hi) / 2
        if enrich_calls(mid) > target:
            lo = mid
        else:
            hi = mid
    fitted = replace(base, yield_=round(hi, 4))
    planned = make_plan(facts.params, measured=fitted, levels=facts.levels).tokens
    return replace(
        fitted,
        input_scale=round(facts.input_tokens / planned["input"], 4) if planned["input"] else 1.0,
        output_scale=round(facts.output_tokens / planned["output"], 4) if planned["output"] else 1.0,
    )


def stored_plan(run_dir: Path) -> tuple[dict[str, Any], str] | None:
    """The plan a run started with (plan.json), else one made now from its run.json; with where it came from."""
    try:
        return json.loads((run_dir / PLAN_FILE).read_text(encoding="utf-8")), "the plan printed when it started"
    except (OSError, ValueError):
        pass
    try:
        meta = json.loads((run_dir / RUN_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if "seed" in meta.get("input", {}):
        return None  # the seed's own tasks and examples shape the plan, and the seed file may have moved
    return make_plan(Params.of(meta.get("context", {}))).as_dict(), "planned now from run.json, with defaults"


def planned_vs_actual(run_dir: Path) -> tuple[list[tuple[str, float, float]], str] | None:
    """Rows (what, planned, actual) for a run's dataset card: calls by kind and tokens; None without a plan."""
    found = stored_plan(run_dir)
    if found is None:
        return None
    plan, source = found
    facts = run_facts(run_dir)
    rows: list[tuple[str, float, float]] = []
    for kind in KINDS:
        actual = facts.calls.get("generate" if kind == "enrich" else kind, 0)
        if plan["calls"].get(kind) or actual:
            rows.append((f"{kind} calls", plan["calls"].get(kind, 0), actual))
    rows.append(("prompt tokens", plan["tokens"]["input"], facts.input_tokens))
    rows.append(("completion tokens", plan["tokens"]["output"], facts.output_tokens))
    return rows, source
