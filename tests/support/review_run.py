"""Constructed run directories for the review workbench's tests: any size, judge verdicts, drops, a pruned task.

No LLM: the tree, examples.jsonl, dropped.jsonl and run.json are written the way the graph writes them
(`RunStore`), so the workbench reads them as it reads a real run.
"""

from __future__ import annotations

from pathlib import Path

from explore_instruct.tools.dataset.runstore import ExampleRecord, RunStore
from explore_instruct.tools.tree.model import DomainTree, Example, NodeStatus

VERBS = ["Write", "Summarize", "Explain", "Rewrite", "List", "Translate", "Classify", "Draft", "Compare", "Outline"]


def _examples(task: str, n: int, low: bool = False) -> list[Example]:
    out = []
    for i in range(n):
        score = 2 if low else 3 + i % 3
        out.append(
            Example(
                instruction=f"{VERBS[i % len(VERBS)]} item {i} for {task}.",
                input=f"context {i}" if i % 2 else "",
                output=f"An answer {i} about {task}.",
                quality={"score": score, "reason": f"Judged {score} for clarity and scope."},  # type: ignore[call-arg]
            )
        )
    return out


def make_review_run(root: Path, name: str = "review", *, breadth: int = 3, per_task: int = 6) -> Path:
    """root -> `breadth` tasks -> `breadth` subtasks each, `per_task` examples a task; one depth-1 task pruned,
    one judged low, one short of target; a few drops with their nearest kept item."""
    run = root / name
    store = RunStore(run).ensure()
    tree = DomainTree.from_domain("Office writing")
    tree.root.examples = _examples("the domain", per_task)
    for i in range(breadth):
        tid = f"t{i}"
        pruned = i == breadth - 1
        tree.add_child(
            tree.root_id,
            f"Task {i} letters and memos",
            node_id=tid,
            reason=f"Part {i} of office writing.",
            examples=_examples(tid, per_task, low=i == 1),
            status=NodeStatus.PRUNED if pruned else NodeStatus.ACCEPTED,
            status_reason="rouge 0.9 against Task 0" if pruned else None,
        )
        for j in range(breadth):
            sid = f"t{i}s{j}"
            n = per_task - 2 if (i, j) == (0, 1) else per_task  # short of target
            tree.add_child(tid, f"Subtask {i}.{j} of {tid}", node_id=sid, examples=_examples(sid, n))
    store.write_meta(
        {
            "thread_id": f"run-{name}",
            "input": {"domain": "Office writing"},
            "context": {"model": "openai:scripted", "max_depth": 2, "breadth": [breadth], "examples": [per_task]},
        }
    )
    records, seq = [], 0
    for node in tree.preorder(include_pruned=True):
        for ex in node.examples:
            records.append(
                ExampleRecord(id=f"{node.id}:x:{seq}", node_id=node.id, example=ex, depth=node.depth, seq=seq)
            )
            seq += 1
    offset = store.commit_examples(records, 0)
    store.write_tree(tree, offset)
    store.append_jsonl(
        "dropped.jsonl",
        [
            {"stage": "dedup", "node_id": "t0", "rule": "similar_instruction", "instruction": "Write item 0 for t0!",
             "nearest_id": "t0:x:6", "nearest": "Write item 0 for t0.", "score": 0.97},
            {"stage": "dedup", "node_id": "t0", "rule": "similar_instruction", "instruction": "Write item 1 for t0",
             "nearest_id": "t0:x:7", "nearest": "Summarize item 1 for t0.", "score": 0.81},
            {"stage": "generate", "node_id": "t0", "rule": "instruction_length", "instruction": "Do.",
             "detail": "1 words"},
        ],
    )  # fmt: skip
    (run / "checkpoints.sqlite").write_bytes(b"")
    return run
