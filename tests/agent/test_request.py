"""The explore request every face shares (agent/request.py), the parsers, the one-line errors and the config
loader; and that each face offers exactly the request's fields and refuses others, in one line naming them.

No run happens here: every refusal comes before anything is written.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from pydantic import Field, TypeAdapter, ValidationError
from support.agent_script import EXPLORE_ARGUMENTS
from typer.main import get_command
from typer.testing import CliRunner

from explore_instruct.agent.chat.commands import explore_options, explore_request, parse_command
from explore_instruct.agent.cli.main import EXIT_BAD_INPUT, app
from explore_instruct.agent.cli.options import flag_for
from explore_instruct.agent.config import load_config
from explore_instruct.agent.errors import RunFailed, one_line
from explore_instruct.agent.mcp.server import build_server
from explore_instruct.agent.request import ALIASES, ExploreRequest, To, run_param, stated
from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.runs.sizing import CALLER_DEFAULTS, CALLER_NOTE
from explore_instruct.agent.tool import make_explore_tool
from explore_instruct.tools.params import RunParams
from explore_instruct.tools.parsing import parse_bool, parse_ints

FIELDS = set(ExploreRequest.model_fields)
HEAVY = ("langchain", "langchain_core", "langchain_openai", "langgraph", "openai", "chromadb", "mcp")


# ---- the model -------------------------------------------------------------------------------------


def test_the_request_is_the_explore_argument_set_and_maps_onto_run_parameters() -> None:
    assert FIELDS == EXPLORE_ARGUMENTS
    req = ExploreRequest(domain="x", depth=1, breadth="4, 3", examples=5, max_cost_usd=0.5, output_dir="o")
    assert req.context_params() == {"max_depth": 1, "breadth": [4, 3], "examples": [5], "max_cost_usd": 0.5}
    assert ExploreRequest(seed="s.yaml").context_params() == {}


def test_a_field_added_to_the_request_is_read_like_the_others() -> None:
    """One line per field: `To(...)` when it is a run parameter; a bool reads on/off with the one flag parser."""

    class Wider(ExploreRequest):
        hurry: bool | None = Field(default=None, description="Finish quickly.")
        colour: Annotated[str | None, To()] = Field(default=None, description="A colour for the run.")

    req = Wider(domain="x", hurry="off", colour="red", depth="1")
    assert (req.hurry, req.context_params()) == (False, {"max_depth": 1, "colour": "red"})
    with pytest.raises(ValidationError) as caught:
        Wider(domain="x", hurry="maybe")
    assert one_line(caught.value) == "hurry: use on or off"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"domain": "x", "depht": 5}, "unknown argument 'depht'"),
        ({"domain": "x", "depht": 5, "colour": "red"}, "unknown arguments 'depht', 'colour'"),
        ({"domain": "x", "a\nb": 1}, "unknown argument 'a\\nb'"),  # a caller's key, kept on one line
        ({"domain": "x", "breadth": "4,x"}, "breadth: 'x' is not a whole number"),
        ({"domain": "x", "breadth": []}, "breadth: give one non-negative count per depth"),
        ({"domain": "x", "depth": 9}, "depth: Input should be less than or equal to 8"),
        ({}, "input: give exactly one of domain, seed or preset"),
    ],
)
def test_bad_requests_are_one_line_errors(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ExploreRequest.model_validate(args)
    got = one_line(caught.value)
    assert got.startswith(message) and "\n" not in got and "errors.pydantic.dev" not in got, got


# ---- no quiet clamping: a value outside its bounds is refused, naming the bound, on every face --------------

OUT_OF_BOUNDS = [
    # MCP `breadth=1000000` was cut to 12 (max_children) without a word.
    ({"breadth": 1000000}, "breadth: 1000000 is above 12, the most children a task may have"),
    ({"breadth": [3, 13]}, "breadth: 13 is above 12"),
    # `run --examples 0` exited 0 and wrote the examples each subtask came with (24 of them).
    ({"examples": 0}, "examples: 0 is below 1"),
    ({"examples": "5,0"}, "examples: 0 is below 1"),
    ({"depth": 9}, "depth: Input should be less than or equal to 8"),
]


@pytest.mark.parametrize(("args", "message"), OUT_OF_BOUNDS)
def test_out_of_bounds_requests_are_refused_naming_the_bound(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ExploreRequest.model_validate({"domain": "x", **args})
    assert one_line(caught.value).startswith(message), one_line(caught.value)


def test_out_of_bounds_is_refused_by_the_tool_and_the_chat(tmp_path: Path) -> None:
    # Only a scripted model is allowed here: a request that got past its bounds would be refused for its model.
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path), models=("openai:scripted",)))
    for args, message in OUT_OF_BOUNDS:
        assert json.loads(tool.invoke({"domain": "x", **args}))["error"].startswith(message)
    cmd = parse_command("/explore email writing breadth=1000000")
    assert cmd is not None
    with pytest.raises(ValidationError) as caught:
        explore_request(cmd)
    assert one_line(caught.value).startswith("breadth: 1000000 is above 12")
    assert list(tmp_path.iterdir()) == []


def test_cli_run_refuses_examples_0_instead_of_writing_examples(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", "--out", str(out), "--domain", "x", "--examples", "0", "--dry-run"])
    assert r.exit_code == EXIT_BAD_INPUT, r.output
    assert r.stderr.strip() == "error: examples: 0 is below 1: each count must be at least 1"
    r = CliRunner().invoke(app, ["run", "--out", str(out), "--domain", "x", "--breadth", "20", "--dry-run"])
    assert r.exit_code == EXIT_BAD_INPUT and "breadth: 20 is above 12" in r.stderr
    assert not out.exists()


def _value_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without its words and default, and without the `null` of an optional value."""
    kinds = [k for k in prop.get("anyOf", [prop]) if k.get("type") != "null"]
    assert len(kinds) == 1, prop
    return {k: v for k, v in kinds[0].items() if k not in {"description", "default", "title"}}


def test_request_fields_derive_from_the_one_definition() -> None:
    """Each run parameter a caller may set has its definition's type and bounds (examples: at least 1 for a caller),
    and its description states the default a caller gets: the caller sizes where there is one (never the CLI's
    batch defaults), else the definition's."""
    asked = ExploreRequest.model_json_schema()["properties"]
    defined = TypeAdapter(RunParams).json_schema()["properties"]
    for name, field in ExploreRequest.model_fields.items():
        param = run_param(name)
        if param is None:
            continue
        want = _value_schema(defined[param])
        if name == "examples":
            want["items"] = {**want["items"], "minimum": 1}
        assert _value_schema(asked[name]) == want, name
        assert field.description and field.description.split(";")[0] in stated(param), name
    props = ExploreRequest.model_json_schema()["properties"]
    for name, value in CALLER_DEFAULTS.items():
        field = {"max_depth": "depth"}.get(name, name)
        assert f"default {value}." in props[field]["description"], props[field]
        assert f"{name.removeprefix('max_')} {value}" in CALLER_NOTE
    assert "[8, 6]" not in props["breadth"]["description"]
    assert props["breadth"]["anyOf"][0]["items"] == {"type": "integer", "minimum": 0, "maximum": 12}
    assert props["examples"]["anyOf"][0]["items"] == {"type": "integer", "minimum": 1}


async def test_mcp_explore_schema_states_the_caller_defaults_and_the_bounds(tmp_path: Path) -> None:
    runs = Runs(limits=Limits(output_root=str(tmp_path)), defaults={"similarity": "exact"})
    async with create_connected_server_and_client_session(build_server(runs)) as session:
        tool = {t.name: t for t in (await session.list_tools()).tools}["explore"]
    breadth = tool.inputSchema["properties"]["breadth"]
    assert breadth["description"].endswith("default [3, 2].") and "[8, 6]" not in breadth["description"]
    assert breadth["anyOf"][0]["items"]["maximum"] == 12
    assert "breadth [3, 2]" in (tool.description or "")


# ---- the parsers and the formatter ---------------------------------------------------------------------


def test_one_int_list_parser_for_every_form() -> None:
    assert parse_ints("4,3") == parse_ints("4, 3") == parse_ints(" 4 3 ") == parse_ints([4, 3]) == [4, 3]
    assert parse_ints(4) == [4] and parse_ints("") == []
    assert parse_ints(True) is True and parse_ints(None) is None  # left to the type check
    with pytest.raises(ValueError, match="'two' is not a whole number"):
        parse_ints("two,three")


def test_one_bool_parser() -> None:
    assert [parse_bool(v) for v in ("on", "YES", " true ", "1", 1, True)] == [True] * 6
    assert [parse_bool(v) for v in ("off", "No", "false", "0", 0, False)] == [False] * 6
    for bad in ("maybe", "", 2, None):
        with pytest.raises(ValueError, match="use on or off"):
            parse_bool(bad)


def test_the_error_formatter_is_one_line_and_types_only_the_unexpected() -> None:
    assert one_line(ValueError("bad seed\n  at line 2\nFor further information visit https://x")) == (
        "bad seed at line 2"
    )
    assert one_line(RuntimeError("model exploded\nwith a second line")) == "RuntimeError: model exploded"
    assert one_line(RunFailed("run r stopped: x")) == "run r stopped: x"
    assert one_line(KeyError()) == "KeyError"


def test_one_config_loader_for_run_and_mcp(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("max_depth: 1\nsimilarity: exact\nrun_dir: somewhere\n")
    assert load_config(good) == {"max_depth": 1, "similarity": "exact", "run_dir": "somewhere"}
    with pytest.raises(ValueError, match="unknown parameter 'run_dir'"):
        load_config(good, exclude={"run_dir"})
    for text, message in [
        ("max_depht: 1\n", "unknown parameter 'max_depht'"),
        ("chat_model: gpt-4o\n", "unknown parameter 'chat_model'"),
        ("- a\n", "config must be a mapping"),
        ("a: [unclosed\n", "cannot read config"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ValueError, match=message):
            load_config(bad)
    assert load_config(None) == {}


# ---- every face: the same fields, and nothing else ---------------------------------------------------------


def test_every_face_offers_the_request_fields(tmp_path: Path) -> None:
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path)))
    assert set(tool.args_schema.model_json_schema()["properties"]) == FIELDS  # type: ignore[union-attr]
    assert set(explore_options()) == FIELDS | set(ALIASES)
    run = get_command(app).commands["run"]  # type: ignore[attr-defined]
    flags = {opt for p in run.params for opt in p.opts}
    assert {flag_for(name) for name in FIELDS} <= flags
    assert {"--out", "--max-cost", "--breadth", "--max-tokens"} <= flags


async def test_mcp_explore_schema_is_the_model_and_unknown_arguments_are_refused(tmp_path: Path) -> None:
    runs = Runs(limits=Limits(output_root=str(tmp_path)), defaults={"similarity": "exact"})
    async with create_connected_server_and_client_session(build_server(runs)) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        schema = tools["explore"].inputSchema
        assert set(schema["properties"]) == FIELDS and schema["additionalProperties"] is False
        assert all(p.get("description") for p in schema["properties"].values())
        refused = await session.call_tool("explore", {"domain": "Email writing for work", "depht": 5})
        both = await session.call_tool("explore", {"domain": "x", "depht": 5, "colour": "red"})
    assert refused.isError and refused.content[0].text == "Error executing tool explore: unknown argument 'depht'"  # type: ignore[union-attr]
    assert both.isError and "unknown arguments 'depht', 'colour'" in both.content[0].text  # type: ignore[union-attr]
    assert list(tmp_path.iterdir()) == []  # refused before a run directory was made


def test_the_tool_refuses_unknown_arguments_in_one_line(tmp_path: Path) -> None:
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path)))
    result = tool.invoke({"domain": "Email writing for work", "depht": 5})
    assert json.loads(result) == {"error": "unknown argument 'depht'"}
    assert asyncio.run(tool.ainvoke({"seed": "s.yaml", "depht": 5})) == result
    assert list(tmp_path.iterdir()) == []


def test_chat_explore_options_are_the_request_fields_and_unknown_ones_are_named() -> None:
    cmd = parse_command("/explore email writing depth=1 breadth=2,1 out=r max_cost=0.5 max_tokens=900 review=off")
    assert cmd is not None
    req, review = explore_request(cmd)
    assert (req.domain, req.depth, req.breadth, req.output_dir, req.max_cost_usd, req.max_tokens, review) == (
        "email writing",
        1,
        [2, 1],
        "r",
        0.5,
        900,
        False,
    )
    bad = parse_command("/explore email writing depht=5")
    assert bad is not None
    with pytest.raises(ValueError, match=r"^/explore: unknown option depht= \(known: .*depth") as caught:
        explore_request(bad)
    assert "\n" not in str(caught.value)


def test_cli_run_reads_the_request_and_refuses_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", "--out", str(out), "--domain", "x", "--breadth", "2,x", "--quiet"])
    assert r.exit_code == EXIT_BAD_INPUT and r.stderr.strip() == (
        "error: breadth: 'x' is not a whole number; give counts separated by commas, e.g. 4,3"
    )
    assert not out.exists()


# ---- start-up ------------------------------------------------------------------------------------------------


def test_importing_the_cli_loads_no_model_graph_or_vector_library() -> None:
    """Typer builds `--help` from the command signatures: the CLI module itself must stay light."""
    code = (
        "import sys, explore_instruct.agent.cli.main; "
        f"print(sorted({{m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}}}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
