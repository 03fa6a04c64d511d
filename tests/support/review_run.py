"""Constructed run directories for the review workbench's tests: any size, judge verdicts, drops, a pruned task.

`make_review_run` needs no LLM: the tree, examples.jsonl, dropped.jsonl and run.json are written the way the graph
writes them (`RunStore`), so the workbench reads them as it reads a real run. `explore_with_server` makes a real
run of any size with `explore-instruct run` against the local OpenAI-compatible test server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
                quality={"score": score, "reason": f"Judged {score} for clarity and scope."},
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


def explore_with_server(root: Path, name: str, *, breadth: int = 10, per_task: int = 90, judge: bool = False) -> Path:
    """A real run (`explore-instruct run`, the CLI in a subprocess) against the local OpenAI-compatible test server:
    depth 2, `breadth` subtasks a task, `per_task` examples a task in one call each, so 1 + b + b² tasks and
    about (1 + b + b²) x per_task examples (10, 90: 111 tasks, 9,990 examples in 122 calls, ~10 s). With `judge`
    the same server judges them (ScriptedJudge: a tenth score 2) — 25 times the calls."""
    import subprocess

    from support.browser import EXE, web_env
    from support.openai_server import ScriptedOpenAIServer
    from support.scripted import Script
    from support.scripted_judge import ScriptedJudge

    script, judged = Script(), ScriptedJudge(low_share=0.1)

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        reply = script.responder(request)
        return judged.responder(request) if judge and reply.get("status") == 400 else reply

    run = root / name
    with ScriptedOpenAIServer(responder=answer) as llm:
        cmd = [EXE, "run", "--domain", "Office writing", "--model", "openai:scripted", "--base-url", llm.base_url,
               "--depth", "2", "--breadth", f"{breadth},{breadth}", "--subtasks-per-call", str(breadth),
               "--examples", str(per_task), "--examples-per-call", str(per_task), "--similarity", "exact",
               "--prompt-profile", "full", "--concurrency", "8", "--out", str(run), "--wait",
               *(["--judge"] if judge else [])]  # fmt: skip
        done = subprocess.run(cmd, env=web_env(HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return run
