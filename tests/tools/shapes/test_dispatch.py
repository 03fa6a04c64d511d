"""The run's tool set: listed once per run (batches share it), saved as tools.json, read back on a resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from explore_instruct.tools.shapes.dispatch import ShapeNotBuilt, _generator, run_toolset

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "convert",
            "description": "Convert an amount between currencies",
            "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]},
        },
    }
]


def params(tools: Path) -> SimpleNamespace:
    return SimpleNamespace(tools=str(tools), tools_from_mcp=None, execute_tools=False)


async def test_a_run_lists_its_tools_once_and_saves_them(tmp_path: Path) -> None:
    source = tmp_path / "tools.src.json"
    source.write_text(json.dumps(TOOLS))
    run = tmp_path / "run"
    run.mkdir()
    sets = await asyncio.gather(*(run_toolset(params(source), run) for _ in range(5)))
    assert all(s is sets[0] for s in sets) and sets[0].names == ["convert"]  # one tool set, shared
    saved = json.loads((run / "tools.json").read_text())
    assert saved["tools"] == TOOLS


def test_a_resume_uses_the_saved_tools_even_if_the_file_changed(tmp_path: Path) -> None:
    source = tmp_path / "tools.src.json"
    source.write_text(json.dumps(TOOLS))
    run = tmp_path / "run"
    run.mkdir()
    asyncio.run(run_toolset(params(source), run))
    source.write_text("not json any more")  # the resumed run (a new event loop) reads tools.json, not the file
    again = asyncio.run(run_toolset(params(source), run))
    assert again.names == ["convert"]


def test_a_shape_whose_module_is_missing_fails_in_one_line() -> None:
    with pytest.raises(ShapeNotBuilt, match=r"^shape dreams: not built$"):
        _generator("no_such_module", "generate", "dreams")
