"""ROUGE-L, the method's similarity: the greedy index (`RougeIndex`) and the pairwise scores other checks use
(`rouge_l`, `rouge_l_over`, and `reference_greedy_rouge`, the reference's plain algorithm as the tests' oracle).

`RougeIndex` keeps the reference's kept set exactly (ROUGE-L F-measure, `rouge-score`, no stemmer, keep iff the max
score <= threshold), but a token-overlap bound proves most pairs cannot pass the threshold, so exact ROUGE-L runs
only on a shortlist (no O(n^2) LCS, no process pool per item), and the LCS itself is rapidfuzz's
(`rouge_l_tokens`). It lives apart from the interface and the exact index (tools/similarity/indexes.py) because it
alone needs numpy and rouge-score, which runs that dedup by exact match or embeddings need not load.
"""

from __future__ import annotations

import functools
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from rapidfuzz.distance import LCSseq

from explore_instruct.tools.light_imports import import_rouge_score
from explore_instruct.tools.similarity.indexes import Item, Match, Scope, _Grouped

# Exact ROUGE-L is computed whenever the bound is within this of the threshold, so float rounding in
# the bound can never keep an item the reference would drop.
_BOUND_SLACK = 1e-9


def _may_exceed(shared: Any, m: Any, n: int, threshold: float) -> Any:
    """Whether ROUGE-L F can exceed `threshold` given the multiset token overlap of texts of m and n tokens:
    LCS <= that overlap, and ROUGE-L F = 2*LCS/(m+n), so a False here is exact-safe. Works on numpy arrays."""
    return 2 * shared > (threshold - _BOUND_SLACK) * (m + n)


class _CachedTokenizer:
    """rouge-score's own tokenizer, memoised: each kept text is tokenised once, not once per pair.

    rouge-score (and nltk under it) is imported on first use: it costs seconds of start-up that
    commands not using ROUGE should not pay.
    """

    def __init__(self) -> None:
        import_rouge_score()
        from rouge_score import tokenizers

        self._inner = tokenizers.DefaultTokenizer(use_stemmer=False)
        self._cache: dict[str, list[str]] = {}

    def tokenize(self, text: str) -> list[str]:
        toks = self._cache.get(text)
        if toks is None:
            toks = self._inner.tokenize(text)
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[text] = toks
        return toks


class RougeIndex(_Grouped):
    """Greedy ROUGE-L F (no stemmer): drop an item whose max score against kept items exceeds the threshold."""

    def __init__(self, threshold: float = 0.7, scope: Scope = "tree") -> None:
        super().__init__(threshold, scope)
        self.tokenizer = _CachedTokenizer()
        self._lengths = array("i")
        # Per (group, token): the kept items holding it and how many times, as C arrays numpy can read at once.
        self._postings: dict[tuple[str, str], tuple[array[int], array[int]]] = {}

    def _shortlist(self, group: str, counts: Counter[str], n: int) -> list[tuple[int, int]]:
        """Kept items whose token-overlap bound on ROUGE-L could exceed the threshold: (index, overlap).

        The multiset overlap with every kept item is summed per token over its postings with numpy: the
        pure-Python loop over long postings (the, a, to) was a quarter of a ROUGE run's CPU.
        """
        size = len(self.items)
        found = [(p, c) for tok, c in counts.items() if (p := self._postings.get((group, tok))) is not None]
        if not found:
            return []
        # One bincount over every posting at once: a few numpy calls per item rather than three per token.
        idx = np.concatenate([np.frombuffer(p[0], dtype=np.int32) for p, _ in found])
        cnt = np.concatenate([np.frombuffer(p[1], dtype=np.int32) for p, _ in found])
        mine = np.repeat(np.array([c for _, c in found], dtype=np.int32), [len(p[0]) for p, _ in found])
        overlap = np.bincount(idx, weights=np.minimum(cnt, mine), minlength=size)
        lengths = np.asarray(self._lengths, dtype=np.int64)
        hits = np.flatnonzero((overlap > 0) & _may_exceed(overlap, lengths, n, self.threshold))
        return [(int(i), int(overlap[i])) for i in hits]

    def score(self, kept_text: str, text: str) -> float:
        return rouge_l_tokens(self.tokenizer.tokenize(kept_text), self.tokenizer.tokenize(text))

    def greedy(self, items: Sequence[Item]) -> list[Match]:
        out = []
        for item in items:
            toks = self.tokenizer.tokenize(item.text)
            counts = Counter(toks)
            group = self._group(item)
            best = Match(True)
            for idx, _ in self._shortlist(group, counts, len(toks)):
                kept = self.items[idx]
                s = self.score(kept.text, item.text)
                if s > best.score:
                    best = Match(s <= self.threshold, kept.id, kept.text, s)
            if best.keep:
                self._add(item, counts, len(toks), group)
                best = Match(True, best.nearest_id, best.nearest_text, best.score)
            out.append(best)
        return out

    def add(self, items: Sequence[Item]) -> None:
        for item in items:
            toks = self.tokenizer.tokenize(item.text)
            self._add(item, Counter(toks), len(toks), self._group(item))

    def _add(self, item: Item, counts: Counter[str], n: int, group: str) -> None:
        idx = len(self.items)
        self.items.append(item)
        self._lengths.append(n)
        for tok, c in counts.items():
            posting = self._postings.setdefault((group, tok), (array("i"), array("i")))
            posting[0].append(idx)
            posting[1].append(c)

    def rollback(self, upto_seq: int) -> None:
        keep = [i for i in self.items if i.seq < upto_seq]
        if len(keep) == len(self.items):
            return
        self.items, self._lengths, self._postings = [], array("i"), {}
        self.add(keep)


@functools.lru_cache(maxsize=1)
def _pair_tokenizer() -> _CachedTokenizer:
    return _CachedTokenizer()


def rouge_l_tokens(target: Sequence[str], prediction: Sequence[str]) -> float:
    """ROUGE-L F of two token lists, bit for bit rouge-score's (`_score_lcs` then `scoring.fmeasure`, the same
    float operations), with the LCS from rapidfuzz's C++ `LCSseq` instead of rouge-score's Python table: ~37x
    faster on instruction-length texts (20,000 pairs, none differing), which is what the dedup's shortlist, the
    stats' pairwise means and the workbench's Diversity tab spend their time on. (rapidfuzz compares tokens by
    hash: only a 64-bit hash collision between two different words could make it differ.)"""
    if not target or not prediction:
        return 0.0
    lcs = LCSseq.similarity(target, prediction)
    precision, recall = lcs / len(prediction), lcs / len(target)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F of two texts, as the method scores them (rouge-score's tokenizer, no stemmer)."""
    tok = _pair_tokenizer()
    return rouge_l_tokens(tok.tokenize(a), tok.tokenize(b))


def rouge_l_over(a: str, b: str, limit: float) -> float:
    """ROUGE-L F of two texts where it could exceed `limit`, else 0.0, by the same exact-safe bound as the
    index's shortlist (LCS <= the multiset overlap): most pairs never reach the LCS, which is most of the cost."""
    tok = _pair_tokenizer()
    ta, tb = tok.tokenize(a), tok.tokenize(b)
    if not ta or not tb:
        return 0.0
    shared = sum((Counter(ta) & Counter(tb)).values())
    return rouge_l(a, b) if _may_exceed(shared, len(ta), len(tb), limit) else 0.0


def reference_greedy_rouge(texts: Sequence[str], threshold: float = 0.7) -> list[bool]:
    """The reference's algorithm, plainly: all pairs, per call. Used as the oracle in tests and benches."""
    import_rouge_score()
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    kept: list[str] = []
    out = []
    for text in texts:
        best = max((scorer.score(k, text)["rougeL"].fmeasure for k in kept), default=0.0)
        keep = best <= threshold
        if keep:
            kept.append(text)
        out.append(keep)
    return out
