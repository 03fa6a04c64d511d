"""Diversity metrics on hand-made inputs whose answers are known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from explore_instruct.tools.dataset.diversity import (
    bootstrap_intervals,
    distinct_n,
    fixed_sample,
    kmeans_entropy,
    lexical,
    semantic,
    vendi,
)

FIXTURES = Path(__file__).parents[2] / "fixtures"


def test_vendi_counts_effective_items() -> None:
    assert vendi(np.ones((6, 4)) / 2) == pytest.approx(1.0)
    assert vendi(np.eye(6)) == pytest.approx(6.0)
    assert vendi(np.eye(3)[[0, 0, 1, 1, 2, 2]]) == pytest.approx(3.0)
    # More items than dimensions takes the dual form; the answer is the same.
    assert vendi(np.eye(4)[[i % 4 for i in range(40)]]) == pytest.approx(4.0)


def test_semantic_metrics_on_identical_and_orthogonal_vectors() -> None:
    same = semantic(np.ones((5, 3)))
    assert same["mean_cosine_distance"] == pytest.approx(0.0, abs=1e-6)
    assert same["vendi"] == pytest.approx(1.0)
    apart = semantic(np.eye(5))
    assert apart["mean_cosine_distance"] == pytest.approx(1.0)
    assert apart["vendi"] == pytest.approx(5.0)


def test_kmeans_entropy_of_even_and_lopsided_topics() -> None:
    even = np.eye(4)[[i % 4 for i in range(40)]] + np.random.default_rng(0).normal(0, 0.01, (40, 4))
    assert kmeans_entropy(even, k=4) == pytest.approx(math.log2(4), abs=1e-3)
    lopsided = np.eye(2)[[0] * 36 + [1] * 4]
    assert kmeans_entropy(lopsided, k=2) == pytest.approx(-(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1)), abs=1e-3)
    assert kmeans_entropy(np.eye(3)[:1], k=4) is None
    assert kmeans_entropy(np.ones((9, 3)), k=4) is None  # one distinct point: no clustering


def test_distinct_n() -> None:
    assert distinct_n(["a b c d"], 1) == pytest.approx(1.0)
    assert distinct_n(["a a a a"], 1) == pytest.approx(0.25)
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3, abs=1e-3)
    assert distinct_n(["a"], 2) == 0.0


def test_lexical_metrics_separate_repetitive_from_varied_text() -> None:
    repetitive = ["Rewrite this email politely."] * 20
    varied = [f"{v} the {n} for {w}." for v, n, w in zip(
        ["Summarise", "Translate", "Shorten", "Explain", "Rewrite"] * 4,
        ["report", "letter", "poem", "recipe", "contract", "memo", "essay", "speech", "ad", "review"] * 2,
        ["children", "lawyers", "tourists", "doctors", "students"] * 4, strict=True)]  # fmt: skip
    rep, var = lexical(repetitive), lexical(varied)
    assert rep["distinct_2"] < var["distinct_2"]
    assert rep["compression_ratio"] > var["compression_ratio"]
    assert rep["self_repetition"] > var["self_repetition"]
    assert rep["rouge_l_mean"] == pytest.approx(1.0) and var["rouge_l_mean"] < 0.6


def test_bootstrap_intervals_bound_the_figure() -> None:
    texts = [f"Write a {a} about {b}." for a in ("poem", "story", "note", "list") for b in ("cats", "rain", "tea")]
    pairs = [("write", a) for a in ("poem", "story", "note", "list") for _ in range(3)]
    out = bootstrap_intervals(texts, pairs, seed=1, resamples=200).bounds
    low, high = out["verb_noun_pairs"]
    assert low <= 4 <= high
    low, high = out["distinct_2"]
    assert low <= distinct_n(texts, 2) <= high and high - low > 0
    assert bootstrap_intervals(["one"], None).bounds == {}


def test_bootstrap_intervals_stay_inside_the_metrics_bounds_and_say_where_they_were_clipped() -> None:
    """Distinct-2 of instructions that share no bigram is 1 and resampling can only lower it: figure ± 1.96 SE
    reached past 1 (`compare` printed [0.7321, 1.036]); a pair count cannot be negative or exceed N."""
    texts = [f"{a} {b} {c}" for a, b, c in zip("abcdefghijkl", "mnopqrstuvwx", "ABCDEFGHIJKL", strict=True)]
    pairs = [("write", t) for t in "abcdefghijkl"]
    ci = bootstrap_intervals(texts, pairs, seed=1, resamples=200)
    assert distinct_n(texts, 2) == 1.0
    low, high = ci.bounds["distinct_2"]
    assert 0.0 <= low < 1.0 and high == 1.0
    low, high = ci.bounds["verb_noun_pairs"]
    assert 0 <= low < 12 and high == 12
    assert ci.clipped == {"distinct_2": "high", "verb_noun_pairs": "high"}
    assert "clipped" in ci.method and "1.96" in ci.method
    # an interval inside its bounds is left alone and not called clipped
    inside = bootstrap_intervals([f"write a {w} now" for w in ("poem", "poem", "note", "list")], None, seed=1)
    assert inside.clipped == {} and 0 < inside.bounds["distinct_2"][0] < inside.bounds["distinct_2"][1] < 1


def test_fixed_sample_draws_n_by_the_method_and_repeats_with_its_seed() -> None:
    a = fixed_sample(FIXTURES / "ei_demo", 12, seed=3)
    assert len(a.texts) == 12 and a.available >= 12
    assert a == fixed_sample(FIXTURES / "ei_demo", 12, seed=3)
    assert set(a.depths) <= {0, 1}
