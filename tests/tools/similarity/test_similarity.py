"""The in-memory similarity indexes: RougeIndex against the plain all-pairs oracle, ExactIndex, rollback."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from explore_instruct.tools.similarity.indexes import (
    DEFAULT_THRESHOLDS,
    ExactIndex,
    Item,
    Match,
    SimilarityError,
    memory_index,
)
from explore_instruct.tools.similarity.rouge import RougeIndex, reference_greedy_rouge
from explore_instruct.tools.similarity.rouge import rouge_l as fast_rouge_l

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(a: str, b: str) -> float:
    return float(SCORER.score(a, b)["rougeL"].fmeasure)


def items_of(texts: Sequence[str], groups: Sequence[str] | None = None, start: int = 0) -> list[Item]:
    return [
        Item(id=f"i{start + i}", text=t, seq=start + i, group=groups[i] if groups else "") for i, t in enumerate(texts)
    ]


def keeps(matches: Sequence[Match]) -> list[bool]:
    return [m.keep for m in matches]


# ---- a strategy for instruction lists where near-duplicates are common --------------------------------

WORDS = [
    "write", "Write", "an", "a", "email", "EMAIL", "to", "the", "boss", "team", "polite", "short",
    "reply", "summarise", "this", "note", "3", "quickly", "café", "naïve", "Straße", "日本語", "写信", "don't",
]  # fmt: skip
PUNCT = ["", ".", "!", "?", ",", " ...", ";"]


@st.composite
def instruction_lists(draw: st.DrawFn, max_size: int = 14) -> list[str]:
    """Short texts over a tiny vocabulary; later ones are often edits (reorder, case, punctuation) of earlier ones."""
    base = st.lists(st.sampled_from(WORDS), min_size=1, max_size=7).map(" ".join)
    n = draw(st.integers(min_value=1, max_value=max_size))
    out: list[str] = []
    for _ in range(n):
        kind = draw(st.sampled_from(["new", "new", "repeat", "reorder", "case", "punct", "edit", "tiny"]))
        if kind == "new" or not out:
            text = draw(base)
        else:
            src = draw(st.sampled_from(out))
            toks = src.split() or ["a"]
            if kind == "repeat":
                text = src
            elif kind == "reorder":
                text = " ".join(draw(st.permutations(toks)))
            elif kind == "case":
                text = draw(st.sampled_from([src.upper(), src.lower(), src.title(), src.swapcase()]))
            elif kind == "punct":
                text = src + draw(st.sampled_from(PUNCT[1:]))
            elif kind == "edit":
                i = draw(st.integers(0, len(toks) - 1))
                word = draw(st.sampled_from(WORDS))
                op = draw(st.sampled_from(["replace", "insert", "delete"]))
                if op == "replace":
                    toks[i] = word
                elif op == "insert":
                    toks.insert(i, word)
                elif len(toks) > 1:
                    del toks[i]
                text = " ".join(toks)
            else:
                text = draw(st.sampled_from(["a", "A", "", " ", "!", "日本語", "a.", "写信 写信"]))
        out.append(text)
    return out


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(texts=instruction_lists())
def test_the_fast_rouge_l_is_rouge_scores_bit_for_bit(texts: list[str]) -> None:
    """`rouge_l` (rapidfuzz's LCS) gives exactly rouge-score's F for every pair, not merely close to it: a keep at
    the threshold must not flip."""
    for a in texts:
        for b in texts:
            assert fast_rouge_l(a, b) == rouge_l(a, b)


@PROPERTY
@given(texts=instruction_lists())
def test_rouge_index_matches_the_reference_at_the_default_threshold(texts: list[str]) -> None:
    assert keeps(RougeIndex(0.7).greedy(items_of(texts))) == reference_greedy_rouge(texts, 0.7)


@PROPERTY
@given(texts=instruction_lists(), threshold=st.sampled_from([0.3, 0.5, 0.7, 0.9, 1.0]))
def test_rouge_index_matches_the_reference_at_any_threshold(texts: list[str], threshold: float) -> None:
    matches = RougeIndex(threshold).greedy(items_of(texts))
    assert keeps(matches) == reference_greedy_rouge(texts, threshold)
    for text, m in zip(texts, matches, strict=True):
        if not m.keep:  # a drop names a kept item that really is too close
            assert m.nearest_text is not None and m.score > threshold
            assert m.score == pytest.approx(rouge_l(m.nearest_text, text))


@PROPERTY
@given(texts=instruction_lists(max_size=16), threshold=st.sampled_from([0.5, 0.7, 0.9]), data=st.data())
def test_node_scope_is_the_reference_run_per_group(texts: list[str], threshold: float, data: st.DataObject) -> None:
    groups = data.draw(st.lists(st.sampled_from(["n1", "n2", "n3"]), min_size=len(texts), max_size=len(texts)))
    got = keeps(RougeIndex(threshold, scope="node").greedy(items_of(texts, groups)))
    want: list[bool | None] = [None] * len(texts)
    for g in set(groups):
        idx = [i for i, gi in enumerate(groups) if gi == g]
        for i, k in zip(idx, reference_greedy_rouge([texts[i] for i in idx], threshold), strict=True):
            want[i] = k
    assert got == want


def test_node_scope_keeps_the_same_text_in_another_group_but_tree_scope_does_not() -> None:
    texts = ["write a polite email to the boss"] * 2
    assert keeps(RougeIndex(0.7, scope="node").greedy(items_of(texts, ["n1", "n2"]))) == [True, True]
    assert keeps(RougeIndex(0.7, scope="tree").greedy(items_of(texts, ["n1", "n2"]))) == [True, False]


def test_the_token_overlap_shortlist_prunes_most_exact_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(3000)]
    texts: list[str] = []
    near: set[int] = set()
    while len(texts) < 300:  # unrelated texts sharing only "the", and every 15th a near-copy of the one before
        if len(texts) % 15 == 14:
            near.add(len(texts))
            texts.append(texts[-1] + " please")
        else:
            texts.append(f"the {' '.join(rng.sample(vocab, 8))}")
    calls = 0
    real = RougeIndex.score

    def counting(self: RougeIndex, kept: str, text: str) -> float:
        nonlocal calls
        calls += 1
        return real(self, kept, text)

    monkeypatch.setattr(RougeIndex, "score", counting)
    got = keeps(RougeIndex(0.7).greedy(items_of(texts)))
    assert [i for i, k in enumerate(got) if not k] == sorted(near)
    assert got == reference_greedy_rouge(texts[:60], 0.7) + got[60:]  # spot check against the oracle
    n = len(texts)
    # Without the bound every kept item is scored against every later one: about n^2/2 = 45,000 calls.
    assert len(near) <= calls < n * n / 200, calls


@pytest.mark.parametrize(
    ("lcs", "m", "n"),
    [(7, 10, 10), (14, 20, 20), (35, 50, 50), (7, 11, 9), (14, 19, 21)],
)
def test_borderline_scores_at_the_threshold(lcs: int, m: int, n: int) -> None:
    """2*lcs/(m+n) == 0.7 by arithmetic; the float rouge-score computes decides, and both sides agree."""
    words = [f"w{i}" for i in range(m)]
    kept = " ".join(words)
    other = " ".join(words[:lcs] + [f"z{i}" for i in range(n - lcs)])
    score = rouge_l(kept, other)
    assert score == pytest.approx(0.7, abs=1e-12)
    want = reference_greedy_rouge([kept, other], 0.7)
    assert want == [True, score <= 0.7]
    index = RougeIndex(0.7)
    matches = index.greedy(items_of([kept, other]))
    assert keeps(matches) == want
    assert matches[1].nearest_id == "i0" and matches[1].score == score


def test_exactly_point_seven_is_kept_and_float_rounding_above_it_is_dropped() -> None:
    # 7 of 10 vs 10 tokens in common: F is 0.7 exactly, so kept (the rule is score <= threshold).
    a = "a b c d e f g h i j"
    b = "a b c d e f g x y z"
    assert rouge_l(a, b) == 0.7
    assert reference_greedy_rouge([a, b], 0.7) == [True, True]
    assert keeps(RougeIndex(0.7).greedy(items_of([a, b]))) == [True, True]
    # 7 of 11 vs 9 tokens: 14/20 on paper, 0.7000000000000001 in floats; the bound must not hide it.
    c = "a b c d e f g h i j k"
    d = "a b c d e f g x y"
    assert rouge_l(c, d) > 0.7
    assert reference_greedy_rouge([c, d], 0.7) == [True, False]
    assert keeps(RougeIndex(0.7).greedy(items_of([c, d]))) == [True, False]


def test_a_drop_reports_the_nearest_kept_item() -> None:
    texts = [
        "write a short polite email to the boss",
        "summarise this note for the team",
        "Write a short, polite email to the boss!",
    ]
    matches = RougeIndex(0.7).greedy(items_of(texts))
    assert keeps(matches) == [True, True, False]
    assert matches[2].nearest_id == "i0" and matches[2].nearest_text == texts[0]
    assert matches[2].score == pytest.approx(1.0)


def test_add_indexes_without_checking_and_greedy_then_compares_against_it() -> None:
    index = RougeIndex(0.7)
    index.add(items_of(["write an email", "write an email"]))  # seeds: kept as they are
    assert len(index) == 2
    assert keeps(index.greedy(items_of(["Write an email.", "plan a team offsite"], start=2))) == [False, True]
    assert len(index) == 3


# ---- rollback -----------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(texts=instruction_lists(max_size=16), data=st.data())
def test_rouge_rollback_then_replay_equals_a_fresh_index_over_the_kept_prefix(
    texts: list[str], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(texts)))
    items = items_of(texts)
    index = RougeIndex(0.7)
    first = index.greedy(items)
    index.rollback(cut)
    assert all(i.seq < cut for i in index.items)
    assert len(index) == sum(keeps(first[:cut]))
    replay = index.greedy(items[cut:])

    fresh = RougeIndex(0.7)
    fresh.greedy(items[:cut])
    assert replay == fresh.greedy(items[cut:])
    assert replay == first[cut:]  # a replay after a kill decides exactly as the first run did
    assert [i.id for i in index.items] == [i.id for i in fresh.items]


def test_rouge_rollback_re_allows_items_it_forgot() -> None:
    index = RougeIndex(0.7)
    index.greedy(items_of(["draft a polite email to the boss"]))
    assert keeps(index.greedy(items_of(["draft a polite email to my boss"], start=1))) == [False]
    index.greedy(items_of(["plan the team offsite"], start=2))
    index.rollback(0)
    assert len(index) == 0
    assert keeps(index.greedy(items_of(["draft a polite email to my boss"], start=0))) == [True]


def test_exact_index_normalises_case_punctuation_whitespace_and_unicode() -> None:
    index = ExactIndex()
    texts = [
        "Write an email to the boss.",
        "  write AN   email to the BOSS!!! ",
        "write an email, to the boss",
        "Write an e-mail to the boss",  # the hyphen becomes a space: not the same words
        "STRASSE café",
        "straße Café",  # casefold: ß == ss
        "ｗｒｉｔｅ an email to the boss",  # NFKC: full-width letters
        "write an email to the team",
    ]
    matches = index.greedy(items_of(texts))
    assert keeps(matches) == [True, False, False, True, True, False, False, True]
    assert all(m.nearest_id == "i0" and m.score == 1.0 for m in (matches[1], matches[2], matches[6]))
    assert matches[5].nearest_id == "i4"
    assert len(index) == 4


def test_exact_index_node_scope() -> None:
    texts = ["Summarise this note", "summarise this note!", "Summarise this note"]
    assert keeps(ExactIndex(scope="node").greedy(items_of(texts, ["a", "b", "a"]))) == [True, True, False]
    assert keeps(ExactIndex(scope="tree").greedy(items_of(texts, ["a", "b", "a"]))) == [True, False, False]


def test_exact_index_rollback_removes_later_items_and_re_allows_them() -> None:
    index = ExactIndex()
    index.add(items_of(["seed one"]))
    index.greedy(items_of(["alpha task", "beta task", "gamma task"], start=1))
    assert len(index) == 4
    assert keeps(index.greedy(items_of(["Alpha task", "Gamma task!"], start=4))) == [False, False]
    index.rollback(2)  # forgets beta (seq 2) and gamma (seq 3), keeps the seed and alpha
    assert [i.text for i in index.items] == ["seed one", "alpha task"]
    matches = index.greedy(items_of(["gamma TASK", "alpha task", "beta task"], start=2))
    assert keeps(matches) == [True, False, True]
    assert matches[1].nearest_id == "i1"


def test_exact_index_rollback_keeps_the_earliest_holder_of_a_key() -> None:
    index = ExactIndex()
    index.add(items_of(["same text", "same text"]))  # add does not check; the first owns the key
    index.rollback(5)
    (m,) = index.greedy(items_of(["Same text."], start=5))
    assert not m.keep and m.nearest_id == "i0"


# ---- settings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.0000001, 2.0, math.nan, math.inf])
@pytest.mark.parametrize("cls", [ExactIndex, RougeIndex])
def test_thresholds_outside_zero_one_raise(cls: type, threshold: float) -> None:
    with pytest.raises(SimilarityError, match="threshold"):
        cls(threshold)


@pytest.mark.parametrize("threshold", [1e-9, 0.5, 1.0])
def test_thresholds_inside_zero_one_are_accepted(threshold: float) -> None:
    assert RougeIndex(threshold).threshold == threshold
    assert ExactIndex(threshold).threshold == threshold


@pytest.mark.parametrize("scope", ["global", "", "Node", None])
@pytest.mark.parametrize("cls", [ExactIndex, RougeIndex])
def test_a_scope_other_than_node_or_tree_raises(cls: type, scope: object) -> None:
    with pytest.raises(SimilarityError, match="scope"):
        cls(0.7, scope)


def test_memory_index_and_default_thresholds() -> None:
    assert isinstance(memory_index("exact", 1.0), ExactIndex)
    rouge = memory_index("rouge", 0.7, "node")
    assert isinstance(rouge, RougeIndex) and rouge.scope == "node"
    with pytest.raises(SimilarityError, match="embedding"):
        memory_index("embedding", 0.9)  # type: ignore[arg-type]
    assert set(DEFAULT_THRESHOLDS) == {"exact", "rouge", "embedding"}
    assert DEFAULT_THRESHOLDS["rouge"] == (0.7, 0.7)  # the method's
    for prune, filt in DEFAULT_THRESHOLDS.values():
        assert 0 < prune <= 1 and 0 < filt <= 1
    for mode, (prune, filt) in DEFAULT_THRESHOLDS.items():
        if mode != "embedding":
            memory_index(mode, prune)  # type: ignore[arg-type]
            memory_index(mode, filt)  # type: ignore[arg-type]


def test_error_messages_are_one_line() -> None:
    for make in (lambda: RougeIndex(1.5), lambda: ExactIndex(0.5, "forest")):  # type: ignore[arg-type]
        with pytest.raises(SimilarityError) as err:
            make()
        assert "\n" not in str(err.value)
