"""How diverse a set of instructions is, measured on a fixed-size sample so datasets of any size compare fairly.

The paper counts unique verb–noun pairs; alone that rewards size and misses repeated phrasing and topics. So the
same sample is also scored lexically (distinct-1/2, gzip compression ratio and self-repetition from the
`diversity` package, mean pairwise ROUGE-L) and semantically with the offline MiniLM embedder (mean pairwise
cosine distance, Vendi score from `vendi-score`, entropy of a scikit-learn k-means clustering). Lower ROUGE-L,
compression ratio and self-repetition, higher everything else, mean more diverse.
"""

from __future__ import annotations

import contextlib
import math
import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from explore_instruct.tools.dataset.coverage import Pair, mean_pairwise_rouge, verb_noun_stats

KMEANS_K = 10
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Sampled:
    """The fixed-size sample a report is computed on: instructions, the depth each came from, and the user turns of
    each that is a conversation ([] for a single example; its instruction is the opening turn)."""

    source: str
    texts: list[str]
    depths: list[int | None]
    available: int
    conversations: list[list[str]] = field(default_factory=list)


@dataclass
class Source:
    """A run, a tree directory (drawn from by the method's sampler, all depths) or a dataset file (uniformly)."""

    path: Path
    loaded: Any = None  # sampling.LoadedTree for runs and trees
    rows: list[dict[str, Any]] | None = None  # for dataset files

    @classmethod
    def open(cls, path: Path) -> Source:
        from explore_instruct.tools.dataset.read_back import read_dataset
        from explore_instruct.tools.dataset.sampling import load_tree_source

        if path.is_dir() and not (path / "state.json").is_file():
            return cls(path, loaded=load_tree_source(path))
        return cls(path, rows=read_dataset(path))

    @property
    def size(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        return sum(len(n.examples) for n in self.loaded.tree.preorder())

    def draw(self, n: int | None, seed: int = 0) -> Sampled:
        from explore_instruct.tools.dataset.sampling import sample
        from explore_instruct.tools.dataset.turns import user_turns

        if self.rows is None:
            result = sample(self.loaded, n, seed=seed, max_depth=None)
            texts = [s.example.instruction for s in result.examples]
            turns = [user_turns(s.example.model_dump()) for s in result.examples]
            return Sampled(str(self.path), texts, [s.depth for s in result.examples], result.available, turns)
        picked = self.rows if n is None or n >= len(self.rows) else random.Random(seed).sample(self.rows, n)
        depths = [r["depth"] if isinstance(r.get("depth"), int) else None for r in picked]
        turns = [user_turns(r) for r in picked]
        return Sampled(str(self.path), [r["instruction"] for r in picked], depths, len(self.rows), turns)


def fixed_sample(path: Path, n: int | None, seed: int = 0) -> Sampled:
    """N instructions of a run, a tree directory or a dataset file (all of them when it holds fewer)."""
    return Source.open(path).draw(n, seed)


# ---- lexical ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _no_downloads() -> Iterator[None]:
    """The `diversity` package calls `nltk.download` when it is imported; nothing here may download at run time."""
    import nltk

    real = nltk.download
    nltk.download = lambda *a, **k: False
    try:
        yield
    finally:
        nltk.download = real


@lru_cache(maxsize=1)
def _diversity() -> Any:
    with _no_downloads():
        import diversity

    return diversity


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams over all n-grams of the joined texts (the `diversity` package's n-gram diversity)."""
    score = _diversity().ngram_diversity_score
    words = " ".join(texts).split()
    if len(words) < n:
        return 0.0
    return float(score(list(texts), num_n=n) - (score(list(texts), num_n=n - 1) if n > 1 else 0.0))


def lexical(texts: Sequence[str], seed: int = 0) -> dict[str, float | None]:
    div = _diversity()
    return {
        "distinct_1": round(distinct_n(texts, 1), 4),
        "distinct_2": round(distinct_n(texts, 2), 4),
        "compression_ratio": float(div.compression_ratio(list(texts), "gzip")) if texts else None,
        "self_repetition": round(float(div.self_repetition_score(list(texts), verbose=False)), 4) if texts else None,
        "rouge_l_mean": _round(mean_pairwise_rouge(texts, limit=1000, seed=seed)),
    }


# ---- semantic -----------------------------------------------------------------------------------


def vendi(vectors: np.ndarray) -> float:
    """The Vendi score: the effective number of distinct items (1 for identical ones, n for orthogonal ones)."""
    from vendi_score import vendi as vs

    if len(vectors) == 0:
        return 0.0
    with warnings.catch_warnings():  # it names scipy.sparse.csr, which scipy has deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        # The dual form (d x d) has the same non-zero eigenvalues and is cheaper when n > d.
        return float(vs.score_dual(vectors) if len(vectors) > vectors.shape[1] else vs.score_X(vectors))


def kmeans_entropy(vectors: np.ndarray, k: int = KMEANS_K, seed: int = 0) -> float | None:
    """Entropy (bits) of the cluster sizes of a k-means clustering: log2(k) when the data fill k topics evenly."""
    from sklearn.cluster import KMeans

    k = min(k, len(np.unique(vectors.round(6), axis=0)))  # no more clusters than distinct points
    if k < 2:
        return None
    labels = KMeans(n_clusters=k, n_init="auto", random_state=seed).fit_predict(vectors)
    shares = np.bincount(labels) / len(labels)
    return round(float(-(shares[shares > 0] * np.log2(shares[shares > 0])).sum()), 4)


def semantic(vectors: np.ndarray, seed: int = 0) -> dict[str, float | None]:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    n = len(unit)
    mean_cos = float((unit.sum(0) @ unit.sum(0) - n) / (n * (n - 1))) if n > 1 else None
    return {
        "mean_cosine_distance": None if mean_cos is None else round(1 - mean_cos, 4),
        "vendi": round(vendi(unit), 3),
        "kmeans_entropy": kmeans_entropy(unit, seed=seed),
        "kmeans_k": min(KMEANS_K, len(np.unique(unit.round(6), axis=0))),
    }


# ---- the report ---------------------------------------------------------------------------------


def metrics(
    texts: Sequence[str], pairs: Sequence[Pair] | None, embed: Callable[[Sequence[str]], np.ndarray] | None, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"instructions": len(texts)}
    if pairs is not None:
        vn = verb_noun_stats(pairs, top=5)
        out |= {
            "verb_noun_pairs": vn["unique_pairs"],
            "top_pair": vn["top_pair"],
            "top_pair_share": vn["top_pair_share"],
        }
    out |= lexical(texts, seed)
    if embed is not None and texts:
        out |= semantic(embed(texts), seed)
    return out


def report(
    sampled: Sampled,
    pairs: Sequence[Pair] | None,
    embed: Callable[[Sequence[str]], np.ndarray] | None,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics overall and per depth of one sample (pairs: one per text, from `coverage.verb_noun_pairs`)."""
    overall = metrics(sampled.texts, pairs, embed, seed)
    per_depth: dict[str, Any] = {}
    for depth in sorted({d for d in sampled.depths if d is not None}):
        idx = [i for i, d in enumerate(sampled.depths) if d == depth]
        sub_pairs = [pairs[i] for i in idx] if pairs is not None else None
        per_depth[str(depth)] = metrics([sampled.texts[i] for i in idx], sub_pairs, embed, seed)
    return {"source": sampled.source, "n": len(sampled.texts), "available": sampled.available,
            "overall": overall, "per_depth": per_depth}  # fmt: skip


INTERVAL_METHOD = (
    "95%, normal bootstrap: the figure ± 1.96 bootstrap standard errors ({resamples} resamples), clipped to the "
    "metric's bounds (distinct-2 in [0, 1], verb–noun pairs in [0, N])"
)


@dataclass(frozen=True)
class Intervals:
    """Bootstrap intervals of one sample: (low, high) per metric, the ends cut at a bound, and how they were made."""

    bounds: dict[str, tuple[float, float]]
    clipped: dict[str, str]  # metric -> "low", "high" or "both": the end(s) set to the metric's bound
    method: str


def bootstrap_intervals(
    texts: Sequence[str], pairs: Sequence[Pair] | None, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> Intervals:
    """95% normal bootstrap intervals for the pair count and distinct-2 of one N-sample: the figure ± 1.96
    bootstrap standard errors (scipy's `bootstrap` over the sample's instructions, with replacement).

    Centred on the figure, not on the resampled values: resampling repeats instructions, which shrinks any count
    of distinct items, so percentile intervals would all fall below the figure they are meant to bound; the
    spread of the resampled values still measures how much the figure depends on which N were drawn. A normal
    interval knows nothing of bounds, though: distinct-2 near 1 got an upper end past 1. Each end is clipped to
    what the metric can be, and `clipped` names the ends that were, so a reader knows the interval is one-sided.
    """
    from scipy.stats import bootstrap

    method = INTERVAL_METHOD.format(resamples=resamples)
    if len(texts) < 2:
        return Intervals({}, {}, method)
    stats: dict[str, tuple[Callable[[np.ndarray], float], tuple[float, float]]] = {
        "distinct_2": (lambda idx: distinct_n([texts[int(i)] for i in idx], 2), (0.0, 1.0))
    }
    if pairs is not None:
        full = [p if p[0] and p[1] else None for p in pairs]
        count = (lambda idx: float(len({full[int(i)] for i in idx} - {None})), (0.0, float(len(texts))))
        stats["verb_noun_pairs"] = count
    out: dict[str, tuple[float, float]] = {}
    clipped: dict[str, str] = {}
    index = np.arange(len(texts))
    for name, (fn, (floor, ceiling)) in stats.items():
        rng = np.random.default_rng(seed)
        res = bootstrap((index,), fn, n_resamples=resamples, vectorized=False, method="percentile", random_state=rng)
        point, half = fn(index), 1.96 * float(res.standard_error)
        low, high = round(point - half, 4), round(point + half, 4)
        cut = [end for end, past in (("low", low < floor), ("high", high > ceiling)) if past]
        if cut:
            clipped[name] = cut[0] if len(cut) == 1 else "both"
        out[name] = (max(low, floor), min(high, ceiling))
    return Intervals(out, clipped, method)


def _round(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 4)


# ---- from a path ----------------------------------------------------------------------------------


def diversity_of(
    path: Path, n: int | None = None, seed: int = 0, *, verbs: bool = True, embeddings: bool = True
) -> tuple[dict[str, Any], Sampled, list[Pair] | None]:
    """The report of a run, tree directory or dataset file on an N-sample, with what it was computed from.

    Verb-noun pairs need spaCy and embeddings the MiniLM extra: without them those metrics are left out and
    `missing` says why, rather than failing the rest.
    """
    from explore_instruct.tools.dataset.coverage import CoverageError, verb_noun_pairs
    from explore_instruct.tools.dataset.turns import all_turns_report
    from explore_instruct.tools.similarity.embeddings import EmbeddingUnavailable, make_embedder

    sampled = fixed_sample(path, n, seed)
    missing: dict[str, str] = {}
    pairs: list[Pair] | None = None
    if verbs:
        try:
            pairs = verb_noun_pairs(sampled.texts)
        except CoverageError as e:
            missing["verb_noun_pairs"] = str(e)
    embed = None
    if embeddings:
        try:
            embed = make_embedder()
        except EmbeddingUnavailable as e:
            missing["embeddings"] = str(e)
    out = report(sampled, pairs, embed, seed) | {"seed": seed}
    # Conversations: the same metrics over every user turn, beside `overall` over the opening ones (instructions).
    if (turns := all_turns_report(sampled.conversations, verbs=pairs is not None, embed=embed, seed=seed)) is not None:
        out["all_turns"] = turns
    if missing:
        out["missing"] = missing
    return out, sampled, pairs
