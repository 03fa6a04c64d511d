"""Similarity checks for task names (pruning) and instructions (dedup), behind one small interface.

Greedy and order-dependent by design, as in the method: an item is kept unless it is too close to an
item kept before it (within its group when the scope is per node). Three implementations:

- `ExactIndex`: normalised exact match (a baseline, and a cheap guard).
- `RougeIndex` (tools/similarity/rouge.py): ROUGE-L F-measure, the method's measure, with the pairwise scores
  other checks use.
- `ChromaIndex` (tools/similarity/embeddings.py): cosine similarity of sentence embeddings in a Chroma collection.

Every kept item carries a sequence number; `rollback(seq)` forgets items at or beyond it, so a step that
was killed after adding but before its checkpoint landed can be replayed without double counting.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from explore_instruct.tools.similarity.rouge import RougeIndex

Scope = Literal["node", "tree"]
Mode = Literal["exact", "rouge", "embedding"]


class SimilarityError(ValueError):
    """Bad similarity settings or input; one line."""


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    seq: int = 0
    group: str = ""  # the node id, for per-node scope


@dataclass(frozen=True)
class Match:
    keep: bool
    nearest_id: str | None = None
    nearest_text: str | None = None
    score: float = 0.0


class SimilarityIndex(Protocol):
    threshold: float

    def greedy(self, items: Sequence[Item]) -> list[Match]:
        """Check each item, in order, against everything kept so far; kept items join the index."""
        ...

    def add(self, items: Sequence[Item]) -> None:
        """Insert without checking (seeds, or a rebuild after a restart)."""
        ...

    def rollback(self, upto_seq: int) -> None:
        """Forget every item whose seq >= upto_seq."""
        ...

    def __len__(self) -> int: ...


def check_threshold(threshold: float) -> float:
    if not 0 < threshold <= 1:
        raise SimilarityError(f"threshold: {threshold} is outside (0, 1]")
    return threshold


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


class _Grouped:
    """Shared bookkeeping: items by id in insertion order, optional per-group scope."""

    def __init__(self, threshold: float, scope: Scope) -> None:
        self.threshold = check_threshold(threshold)
        if scope not in ("node", "tree"):
            raise SimilarityError(f"scope: {scope!r} is not node or tree")
        self.scope = scope
        self.items: list[Item] = []

    def _group(self, item: Item) -> str:
        return item.group if self.scope == "node" else ""

    def __len__(self) -> int:
        return len(self.items)


class ExactIndex(_Grouped):
    """Keeps an item unless its normalised text equals a kept one."""

    def __init__(self, threshold: float = 1.0, scope: Scope = "tree") -> None:
        super().__init__(threshold, scope)
        self._keys: dict[tuple[str, str], Item] = {}

    def greedy(self, items: Sequence[Item]) -> list[Match]:
        out = []
        for item in items:
            key = (self._group(item), normalise(item.text))
            hit = self._keys.get(key)
            if hit is not None:
                out.append(Match(False, hit.id, hit.text, 1.0))
                continue
            self._keys[key] = item
            self.items.append(item)
            out.append(Match(True))
        return out

    def add(self, items: Sequence[Item]) -> None:
        for item in items:
            self._keys.setdefault((self._group(item), normalise(item.text)), item)
            self.items.append(item)

    def rollback(self, upto_seq: int) -> None:
        self.items = [i for i in self.items if i.seq < upto_seq]
        self._keys = {}
        for i in self.items:
            self._keys.setdefault((self._group(i), normalise(i.text)), i)


DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    # mode: (task-name prune threshold, instruction filter threshold)
    "exact": (1.0, 1.0),
    "rouge": (0.7, 0.7),  # the method's
    "embedding": (0.80, 0.90),  # cosine, all-MiniLM-L6-v2; see docs/similarity.md for the measurement
}


def memory_index(mode: Mode, threshold: float, scope: Scope = "tree") -> ExactIndex | RougeIndex:
    if mode == "exact":
        return ExactIndex(threshold, scope)
    if mode == "rouge":  # rouge.py (numpy, rouge-score) is loaded by the runs that score with it
        from explore_instruct.tools.similarity.rouge import RougeIndex

        return RougeIndex(threshold, scope)
    raise SimilarityError(f"mode: {mode!r} has no in-memory index")
