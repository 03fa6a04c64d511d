"""The shape parameters on the faces that act for someone else: an MCP server for tools is the operator's (it is a
program the server would start, or a host it would reach), a tools list is read from the seed root only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explore_instruct.agent.chat.commands import explore_request, parse_command
from explore_instruct.agent.errors import one_line
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.served import ServedContext

TOOLS = [{"type": "function", "function": {"name": "now", "description": "the time", "parameters": {"type": "object"}}}]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "runs"
    (root / "seeds").mkdir(parents=True)
    (root / "seeds" / "tools.json").write_text(json.dumps(TOOLS))
    (tmp_path / "secret.json").write_text(json.dumps(TOOLS))
    monkeypatch.setenv("EXPLORE_INSTRUCT_OUTPUT_ROOT", str(root))
    monkeypatch.delenv("EXPLORE_INSTRUCT_SEED_ROOT", raising=False)
    monkeypatch.delenv("EXPLORE_INSTRUCT_TOOLS_FROM_MCP", raising=False)
    return root


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"shape": "tool_calls", "tools_from_mcp": "uvx mcp-server-time"}, "tools_from_mcp: set by the operator"),
        ({"shape": "tool_calls", "tools_from_mcp": "http://10.0.0.1/mcp"}, "tools_from_mcp: set by the operator"),
        ({"shape": "tool_calls", "tools": "tools.json", "execute_tools": True}, "execute_tools"),
        ({"shape": "tool_calls", "tools": "../secret.json"}, "tools: '../secret.json' is not a tools file"),
        ({"shape": "tool_calls", "tools": "/etc/passwd"}, "tools: '/etc/passwd' is not a tools file"),
    ],
)
def test_a_served_caller_cannot_start_a_program_or_read_outside(
    root: Path, given: dict[str, object], said: str
) -> None:
    with pytest.raises((LimitError, ValueError)) as caught:
        ServedContext(**given)  # type: ignore[arg-type]
    assert said in str(caught.value)


def test_a_served_callers_tools_list_is_read_from_the_seed_root(root: Path) -> None:
    ctx = ServedContext(shape="reasoning,tool_calls", tools="tools.json", turns=4)
    assert ctx.tools == str((root / "seeds" / "tools.json").resolve()) and ctx.shape == "reasoning,tool_calls"


def test_the_operators_mcp_server_is_kept(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORE_INSTRUCT_TOOLS_FROM_MCP", "uvx mcp-server-time")
    ctx = ServedContext(shape="tool_calls")
    assert ctx.tools_from_mcp == "uvx mcp-server-time"


def test_the_run_operations_confine_a_callers_tools_list(root: Path) -> None:
    runs = Runs(limits=Limits(output_root=str(root)), defaults={"similarity": "exact"})
    plan = runs.plan(ExploreRequest(domain="time questions", shape="tool_calls", tools="tools.json", depth=1))
    assert plan  # planned with the file under the seed root
    with pytest.raises(LimitError, match=r"tools: '\.\./secret\.json' is not a tools file under the seed root"):
        runs.plan(ExploreRequest(domain="time questions", shape="tool_calls", tools="../secret.json"))
    with pytest.raises(ValueError, match=r"extra|tools_from_mcp"):
        ExploreRequest(domain="x", tools_from_mcp="uvx mcp-server-time")  # not a caller's field at all


def test_every_face_reads_the_shape_the_same_way() -> None:
    """The chat's `/explore k=v`, the request of the tool/MCP/CLI: one spelling, one refusal."""
    cmd = parse_command("/explore email writing shape=multi_turn,reasoning turns=4")
    assert cmd is not None
    req, _ = explore_request(cmd)
    assert req.context_params() == {"shape": "reasoning,multi_turn", "turns": 4}
    for given, said in [({"shape": "thinking"}, "shape: 'thinking' is not single, reasoning, multi_turn or tool_calls"),
                        ({"turns": 9}, "turns: Input should be less than or equal to 8")]:  # fmt: skip
        with pytest.raises(ValueError) as caught:
            ExploreRequest(domain="x", **given)  # type: ignore[arg-type]
        assert one_line(caught.value) == said
    schema = ExploreRequest.model_json_schema()["properties"]
    assert {"shape", "turns", "tools", "no_tool_share"} <= set(schema) and "tools_from_mcp" not in schema
