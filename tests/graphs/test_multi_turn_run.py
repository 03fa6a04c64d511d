"""A run in the `multi_turn` shape end to end (scripted model, compact profile): every kept example is a conversation
of the asked turns, a conversation that repeats a turn is a recorded drop and is refilled, and the run's diversity
report measures every user turn beside the opening ones."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from pydantic import Field
from support.graph_run import read_rows, run_graph, small_context
from support.scripted import Script

from explore_instruct.tools.dataset.card import read_run_meta, render_card
from explore_instruct.tools.dataset.diversity import diversity_of
from explore_instruct.tools.dataset.export import rows_for
from explore_instruct.tools.dataset.sampling import load_run, sample
from explore_instruct.tools.tree.ei_dir import write_ei_dir
from explore_instruct.tools.tree.model import DomainTree, Example
from explore_instruct.tools.tree.presets import preset


class ConversationScript(Script):
    """The scripted model, also answering the compact multi-turn prompt; its reply depends on the prompt alone.
    The first conversation asked for each task repeats its opening turn (a `repeated_turn` drop)."""

    def reply(self, prompt: str) -> str:
        asked = re.search(r"^Write a conversation of (\d+) turns\.$", prompt, re.M)
        if asked is None:
            return super().reply(prompt)
        task = re.search(r"^Task: (.+)$", prompt, re.M)
        assert task is not None
        h = hashlib.sha256(prompt.encode()).hexdigest()[:8]
        jobs = re.findall(r"^Turn \d+: the user (.+)\.$", prompt, re.M)[1:]
        turns = [{"user": f"Please help me with {task[1]}, case {h}.", "assistant": f"Start with the goal ({h})."}]
        for i, job in enumerate(jobs, 2):
            turns.append({"user": f"Now {job}, step {i} of {h}.", "assistant": f"Answer {i}: {job} done for {h}."})
        if "Earlier first requests" not in prompt and "Turn 2: the user asks why." in prompt:
            turns[-1]["user"] = turns[0]["user"]
        return json.dumps({"turns": turns})


class ConversationChat(FakeListChatModel):
    """Answers the last user message with the script (the compact profile's worked turns come before it)."""

    responses: list[str] = Field(default_factory=lambda: [""])
    asked: list[str] = Field(default_factory=list)  # every prompt answered, in order

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.asked.append(str(messages[-1].content))
        return ConversationScript().reply(self.asked[-1])


async def test_a_multi_turn_run_writes_conversations(tmp_path: Path) -> None:
    model = ConversationChat()
    ctx = small_context(tmp_path, model, prompt_profile="compact", shape="multi_turn", turns=3)
    await run_graph({"domain": "Email writing for work"}, ctx)
    examples = read_rows(tmp_path / "run" / "examples.jsonl")
    assert len(examples) == 2 * 3  # the root and its two subtasks, two each
    for e in examples:
        assert e["shape"] == "multi_turn" and e["input"] == ""
        assert [m["role"] for m in e["messages"]] == ["user", "assistant"] * 3
        assert e["instruction"] == e["messages"][0]["content"] and e["output"] == e["messages"][-1]["content"]
    dropped = [r for r in read_rows(tmp_path / "run" / "dropped.jsonl") if r.get("rule") == "repeated_turn"]
    assert dropped, "the conversations that repeat a turn are recorded drops"
    report, _, _ = diversity_of(tmp_path / "run", verbs=False, embeddings=False)
    assert report["overall"]["instructions"] == 6
    assert report["all_turns"]["user_turns"] == 18 and report["all_turns"]["conversations"] == 6


async def test_a_preset_in_a_multi_turn_run_only_shows_its_plain_examples(tmp_path: Path) -> None:
    """The preset's single pairs are demonstrations only: every task gets its full quota of conversations, and
    neither the run's ledger nor its snapshot nor an export holds a single-turn row."""
    model = ConversationChat()
    ctx = small_context(
        tmp_path, model, prompt_profile="compact", breadth=[6], subtasks_per_call=3, shape="multi_turn", turns=3
    )
    seed = preset("rewriting")
    _, out = await run_graph({"seed": str(seed.path)}, ctx)
    tasks = list(seed.tree().preorder())
    plain = {e.instruction for t in tasks for e in t.examples}
    examples = read_rows(tmp_path / "run" / "examples.jsonl")
    per_task = Counter(e["node_id"] for e in examples)
    assert {t.id for t in tasks} <= set(per_task) and set(per_task.values()) == {2}, "two conversations per task"
    assert out["summary"]["shortfall"] == {} and out["summary"]["examples"] == len(examples)
    assert all(e["shape"] == "multi_turn" and len(e["messages"]) == 6 for e in examples)
    assert not plain & {e["instruction"] for e in examples}
    asked = [p for p in model.asked if "Write a conversation of" in p]
    assert any(instruction in p for p in asked for instruction in plain), "the seed's pairs show the tasks"
    loaded = load_run(tmp_path / "run")
    drawn = sample(loaded, None).examples
    assert len(drawn) == len(examples) and all("messages" in (s.example.model_extra or {}) for s in drawn)
    exported = rows_for("messages", drawn)
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] * 3 for r in exported)
    card = render_card(loaded, sample(loaded, None), fmt="messages", files=["data.jsonl"],
                       run_meta=read_run_meta(tmp_path / "run"))  # fmt: skip
    assert "seed examples: only those already of the `multi_turn` shape are data here" in card


async def test_a_seed_conversation_counts_in_a_multi_turn_run(tmp_path: Path) -> None:
    """A seed example already of the run's shape is data and counts toward its task's quota; a plain one beside
    it does not."""
    conversation = {
        "instruction": "Draft a note asking my team for status updates.",
        "input": "",
        "output": "Shorter: 'Status by Friday, please.'",
        "messages": [
            {"role": "user", "content": "Draft a note asking my team for status updates."},
            {"role": "assistant", "content": "Hi all, please send me your status updates by Friday. Thanks!"},
            {"role": "user", "content": "Make it shorter."},
            {"role": "assistant", "content": "Shorter: 'Status by Friday, please.'"},
        ],
    }
    plain = {"instruction": "Write a thank-you email to a colleague.", "input": "", "output": "Thank you, Sam!"}
    tree = DomainTree.from_domain("Email writing for work")  # a tree directory (a run's) keeps extra fields
    tree.root.examples = [Example.model_validate(conversation), Example.model_validate(plain)]
    seed = tmp_path / "seed"
    write_ei_dir(tree, seed)
    ctx = small_context(
        tmp_path, ConversationChat(), prompt_profile="compact", max_depth=0, examples=[3], shape="multi_turn", turns=3
    )
    await run_graph({"seed": str(seed)}, ctx)
    examples = read_rows(tmp_path / "run" / "examples.jsonl")
    assert len(examples) == 3 and examples[0]["messages"] == conversation["messages"]
    assert all("messages" in e for e in examples) and plain["instruction"] not in {e["instruction"] for e in examples}
