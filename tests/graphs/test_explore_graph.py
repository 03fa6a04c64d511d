"""The exploration graph end to end, in process, with the deterministic scripted model.

Similarity is pinned to "exact" so these tests isolate the traversal, caps, budget, review and enrichment
logic from the choice of similarity measure (the scripted names differ only by a number).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from support.scripted import Script, ScriptedChatModel, parse_decompose, parse_generate

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.similarity.indexes import normalise
from explore_instruct.tools.tree.ei_dir import load_ei_dir
from explore_instruct.tools.tree.seeds import load_seed

FIXTURES = Path(__file__).parents[1] / "fixtures"
DOMAIN = "Email writing for work"
ROOT = "email_writing_for_work"
P1, P2 = "email_part_1", "email_part_2"
P11, P12, P21, P22 = "email_part_1_1", "email_part_1_2", "email_part_2_1", "email_part_2_2"
SMALL = {"max_depth": 2, "breadth": [2, 2], "subtasks_per_call": 1, "examples": [2], "examples_per_call": 2}


def make_context(tmp_path: Path, model: ScriptedChatModel, name: str = "run", **overrides: Any) -> Context:
    # The full prompt profile: subtasks arrive with their examples, which these counts assume.
    params: dict[str, Any] = {"chat_model": model, "run_dir": str(tmp_path / name), "similarity": "exact", **SMALL}
    params["prompt_profile"] = "full"
    params.update(overrides)
    return Context(**params)


def config(thread: str = "t") -> RunnableConfig:
    return {"configurable": {"thread_id": thread}, "recursion_limit": 10000}


async def run_graph(inputs: Any, ctx: Context, graph: Any = None, thread: str = "t") -> tuple[Any, Any]:
    """Run until the graph stops (done or interrupted); returns (graph, snapshot)."""
    graph = graph or builder.compile(checkpointer=InMemorySaver())
    await graph.ainvoke(inputs, config(thread), context=ctx)
    return graph, await graph.aget_state(config(thread))


def read_examples(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "examples.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def assert_no_duplicates(records: list[dict[str, Any]]) -> None:
    ids = Counter(r["id"] for r in records)
    assert [i for i, c in ids.items() if c > 1] == []
    instructions = Counter(normalise(r["instruction"]) for r in records)
    assert [i for i, c in instructions.items() if c > 1] == []


def visits(snapshot: Any) -> list[tuple[str, str]]:
    return [(v["step"], v["node"]) for v in snapshot.values["visits"]]


def tree_meta(run_dir: str | Path) -> dict[str, Any]:
    data = json.loads((Path(run_dir) / "tree" / "tree_meta_info.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# ---- traversal order ------------------------------------------------------------------------------


async def test_dfs_visits_follow_lookahead_and_backtracking_exactly(tmp_path: Path) -> None:
    model = Script().chat_model()
    _, snap = await run_graph({"domain": DOMAIN}, make_context(tmp_path, model))

    assert snap.values["status"] == "done"
    assert visits(snap) == [
        ("start", ROOT),
        ("lookahead", ROOT),  # root -> "Email part 1"
        ("descend", P1),
        ("lookahead", P1),  # -> "Email part 1.1"
        ("descend", P11),
        ("backtracking", P1),  # leaf at max depth: widen the parent -> "Email part 1.2"
        ("descend", P12),
        ("backtracking", P1),  # the parent is full (breadth 2): no call
        ("backtracking", ROOT),  # widen the root -> "Email part 2"
        ("descend", P2),
        ("lookahead", P2),
        ("descend", P21),
        ("backtracking", P2),
        ("descend", P22),
        ("backtracking", P2),
        ("backtracking", ROOT),  # the root is full: exploration ends
    ]
    nodes = snap.values["nodes"]
    assert {k: (v["parent"], v["origin"]) for k, v in nodes.items()} == {
        ROOT: (None, "seed"),
        P1: (ROOT, "lookahead"),
        P11: (P1, "lookahead"),
        P12: (P1, "backtracking"),
        P2: (ROOT, "backtracking"),
        P21: (P2, "lookahead"),
        P22: (P2, "backtracking"),
    }
    # Six decompositions (one per visit that proposes) and one enrich call for the root.
    assert len(list(model.iter_prompts("decompose"))) == 6
    assert [parse_generate(p).task for p in model.iter_prompts("generate")] == [DOMAIN]  # type: ignore[union-attr]
    assert snap.values["stats"]["calls"] == 7


async def test_bfs_expands_whole_levels_in_order(tmp_path: Path) -> None:
    model = Script().chat_model()
    _, snap = await run_graph({"domain": DOMAIN}, make_context(tmp_path, model, strategy="bfs"))

    assert snap.values["status"] == "done"
    assert visits(snap) == [
        ("start", ROOT),
        ("expand_level", ROOT),  # -> "Email part 1"; the root still has room, so it goes round again
        ("expand_level", ROOT),  # -> "Email part 2"
        ("expand_level", P1),  # level 1 fanned out in one step
        ("expand_level", P2),
        ("expand_level", P1),  # both still have room
        ("expand_level", P2),
    ]
    nodes = snap.values["nodes"]
    assert set(nodes) == {ROOT, P1, P2, P11, P12, P21, P22}
    assert nodes[ROOT]["children"] == [P1, P2]
    assert nodes[P1]["children"] == [P11, P12]
    assert nodes[P2]["children"] == [P21, P22]
    assert len(list(model.iter_prompts("decompose"))) == 6


# ---- caps, depth, examples, pruning ---------------------------------------------------------------


async def test_children_are_capped_at_twelve_and_depth_at_k(tmp_path: Path) -> None:
    model = Script().chat_model()
    # breadth 12, the method's cap (a breadth above it is refused: tests/graphs/test_context.py)
    ctx = make_context(tmp_path, model, max_depth=1, breadth=[12], subtasks_per_call=5, examples=[3])
    _, snap = await run_graph({"domain": DOMAIN}, ctx)

    nodes = snap.values["nodes"]
    kids = [nodes[c] for c in nodes[ROOT]["children"] if nodes[c]["status"] == "accepted"]
    assert len(kids) == 12
    assert max(n["depth"] for n in nodes.values()) == 1
    # Each call asked only for what still fits: 5, 5, then the 2 left under the cap.
    asks = [parse_decompose(p) for p in model.iter_prompts("decompose")]
    assert [(a.existing, a.k) for a in asks if a] == [(0, 5), (5, 5), (10, 2)]

    summary = snap.values["summary"]
    assert summary["nodes_per_depth"] == {"0": 1, "1": 12}
    assert summary["shortfall"] == {}
    assert summary["examples_per_depth"] == {"0": 3, "1": 36}
    records = read_examples(ctx.run_dir)  # type: ignore[arg-type]
    per_node = Counter(r["node_id"] for r in records)
    assert per_node == {n: 3 for n in nodes}
    assert len(records) == summary["examples"] == 39
    assert_no_duplicates(records)


PRUNE_SEED = """\
name: Writing help for work
reason: Help people write at work.
children:
  - name: Letters
    reason: Letters to colleagues and clients.
    examples:
      - instruction: Write a short thank-you note to a colleague who helped you.
        output: Dear Sam, thank you for your help this week.
    children:
      - name: writing part 2
        reason: Already known, and the name the model will propose for the root.
"""


async def test_pruned_proposals_are_recorded_but_never_explored_or_enriched(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(PRUNE_SEED, encoding="utf-8")
    model = Script().chat_model()
    ctx = make_context(tmp_path, model, examples=[2])
    _, snap = await run_graph({"seed": str(seed)}, ctx)

    assert snap.values["status"] == "done"
    nodes = snap.values["nodes"]
    pruned = {k: v for k, v in nodes.items() if v["status"] == "pruned"}
    # The root proposes "Writing part 2" (it has one child) on lookahead, on the second try a lookahead that came
    # back short gets, and again when widened: all three pruned.
    assert sorted(pruned) == ["writing_part_2_0", "writing_part_2_1", "writing_part_2_2"]
    assert [v[0] for v in visits(snap)][1:4] == ["lookahead", "lookahead", "descend"]
    for node in pruned.values():
        assert node["name"] == "Writing part 2"
        assert node["parent"] == "writing_help_for_work"
        assert node["status_reason"] == "similar to 'writing part 2' (score 1.00)"
        assert node["children"] == []
    assert snap.values["summary"]["tasks_pruned"] == 3
    assert snap.values["stats"]["tasks_pruned"] == 3

    records = read_examples(ctx.run_dir)  # type: ignore[arg-type]
    assert not [r for r in records if r["node_id"] in pruned]
    assert not [r for r in records if "Writing part 2" in r["instruction"]]  # its proposal's examples neither
    assert not [v for v in visits(snap) if v[1] in pruned]
    for prompt in model.prompts:  # nobody decomposes or enriches it, nor a child of it
        assert "Target task: Writing part 2\n" not in prompt
        assert "Task: Writing part 2\n" not in prompt
        assert "It is a subtask of: Writing part 2\n" not in prompt
    # The tree written to the run directory keeps them, marked.
    tree = load_ei_dir(Path(ctx.run_dir) / "tree")  # type: ignore[arg-type]
    assert {n.id: n.status_reason for n in tree.nodes.values() if n.status == "pruned"} == {
        k: v["status_reason"] for k, v in pruned.items()
    }
    assert snap.values["summary"]["shortfall"] == {}
    assert_no_duplicates(records)


# ---- budget ---------------------------------------------------------------------------------------


async def test_budget_pause_in_exploration_resumes_to_the_same_run(tmp_path: Path) -> None:
    model = Script(dup_share=0.3).chat_model()
    ctx = make_context(tmp_path, model, examples=[4], max_calls=3)
    graph, snap = await run_graph({"domain": DOMAIN}, ctx)

    assert [i.value["kind"] for i in snap.interrupts] == ["budget"]
    assert snap.interrupts[0].value["reason"] == "max_calls 3 reached"
    assert snap.values["stats"]["calls"] == 3
    assert model.calls == 3

    # Resumed under the same budget it pauses again at once, without another call.
    await graph.ainvoke(Command(resume={}), config(), context=ctx)
    snap = await graph.aget_state(config())
    assert [i.value["kind"] for i in snap.interrupts] == ["budget"]
    assert model.calls == 3

    bigger = make_context(tmp_path, model, examples=[4], max_calls=None)
    await graph.ainvoke(Command(resume={}), config(), context=bigger)
    snap = await graph.aget_state(config())
    assert snap.interrupts == ()
    assert snap.values["status"] == "done"
    summary = snap.values["summary"]
    records = read_examples(ctx.run_dir)  # type: ignore[arg-type]
    assert len(records) == summary["examples"]
    assert summary["shortfall"] == {}
    assert_no_duplicates(records)

    # A pause between exploration steps changes nothing: the same run, uninterrupted, ends identically.
    other = Script(dup_share=0.3).chat_model()
    _, whole = await run_graph({"domain": DOMAIN}, make_context(tmp_path, other, name="whole", examples=[4]))
    assert visits(snap) == visits(whole)
    assert tree_meta(ctx.run_dir) == tree_meta(tmp_path / "whole")  # type: ignore[arg-type]
    assert records == read_examples(tmp_path / "whole")
    assert snap.values["stats"]["calls"] == whole.values["stats"]["calls"] == other.calls


async def test_budget_pause_in_enrichment_limits_the_fan_out(tmp_path: Path) -> None:
    model = Script(dup_share=0.3).chat_model()
    ctx = make_context(tmp_path, model, examples=[4], max_calls=8)
    graph, snap = await run_graph({"domain": DOMAIN}, ctx)

    # Six decompositions, then only two of the round's enrich calls fit the budget.
    assert [i.value["kind"] for i in snap.interrupts] == ["budget"]
    assert snap.values["stats"]["calls"] == 8
    assert snap.values["enrich_round"] == 1
    assert len(list(model.iter_prompts("generate"))) == 2

    await graph.ainvoke(Command(resume={}), config(), context=make_context(tmp_path, model, examples=[4]))
    snap = await graph.aget_state(config())
    assert snap.interrupts == ()
    assert snap.values["status"] == "done"
    summary = snap.values["summary"]
    assert summary["shortfall"] == {}
    assert summary["examples_per_depth"] == {"0": 4, "1": 8, "2": 16}
    records = read_examples(ctx.run_dir)  # type: ignore[arg-type]
    assert len(records) == summary["examples"] == 28
    assert_no_duplicates(records)
    assert snap.values["stats"]["calls"] == model.calls


# ---- review ---------------------------------------------------------------------------------------


async def test_review_rejection_prunes_the_task_and_exploration_goes_on(tmp_path: Path) -> None:
    model = Script().chat_model()
    ctx = make_context(tmp_path, model, review=True)
    graph = builder.compile(checkpointer=InMemorySaver())
    _, snap = await run_graph({"domain": DOMAIN}, ctx, graph)

    first = snap.interrupts[0].value
    assert first["kind"] == "review_subtasks"
    assert [(p["target"], p["name"]) for p in first["proposals"]] == [(ROOT, "Email part 1")]
    reviews = 1
    await graph.ainvoke(Command(resume={"reject": ["Email part 1"]}), config(), context=ctx)
    snap = await graph.aget_state(config())
    while snap.interrupts:
        assert snap.interrupts[0].value["kind"] == "review_subtasks"
        reviews += 1
        # Not `{}`: LangGraph reads an empty dict as a map of interrupt ids that answers none.
        await graph.ainvoke(Command(resume={"reject": []}), config(), context=ctx)
        snap = await graph.aget_state(config())
        assert reviews < 50

    assert snap.values["status"] == "done"
    nodes = snap.values["nodes"]
    rejected = nodes[P1]
    assert (rejected["name"], rejected["status"], rejected["status_reason"]) == (
        "Email part 1",
        "pruned",
        "rejected in review",
    )
    # The root asks again and still gets its breadth of two accepted children.
    accepted = [nodes[c]["name"] for c in nodes[ROOT]["children"] if nodes[c]["status"] == "accepted"]
    assert accepted == ["Email part 1", "Email part 2"]
    assert nodes[ROOT]["children"][0] == P1
    records = read_examples(ctx.run_dir)  # type: ignore[arg-type]
    assert not [r for r in records if r["node_id"] == P1]
    assert P1 not in {node for _, node in visits(snap)}
    assert reviews == 7  # the rejected proposal, its retry, and the five later proposals
    assert snap.values["summary"]["tasks_pruned"] == 1


# ---- progress events ------------------------------------------------------------------------------


async def test_progress_events_are_streamed(tmp_path: Path) -> None:
    model = Script(dup_share=0.5).chat_model()
    ctx = make_context(tmp_path, model, examples=[4])
    graph = builder.compile(checkpointer=InMemorySaver())
    events = [e async for e in graph.astream({"domain": DOMAIN}, config(), context=ctx, stream_mode="custom")]

    kinds = [e["event"] for e in events]
    assert {"seeded", "proposed", "visit", "enrich_round", "generated", "kept", "finished"} <= set(kinds)
    assert kinds[0] == "seeded"
    assert kinds[-1] == "finished"
    assert kinds.count("finished") == 1
    assert max(i for i, k in enumerate(kinds) if k == "proposed") < kinds.index("enrich_round")
    assert kinds.count("proposed") == len(list(model.iter_prompts("decompose"))) == 6
    assert kinds.count("generated") == len(list(model.iter_prompts("generate")))
    assert kinds.count("kept") == kinds.count("enrich_round")
    finished = events[-1]
    kept = sum(e["kept"] for e in events if e["event"] == "kept")
    assert sum(e["dropped"] for e in events if e["event"] == "kept") > 0  # the scripted duplicates reached dedup
    snap = await graph.aget_state(config())
    assert finished["examples"] == snap.values["summary"]["examples"]
    # Kept during enrichment plus what the proposals brought (two per accepted subtask).
    assert finished["examples"] == kept + 2 * 6
    assert sum(e["calls"] for e in events if e["event"] == "enrich_round") == kinds.count("generated")


# ---- seeds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["seed_tree.yaml", "ei_demo"])
async def test_seeded_run_commits_seed_examples_and_writes_a_loadable_tree(tmp_path: Path, seed: str) -> None:
    source = FIXTURES / seed
    seed_tree = load_seed(source)
    model = Script(dup_share=0.2).chat_model()
    ctx = make_context(tmp_path, model, breadth=[1, 1], examples=[3])
    _, snap = await run_graph({"seed": str(source)}, ctx)

    assert snap.values["status"] == "done"
    records = read_examples(ctx.run_dir)  # type: ignore[arg-type]
    seeded = [(r["node_id"], r["instruction"], r["input"], r["output"]) for r in records if ":seed:" in r["id"]]
    expected = [(n.id, e.instruction, e.input, e.output) for n in seed_tree.preorder() for e in n.examples]
    assert expected  # the fixtures do carry examples
    assert seeded == expected  # a person's examples are committed as they are, first
    assert records[: len(expected)] == [r for r in records if ":seed:" in r["id"]]

    generated = [r for r in records if ":seed:" not in r["id"]]
    assert generated
    assert_no_duplicates(generated)
    seed_instructions = {normalise(e[1]) for e in expected}
    assert not [r for r in generated if normalise(r["instruction"]) in seed_instructions]

    tree = load_ei_dir(Path(ctx.run_dir) / "tree")  # type: ignore[arg-type]
    assert tree.root_id == seed_tree.root_id
    for node in seed_tree.preorder(include_pruned=True):
        back = tree.node(node.id)
        assert (back.name, back.parent, back.status) == (node.name, node.parent, node.status)
    assert set(tree.nodes) == set(snap.values["nodes"])
    assert len(tree.nodes) > len(seed_tree.nodes)
    for node in tree.preorder(include_pruned=True):
        mine = [
            {"instruction": r["instruction"], "input": r["input"], "output": r["output"]}
            for r in records
            if r["node_id"] == node.id
        ]
        assert [e.model_dump() for e in node.examples] == mine
    assert snap.values["summary"]["shortfall"] == {}
    assert snap.values["summary"]["examples"] == len(records)
    if seed == "ei_demo":  # keys of the imported node files survive the run
        para = json.loads((Path(ctx.run_dir) / "tree" / "paraphrasing.json").read_text(encoding="utf-8"))  # type: ignore[arg-type]
        assert para["source"] == "human"
