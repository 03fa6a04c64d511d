"""The plan of a grounded run prices the corpus chunks its prompts carry (tools/plan/tokens.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explore_instruct.tools.corpus.chunk import CHUNK_SIZE
from explore_instruct.tools.plan.estimate import make_plan
from explore_instruct.tools.plan.inputs import Measured, Params
from explore_instruct.tools.plan.tokens import CHARS_PER_TOKEN, CHUNK_CHARS, Shape, generate_tokens
from explore_instruct.tools.prompts.grounded import SHOW_CHARS

SHAPE = {"max_depth": 2, "breadth": [3, 2], "subtasks_per_call": 2, "examples": [12], "examples_per_call": 4}
GROUNDED = {"docs": "/corpus", "retrieve_k": 3}


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
    # Three more chunks: each full enrich prompt shows SHOW_CHARS of each (a compact one shows one chunk whatever
    # retrieve_k is), each decomposition 300 characters.
    shown = 3 if profile == "full" else 0
    least = (calls["enrich"] * shown * SHOW_CHARS + calls["decompose"] * 3 * 300) / CHARS_PER_TOKEN
    assert least <= six["input"] - three["input"] <= 1.05 * least  # the chunks, and their numbers
    assert six["output"] == three["output"]
    assert three["output"] > bare_tokens["output"]  # every example also names its source and copies a quote


def test_a_compact_grounded_example_is_priced_without_a_source_number() -> None:
    def added(profile: str) -> float:
        """Completion tokens a corpus adds to one enrich call of 4 examples in the profile."""
        shapes = [Shape(Params.of({**SHAPE, "prompt_profile": profile, **g}), Measured()) for g in ({}, GROUNDED)]
        bare, grounded = (generate_tokens(s, 1, 4, 2, 2)[1] for s in shapes)
        return grounded - bare

    # Both copy a quote; only the full schema adds `"source": 1, ` (13 characters) to each of the 4 examples.
    assert added("full") - added("compact") == pytest.approx(4 * 13 / CHARS_PER_TOKEN)
    assert added("compact") > 0


def test_a_flat_run_is_planned_as_one_task_per_chunk_and_no_decomposition(tmp_path: Path) -> None:
    from explore_instruct.agent.runs.plan import plan_for
    from explore_instruct.graphs.context import Context

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docs = {"a.md": {"chunks": 5, "sha256": "x"}, "b.md": {"chunks": 2, "sha256": "y"}}
    (corpus / "corpus.json").write_text(json.dumps({"documents": docs}), encoding="utf-8")
    ctx = Context(strategy="flat", docs=str(corpus), examples=[3], examples_per_call=2, model="openai:gpt-4o-mini")
    plan = plan_for(ctx)
    assert [lv.tasks for lv in plan.levels] == [1, 7]
    assert plan.calls["decompose"] == 0 and plan.levels[0].enrich_calls == 0
    assert plan.levels[1].enrich_calls >= 7 * 2  # ceil(3 / 2) calls a chunk, more for refills
    tree = plan_for(Context(docs=str(corpus), examples=[3], examples_per_call=2, model="openai:gpt-4o-mini"))
    assert tree.calls["decompose"] > 0  # the same corpus explored as a tree: planned from breadth and depth
