"""The plan of a grounded run prices the corpus chunks its prompts carry (tools/plan/tokens.py)."""

from __future__ import annotations

import pytest

from explore_instruct.tools.corpus.chunk import CHUNK_SIZE
from explore_instruct.tools.plan.estimate import make_plan
from explore_instruct.tools.plan.inputs import Params
from explore_instruct.tools.plan.tokens import CHARS_PER_TOKEN, CHUNK_CHARS
from explore_instruct.tools.prompts.grounded import SHOW_CHARS

SHAPE = {"max_depth": 2, "breadth": [3, 2], "subtasks_per_call": 2, "examples": [12], "examples_per_call": 4}


def test_the_plan_knows_the_chunk_size_ingestion_cuts() -> None:
    assert CHUNK_CHARS == CHUNK_SIZE


@pytest.mark.parametrize("profile", ["full", "compact"])
def test_a_grounded_plan_prices_the_retrieved_chunks_in_every_prompt(profile: str) -> None:
    def plan(k: int | None) -> tuple[Params, dict[str, float], dict[str, float]]:
        params = Params.of({**SHAPE, "prompt_profile": profile, **({"docs": "/corpus", "retrieve_k": k} if k else {})})
        made = make_plan(params)
        return params, made.calls, made.tokens

    bare, bare_calls, bare_tokens = plan(None)
    grounded, calls, three = plan(3)
    assert grounded.grounded and not bare.grounded
    assert calls == bare_calls  # a corpus changes what a call carries, not how many calls there are
    _, _, six = plan(6)
    # Three more chunks: each enrich prompt shows SHOW_CHARS of each, each decomposition 300 characters.
    least = (calls["enrich"] * 3 * SHOW_CHARS + calls["decompose"] * 3 * 300) / CHARS_PER_TOKEN
    assert least <= six["input"] - three["input"] <= 1.05 * least  # the chunks, and their numbers
    assert six["output"] == three["output"]
    assert three["output"] > bare_tokens["output"]  # every example also names its source and copies a quote
