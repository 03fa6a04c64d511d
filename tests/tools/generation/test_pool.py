"""The pooled first level (tools/generation/pool.py) and the path the decomposition prompts show (issue 23)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from test_tools import ScriptedChat

from explore_instruct.tools.generation.decompose import DecomposeRequest, DecomposeResult, ProposedSubtask, decompose
from explore_instruct.tools.generation.pool import choose_spread, first_level, sample_decompositions
from explore_instruct.tools.prompts.compact import decompose_messages
from explore_instruct.tools.prompts.full import Flavour, decompose_prompt


def named(*names: str) -> str:
    return json.dumps({"subtasks": [{"name": n, "reason": f"a part of the work: {n}"} for n in names]})


def compact(target: str = "answering support tickets", k: int = 2) -> DecomposeRequest:
    return DecomposeRequest(target=target, k=k, profile="compact", root=target)


async def test_samples_are_pooled_once_per_name_and_every_call_is_kept() -> None:
    model = ScriptedChat(
        responses=[
            named("refund request replies", "bug report replies"),
            named("bug report replies", "billing error replies"),
            named("password reset replies", "refund request replies"),
        ]
    )
    result = await sample_decompositions(model, compact(), 3)
    assert [s.name for s in result.subtasks] == [
        "refund request replies", "bug report replies", "billing error replies", "password reset replies",
    ]  # fmt: skip
    repeats = [s for s in result.skipped if s.rule == "duplicate_name"]
    assert [s.item["name"] for s in repeats] == ["bug report replies", "refund request replies"]
    assert len(result.calls) == 3 and len(model.seen) == 3


def fake_embedder(table: dict[str, Sequence[float]]):  # type: ignore[no-untyped-def]
    def embed(texts: Sequence[str]) -> np.ndarray:
        vecs = np.asarray([table[t] for t in texts], dtype=np.float32)
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    return embed


def test_choose_spread_keeps_relevant_names_that_differ_from_each_other() -> None:
    root = "answering support tickets"
    table = {
        root: [1.0, 0.0, 0.0, 0.0],
        "refund replies": [0.9, 0.44, 0.0, 0.0],  # the most relevant
        "refund answers": [0.85, 0.5, 0.05, 0.0],  # as relevant, nearly, but close to the first
        "bug replies": [0.8, 0.0, 0.6, 0.0],  # a little less relevant, far from the first
        "garden ideas": [0.05, 0.0, 0.0, 1.0],  # off the domain
    }
    pool = DecomposeResult([ProposedSubtask(n, "", []) for n in list(table)[1:]], [], None)
    chosen = choose_spread(pool, 2, fake_embedder(table), root)
    assert [s.name for s in chosen.subtasks] == ["refund replies", "bug replies"]
    assert sorted(s.item["name"] for s in chosen.skipped if s.rule == "outranked") == ["garden ideas", "refund answers"]
    assert choose_spread(pool, 4, fake_embedder(table), root).subtasks == pool.subtasks


def test_only_a_bare_roots_calls_are_pooled() -> None:
    req = compact()
    assert first_level(None, False, 3, req)
    assert first_level(None, False, 3, replace(req, existing_children=["refund replies"]))  # widening it, too
    assert not first_level(None, True, 3, req)  # a preset's root has its first level
    assert not first_level("answering support tickets", False, 3, req)  # not the root
    assert not first_level(None, False, 1, req)
    full = replace(req, existing_children=[f"task {i}" for i in range(12)])
    assert not first_level(None, False, 3, full)  # no room left


def test_a_widening_call_is_chosen_away_from_the_existing_children() -> None:
    root = "customer support replies"
    table = {root: [1, 0, 0], "refund replies": [0.9, 0.44, 0], "refund answers": [0.9, 0.43, 0.05],
             "bug replies": [0.8, 0, 0.6]}  # fmt: skip
    pool = DecomposeResult([ProposedSubtask(n, "r", []) for n in ("refund answers", "bug replies")], [], None)
    alone = choose_spread(pool, 1, fake_embedder(table), root)
    assert [s.name for s in alone.subtasks] == ["refund answers"]  # the most relevant
    widened = choose_spread(pool, 1, fake_embedder(table), root, existing=["refund replies"])
    assert [s.name for s in widened.subtasks] == ["bug replies"]  # not a copy of a child the task has


def test_the_prompts_show_the_path_from_the_root() -> None:
    path = ["customer support", "answering tickets"]
    _, _, prompt = decompose_messages("refund replies", "answering tickets", [], 2, [], path)
    assert "Part of: customer support > answering tickets" in prompt
    _, _, old = decompose_messages("refund replies", "answering tickets", [], 2, [])
    assert "Part of: answering tickets" in old
    full = decompose_prompt(
        target="refund replies", target_reason="", existing_children=[], peers=[], demonstrations=[], k=2,
        examples_per_subtask=2, max_children=12, flavour=Flavour.GENERIC, path=path,
    )  # fmt: skip
    assert "Part of: customer support > answering tickets" in full


async def test_decompose_sends_the_path() -> None:
    model = ScriptedChat(responses=[named("refund request replies", "bug report replies")])
    req = DecomposeRequest(target="answering tickets", k=2, profile="compact", path=["customer support"])
    await decompose(model, req)
    assert "Part of: customer support" in str(model.seen[0][-1].content)
