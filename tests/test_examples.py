"""Every script in examples/ runs as a subprocess against the local OpenAI-compatible server.

(`studio_walkthrough.py` needs `langgraph dev`; it runs in tests/agent/mcp/test_mcp.py with the server there.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE

import pytest
from support.agent_script import AgentPlan
from support.openai_server import ScriptedOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "Email writing for work"
PLAN = AgentPlan(
    [
        ("explore_instruct", {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [2], "output_dir": "react"}),
        ("explore_instruct_status", {"run": "react", "wait_s": 120}),
    ]
)
EXAMPLES: dict[str, tuple[str, ...]] = {
    "quickstart": (),
    "react_agent_tool": (),
    "react_agent_model": ("--agent-model", "openai:scripted"),
    "subgraph": (),
    "mcp_client": (),
}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str
    out: Path

    def ok(self) -> str:
        assert self.returncode == 0, f"{self.stdout}\n{self.stderr[-3000:]}"
        assert "Traceback" not in self.stderr
        return self.stdout


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedOpenAIServer]:
    # Agent turns (requests with tools) follow PLAN; the runs' own prompts go to the deterministic script.
    with ScriptedOpenAIServer(responder=PLAN.responder) as s:
        yield s


@pytest.fixture(scope="module")
def ran(server: ScriptedOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """All examples at once (each spends seconds importing), each with its own output root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORE_INSTRUCT_")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    procs = {}
    for key, extra in EXAMPLES.items():
        out = tmp_path_factory.mktemp(key)
        script = "react_agent_tool" if key.startswith("react") else key
        cmd = [sys.executable, f"examples/{script}.py", "--base-url", server.base_url, "--model", "openai:scripted"]
        cmd += ["--similarity", "exact", "--out", str(out), "--domain", DOMAIN, *extra]
        procs[key] = (subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE, text=True), out)
    results = {}
    for key, (proc, out) in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        results[key] = Ran(proc.returncode, stdout, stderr, out)
    return results


def test_quickstart(ran: dict[str, Ran]) -> None:
    out, tmp_path = ran["quickstart"].ok(), ran["quickstart"].out
    assert "status: done" in out
    assert "tasks per depth: {'0': 1, '1': 2}, examples: 9" in out
    (run_dir,) = tmp_path.iterdir()
    assert len((run_dir / "examples.jsonl").read_text().splitlines()) == 9


def test_react_agent_with_the_tool_and_a_fake_agent_model(ran: dict[str, Ran]) -> None:
    out = ran["react_agent_tool"].ok()
    assert "ai: calls explore_instruct({'domain': 'Email writing for work', 'depth': 1" in out
    started, followed = [line for line in out.splitlines() if line.startswith("tool: ")]
    assert '"status": "running"' in started and '"planned": {"tasks": 3' in started  # the answer came at once
    assert "ai: calls explore_instruct_status({'run': 'react-demo', 'wait_s': 120})" in out
    assert '"status": "done"' in followed and '"tasks": 3' in followed
    assert out.strip().endswith("the tool result above has the run id and file paths.")


def test_react_agent_with_a_model_string(ran: dict[str, Ran], server: ScriptedOpenAIServer) -> None:
    """The agent model is a real ChatOpenAI on the same server, which scripts its tool call."""
    out = ran["react_agent_model"].ok()
    assert "ai: calls explore_instruct(" in out and "ai: calls explore_instruct_status(" in out
    assert '"status": "done"' in out
    agent_requests = [r for r in server.requests if r.get("tools")]  # only this example's agent sends tools
    assert len(agent_requests) == 3  # explore, status (it waits for the end), then the answer
    names = [t["function"]["name"] for t in agent_requests[0]["tools"]]
    assert names == ["explore_instruct", "explore_instruct_status", "explore_instruct_cancel"]


def test_subgraph_composition(ran: dict[str, Ran]) -> None:
    out, tmp_path = ran["subgraph"].ok(), ran["subgraph"].out
    assert "explore: done, 9 examples" in out
    assert "filter: kept 9, dropped 0" in out
    (run_dir,) = tmp_path.iterdir()
    rows = json.loads((run_dir / "filtered" / "data.json").read_text())
    assert len(rows) == 9 and {"instruction", "input", "output", "task_path"} <= set(rows[0])


def test_mcp_client(ran: dict[str, Ran]) -> None:
    out, tmp_path = ran["mcp_client"].ok(), ran["mcp_client"].out
    assert "tools: explore, status, cancel, list_runs, resume, export, stats" in out
    assert 'explore: {"run_id": "mcp-demo", "status": "running", "planned": {"tasks": 3' in out
    assert 'status: {"run_id": "mcp-demo", "status": "done", "tasks": 3, "examples": 6' in out
    assert "runs: ['mcp-demo']" in out
    assert "over the cap: Error executing tool explore: depth 6 with breadth [12] allows up to" in out
    assert (tmp_path / "mcp-demo" / "examples.jsonl").is_file()
