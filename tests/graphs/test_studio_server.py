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
def server_url() -> Iterator[str]:
    with langgraph_dev({"EXPLORE_INSTRUCT_API_KEY": "studio-test-key"}) as url:
        yield url


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


async def test_run_through_the_http_api(server_url: str, tmp_path: Path) -> None:
    script = Script()
    with ScriptedOpenAIServer(responder=script.responder) as llm:
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
                "run_dir": str(tmp_path / "run"),
            },
        )
        assert llm.request_count >= 2
    assert isinstance(result, dict), result
    assert result["status"] == "done", result
    assert result["summary"]["nodes_per_depth"] == {"0": 1, "1": 2}
    lines = (tmp_path / "run" / "examples.jsonl").read_text().splitlines()
    assert len(lines) == result["summary"]["examples"] == 9
    state = await client.threads.get_state(thread["thread_id"])
    steps = [v["step"] for v in state["values"]["visits"]]
    assert steps[:3] == ["start", "lookahead", "descend"]
