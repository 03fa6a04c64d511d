"""Constructed trees and run directories for the dataset-out tests: exact counts, no LLM."""

from __future__ import annotations

import json
from pathlib import Path

from explore_instruct.tools.dataset.runstore import RunStore
from explore_instruct.tools.tree.model import DomainTree, Example, NodeStatus

SECRET = "sk-test-MARKER-0123456789abcdef"


def examples(prefix: str, n: int) -> list[Example]:
    return [
        Example(instruction=f"{prefix} instruction {i}", input=f"in {i}" if i % 2 else "", output=f"out {i}")
        for i in range(n)
    ]


def quota_tree() -> DomainTree:
    """root(0) -> A(10), B(1000), P(50, pruned) -> Q(30), C(5) -> D(20) -> E(7) -> F(9, depth 4)."""
    tree = DomainTree.from_domain("Domain")
    root = tree.root_id
    tree.add_child(root, "A", examples=examples("a", 10), node_id="a")
    tree.add_child(root, "B", examples=examples("b", 1000), node_id="b")
    tree.add_child(
        root, "P", examples=examples("p", 50), node_id="p", status=NodeStatus.PRUNED, status_reason="similar to A"
    )
    tree.add_child("p", "Q", examples=examples("q", 30), node_id="q")
    tree.add_child(root, "C", examples=examples("c", 5), node_id="c")
    tree.add_child("c", "D", examples=examples("d", 20), node_id="d")
    tree.add_child("d", "E", examples=examples("e", 7), node_id="e")
    tree.add_child("e", "F", examples=examples("f", 9), node_id="f")
    return tree


def small_tree() -> DomainTree:
    """A run-sized tree: root(2) -> write(4) -> edit(3); summarise(3); dup(2, pruned)."""
    tree = DomainTree.from_domain("Writing help")
    root = tree.root_id
    tree.root.examples = [
        Example(instruction="Write a poem about the sea.", output="Waves..."),
        Example(instruction="Summarize this article.", input="A long article.", output="Short."),
    ]
    tree.add_child(
        root,
        "Product copy",
        node_id="product_copy",
        examples=[
            Example(instruction="Write a description for a smartwatch.", output="A watch."),
            Example(instruction="Create a slogan for a bakery.", output="Fresh daily."),
            Example(instruction="Rewrite the following sentence.", input="It good.", output="It is good."),
            Example(instruction="Compose an email to a client.", output="Dear client, ..."),
        ],
    )
    tree.add_child(
        "product_copy",
        "Editing copy",
        node_id="editing_copy",
        examples=[
            Example(instruction="Correct the grammar in this paragraph.", input="He go.", output="He goes."),
            Example(instruction="Shorten the text below.", input="Very very long.", output="Long."),
            Example(instruction="Translate the sentence into French.", input="Hello.", output="Bonjour."),
        ],
    )
    tree.add_child(
        root,
        "Summaries",
        node_id="summaries",
        examples=[
            Example(instruction="Summarize the report.", input="Report.", output="Sum."),
            Example(instruction="List three key points.", input="Text.", output="1. 2. 3."),
            Example(instruction="Explain how the product works.", output="It works."),
        ],
    )
    tree.add_child(
        root,
        "Summaries again",
        node_id="summaries_again",
        status=NodeStatus.PRUNED,
        status_reason="rouge 0.86 against Summaries",
        examples=[Example(instruction="Summarize the memo.", output="Memo."), Example(instruction="Pruned one.")],
    )
    return tree


def make_run(root: Path, *, killed_tail: bool = False) -> Path:
    """A finished run directory as the graph leaves it: run.json, tree/, examples.jsonl and the logs."""
    run = root / "run"
    store = RunStore(run).ensure()
    tree = small_tree()
    store.write_meta(
        {
            "thread_id": "run-test",
            "input": {"domain": "Writing help"},
            "context": {
                "model": "openai:gpt-4o-mini",
                "base_url": "https://user:hunter2password@example.test/v1",
                "api_key_env": "OPENAI_API_KEY",
                "api_key": SECRET,  # must never reach a card, even if a run.json held one
                "max_depth": 2,
                "breadth": [2, 1],
                "examples": [4, 3],
                "seed": 42,
                "run_dir": str(run),
            },
        }
    )
    from explore_instruct.tools.dataset.runstore import ExampleRecord

    records = []
    seq = 0
    for node in tree.preorder(include_pruned=True):
        for ex in node.examples:
            records.append(
                ExampleRecord(id=f"{node.id}:x:{seq}", node_id=node.id, example=ex, depth=node.depth, seq=seq)
            )
            seq += 1
    offset = store.commit_examples(records, 0)
    store.write_tree(tree, offset)
    if killed_tail:  # a step killed after writing, before its checkpoint: not part of the run
        tail = ExampleRecord(
            id="summaries:x:99", node_id="summaries", example=Example(instruction="Uncommitted."), depth=1
        )
        store.commit_examples([tail], offset)
    calls = [
        {"purpose": "decompose", "model": "openai:gpt-4o-mini", "input_tokens": 1000, "output_tokens": 200, "ok": True},
        {"purpose": "generate", "model": "openai:gpt-4o-mini", "input_tokens": 3000, "output_tokens": 800, "ok": True},
        {"purpose": "generate", "model": "openai:gpt-4o-mini", "input_tokens": 500, "output_tokens": 0, "ok": False},
    ]
    store.append_jsonl("query_log.jsonl", calls)
    drops = [
        {"stage": "dedup", "node_id": "summaries", "rule": "similar_instruction", "instruction": "Summarise it."},
        {"stage": "dedup", "node_id": "summaries", "rule": "similar_instruction", "instruction": "Summarize it."},
        {"stage": "generate", "node_id": "product_copy", "rule": "instruction_length", "detail": "1 words"},
    ]
    store.append_jsonl("dropped.jsonl", drops)
    (run / "checkpoints.sqlite").write_bytes(b"")
    return run


def read_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))
