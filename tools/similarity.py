"""Similarity checks for task names (pruning) and instructions (dedup), behind one small interface.

Greedy and order-dependent by design, as in the method: an item is kept unless it is too close to an
item kept before it. `ExactIndex` is the baseline implementation (normalised exact match).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Match:
    keep: bool
    nearest_id: str | None = None
    nearest_text: str | None = None
    score: float = 0.0


class SimilarityIndex(Protocol):
    def check(self, text: str) -> Match:
        """How `text` compares with what the index holds; does not add it."""
        ...

    def add(self, item_id: str, text: str) -> None: ...


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


class ExactIndex:
    """Keeps an item unless its normalised text equals a kept one."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def check(self, text: str) -> Match:
        hit = self._items.get(normalise(text))
        if hit is None:
            return Match(keep=True)
        return Match(keep=False, nearest_id=hit[0], nearest_text=hit[1], score=1.0)

    def add(self, item_id: str, text: str) -> None:
        self._items.setdefault(normalise(text), (item_id, text))


def check_and_add(index: SimilarityIndex, item_id: str, text: str) -> Match:
    match = index.check(text)
    if match.keep:
        index.add(item_id, text)
    return match
