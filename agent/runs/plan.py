"""The plan of a run as the faces ask for it: `run --dry-run`, the tool's `dry_run`, and every run of a batch.

`tools/plan/estimate.py` does the arithmetic from plain parameters; this module feeds it a `Context` (its resolved
prompt profile), a seed's own tasks and examples, and optionally a pilot run to measure the model on
(`tools/plan/measure.py`). A run begun with its plan (`Runner.begin(plan_file=...)`) keeps it as `plan.json` in its
directory, so its dataset card can show planned against actual (tools/dataset/card.py) with the plan the person
saw, calibration included. Nothing here prints: the faces show what it returns.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.lifecycle import is_data
from explore_instruct.tools.plan.estimate import Plan, make_plan
from explore_instruct.tools.plan.inputs import Measured, Params
from explore_instruct.tools.plan.measure import measure
from explore_instruct.tools.plan.render import render
from explore_instruct.tools.shapes.params import shape_spec
from explore_instruct.tools.tree.seeds import load_seed


def seed_shape(seed: str | None, ctx: Context | None = None) -> tuple[dict[int, int] | None, dict[int, float] | None]:
    """A seed's tasks per depth and mean examples per task at each depth (None, None for a domain); with `ctx`, only
    the examples its run keeps as data (a shaped run shows the others as demonstrations: graphs/lifecycle.py)."""
    if not seed:
        return None, None
    tree = load_seed(seed)
    tasks = tree.nodes_per_depth()
    spec = shape_spec(ctx) if ctx is not None else None
    examples: Counter[int] = Counter()
    for n in tree.preorder():
        examples[n.depth] += sum(1 for e in n.examples if spec is None or is_data(e, spec))
    return {int(d): n for d, n in tasks.items()}, {int(d): examples.get(d, 0) / n for d, n in tasks.items() if n}


def plan_for(ctx: Context, *, seed: str | None = None, calibrate: str | None = None) -> Plan:
    """The plan of a run of `ctx` (from `seed` when given); `calibrate`: a run directory to measure the model on."""
    measured = measure(calibrate) if calibrate else Measured()
    seeded, seed_examples = seed_shape(seed, ctx)
    params, levels = flat_shape(ctx, Params.of(ctx.public()))
    return make_plan(params, seeded=seeded, seed_examples=seed_examples, measured=measured, levels=levels)


def flat_shape(ctx: Context, params: Params) -> tuple[Params, list[int] | None]:
    """A flat run's plan: no decomposition, and one task per chunk of its corpus (read from the manifest) enriched
    to the depth-1 quota; the root asks for none. Documents not yet ingested have no chunk count: planned as given."""
    if ctx.strategy != "flat":
        return params, None
    from explore_instruct.tools.dataset.provenance import corpus_manifest

    manifest = corpus_manifest(ctx.docs) or {}
    chunks = sum(int(d.get("chunks") or 0) for d in (manifest.get("documents") or {}).values())
    if not chunks:
        return params, None
    return replace(params, max_depth=1, breadth=(0,), examples=(0, params.examples_at(1))), [1, chunks]


def plan_text(ctx: Context, plan: Plan, *, domain: str | None = None, seed: str | None = None) -> str:
    title = repr(domain) if domain else (Path(seed).name if seed else "the run")
    return render(plan, Params.of(ctx.public()), title)


def plan_answer(plan: Plan) -> dict[str, Any]:
    """The compact plan a tool or an agent gets back: counts and the cost range, nothing per call."""
    return {
        "status": "planned",
        "tasks": [lv.tasks for lv in plan.levels],
        "calls": {k: round(v) for k, v in plan.calls.items() if v},
        "total_calls": round(plan.total_calls),
        "tokens": {k: round(v) for k, v in plan.tokens.items()},
        "cost_usd": {k: None if v is None else round(v, 4) for k, v in plan.cost_usd.items()},
        "assumes": plan.notes,
        "model": plan.model,
    }


def plan_output(ctx: Context, plan: Plan, *, domain: str | None, seed: str | None, as_json: bool) -> str:
    """`run --dry-run`'s text: the plan rendered, or as JSON with `--json` (the CLI prints it)."""
    return json.dumps(plan.as_dict(), indent=2) if as_json else plan_text(ctx, plan, domain=domain, seed=seed)
