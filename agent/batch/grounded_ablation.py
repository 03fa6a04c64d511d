"""Tree vs flat on the same corpus (`ablate --docs`, issue 21): the grounded search against the anchors' way.

The anchors (InstructLab's knowledge flows, synthetic-data-kit, YourBench, ...) chunk the documents and generate
example by example from each chunk; that is `strategy: flat`. The grounded search explores a task tree over the
corpus instead. Both sides are ordinary run directories under OUT, so a killed ablation resumes where it stopped:
- `flat/`: one task per chunk, each enriched to ceil(1.15 N / chunks) examples from its own chunk;
- `k{K}-explore/` and `k{K}/`: the grounded tree explored to depth K, then enriched to ceil(1.15 N / tasks) a task
  (the same split as the K=0 vs K ablation, agent/batch/ablation.py).
Both are sampled to exactly N by the method's sampler and scored alike: the diversity report of `ablate`, plus
corpus coverage on the same N examples (chunks and documents cited, per-document skew, verified quotes).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from explore_instruct.agent.batch.ablation import MARGIN, Ablation, _run_row, ensure, tasks_in
from explore_instruct.agent.runs.driver import ProgressFn, RunOutcome
from explore_instruct.graphs.context import Context
from explore_instruct.tools.dataset.runstore import TREE_DIR

SIDES = ("flat", "tree")


def corpus_dir(plan: Ablation, docs: str) -> str:
    """The corpus both sides read: `docs` itself when it is one, else the documents ingested once into OUT/corpus."""
    from explore_instruct.tools.corpus.retrieve import resolve_docs

    embedder = plan.params.get("embedder") or Context().embedder
    return resolve_docs(docs, str(plan.out), embedder, plan.params.get("chroma_host"), plan.params.get("chroma_port"))


async def run_docs_ablation(plan: Ablation, docs: str, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Make (or resume) the flat run and the tree runs on `docs`, then score both on N-samples."""
    from explore_instruct.tools.dataset.provenance import corpus_manifest

    corpus = corpus_dir(plan, docs)
    manifest = corpus_manifest(corpus) or {}
    chunks = sum(int(d.get("chunks") or 0) for d in (manifest.get("documents") or {}).values())
    if not chunks:
        raise ValueError(f"ablate: {docs!r} holds no chunks (ingest some documents into it first)")
    k = f"k{plan.depth}"
    grounded = {"docs": corpus}
    runs: dict[str, Any] = {}
    per_chunk = max(1, math.ceil(MARGIN * plan.n / chunks))
    flat, wall = await ensure(
        plan.context("flat", **grounded, strategy="flat", examples=[per_chunk]), domain=plan.domain, seed=None,
        progress=progress,
    )  # fmt: skip
    runs["flat"] = _row(flat, wall) | {"chunks": chunks, "examples_per_chunk": per_chunk}
    explore, wall = await ensure(
        plan.context(f"{k}-explore", **grounded, max_depth=plan.depth, breadth=plan.breadth, examples=[0]),
        domain=plan.domain, seed=None, progress=progress,
    )  # fmt: skip
    runs[f"{k}-explore"] = _row(explore, wall)
    tasks = tasks_in(plan.out / f"{k}-explore" / TREE_DIR)
    per_task = max(1, math.ceil(MARGIN * plan.n / tasks))
    enriched, wall = await ensure(
        plan.context(k, **grounded, max_depth=0, examples=[per_task]), domain=None,
        seed=str(plan.out / f"{k}-explore" / TREE_DIR), progress=progress,
    )  # fmt: skip
    runs[k] = _row(enriched, wall) | {"tasks": tasks, "examples_per_task": per_task}
    return score_docs(plan, runs, corpus, manifest)


def _row(outcome: RunOutcome, wall: float) -> dict[str, Any]:
    """A run's row, with its drops by rule (the quote gate's among them)."""
    return _run_row(outcome, wall) | {"drops": dict(outcome.stats.get("drops") or {})}


def sampled_sources(run: Path, n: int, seed: int) -> list[list[dict[str, Any]] | None]:
    """The `sources` of the N examples the diversity report samples (the same draw: same sampler, same seed)."""
    from explore_instruct.tools.dataset.diversity import Source
    from explore_instruct.tools.dataset.sampling import sample

    if n < 1:
        return []
    loaded = Source.open(run).loaded
    picked = sample(loaded, n, seed=seed, max_depth=None).examples
    return [(s.example.model_extra or {}).get("sources") for s in picked]


def score_docs(plan: Ablation, runs: dict[str, Any], corpus: str, manifest: dict[str, Any]) -> dict[str, Any]:
    from explore_instruct.tools.dataset.diversity import Source, diversity_of
    from explore_instruct.tools.dataset.provenance import corpus_coverage, run_corpus_stats

    dirs = {"flat": plan.out / "flat", "tree": plan.out / f"k{plan.depth}"}
    sizes = {side: Source.open(path).size for side, path in dirs.items()}
    n = min(plan.n, *sizes.values())  # equal N; a side that fell short sets it, and the shortfall is reported
    # A side that kept fewer than two examples (a small model whose quotes the gate refuses) has no diversity to
    # score; its coverage and its runs' drops still say what happened.
    few: dict[str, Any] = {
        "n": n,
        "overall": {},
        "missing": {"all": f"{n} examples on the smaller side: nothing to compare"},
    }
    reports = {side: diversity_of(path, n, plan.seed)[0] if n >= 2 else few for side, path in dirs.items()}
    coverage = {side: corpus_coverage(manifest, sampled_sources(path, n, plan.seed)) for side, path in dirs.items()}
    whole = {side: run_corpus_stats(path).get("corpus") for side, path in dirs.items()}
    base, explored = (reports[side]["overall"].get("verb_noun_pairs") for side in SIDES)
    return {
        "n": n,
        "n_asked": plan.n,
        "available": sizes,
        "seed": plan.seed,
        "depth": plan.depth,
        "breadth": plan.breadth,
        "source": {"docs": corpus, "domain": plan.domain},
        "model": plan.params.get("model") or Context().model,
        "runs": runs,
        **reports,
        "coverage": coverage,  # on the N-samples both sides are scored on
        "coverage_all_kept": whole,  # on every example each run kept
        "verb_noun_ratio": round(explored / base, 3) if base and explored else None,
        "wall_s": round(sum(r["wall_s"] for r in runs.values()), 1),
    }
