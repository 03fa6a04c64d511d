"""MCP: a real client session over stdio with `explore-instruct mcp`, and the Agent Server's `/mcp` endpoint
(`langgraph dev`, offline) through langchain-mcp-adapters; both run on the local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from support.agent_script import EXPLORE_ARGUMENTS, AgentPlan
from support.langgraph_dev import ROOT, langgraph_dev
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

DOMAIN = "Email writing for work"
EXE = str(Path(sys.executable).parent / "explore-instruct")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORE_INSTRUCT_")}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", **extra}


@asynccontextmanager
async def mcp_session(server: ScriptedOpenAIServer, root: Path, delay: float = 0.0) -> AsyncIterator[ClientSession]:
    """A client session with `explore-instruct mcp` (not a fixture: anyio's scopes must close in their task)."""
    server.responder = Script(delay=delay).responder
    params = StdioServerParameters(
        command=EXE,
        args=["mcp", "--root", str(root), "--model", "openai:scripted", "--base-url", server.base_url],
        env=clean_env(EXPLORE_INSTRUCT_SIMILARITY="exact", EXPLORE_INSTRUCT_HARD_MAX_NODES="10"),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        yield s


def text_of(result: Any) -> str:
    return str(result.content[0].text)


async def test_a_desktop_client_session(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    """One stdio session (starting the server takes seconds): tools, errors, then a run and its follow-ups."""
    async with mcp_session(openai_server, tmp_path, delay=0.5) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        await check_errors(session, tmp_path)
        await check_the_tools(session, tmp_path)
        await check_a_background_run(session)
    assert set(tools) == {"explore", "status", "cancel", "list_runs", "resume", "export", "stats", "curate"}
    props = tools["explore"].inputSchema["properties"]
    assert set(props) == EXPLORE_ARGUMENTS
    assert all(p.get("description") for p in props.values())
    assert "depth 2, breadth [3, 2], examples [5]" in (tools["explore"].description or "")
    assert tools["status"].annotations is not None and tools["status"].annotations.readOnlyHint
    for tool in tools.values():  # every tool refuses arguments it does not name
        assert tool.inputSchema.get("additionalProperties") is False, tool.name
    check_output_schemas(tools)


def answer_fields(schema: dict[str, Any]) -> list[set[str]]:
    """The fields an output schema lists, per shape it allows (`anyOf` branches resolved through `$defs`)."""
    defs = schema.get("$defs", {})

    def resolve(s: dict[str, Any]) -> dict[str, Any]:
        return defs[s["$ref"].rsplit("/", 1)[1]] if "$ref" in s else s

    shapes = [resolve(s) for s in schema["anyOf"]] if "anyOf" in schema else [schema]
    return [set(shape.get("properties", {})) for shape in shapes]


def check_output_schemas(tools: dict[str, Any]) -> None:
    """Every tool's output schema is an object that lists its fields (not a bare `additionalProperties`)."""
    for tool in tools.values():
        schema = tool.outputSchema
        assert schema is not None and schema["type"] == "object", tool.name
        shapes = answer_fields(schema)
        assert shapes and all(shapes), (tool.name, schema)
    run = {"run_id", "status", "model", "tasks", "examples", "calls", "cost_usd", "next_step", "proposals"}
    for name in ("status", "cancel", "resume"):
        assert run <= answer_fields(tools[name].outputSchema)[0], name
    assert [run <= shape for shape in answer_fields(tools["explore"].outputSchema)] == [True, False]  # run | plan
    assert {"total_calls", "assumes", "model"} <= answer_fields(tools["explore"].outputSchema)[1]
    rows = tools["list_runs"].outputSchema["properties"]["result"]
    assert rows["type"] == "array" and "$ref" in rows["items"]
    assert {"files", "resources", "summary"} <= answer_fields(tools["export"].outputSchema)[0]
    assert {"nodes_per_depth", "rouge_l_overall", "verb_noun", "run"} <= answer_fields(tools["stats"].outputSchema)[0]


async def follow(session: ClientSession, run: str) -> tuple[dict[str, Any], set[str]]:
    """Poll `status` until the run is no longer running: its last answer and the phases seen."""
    phases = set()
    while True:
        status = await session.call_tool("status", {"run": run})
        assert not status.isError, text_of(status)
        body = status.structuredContent or {}
        if body["status"] != "running":
            return body, phases
        phases.add(body["phase"])
        await asyncio.sleep(0.2)


async def check_a_background_run(session: ClientSession) -> None:
    """`explore` answers in well under 5 s while the run goes on; status shows it end as a wait=true run ends."""
    args = {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [2]}
    began = time.monotonic()
    answer = await session.call_tool("explore", {**args, "output_dir": "bg"})
    answered = time.monotonic() - began
    body = answer.structuredContent or {}
    assert not answer.isError and body["status"] == "running" and answered < 5, (answered, text_of(answer))
    assert body["planned"] == {"tasks": 3, "examples": 6, "calls": 4}
    assert body["model"] == "openai:scripted"  # every answer names the model
    # A one-shot stdio client learns that the run lives in the server it started, and how to resume it.
    assert "stops when the client ends the session" in body["note"] and "resume with run='bg'" in body["note"]
    final, phases = await follow(session, "bg")
    took = time.monotonic() - began
    assert final["status"] == "done" and phases and took > answered
    blocked = await session.call_tool("explore", {**args, "output_dir": "fg", "wait": True})
    keys = ("tasks", "examples", "calls", "tasks_per_depth", "examples_per_depth")
    assert {k: final[k] for k in keys} == {k: (blocked.structuredContent or {})[k] for k in keys}
    print(f"\nstdio: explore answered in {answered:.2f} s, the run took {took:.1f} s, counts {final['examples']}")


async def check_errors(session: ClientSession, tmp_path: Path) -> None:
    capped = await session.call_tool("explore", {"domain": DOMAIN, "depth": 2, "breadth": [4]})
    outside = await session.call_tool("explore", {"domain": DOMAIN, "depth": 1, "output_dir": "../x"})
    missing = await session.call_tool("status", {"run": "../../etc"})
    assert capped.isError and "allows up to 21 tasks; the cap is 10" in text_of(capped)
    assert outside.isError and "outside the output root" in text_of(outside)
    assert missing.isError and "outside the output root" in text_of(missing)
    for r in (capped, outside, missing):
        assert "\n" not in text_of(r) and "Traceback" not in text_of(r)
    assert list(tmp_path.iterdir()) == []


async def check_the_tools(session: ClientSession, tmp_path: Path) -> None:
    notes: list[tuple[float, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        notes.append((done, message))

    result = await session.call_tool(
        "explore",
        {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [2], "output_dir": "m", "wait": True},
        progress_callback=progress,
    )
    assert not result.isError, text_of(result)
    # A waiting caller gets progress notifications (the last may cross the answer, so it is not asserted).
    assert notes and {m for _, m in notes} <= {"proposed", "generated", "finished"}, notes
    run = result.structuredContent
    assert run is not None and run["run_id"] == "m" and run["status"] == "done"
    assert run["tasks"] == 3 and run["examples"] == 6 and run["model"] == "openai:scripted"
    assert "note" not in run  # it ended before the answer: nothing more to know
    assert (tmp_path / "m" / "examples.jsonl").is_file()

    status = await session.call_tool("status", {"run": "m"})
    assert status.structuredContent is not None and status.structuredContent["status"] == "done"
    assert status.structuredContent["model"] == "openai:scripted"
    listed = await session.call_tool("list_runs", {})
    assert [r["run_id"] for r in (listed.structuredContent or {})["result"]] == ["m"]
    unknown = await session.call_tool("status", {"run": "nope"})
    assert (
        unknown.isError and text_of(unknown) == "Error executing tool status: run: no run 'nope' under the output root"
    )
    typo = await session.call_tool("status", {"run": "m", "wiat_s": 5})
    assert typo.isError and text_of(typo) == "Error executing tool status: unknown argument 'wiat_s'"
    too_long = await session.call_tool("status", {"run": "m", "wait_s": 500})
    assert too_long.isError and text_of(too_long).startswith("Error executing tool status: wait_s: ")

    exported = await session.call_tool("export", {"run": "m", "format": "messages", "n": 3})
    assert not exported.isError, text_of(exported)
    files = (exported.structuredContent or {})["files"]
    rows = Path(files[0]).read_text().splitlines()
    assert len(rows) == 3 and "messages" in json.loads(rows[0])

    stats = await session.call_tool("stats", {"run": "m", "verbs": False})  # spaCy's load is the helper's to test
    assert not stats.isError, text_of(stats)
    body = stats.structuredContent or {}
    assert body["tasks"] == 3 and body["examples"] == 6 and '"per_node":' not in json.dumps(body)


async def test_a_server_restart_leaves_a_run_that_resume_continues(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    """The run lives in the server process: when the client closes the session the server ends mid-run; a new
    server reads the checkpoint, says the run is stopped, and `resume` finishes it to the same counts."""
    args = {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [2], "output_dir": "r"}
    async with mcp_session(openai_server, tmp_path, delay=0.5) as session:
        answer = await session.call_tool("explore", args)
        assert (answer.structuredContent or {})["status"] == "running", text_of(answer)
        while ((await session.call_tool("status", {"run": "r"})).structuredContent or {})["tasks"] < 1:
            await asyncio.sleep(0.1)
    async with mcp_session(openai_server, tmp_path) as session:
        stopped = (await session.call_tool("status", {"run": "r"})).structuredContent or {}
        assert stopped["status"] == "stopped" and "resume" in stopped["next_step"], stopped
        assert stopped["model"] == "openai:scripted"
        resumed = await session.call_tool("resume", {"run": "r", "wait": True})
        body = resumed.structuredContent or {}
        assert not resumed.isError and (body["status"], body["tasks"], body["examples"]) == ("done", 3, 6), body


def test_mcp_command_rejects_bad_configuration_with_exit_code_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from explore_instruct.agent.cli.main import app

    bad = tmp_path / "c.yaml"
    bad.write_text("max_depht: 2\n")
    r = CliRunner().invoke(app, ["mcp", "--config", str(bad)])
    assert r.exit_code == 2 and r.output.strip() == f"error: {bad}: unknown parameter 'max_depht'"


# ---- the Agent Server (`langgraph dev`) ---------------------------------------------------------------


CHAT_PLAN = AgentPlan([("explore", {"domain": DOMAIN, "depth": 1, "breadth": [1], "examples": [1], "output_dir": "c"})])


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedOpenAIServer]:
    # Agent turns (requests with tools) follow CHAT_PLAN; the runs' prompts go to the deterministic script.
    with ScriptedOpenAIServer(responder=CHAT_PLAN.responder) as server:
        yield server


@pytest.fixture(scope="module")
def dev_server(llm: ScriptedOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Run parameters reach /mcp callers only through the server's environment (Context's env fallbacks)."""
    root = tmp_path_factory.mktemp("agent-server")
    env = clean_env(
        EXPLORE_INSTRUCT_MODEL="openai:scripted",
        EXPLORE_INSTRUCT_BASE_URL=llm.base_url,
        EXPLORE_INSTRUCT_SIMILARITY="exact",
        EXPLORE_INSTRUCT_MAX_DEPTH="1",
        EXPLORE_INSTRUCT_BREADTH="2",
        EXPLORE_INSTRUCT_EXAMPLES="2",
        EXPLORE_INSTRUCT_RUNS_ROOT=str(root),
        EXPLORE_INSTRUCT_OUTPUT_ROOT=str(root),
    )
    with langgraph_dev(env, log=root / "server.log") as url:
        yield url, root


@pytest.mark.slow
async def test_agent_server_mcp_endpoint_runs_the_workflow(dev_server: tuple[str, Path]) -> None:
    from langchain_mcp_adapters.client import MultiServerMCPClient

    url, root = dev_server
    client = MultiServerMCPClient({"explore": {"url": f"{url}/mcp", "transport": "streamable_http"}})
    tools = {t.name: t for t in await client.get_tools()}
    assert {"explore_instruct", "chat"} <= set(tools)
    schema = tools["explore_instruct"].args_schema
    assert isinstance(schema, dict) and set(schema["properties"]) == {"domain", "seed"}
    assert "lookahead" in tools["explore_instruct"].description

    out = await tools["explore_instruct"].ainvoke({"domain": DOMAIN})
    text = out[0]["text"] if isinstance(out, list) else str(out)
    assert "'status': 'done'" in text and "'nodes_per_depth': {'0': 1, '1': 2}" in text
    assert len(list(root.glob("*/examples.jsonl"))) == 1


@pytest.mark.slow
def test_studio_walkthrough_example(dev_server: tuple[str, Path], llm: ScriptedOpenAIServer, tmp_path: Path) -> None:
    """docs/studio.md, step by step over the server API: the workflow with review interrupts, then the chat."""
    url, root = dev_server
    r = subprocess.run(
        [
            *(sys.executable, "examples/studio_walkthrough.py", "--url", url, "--base-url", llm.base_url),
            # under the server's output root: the served graph refuses a run_dir anywhere else (agent/served.py)
            *("--model", "openai:scripted", "--similarity", "exact", "--out", str(root / "walkthrough")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert "2. review interrupt: ['Email part 1', 'Email part 2']" in out
    assert "event pruned {'name': 'Email part 2'}" in out
    for step in ("load_seed", "lookahead", "review", "similarity_check", "descend", "backtracking", "finish"):
        assert f"step  {step}" in out
    # the rejection left the lookahead short: it is tried once more before the cursor descends
    assert "3. done: visits ['start', 'lookahead', 'lookahead', 'descend', 'backtracking'" in out
    assert "Run `studio-chat` proposes 2 subtasks:" in out and "Run `studio-chat` is done: 3 tasks" in out
    assert (root / "studio-chat" / "examples.jsonl").is_file()  # the chat's runs go under the output root


@pytest.mark.slow
async def test_chat_graph_served_by_the_agent_server_with_a_tool_calling_model(
    dev_server: tuple[str, Path], llm: ScriptedOpenAIServer
) -> None:
    """Plain words to a tool-calling model in the served chat graph: the agent path under `langgraph dev`,
    which rejects blocking calls in the event loop."""
    from langgraph_sdk import get_client

    url, root = dev_server
    client = get_client(url=url)
    thread = await client.threads.create()
    context: Any = {"model": "openai:scripted", "base_url": llm.base_url, "review": False, "answer_within_s": 60}
    said: Any = {"messages": [{"role": "user", "content": "make me a tiny dataset"}]}
    result = await client.runs.wait(thread["thread_id"], "chat", input=said, context=context)
    assert isinstance(result, dict), result
    kinds = [m["type"] for m in result["messages"]]
    assert kinds == ["human", "ai", "tool", "ai"], result["messages"]
    tool_result = json.loads(result["messages"][2]["content"])
    assert tool_result["run_id"] == "c" and tool_result["status"] == "done"
    assert (root / "c" / "examples.jsonl").is_file()
    said = {"messages": [{"role": "user", "content": "/status c"}]}
    reply = await client.runs.wait(thread["thread_id"], "chat", input=said, context=context)
    assert isinstance(reply, dict) and reply["messages"][-1]["content"].startswith("Run `c` is done: 2 tasks")


# ---- `explore-instruct runs` --------------------------------------------------------------------------


async def test_runs_command_lists_runs_with_status_and_counts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from explore_instruct.agent.cli.main import app
    from explore_instruct.agent.request import ExploreRequest
    from explore_instruct.agent.runs.limits import Limits
    from explore_instruct.agent.runs.service import Runs

    runs = Runs(
        limits=Limits(output_root=str(tmp_path)), defaults={"similarity": "exact"}, chat_model=Script().chat_model()
    )
    await runs.explore(ExploreRequest(domain=DOMAIN, depth=1, breadth=[1], examples=[1], output_dir="one"))
    await runs.explore(ExploreRequest(domain=DOMAIN, depth=1, breadth=[1], examples=[1], max_calls=1, output_dir="two"))
    (tmp_path / "junk").mkdir()  # not a run: left out
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")

    r = CliRunner().invoke(app, ["runs", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["run_id"]: row for row in json.loads(r.output)}
    assert set(rows) == {"one", "two", "broken"}
    assert (rows["one"]["status"], rows["one"]["tasks"], rows["one"]["domain"]) == ("done", 2, DOMAIN)
    assert rows["two"]["status"] == "budget" and rows["two"]["stopped_by"] == "max_calls 1 reached"
    assert rows["broken"]["status"] == "unreadable" and "\n" not in rows["broken"]["error"]

    table = CliRunner().invoke(app, ["runs", str(tmp_path)])
    assert table.exit_code == 0 and "one" in table.output and "budget" in table.output
    missing = CliRunner().invoke(app, ["runs", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and missing.output.startswith("error: ")
