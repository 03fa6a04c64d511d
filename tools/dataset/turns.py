"""Diversity over every user turn of the conversations in a sample (the multi_turn and tool_calls shapes).

A conversation's instruction is its opening turn, so the report's `overall` figures (tools/dataset/diversity.py)
already measure the openings; they say nothing of the follow-ups. A set whose follow-ups are all "Make it
shorter." is narrower than its openings suggest, so the same metrics are also taken over all user turns of the
sampled conversations, as `all_turns`. Single-turn examples add nothing there: they are measured as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


def user_turns(example: Mapping[str, Any]) -> list[str]:
    """The user messages of an example that holds a conversation, in order; [] for a single example. Reads our
    `messages` (OpenAI layout) and a ShareGPT file's `conversations` (`from: human`)."""
    for key, role, who, text in (("messages", "role", "user", "content"), ("conversations", "from", "human", "value")):
        turns = example.get(key)
        if isinstance(turns, list):
            return [
                m[text].strip()
                for m in turns
                if isinstance(m, Mapping) and m.get(role) == who and isinstance(m.get(text), str) and m[text].strip()
            ]
    return []


def all_turns_report(
    conversations: Sequence[Sequence[str]],
    *,
    verbs: bool,
    embed: Callable[[Sequence[str]], np.ndarray] | None,
    seed: int = 0,
) -> dict[str, Any] | None:
    """The diversity metrics over every user turn of the sampled conversations (None when there are none), with how
    many conversations and turns they came from. Verb-noun pairs are left out when spaCy is missing: the report's
    `missing` already says so for the opening turns."""
    from explore_instruct.tools.dataset.coverage import CoverageError, verb_noun_pairs
    from explore_instruct.tools.dataset.diversity import metrics

    held = [list(c) for c in conversations if c]
    if not held:
        return None
    texts = [t for c in held for t in c]
    pairs = None
    if verbs:
        try:
            pairs = verb_noun_pairs(texts)
        except CoverageError:
            pairs = None
    counts = {"conversations": len(held), "user_turns": len(texts), "turns_per_conversation": len(texts) / len(held)}
    return metrics(texts, pairs, embed, seed) | {k: round(v, 2) for k, v in counts.items()}
