"""The chat graph: the command path (scripted model, and the real embedded model), review pauses as messages,
and the tool-calling path against the local OpenAI-compatible server."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from support.agent_script import AgentPlan
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

from explore_instruct.agent.chat.commands import parse_command, suggest
from explore_instruct.agent.chat.graph import ChatContext, builder, graph

DOMAIN = "Email writing for work"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EXPLORE_INSTRUCT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-for-tests")


class Chat:
    """One conversation thread on the chat graph with an in-memory checkpointer."""

    def __init__(self, ctx: ChatContext) -> None:
        self.graph = builder.compile(checkpointer=InMemorySaver())
        self.ctx = ctx
        self.config: Any = {"configurable": {"thread_id": "t"}}
        self.state: dict[str, Any] = {}

    async def say(self, text: str) -> str:
        message: Any = {"messages": [("user", text)]}
        self.state = await self.graph.ainvoke(message, self.config, context=self.ctx)
        reply = self.state["messages"][-1]
        assert isinstance(reply, AIMessage)
        return str(reply.content)


def scripted(tmp_path: Path, **kw: Any) -> ChatContext:
    """Replies wait for the run to pause or end (they do within a second here), so they are deterministic."""
    return ChatContext(
        model="local:smollm2",
        run_chat_model=Script().chat_model(),
        similarity="exact",
        output_root=str(tmp_path),
        **{"answer_within_s": 60, **kw},
    )


# ---- parsing ----------------------------------------------------------------------------------------


def test_commands_parse_free_words_and_options() -> None:
    cmd = parse_command('/explore legal contract rewriting depth=2 breadth=4,3 out="my run" review=off')
    assert cmd is not None
    assert (cmd.name, cmd.args) == ("explore", ["legal", "contract", "rewriting"])
    assert cmd.options == {"depth": "2", "breadth": "4,3", "out": "my run", "review": "off"}
    cmd = parse_command("/explore writing people's bios")  # an apostrophe is not a quote
    assert cmd is not None and cmd.args == ["writing", "people's", "bios"]
    assert parse_command("hello") is None


def test_plain_requests_get_a_suggested_command() -> None:
    assert (
        suggest("build me instruction data for legal contract rewriting, depth 2")
        == "/explore legal contract rewriting depth=2"
    )
    assert suggest("examples about cooking with breadth 3,2") == "/explore cooking breadth=3,2"
    assert suggest("hello there") is None


def test_the_graph_is_a_messages_graph() -> None:
    assert graph.name == "chat"
    assert "messages" in graph.get_input_jsonschema()["properties"]
    assert set(graph.get_graph().nodes) >= {"command", "agent", "guide"}


# ---- the command path -----------------------------------------------------------------------------


async def test_explore_review_reject_approve_then_status_runs_export(tmp_path: Path) -> None:
    chat = Chat(scripted(tmp_path))
    reply = await chat.say(f"/explore {DOMAIN} depth=1 breadth=2 examples=2 out=r1")
    assert reply.startswith("Run `r1` proposes 2 subtasks:")
    assert "1. **Email part 1**" in reply and "2. **Email part 2**" in reply and "/reject 1,3" in reply
    assert chat.state["pending_review"] == "r1"

    reply = await chat.say("/reject 2")  # pruned; the parent still has room, so it proposes again
    assert reply.startswith("Run `r1` proposes 1 subtasks:"), reply
    reply = await chat.say("/approve")
    assert reply.startswith("Run `r1` is done: 3 tasks (depth 0: 1, depth 1: 2), 1 pruned, 6 examples"), reply
    assert "examples.jsonl" in reply and chat.state["pending_review"] is None
    tree = json.loads((tmp_path / "r1" / "tree" / "tree_meta_info.json").read_text())
    assert "rejected in review" in json.dumps(tree)

    assert (await chat.say("/status")).startswith("Run `r1` is done: 3 tasks")
    assert "- `r1` done: 3 tasks, 6 examples — Email writing for work" in await chat.say("/runs")
    reply = await chat.say("/export r1 alpaca n=4")
    assert reply.startswith("Exported 4 examples of `r1` as alpaca")
    assert len(json.loads((tmp_path / "r1" / "export" / "alpaca" / "data.json").read_text())) == 4
    assert await chat.say("/approve") == (
        "Nothing is waiting for a review. `/runs` lists runs; `/status <run>` shows one."
    )
    # Compact: the conversation never holds the examples themselves.
    assert not any("Give a concrete tip" in str(m.content) for m in chat.state["messages"])


async def test_review_off_and_a_budget_stop_then_resume(tmp_path: Path) -> None:
    chat = Chat(scripted(tmp_path))
    reply = await chat.say(f"/explore {DOMAIN} depth=1 breadth=2 examples=2 review=off max_calls=1 out=b")
    assert reply.startswith("Run `b` stopped: max_calls 1 reached."), reply
    assert "(1 calls on `" in reply  # the reply names the model the run uses
    assert "/resume b max_calls=N" in reply
    reply = await chat.say("/resume b max_calls=10")
    assert reply.startswith("Run `b` is done: 3 tasks"), reply


async def test_a_run_goes_on_in_the_background_then_cancel_resume_and_rename(tmp_path: Path) -> None:
    """The reply does not wait for a run (answer_within_s=0 here); /status follows it, /cancel stops it. Each model
    request takes a second, so the run is surely still going when /status and /cancel come, even on a busy machine."""
    chat = Chat(
        ChatContext(
            model="local:smollm2",
            run_chat_model=Script(delay=1.0).chat_model(),
            similarity="exact",
            output_root=str(tmp_path),
            answer_within_s=0,
        )
    )
    reply = await chat.say(f"/explore {DOMAIN} depth=1 breadth=2 examples=2 review=off out=bg")
    assert reply.startswith("Run `bg` is running (starting): 0 tasks, 0 examples so far; 0 of ~4 calls (planned: up")
    assert "`/status bg` follows it, `/cancel bg` stops it." in reply
    assert (await chat.say("/status")).startswith("Run `bg` is running (")
    reply = await chat.say("/cancel")
    assert reply.startswith("Run `bg` is cancelled: ") and "`/resume bg` continues it." in reply, reply
    assert (await chat.say("/cancel bg")) == "Error: cancel: run bg is not running here. `/help` lists the commands."
    await chat.say("/resume bg")
    reply = await chat.say("/explore x wait=on depth=0 review=off out=w")  # wait=on: the reply is the end
    assert reply.startswith("Run `w` is done: 1 tasks"), reply
    while (reply := await chat.say("/status bg")).startswith("Run `bg` is running"):
        pass
    assert reply.startswith("Run `bg` is done: 3 tasks"), reply

    reply = await chat.say(f"/explore {DOMAIN} depth=1 breadth=2 examples=2 out=rv wait=on")
    assert reply.startswith("Run `rv` proposes 2 subtasks:")
    assert (await chat.say("/rename 3 x")).startswith("Error: reject: no proposal 3 (there are 2)")
    assert (await chat.say("/rename two")).startswith("Error: /rename: give a proposal number and its new name")
    chat.ctx.answer_within_s = 30
    reply = await chat.say("/rename 2 Polite follow-up emails")
    assert reply.startswith("Run `rv` is done: 3 tasks"), reply
    names = json.dumps(json.loads((tmp_path / "rv" / "tree" / "tree_meta_info.json").read_text()))
    assert "Polite follow-up emails" in names and "Email part 2" not in names


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("/explore", "Error: input: give exactly one of domain, seed or preset. `/help` lists the commands."),
        ("/explore x depth=3 breadth=9", "Error: depth 3 with breadth [9] allows up to 820 tasks; the cap is 200."),
        ("/explore x colour=red", "Error: /explore: unknown option colour="),
        ("/explore x out=../up depth=1 breadth=1", "Error: output_dir: '../up' is outside the output root."),
        ("/explore x review=maybe", "Error: review=maybe: use on or off."),
        ("/status nope", "Error: run: no run 'nope' under the output root."),
        ("/reject 1", "Nothing is waiting for a review."),
        ("/frobnicate", "Error: /frobnicate: unknown command."),
        ("/export", "Error: /export <run> <format>: which run?"),
    ],
)
async def test_bad_commands_get_one_line_replies(tmp_path: Path, text: str, reply: str) -> None:
    got = await Chat(scripted(tmp_path)).say(text)
    assert got.startswith(reply), got
    assert "\n" not in got and "Traceback" not in got


async def test_plain_text_to_a_model_without_tools_gets_the_commands(tmp_path: Path) -> None:
    reply = await Chat(scripted(tmp_path)).say("build me instruction data for legal contract rewriting, depth 2")
    assert "`/explore legal contract rewriting depth=2`" in reply and "/help" in reply
    assert list(tmp_path.iterdir()) == []  # a suggestion, not a run


# ---- the tool-calling path ---------------------------------------------------------------------------


async def test_a_tool_calling_model_explores_and_review_continues_by_command(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    plan = AgentPlan([("explore", {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [2], "output_dir": "a"})])
    openai_server.responder = plan.responder
    ctx = ChatContext(
        model="openai:scripted",
        base_url=openai_server.base_url,
        similarity="exact",
        output_root=str(tmp_path),
        answer_within_s=60,
    )
    chat = Chat(ctx)
    reply = await chat.say("build me a small dataset about email writing")
    calls = [m for m in chat.state["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    results = [m for m in chat.state["messages"] if isinstance(m, ToolMessage)]
    assert calls[0].tool_calls[0]["name"] == "explore"
    result = json.loads(str(results[0].content))
    assert result["run_id"] == "a" and result["status"] == "review" and len(result["proposals"]) == 2
    assert result["model"] == "openai:scripted"
    assert reply.startswith("Done.")
    assert chat.state["pending_review"] == "a"  # so a command can answer what the agent started

    assert (await chat.say("/approve")).startswith("Run `a` is done: 3 tasks")
    tools = {t["function"]["name"] for t in openai_server.requests[0]["tools"]}
    assert tools == {"explore", "status", "cancel", "list_runs", "review", "resume", "export", "stats", "curate"}


# ---- the embedded model --------------------------------------------------------------------------------


@pytest.mark.embedded
async def test_embedded_model_on_the_command_path(tmp_path: Path) -> None:
    """The 135M model cannot call tools; the command path runs a tiny exploration on it end to end."""
    chat = Chat(ChatContext(model="local:smollm2", similarity="exact", output_root=str(tmp_path), answer_within_s=600))
    assert "/explore" in await chat.say("build me data for rewriting business emails")
    reply = await chat.say("/explore rewriting business emails depth=1 breadth=1 examples=1 review=off out=e")
    assert reply.startswith("Run `e` is done:"), reply
    assert "cost $0.0000" in reply
    status = await chat.say("/status e")
    assert status.startswith("Run `e` is done:")
    meta = json.loads((tmp_path / "e" / "run.json").read_text())
    assert meta["context"]["model"] == "local:smollm2"
