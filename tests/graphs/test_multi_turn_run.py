"""A run in the `multi_turn` shape end to end (scripted model, compact profile): every kept example is a conversation
of the asked turns, a conversation that repeats a turn is a recorded drop and is refilled, and the run's diversity
report measures every user turn beside the opening ones."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import Field
from support.scripted import Script

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.dataset.diversity import diversity_of


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

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        return ConversationScript().reply(str(messages[-1].content))


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def test_a_multi_turn_run_writes_conversations(tmp_path: Path) -> None:
    model = ConversationChat()
    ctx = Context(
        chat_model=model,
        run_dir=str(tmp_path / "run"),
        similarity="exact",
        prompt_profile="compact",
        min_relevance=None,
        min_root_relevance=None,
        max_depth=1,
        breadth=[2],
        subtasks_per_call=2,
        examples=[2],
        examples_per_call=2,
        shape="multi_turn",
        turns=3,
    )
    graph = builder.compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"domain": "Email writing for work"}, {"configurable": {"thread_id": "t"}}, context=ctx)
    examples = rows(tmp_path / "run" / "examples.jsonl")
    assert len(examples) == 2 * 3  # the root and its two subtasks, two each
    for e in examples:
        assert e["shape"] == "multi_turn" and e["input"] == ""
        assert [m["role"] for m in e["messages"]] == ["user", "assistant"] * 3
        assert e["instruction"] == e["messages"][0]["content"] and e["output"] == e["messages"][-1]["content"]
    dropped = [r for r in rows(tmp_path / "run" / "dropped.jsonl") if r.get("rule") == "repeated_turn"]
    assert dropped, "the conversations that repeat a turn are recorded drops"
    report, _, _ = diversity_of(tmp_path / "run", verbs=False, embeddings=False)
    assert report["overall"]["instructions"] == 6
    assert report["all_turns"]["user_turns"] == 18 and report["all_turns"]["conversations"] == 6
