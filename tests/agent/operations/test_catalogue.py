"""The operations catalogue: every face is generated from it, arguments are strict, answers are checked against
their models, and run answers name the model. A fake runner stands in for the run lifecycle (no model, no run)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from pydantic import ValidationError

from explore_instruct.agent.chat.agent import chat_tools
from explore_instruct.agent.chat.commands import VERBS, arguments, parse_command
from explore_instruct.agent.chat.context import ChatContext
from explore_instruct.agent.mcp.server import TOOLS, CatalogueServer, QuickStatusArgs
from explore_instruct.agent.operations.catalogue import CATALOGUE, AnswerDrift, Call
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.tool import catalogue_tools, make_explore_tools


@dataclass
class FakeRunner:
    """Answers as the run layer does, from canned dicts; records what it was asked."""

    root: Path
    answer: dict[str, Any] = field(default_factory=dict)
    asked: list[tuple[str, Any]] = field(default_factory=list)
    chat_model: Any = None

    @property
    def limits(self) -> Limits:
        return Limits(output_root=str(self.root))

    def _run(self, name: str, **kw: Any) -> dict[str, Any]:
        self.asked.append((name, kw))
        run_dir = self.root / "r"
        run_dir.mkdir(exist_ok=True)
        (run_dir / "run.json").write_text(json.dumps({"context": {"model": "openai:m"}}))
        return {"run_id": "r", "status": "running", "run_dir": str(run_dir), **self.answer}

    async def explore(self, req: ExploreRequest, *, review: bool = False, progress: Any = None) -> dict[str, Any]:
        return self._run("explore", review=review, domain=req.domain)

    async def status(self, run: str, wait_s: float = 0.0) -> dict[str, Any]:
        return self._run("status", run=run, wait_s=wait_s)

    async def cancel(self, run: str) -> dict[str, Any]:
        return self._run("cancel", run=run)

    async def resume(self, run: str, **kw: Any) -> dict[str, Any]:
        return self._run("resume", run=run, **{k: v for k, v in kw.items() if k != "progress"})

    async def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        return [self._run("list_runs", limit=limit), {"run_id": "x", "run_dir": "/x", "status": "unreadable",
                                                       "error": "bad run.json"}]  # fmt: skip

    async def export(self, run: str, fmt: str = "jsonl", n: int | None = None, seed: int = 0) -> dict[str, Any]:
        self.asked.append(("export", {"run": run, "fmt": fmt, "n": n, "seed": seed}))
        return {"run_id": run, "format": fmt, "examples": 1, "requested": n, "shortfall": 0, "summary": "s",
                "files": []}  # fmt: skip

    async def stats(self, run: str, verbs: bool = True) -> dict[str, Any]:
        self.asked.append(("stats", {"run": run, "verbs": verbs}))
        return {"run_id": run, "examples": 2, "nodes_per_depth": {0: 1, 1: 1}}  # int keys, as the tree gives


async def test_answers_are_checked_and_name_the_model(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path)
    status = await CATALOGUE["status"](runner, {"run": "r", "wait_s": 2})
    assert status["model"] == "openai:m" and runner.asked[-1] == ("status", {"run": "r", "wait_s": 2})
    rows = await CATALOGUE["list_runs"](runner, {})
    assert rows[0]["model"] == "openai:m" and "model" not in rows[1]  # an unreadable run names none
    stats = await CATALOGUE["stats"](runner, {"run": "r"})
    assert stats["nodes_per_depth"] == {0: 1, 1: 1}  # what the face gets is what the runner gave
    runner.chat_model = object()
    assert "a model object given by the application" in (await CATALOGUE["cancel"](runner, {"run": "r"}))["model"]

    runner.answer = {"tasks": "many"}
    with pytest.raises(AnswerDrift, match=r"^status answered outside its model: tasks: "):
        await CATALOGUE["status"](runner, {"run": "r"})


async def test_arguments_are_strict_and_a_note_goes_only_on_running_answers(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path)
    with pytest.raises(ValidationError, match="wiat_s"):
        await CATALOGUE["status"](runner, {"run": "r", "wiat_s": 1})
    with pytest.raises(ValidationError, match="format"):
        await CATALOGUE["export"](runner, {"run": "r", "format": "csv"})
    note = Call(note="stops with the client; resume {run}")
    assert (await CATALOGUE["explore"](runner, {"domain": "d"}, note))["note"] == "stops with the client; resume r"
    runner.answer = {"status": "done"}
    assert "note" not in await CATALOGUE["resume"](runner, {"run": "r", "max_calls": 3}, note)
    assert runner.asked[-1] == (
        "resume",
        {"run": "r", "wait": False, "max_calls": 3, "max_tokens": None, "max_cost_usd": None},
    )


def test_the_langchain_and_chat_agent_tools_are_the_catalogue(tmp_path: Path) -> None:
    explore, status, cancel = make_explore_tools(limits=Limits(output_root=str(tmp_path)))
    assert [t.name for t in (explore, status, cancel)] == ["explore_instruct", "explore_instruct_status",
                                                           "explore_instruct_cancel"]  # fmt: skip
    for tool, op in zip((explore, status, cancel), ("explore", "status", "cancel"), strict=True):
        assert tool.args_schema is CATALOGUE[op].args and tool.description == CATALOGUE[op].description
    agent = chat_tools(Background(Runs(limits=Limits(output_root=str(tmp_path)))), ChatContext(), {})
    assert [t.name for t in agent] == list(CATALOGUE)
    assert all(t.args_schema is CATALOGUE[t.name].args for t in agent)
    assert [t.name for t in catalogue_tools(FakeRunner(tmp_path), ["stats", "explore"])] == ["explore", "stats"]


async def test_the_mcp_tools_are_the_catalogue_but_review(tmp_path: Path) -> None:
    server = CatalogueServer(FakeRunner(tmp_path))
    async with create_connected_server_and_client_session(server) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert list(tools) == list(TOOLS) == [n for n in CATALOGUE if n != "review"]
        for name, tool in tools.items():
            args = QuickStatusArgs if name == "status" else CATALOGUE[name].args
            assert tool.inputSchema == args.model_json_schema() and tool.description == CATALOGUE[name].description
        assert tools["status"].inputSchema["properties"]["wait_s"]["maximum"] == 50  # the clients' one minute
        listed = await session.call_tool("list_runs", {})
        assert not listed.isError and [r["run_id"] for r in (listed.structuredContent or {})["result"]] == ["r", "x"]
        stats = await session.call_tool("stats", {"run": "r", "verbs": "false"})
        assert (stats.structuredContent or {})["nodes_per_depth"] == {"0": 1, "1": 1}
        # Lists some clients send as JSON text are read as lists; a text field keeps its text.
        started = await session.call_tool("explore", {"domain": "[1, 2]", "breadth": "[2, 1]", "depth": 1})
        assert not started.isError and (started.structuredContent or {})["model"] == "openai:m", started
        assert server.runner.asked[-1] == ("explore", {"review": False, "domain": "[1, 2]"})  # type: ignore[attr-defined]
        missing = await session.call_tool("status", {})
        assert missing.isError and missing.content[0].text == "Error executing tool status: run: Field required"  # type: ignore[union-attr]


def test_chat_commands_take_their_operation_fields_as_options() -> None:
    def args(text: str, last: str | None = "last") -> dict[str, Any]:
        cmd = parse_command(text)
        assert cmd is not None
        return arguments(cmd, VERBS[cmd.name], last)

    assert args("/export r1 alpaca n=4 seed=2") == {"run": "r1", "format": "alpaca", "n": "4", "seed": "2"}
    assert args("/export format=hf") == {"format": "hf", "run": "last"}
    assert args("/resume max_cost=0.5 wait=on") == {"max_cost_usd": "0.5", "wait": "on", "run": "last"}
    assert args("/stats r verbs=off") == {"run": "r", "verbs": "off"}
    assert args("/runs limit=5") == {"limit": "5"}
    known = "format, include_reasoning, n, run, seed"
    for text, message in [
        ("/export r1 alpaca n=4 sed=2", f"/export: unknown option sed= (known: {known})"),
        ("/stats a b", "/stats: unexpected words 'b'; options are written key=value"),
        ("/export r run=s", "/export: run is given twice"),
    ]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            args(text)
    with pytest.raises(ValueError, match=r"^/export <run> <format>: which run\? `/runs` lists them$"):
        args("/export", last=None)
