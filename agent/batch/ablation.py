"""The paper's ablation: the same pipeline with exploration (depth K) and without it (K=0, the root alone, which the
paper calls domain-aware self-instruct), both sampled to exactly N and scored alike.

Three ordinary run directories under OUT, so a killed ablation resumes where it stopped:
- `k0/`: the root only (the domain, or the preset's root with its examples), enriched to N examples;
- `k{K}-explore/`: exploration to depth K with no enrichment, which fixes how many tasks the tree has;
- `k{K}/`: that tree as the seed, every task enriched to ceil(1.15 N / tasks), so at least N in all.
Exploring first and enriching second is what one run does in one go; splitting it lets the enrichment quota
follow the number of tasks the model actually found, so the K run holds N examples without a guess.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explore_instruct.agent.errors import RunFailed
from explore_instruct.agent.runs.driver import ProgressFn, RunOutcome
from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.dataset.runstore import RUN_META, TREE_DIR

# Unique verb-noun pairs in the paper's 10k-example datasets (README of the reference): (K=0, Explore-Instruct).
PAPER = {"rewriting": (1715, 2015), "brainstorming": (781, 790), "math": (451, 917)}
MARGIN = 1.15  # enrichment over N: dedup and filters drop some, and both sides must reach N


@dataclass
class Ablation:
    out: Path
    n: int
    depth: int = 2
    breadth: list[int] = field(default_factory=lambda: [3, 2])
    domain: str | None = None
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # any other Context field (model, base_url, flavour, ...)
    seed: int = 0

    def context(self, run: str, **params: Any) -> Context:
        return Context(**{**self.params, **params, "run_dir": str(self.out / run)})


def root_seed(plan: Ablation) -> tuple[str | None, str | None]:
    """(domain, seed file) of the K=0 run: the domain itself, or the preset's root with its own examples."""
    if plan.preset is None:
        return plan.domain, None
    import yaml

    from explore_instruct.tools.tree.presets import preset

    tree = preset(plan.preset).tree()
    root = tree.root
    path = plan.out / "k0-seed.yaml"
    body = {"name": root.name, "reason": root.reason, "examples": [e.model_dump() for e in root.examples]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return None, str(path)


async def ensure(
    ctx: Context, *, domain: str | None, seed: str | None, progress: ProgressFn | None
) -> tuple[RunOutcome, float]:
    """Start the run, or resume it when its directory already holds one; it must end done."""
    assert ctx.run_dir is not None
    started = time.perf_counter()
    if (Path(ctx.run_dir) / RUN_META).is_file():
        outcome = await Runner().resume(ctx.run_dir, progress=progress)
    else:
        outcome = await Runner().start(ctx, domain=domain, seed=seed, progress=progress)
    if outcome.status != "done":
        reason = (outcome.interrupt or {}).get("reason") or outcome.status
        raise RunFailed(f"ablate: run {ctx.run_dir} stopped ({reason}); run the same command again to resume it")
    return outcome, round(time.perf_counter() - started, 1)


def tasks_in(tree_dir: Path) -> int:
    from explore_instruct.tools.tree.ei_dir import load_ei_dir

    return sum(1 for _ in load_ei_dir(tree_dir).preorder())


async def run_ablation(plan: Ablation, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Make (or resume) the three runs, then score both sides on N-samples; returns what ablation.json holds."""
    k = f"k{plan.depth}"
    domain, seed = root_seed(plan)
    runs: dict[str, Any] = {}
    k0, wall = await ensure(plan.context("k0", max_depth=0, examples=[plan.n]), domain=domain, seed=seed,
                            progress=progress)  # fmt: skip
    runs["k0"] = _run_row(k0, wall)
    source = {"domain": plan.domain, "seed": None}
    if plan.preset:
        from explore_instruct.tools.tree.presets import preset

        source = {"domain": None, "seed": str(preset(plan.preset).path)}
    explore, wall = await ensure(
        plan.context(f"{k}-explore", max_depth=plan.depth, breadth=plan.breadth, examples=[0]), **source,
        progress=progress,
    )  # fmt: skip
    runs[f"{k}-explore"] = _run_row(explore, wall)
    tasks = tasks_in(plan.out / f"{k}-explore" / TREE_DIR)
    per_task = max(1, math.ceil(MARGIN * plan.n / tasks))
    enriched, wall = await ensure(
        plan.context(k, max_depth=0, examples=[per_task]), domain=None,
        seed=str(plan.out / f"{k}-explore" / TREE_DIR), progress=progress,
    )  # fmt: skip
    runs[k] = _run_row(enriched, wall) | {"tasks": tasks, "examples_per_task": per_task}
    return score(plan, runs)


def _run_row(outcome: RunOutcome, wall: float) -> dict[str, Any]:
    s, st = outcome.summary, outcome.stats
    return {
        "run_dir": outcome.run_dir,
        "tasks_per_depth": s.get("nodes_per_depth", {}),
        "examples": s.get("examples", 0),
        "calls": st.get("calls", 0) + st.get("judge", {}).get("calls", 0),
        "tokens": st.get("input_tokens", 0) + st.get("output_tokens", 0),
        "wall_s": wall,
    }


def score(plan: Ablation, runs: dict[str, Any]) -> dict[str, Any]:
    from explore_instruct.tools.dataset.diversity import Source, diversity_of

    k = f"k{plan.depth}"
    # Equal N on both sides: when one side could not reach N (K=0 runs out of distinct examples first), both are
    # scored at the smaller size, and the shortfall is reported.
    sizes = {name: Source.open(plan.out / name).size for name in ("k0", k)}
    n = min(plan.n, *sizes.values())
    reports = {name: diversity_of(plan.out / name, n, plan.seed)[0] for name in ("k0", k)}
    base, explored = (reports[name]["overall"].get("verb_noun_pairs") for name in ("k0", k))
    result: dict[str, Any] = {
        "n": n,
        "n_asked": plan.n,
        "available": sizes,
        "seed": plan.seed,
        "depth": plan.depth,
        "breadth": plan.breadth,
        "source": {"preset": plan.preset, "domain": plan.domain},
        "model": plan.params.get("model") or Context().model,
        "runs": runs,
        "k0": reports["k0"],
        "k": reports[k],
        "verb_noun_ratio": round(explored / base, 3) if base and explored else None,
        "wall_s": round(sum(r["wall_s"] for r in runs.values()), 1),
    }
    flavour = plan.preset or str(plan.params.get("flavour") or "")
    if flavour in PAPER:
        paper_k0, paper_ei = PAPER[flavour]
        result["paper"] = {"n": 10_000, "k0": paper_k0, "k2": paper_ei, "ratio": round(paper_ei / paper_k0, 3)}
    return result
