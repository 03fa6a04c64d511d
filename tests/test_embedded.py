"""The real embedded model (SmolLM2-135M via llama.cpp), offline: its structured output must validate."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.generation.decompose import DecomposeRequest, SubtaskSpec, decompose
from explore_instruct.tools.generation.generate import GenerateRequest, generate
from explore_instruct.tools.llm.local import ChatLocalLlama
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model
from explore_instruct.tools.tree.ei_dir import load_ei_dir
from explore_instruct.tools.tree.model import Example

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def model() -> ChatLocalLlama:
    chat = make_chat_model(ModelSpec(model="local:smollm2", seed=7, temperature=0.8))
    assert isinstance(chat, ChatLocalLlama)
    return chat


async def test_decompose_validates(model: ChatLocalLlama) -> None:
    result = await decompose(
        model,
        DecomposeRequest(target="rewriting business emails", existing_children=["fixing grammar"], k=3),
        model_label="local:smollm2",
    )
    # What every valid reply shares; a seed does not pin llama.cpp's content across builds and CPUs, so how
    # many subtasks survive the rules is not asserted here (the benches measure content quality).
    assert result.call is not None and result.call.ok, result.call
    assert result.call.output_tokens > 0 and result.call.input_tokens > 0
    assert result.call.raw_text is None and result.call.error_kind is None
    assert len(result.subtasks) <= 3
    for sub in result.subtasks:
        SubtaskSpec.model_validate({"name": sub.name, "reason": sub.reason, "examples": []})
        assert sub.name.strip() and sub.examples
        assert sub.name.casefold() != "fixing grammar"
    # Everything the model proposed and we did not keep is recorded with the rule that dropped it.
    assert all(s.rule and s.what in {"subtask", "example"} for s in result.skipped)
    dropped_subtasks = [s for s in result.skipped if s.what == "subtask"]
    assert len(result.subtasks) + len(dropped_subtasks) >= 1


async def test_generate_validates(model: ChatLocalLlama) -> None:
    result = await generate(
        model,
        GenerateRequest(
            task="making an email more polite",
            parent="rewriting business emails",
            demonstrations=[
                Example(
                    instruction="Make this email sound friendlier.",
                    input="Send it now.",
                    output="Could you send it when you have a moment?",
                )
            ],
            n=4,
        ),
        model_label="local:smollm2",
    )
    assert result.calls[0].ok, result.calls[0]
    assert len(result.examples) + len(result.skipped) >= 1
    assert all(e.instruction and e.output for e in result.examples)


async def test_small_exploration_on_the_embedded_model(tmp_path: Path) -> None:
    graph = builder.compile(checkpointer=InMemorySaver())
    ctx = Context(
        model="local:smollm2",
        max_depth=1,
        breadth=[2],
        subtasks_per_call=2,
        examples=[2],
        examples_per_call=2,
        run_dir=str(tmp_path / "run"),
    )
    out = await graph.ainvoke(
        {"domain": "writing product descriptions"},
        {"configurable": {"thread_id": "embedded"}, "recursion_limit": 1000},
        context=ctx,
    )
    assert out["status"] == "done"
    assert out["stats"]["calls"] >= 2
    assert out["summary"]["nodes_per_depth"]["0"] == 1
    tree = load_ei_dir(tmp_path / "run" / "tree")
    assert tree.root.name == "writing product descriptions"
    assert sum(len(n.examples) for n in tree.nodes.values()) == out["summary"]["examples"]


async def test_compact_profile_grows_a_tree_past_the_root_with_names_that_pass_the_rules(tmp_path: Path) -> None:
    """The best of three seeds (a seed does not pin llama.cpp's content across machines): the root gets
    accepted children, and every accepted name passes the name rules."""
    from explore_instruct.tools.tree.names import name_rule

    best: list[str] = []
    for seed in (1, 2, 3):
        run_dir = tmp_path / f"run{seed}"
        ctx = Context(model="local:smollm2", seed=seed, max_depth=1, breadth=[3], subtasks_per_call=3, examples=[0],
                      similarity="rouge", run_dir=str(run_dir))  # fmt: skip
        assert ctx.profile == "compact"
        out = await builder.compile(checkpointer=InMemorySaver()).ainvoke(
            {"domain": "rewriting text for different audiences"},
            {"configurable": {"thread_id": f"compact-{seed}"}, "recursion_limit": 1000},
            context=ctx,
        )
        assert out["status"] == "done"
        tree = load_ei_dir(run_dir / "tree")
        names = [n.name for n in tree.preorder() if n.parent is not None]
        for name in names:
            assert name_rule(name, target=tree.root.name, root=tree.root.name) is None, name
        if len(names) > len(best):
            best = names
        if len(best) >= 2:
            break
    assert len(best) >= 1, "no seed grew the tree past the root"


async def test_the_judge_on_the_embedded_model_scores_or_records_each_example(model: ChatLocalLlama) -> None:
    from explore_instruct.tools.quality.judge import judge

    examples = [
        Example(instruction="Make this sentence more polite.", input="Send it now.", output="Could you send it soon?"),
        Example(
            instruction="Summarise the note in one line.", input="The bus is late; walk.", output="Walk: bus late."
        ),
        Example(instruction="Rewrite for a child.", input="Precipitation is likely.", output="It may rain."),
    ]
    result = await judge(model, "rewriting text", examples, model_label="local:smollm2")
    (call,) = result.calls
    assert call.attempts in (1, 2) and call.input_tokens > 0
    assert len(result.judged) == 3
    for verdict in result.judged:  # every example is scored 1-5 with a reason, or recorded as not judged
        assert verdict.failed or (verdict.score is not None and 1 <= verdict.score <= 5 and verdict.reason)
    if not call.ok:  # a reply that never validated judges nothing
        assert all(v.failed for v in result.judged) and call.error_kind


async def test_the_embedded_judge_reads_whole_conversations(model: ChatLocalLlama) -> None:
    """Conversations judged on the embedded model: every turn is in its prompt (the bound keeps it in the window)
    and each is scored 1-5 or recorded as not judged; no score is asserted (SmolLM2 cannot judge)."""
    from explore_instruct.tools.prompts.full import Flavour
    from explore_instruct.tools.prompts.judge import judge_prompt
    from explore_instruct.tools.quality.judge import judge

    turns = [
        ("Make this note formal: heating broken again.", "I write to report that the heating has failed."),
        ("Why open like that?", "It states the purpose first."),
        ("Shorter, please.", "Heating failed; please fix."),
    ]
    messages = [{"role": r, "content": c} for u, a in turns for r, c in (("user", u), ("assistant", a))]
    bad_middle = [*messages[:3], {**messages[3], "content": "No."}, *messages[4:]]
    examples = [Example(instruction=turns[0][0], output=turns[-1][1], messages=m) for m in (messages, bad_middle)]
    assert "Why open like that?" in judge_prompt("rewriting text", examples, Flavour.GENERIC)
    result = await judge(model, "rewriting text", examples, model_label="local:smollm2")
    (call,) = result.calls
    assert call.input_tokens > 0 and len(result.judged) == 2
    for verdict in result.judged:
        assert verdict.failed or (verdict.score is not None and 1 <= verdict.score <= 5 and verdict.reason)


async def test_reasoning_shape_validates(model: ChatLocalLlama) -> None:
    """The reasoning shape on the embedded model: one structured call whose examples each carry a reasoning; only
    the structure is asserted (a seed does not pin the content across machines)."""
    from explore_instruct.tools.shapes.reasoning import generate_reasoning

    result = await generate_reasoning(
        model,
        GenerateRequest(task="making an email more polite", parent="rewriting business emails", n=2, profile="compact"),
        model_label="local:smollm2",
    )
    assert result.calls[0].ok, result.calls[0]
    assert len(result.examples) + len(result.skipped) >= 1
    for e in result.examples:
        data = e.model_dump()
        assert data["shape"] == "reasoning" and data["reasoning"].strip() and e.output.strip()
    assert all(s.rule and "reasoning" in s.item for s in result.skipped if s.what == "example")
