"""Similarity inside the exploration graph: pruning of near-duplicate tasks and dedup of instructions.

The scripted model (tests/support/scripted.py) is extended so that its replies contain what similarity
must catch: a proposed subtask whose name is a near-copy of a sibling's, generated instructions that are
one word away from each other, and one fixed instruction that every generation call repeats.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import chromadb
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from rouge_score import rouge_scorer
from support.scripted import DecomposeAsk, Script, ScriptedChatModel, subtask_names

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.similarity.indexes import normalise

DOMAIN = "Email writing for work"
NEAR_NAME = "Email part 1 drafts"  # ROUGE-L 0.857 against "Email part 1"
FIXED = "Summarise the key points of this message in three short bullet points."
WORDS = [
    "apple", "river", "mountain", "budget", "meeting", "garden", "window", "teacher", "doctor", "market",
    "winter", "summer", "castle", "forest", "engine", "planet", "rocket", "ocean", "island", "desert", "bridge",
    "tunnel", "harbor", "village", "city", "farmer", "kitchen", "bottle", "candle", "mirror", "pencil", "ladder",
    "basket", "blanket", "carpet", "pillow", "jacket", "helmet", "saddle", "anchor", "compass", "lantern",
    "hammer", "needle", "ribbon", "button", "pocket", "wallet", "ticket", "letter", "parcel", "stamp", "coffee",
    "butter", "cheese", "pepper", "onion", "carrot", "lemon", "cherry", "melon", "grape", "peach", "walnut",
    "almond", "honey", "sugar", "flour", "yeast", "salad", "soup", "noodle", "tiger", "rabbit", "turtle",
    "falcon", "dolphin", "whale", "spider", "beetle", "parrot", "monkey", "zebra", "camel", "donkey", "goose",
    "violin", "guitar", "trumpet", "piano", "drum", "poem", "novel", "story", "chapter", "theory", "method",
    "budget", "policy", "contract", "invoice", "salary", "pension", "mortgage", "loan", "insurance", "tax",
    "receipt", "refund", "discount", "coupon", "warranty"
]  # fmt: skip
SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(a: str, b: str) -> float:
    return float(SCORER.score(a, b)["rougeL"].fmeasure)


def _pick(seed: str, n: int) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < n:
        h = int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:8], 16)
        word = WORDS[h % len(WORDS)]
        if word not in out:
            out.append(word)
        i += 1
    return out


@dataclass(frozen=True)
class NearDupScript(Script):
    """Replies that exercise similarity; still a pure function of the prompt."""

    def _names(self, ask: DecomposeAsk) -> list[str]:
        names = subtask_names(ask.target, ask.existing, ask.k)
        if ask.target == DOMAIN and ask.existing == 0 and ask.k >= 3:
            names[1:] = [NEAR_NAME, *names[1:-1]]  # a near-copy of names[0], proposed in the same reply
        return names

    def _subtask_example(self, name: str, j: int) -> dict[str, str]:
        return {
            "instruction": f"Describe {' '.join(_pick(f'{name}:{j}', 7))} for {name}.",
            "input": "",
            "output": f"An answer for {name} ({j}).",
        }

    def _example(self, task: str, h: str, j: int) -> dict[str, str]:
        if j == 0:
            instruction = FIXED  # the same sentence from every call, in every task
        elif j % 2 == 0:  # one word away from example j - 1: ROUGE-L 16/18
            words = _pick(f"{h}:{j - 1}", 8)
            words[-1] = next(w for w in _pick(f"{h}:{j}:swap", 9) if w not in words)
            instruction = f"Explain {' '.join(words)}."
        else:
            instruction = f"Explain {' '.join(_pick(f'{h}:{j}', 8))}."
        return {"instruction": instruction, "input": "", "output": f"A helpful answer about {task} ({h[:6]}-{j})."}


SMALL = {
    "max_depth": 1,
    "breadth": [3],
    "subtasks_per_call": 3,
    "examples": [5],
    "examples_per_call": 5,
    "examples_per_subtask": 2,
    "max_fruitless": 2,
}


async def run(tmp_path: Path, **overrides: Any) -> tuple[dict[str, Any], ScriptedChatModel, Path]:
    model = NearDupScript().chat_model()
    run_dir = tmp_path / "run"
    ctx = Context(**{"chat_model": model, "run_dir": str(run_dir), **SMALL, **overrides})
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}, "recursion_limit": 10000}
    await graph.ainvoke({"domain": DOMAIN}, config, context=ctx)
    values = (await graph.aget_state(config)).values
    assert values["status"] == "done"
    return values, model, run_dir


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def too_close(records: list[dict[str, Any]], threshold: float = 0.7) -> list[tuple[str, str, float]]:
    out = []
    for a, b in combinations(records, 2):
        s = rouge_l(a["instruction"], b["instruction"])
        if s > threshold:
            out.append((a["id"], b["id"], s))
    return out


def by_name(nodes: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    (node,) = [n for n in nodes.values() if n["name"] == name]
    return node


async def test_rouge_mode_prunes_near_duplicate_tasks_and_drops_near_duplicate_instructions(tmp_path: Path) -> None:
    values, model, run_dir = await run(tmp_path, similarity="rouge")
    records = read_jsonl(run_dir / "examples.jsonl")
    dropped = read_jsonl(run_dir / "dropped.jsonl")
    assert len(records) >= 8

    # No two kept instructions anywhere in the tree are closer than the method's 0.7.
    assert too_close(records) == []
    assert [r["instruction"] for r in records].count(FIXED) == 1

    # Every drop names a kept example and its true score.
    by_id = {r["id"]: r for r in records}
    dups = [d for d in dropped if d.get("rule") == "similar_instruction"]
    assert len(dups) >= 4
    for d in dups:
        assert d["stage"] == "dedup"
        assert d["nearest_id"] in by_id
        nearest = by_id[d["nearest_id"]]
        assert d["nearest"] == nearest["instruction"]
        assert d["score"] > 0.7
        assert d["score"] == pytest.approx(rouge_l(nearest["instruction"], d["instruction"]), abs=1e-4)
    near = [d for d in dups if normalise(d["instruction"]) != normalise(d["nearest"])]
    exact = [d for d in dups if d["instruction"] == FIXED]
    assert near, "a one-word edit must be dropped, not only exact repeats"
    assert all(d["score"] < 1.0 for d in near)
    assert exact and all(d["score"] == 1.0 for d in exact)

    # The near-copy of "Email part 1" is pruned: recorded, never explored, never given examples.
    nodes = values["nodes"]
    pruned = by_name(nodes, NEAR_NAME)
    assert pruned["status"] == "pruned"
    assert "similar" in pruned["status_reason"] and "Email part 1" in pruned["status_reason"]
    assert pruned["children"] == [] and pruned.get("kept", 0) == 0
    assert by_name(nodes, "Email part 1")["status"] == "accepted"
    assert by_name(nodes, "Email part 2")["status"] == "accepted"  # 0.67 against part 1: kept
    assert not [r for r in records if r["node_id"] == pruned["id"] or "drafts" in r["instruction"]]
    assert all(f"Task: {NEAR_NAME}\n" not in p and f"Target task: {NEAR_NAME}\n" not in p for p in model.prompts)
    (task_drop,) = [d for d in dropped if d.get("rule") == "similar_task"]
    assert task_drop["name"] == NEAR_NAME and task_drop["nearest"] == "Email part 1"
    assert task_drop["nearest_id"] == by_name(nodes, "Email part 1")["id"]
    assert task_drop["score"] == pytest.approx(rouge_l("Email part 1", NEAR_NAME), abs=1e-4)
    assert values["summary"]["tasks_pruned"] == 1


async def test_node_scope_lets_the_same_instruction_into_two_nodes(tmp_path: Path) -> None:
    _, _, run_dir = await run(tmp_path, similarity="rouge", dedup_scope="node")
    records = read_jsonl(run_dir / "examples.jsonl")
    fixed_nodes = [r["node_id"] for r in records if r["instruction"] == FIXED]
    assert len(fixed_nodes) >= 2
    assert len(set(fixed_nodes)) == len(fixed_nodes)  # but once per node
    for node_id in {r["node_id"] for r in records}:
        assert too_close([r for r in records if r["node_id"] == node_id]) == []
    assert too_close(records) != []  # across nodes, near-duplicates remain
    for d in read_jsonl(run_dir / "dropped.jsonl"):
        if d.get("rule") == "similar_instruction":  # a drop's nearest is always in its own node
            assert d["nearest_id"].split(":")[0] == d["node_id"]


async def test_exact_mode_only_drops_exact_repeats(tmp_path: Path) -> None:
    values, _, run_dir = await run(tmp_path, similarity="exact")
    records = read_jsonl(run_dir / "examples.jsonl")
    assert [r["instruction"] for r in records].count(FIXED) == 1
    assert len({normalise(r["instruction"]) for r in records}) == len(records)
    assert too_close(records) != []  # one-word edits pass an exact check
    assert by_name(values["nodes"], NEAR_NAME)["status"] == "accepted"


@pytest.mark.embedded
async def test_embedding_mode_keeps_its_chroma_collection_in_step_with_examples(tmp_path: Path) -> None:
    values, _, run_dir = await run(tmp_path, similarity="embedding")
    records = read_jsonl(run_dir / "examples.jsonl")
    assert records
    assert [r["instruction"] for r in records].count(FIXED) == 1  # cosine 1.0 > 0.9
    assert (run_dir / "chroma").is_dir()

    client = chromadb.PersistentClient(path=str(run_dir / "chroma"))
    names = {c.name for c in client.list_collections()}
    instructions = [n for n in names if n.startswith("ei-instructions-")]
    tasks = [n for n in names if n.startswith("ei-tasks-")]
    assert len(instructions) == 1 and len(tasks) == 1, names
    collection = client.get_collection(instructions[0])
    assert collection.count() == len(records)
    assert set(collection.get(include=[])["ids"]) == {r["id"] for r in records}
    accepted = {k for k, v in values["nodes"].items() if v["status"] == "accepted"}
    assert set(client.get_collection(tasks[0]).get(include=[])["ids"]) == accepted
    for d in read_jsonl(run_dir / "dropped.jsonl"):
        if d.get("rule") == "similar_instruction":
            assert d["score"] > 0.9 and d["nearest_id"] in {r["id"] for r in records}


# ---- relevance (issue 23): in every similarity mode, to the task and to the domain ----------------------------

OFF_TOPIC = "Repotting cactus plants"  # cosine 0.06 to the domain with all-MiniLM-L6-v2


@dataclass(frozen=True)
class DriftScript(Script):
    """The root's first decomposition drifts once: its last name is about something else entirely."""

    def _names(self, ask: DecomposeAsk) -> list[str]:
        names = subtask_names(ask.target, ask.existing, ask.k)
        return [*names[:-1], OFF_TOPIC] if ask.target == DOMAIN and ask.existing == 0 else names


async def drift_run(tmp_path: Path, **overrides: Any) -> tuple[dict[str, Any], ScriptedChatModel, Path]:
    model = DriftScript().chat_model()
    run_dir = tmp_path / "run"
    ctx = Context(**{"chat_model": model, "run_dir": str(run_dir), **SMALL, "similarity": "exact", **overrides})
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}, "recursion_limit": 10000}
    await graph.ainvoke({"domain": DOMAIN}, config, context=ctx)
    values = (await graph.aget_state(config)).values
    assert values["status"] == "done"
    return values, model, run_dir


def meta_nodes(run_dir: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        found.append(node)
        for child in node.get("children") or []:
            walk(child)

    walk(json.loads((run_dir / "tree" / "tree_meta_info.json").read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("mode", ["exact", "rouge"])
async def test_relevance_drops_drift_in_every_mode_and_records_scores(tmp_path: Path, mode: str) -> None:
    values, _, run_dir = await drift_run(tmp_path, similarity=mode)
    names = {n["name"] for n in values["nodes"].values()}
    assert OFF_TOPIC not in names
    (off,) = [d for d in read_jsonl(run_dir / "dropped.jsonl") if d.get("rule") == "off_topic"]
    assert off["item"]["name"] == OFF_TOPIC
    assert off["item"]["relevance"] < 0.2 and off["item"]["root_relevance"] < 0.1
    scored = [n for n in meta_nodes(run_dir) if n.get("raw_task_name") != DOMAIN]
    assert scored and all(set(n["relevance"]) == {"task", "root"} for n in scored)
    assert all(n["relevance"]["root"] >= 0.1 for n in scored)


async def test_the_first_level_of_a_bare_sentence_is_pooled_from_three_samples(tmp_path: Path) -> None:
    _, _, run_dir = await drift_run(tmp_path)
    calls = [c for c in read_jsonl(run_dir / "query_log.jsonl") if c.get("purpose") == "decompose"]
    at_root = [c for c in calls if c.get("target") == "email_writing_for_work"]
    assert len(at_root) >= 3 and len(at_root) % 3 == 0  # every call that widens the root is three samples
    # The scripted model answers the same prompt alike: the pool keeps each name once and records the repeats.
    repeats = [d for d in read_jsonl(run_dir / "dropped.jsonl") if "(another sample)" in str(d.get("detail"))]
    assert len(repeats) >= 2 * 3  # the first call: three names (the off-topic one too), twice more each


async def test_without_the_rule_nothing_is_scored_and_one_call_opens_the_tree(tmp_path: Path) -> None:
    values, _, run_dir = await drift_run(tmp_path, min_relevance=None)
    assert OFF_TOPIC in {n["name"] for n in values["nodes"].values()}
    assert not any("relevance" in n for n in meta_nodes(run_dir))
    calls = [c for c in read_jsonl(run_dir / "query_log.jsonl") if c.get("purpose") == "decompose"]
    assert [c["target"] for c in calls][:2] != ["email_writing_for_work"] * 2


async def test_a_run_from_before_the_root_rule_keeps_its_old_rule(tmp_path: Path) -> None:
    """LEGACY: min_root_relevance unset means relevance with embedding similarity only, and no pooled level."""
    stored = Context(similarity="exact").public()
    del stored["min_root_relevance"]
    old = Context.from_stored(stored)
    assert (old.min_relevance, old.min_root_relevance) == (0.2, None)
    values, _, run_dir = await drift_run(tmp_path, min_root_relevance=None)
    assert OFF_TOPIC in {n["name"] for n in values["nodes"].values()}
    assert not any(d.get("rule") == "off_topic" for d in read_jsonl(run_dir / "dropped.jsonl"))
