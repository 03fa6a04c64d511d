"""MCP over streamable HTTP: `explore-instruct mcp --http` as a subprocess on a free port, driven by
langchain-mcp-adapters' streamable-HTTP client; the bearer token; and seed probes that must all look alike.

Runs go to the local OpenAI-compatible server with a per-request delay, so a run clearly outlasts the answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.mcp_http import mcp_http
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

DOMAIN = "Email writing for work"
TOKEN = "test-token-must-never-be-printed"
TINY: dict[str, Any] = {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [2]}
KEYS = ("status", "tasks", "examples", "calls", "tasks_per_depth", "examples_per_depth")


@dataclass
class Served:
    url: str
    root: Path
    outside: Path
    log: Path


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(responder=Script(delay=0.5).responder) as server:
        yield server


@pytest.fixture(scope="module")
def served(llm: ScriptedOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("mcp-http")
    root, outside, log = base / "root", base / "outside", base / "server.log"
    (root / "seeds").mkdir(parents=True)
    outside.mkdir()
    (outside / "creds.json").write_text('{"token": "secret"}')
    (root / "seeds" / "link.json").symlink_to(outside / "creds.json")
    (root / "seeds" / "bad.yaml").write_text("reason: no name here\n")
    env = {"EXPLORE_INSTRUCT_MCP_TOKEN": TOKEN, "EXPLORE_INSTRUCT_SIMILARITY": "exact", "OPENAI_API_KEY": "sk-dummy"}
    with mcp_http(root, log, "--model", "openai:scripted", "--base-url", llm.base_url, env=env) as started:
        yield Served(started.url, root, outside, log)


def client(url: str, token: str | None = TOKEN) -> Any:
    from langchain_mcp_adapters.client import MultiServerMCPClient

    headers = {"Authorization": f"Bearer {token}"} if token else None
    return MultiServerMCPClient({"x": {"url": url, "transport": "streamable_http", "headers": headers}})


async def call(tools: dict[str, Any], name: str, args: dict[str, Any]) -> Any:
    """A tool's answer as the dict the server sent, or its one-line error as text."""
    out = await tools[name].ainvoke(args)
    text = out[0]["text"] if isinstance(out, list) else str(out)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def test_every_request_must_carry_the_token(served: Served) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in (None, "Bearer wrong", f"Basic {TOKEN}", "Bearer"):
        sent = headers | ({"Authorization": auth} if auth else {})
        r = httpx.post(served.url, json=hello, headers=sent, timeout=10)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), (auth, r.text)
    assert TOKEN not in served.log.read_text()


async def test_explore_answers_at_once_over_http_and_status_follows_it(served: Served) -> None:
    tools = {t.name: t for t in await client(served.url).get_tools()}
    assert set(tools) == {"explore", "status", "cancel", "list_runs", "resume", "export", "stats", "curate"}
    began = time.monotonic()
    answer = await call(tools, "explore", {**TINY, "output_dir": "bg"})
    answered = time.monotonic() - began
    assert answer["status"] == "running" and answered < 5, (answered, answer)
    while (final := await call(tools, "status", {"run": "bg"}))["status"] == "running":
        assert final["phase"] in {"starting", "exploring", "enriching"}
        await asyncio.sleep(0.2)
    took = time.monotonic() - began
    blocked = await call(tools, "explore", {**TINY, "output_dir": "fg", "wait": True})
    assert final["status"] == "done" and took > 1.0 and answered < took
    assert {k: final[k] for k in KEYS} == {k: blocked[k] for k in KEYS}
    print(f"\nhttp: explore answered in {answered:.2f} s, the run took {took:.1f} s, examples {final['examples']}")

    waited = await call(tools, "status", {"run": "bg", "wait_s": 1})
    assert waited["status"] == "done"
    assert await call(tools, "status", {"run": "nope"}) == (
        "Error executing tool status: run: no run 'nope' under the output root"
    )
    refused = await call(tools, "explore", {**TINY, "depht": 3})
    assert refused == "Error executing tool explore: unknown argument 'depht'"


async def test_seed_probes_over_http_cannot_tell_files_apart(served: Served) -> None:
    """Existing and missing files outside the root, a symlink out, `..`, a missing seed: one answer each."""
    tools = {t.name: t for t in await client(served.url).get_tools()}
    probes = [
        str(served.outside / "creds.json"),
        str(served.outside / "missing.json"),
        "../../outside/creds.json",
        "link.json",
        "missing.yaml",
        "/etc/passwd",
    ]
    before = sorted(served.root.iterdir())
    answers = set()
    for probe in probes:
        answer = await call(tools, "explore", {"seed": probe, "depth": 0})
        assert isinstance(answer, str), answer
        answers.add(answer.replace(repr(probe), "<seed>"))
    assert answers == {"Error executing tool explore: seed: <seed> is not a seed file under the seed root"}
    inside = await call(tools, "explore", {"seed": "bad.yaml", "depth": 0})  # a file in the root may say more
    assert isinstance(inside, str) and "name" in inside and "not a seed file" not in inside, inside
    assert sorted(served.root.iterdir()) == before  # nothing was started


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    from typer.testing import CliRunner

    from explore_instruct.agent.cli.main import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = CliRunner().invoke(app, ["mcp", "--http", "--port", str(port), "--root", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert r.output.strip().startswith(f"error: --host 127.0.0.1 --port {port}: cannot listen there"), r.output


async def test_a_remote_client_reads_an_export_through_resources(served: Served) -> None:
    """`export` answers resource URIs beside its paths, and resources/read over HTTP gives the files themselves
    (text and binary); anything else under or outside the root is refused with one answer."""
    import base64

    from mcp.shared.exceptions import McpError
    from pydantic import AnyUrl

    async with client(served.url).session("x") as session:
        made = await session.call_tool("explore", {**TINY, "output_dir": "res", "wait": True})
        assert not made.isError and (made.structuredContent or {})["status"] == "done", made
        exported = (await session.call_tool("export", {"run": "res", "format": "jsonl", "n": 3})).structuredContent
        assert exported is not None and len(exported["resources"]) == len(exported["files"]) == 2
        data_uri, card_uri = exported["resources"]
        assert data_uri == "explore-instruct://runs/res/export/jsonl/data.jsonl"
        assert card_uri == "explore-instruct://runs/res/export/jsonl/README.md"

        data = (await session.read_resource(AnyUrl(data_uri))).contents[0]
        assert data.mimeType == "application/jsonl" and data.text == Path(exported["files"][0]).read_text()  # type: ignore[union-attr]
        assert len(data.text.splitlines()) == 3  # type: ignore[union-attr]
        card = (await session.read_resource(AnyUrl("explore-instruct://runs/res/card"))).contents[0]
        assert card.mimeType == "text/markdown" and card.text == Path(exported["files"][1]).read_text()  # type: ignore[union-attr]

        hf = (await session.call_tool("export", {"run": "res", "format": "hf"})).structuredContent or {}
        arrow = [u for u in hf["resources"] if u.endswith(".arrow")]
        assert arrow and all(u.startswith("explore-instruct://runs/res/export/hf/") for u in hf["resources"])
        blob = (await session.read_resource(AnyUrl(arrow[0]))).contents[0]
        on_disk = (Path(hf["files"][0]) / arrow[0].rsplit("/", 1)[1]).read_bytes()
        assert base64.b64decode(blob.blob) == on_disk  # type: ignore[union-attr]

        templates = {t.uriTemplate for t in (await session.list_resource_templates()).resourceTemplates}
        assert templates == {
            "explore-instruct://runs/{run}/export/{format}/{file}",
            "explore-instruct://runs/{run}/card",
        }
        listed = {str(r.uri) for r in (await session.list_resources()).resources}
        assert {data_uri, card_uri, *hf["resources"]} <= listed

        export_dir = served.root / "res" / "export" / "jsonl"
        (export_dir / "creds.json").symlink_to(served.outside / "creds.json")
        refusals = set()
        for probe in (
            "explore-instruct://runs/res/export/jsonl/missing.jsonl",
            "explore-instruct://runs/res/export/jsonl/creds.json",  # a symlink out, planted in the export
            "explore-instruct://runs/res/export/jsonl/..%2F..%2Frun.json",
            "explore-instruct://runs/res/export/csv/data.jsonl",
            "explore-instruct://runs/res/checkpoints.sqlite",
            "explore-instruct://runs/res/query_log.jsonl",
            "file:///etc/passwd",
        ):
            with pytest.raises(McpError) as refused:
                await session.read_resource(AnyUrl(probe))
            refusals.add(refused.value.error.message.split(" is not ")[-1])
        assert refusals == {"a file this server exported"}
        with pytest.raises(McpError, match="outside the output root"):
            await session.read_resource(AnyUrl("explore-instruct://runs/..%2Foutside/card"))
