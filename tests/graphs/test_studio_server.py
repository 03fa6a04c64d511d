"""`langgraph dev` serves the exploration graph offline; a run through its HTTP API (langgraph_sdk) works."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from support.langgraph_dev import langgraph_dev
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ScriptedOpenAIServer, Path]]:
    """The server, its scripted endpoint and its output root: the endpoint is the operator's to set (a caller's
    context may not name one, agent/served.py), so it is in the server's environment."""
    root = tmp_path_factory.mktemp("studio")
    with ScriptedOpenAIServer(responder=Script().responder) as llm:
        env = {
            "EXPLORE_INSTRUCT_API_KEY": "studio-test-key",
            "EXPLORE_INSTRUCT_BASE_URL": llm.base_url,
            "EXPLORE_INSTRUCT_OUTPUT_ROOT": str(root),
        }
        with langgraph_dev(env) as url:
            yield url, llm, root


@pytest.fixture(scope="module")
def server_url(served: tuple[str, ScriptedOpenAIServer, Path]) -> str:
    return served[0]


async def test_graph_is_registered_with_schemas(server_url: str) -> None:
    client = get_client(url=server_url)
    assistants = await client.assistants.search(graph_id="explore_instruct")
    assert assistants and "lookahead" in (assistants[0].get("description") or "")
    schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
    assert set(schemas["input_schema"]["properties"]) == {"domain", "seed"}
    assert "max_depth" in schemas["context_schema"]["properties"]
    assert "summary" in schemas["output_schema"]["properties"]


def test_mcp_lists_the_workflow_as_a_tool(server_url: str) -> None:
    req = urllib.request.Request(
        f"{server_url}/mcp",
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode(),
        headers={"content-type": "application/json", "accept": "application/json, text/event-stream"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    tools = {t["name"]: t for t in body["result"]["tools"]}
    assert "explore_instruct" in tools
    assert set(tools["explore_instruct"]["inputSchema"]["properties"]) == {"domain", "seed"}


async def test_run_through_the_http_api(served: tuple[str, ScriptedOpenAIServer, Path]) -> None:
    server_url, llm, root = served
    before = llm.request_count  # the endpoint is the server's (its environment), as an operator sets it
    client = get_client(url=server_url)
    thread = await client.threads.create()
    result = await client.runs.wait(
        thread["thread_id"],
        "explore_instruct",
        input={"domain": "writing polite workplace emails"},
        context={
            "model": "openai:scripted",
            "base_url": llm.base_url,
            "max_depth": 1,
            "breadth": [2],
            "subtasks_per_call": 2,
            "examples": [3],
            "examples_per_call": 3,
            "similarity": "exact",
            "run_dir": "run",  # under the server's output root
        },
    )
    assert llm.request_count - before >= 2
    assert isinstance(result, dict), result
    assert result["status"] == "done", result
    assert result["summary"]["nodes_per_depth"] == {"0": 1, "1": 2}
    lines = (root / "run" / "examples.jsonl").read_text().splitlines()
    assert len(lines) == result["summary"]["examples"] == 9
    state = await client.threads.get_state(thread["thread_id"])
    steps = [v["step"] for v in state["values"]["visits"]]
    assert steps[:3] == ["start", "lookahead", "descend"]
