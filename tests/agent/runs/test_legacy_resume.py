"""Run directories written before graphs/explore.py was split into modules still resume.

tests/fixtures/legacy_runs/ holds two runs made by commit 37dcf17 (see make.py there), paused by a calls
budget: one inside exploration, one inside enrichment. Each is copied to a new place (so the checkpoint's
own run_dir points elsewhere) and resumed with today's graph and a larger budget: it must finish with every
task's quota met, no example lost or doubled, the examples written before the pause untouched, nothing
written where it was made, and the same tree as the same run made today with the same pause (the paused-in-
exploration run must match that run example for example).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command
from support.scripted import Script

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.tree.ei_dir import load_ei_dir

LEGACY = Path(__file__).parents[2] / "fixtures" / "legacy_runs"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def stored_context(source: Path, **overrides: Any) -> Context:
    """The run's stored parameters as a resume reads them; `max_calls=None` lifts the budget."""
    params = json.loads((source / "run.json").read_text(encoding="utf-8"))["context"]
    ctx = Context.from_stored(params, **overrides)
    return dataclasses.replace(ctx, max_calls=None) if overrides.get("max_calls", 0) is None else ctx


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def meta_calls(run_dir: Path) -> int:
    """Calls the old code made before the pause (its budget)."""
    return int(json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["context"]["max_calls"])


@pytest.mark.parametrize("name", ["explore-paused", "enrich-paused"])
async def test_a_run_paused_by_the_old_code_resumes_to_the_same_end(tmp_path: Path, name: str) -> None:
    run_dir = tmp_path / "moved" / name
    shutil.copytree(LEGACY / name, run_dir)
    original = snapshot(LEGACY / name)
    before = (run_dir / "examples.jsonl").read_bytes()
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    model = Script(dup_share=0.3).chat_model()
    ctx = stored_context(run_dir, run_dir=str(run_dir), chat_model=model, max_calls=None)
    config: Any = {"configurable": {"thread_id": meta["thread_id"]}, "recursion_limit": 10_000}

    async with AsyncSqliteSaver.from_conn_string(str(run_dir / "checkpoints.sqlite")) as saver:
        graph = builder.compile(checkpointer=saver)
        paused = await graph.aget_state(config)
        assert [i.value["kind"] for i in paused.interrupts] == ["budget"]
        await graph.ainvoke(Command(resume={}), config, context=ctx)
        done = await graph.aget_state(config)

    assert done.interrupts == () and done.values["status"] == "done"
    records = lines(run_dir / "examples.jsonl")
    assert (run_dir / "examples.jsonl").read_bytes().startswith(before)
    assert len({r["id"] for r in records}) == len(records) == done.values["summary"]["examples"]
    # Everything the resumed run wrote is in its new place; nothing went to the directory it was made in
    # (the checkpoint names it; in a clone at another path it would not even exist).
    assert done.values["summary"]["paths"]["run_dir"] == str(run_dir)
    assert snapshot(LEGACY / name) == original

    # Every task reached its quota, each example once, and the tree snapshot holds exactly what was kept.
    assert done.values["summary"]["shortfall"] == {}
    assert len({r["instruction"] for r in records}) == len(records)
    tree = load_ei_dir(run_dir / "tree")
    assert sum(len(n.examples) for n in tree.preorder()) == len(records)

    # Today's code, the same run with the same pause. Paused inside exploration, all generation happens after
    # the resume, so the run must end identically. Paused inside enrichment, the examples before the pause
    # answered the old code's prompts: their text, hence which later candidates are near-duplicates, differs
    # from a run made today whenever the prompts have changed, so there only the tree must be the same.
    today_dir = tmp_path / "today"
    script = Script(dup_share=0.3).chat_model()
    today = builder.compile(checkpointer=InMemorySaver())
    today_config: Any = {"configurable": {"thread_id": "today"}, "recursion_limit": 10_000}
    await today.ainvoke(
        {"domain": meta["input"]["domain"]},
        today_config,
        context=stored_context(run_dir, run_dir=str(today_dir), chat_model=script),
    )
    assert [i.value["kind"] for i in (await today.aget_state(today_config)).interrupts] == ["budget"]
    lifted = stored_context(run_dir, run_dir=str(today_dir), chat_model=script, max_calls=None)
    await today.ainvoke(Command(resume={}), today_config, context=lifted)
    reference = await today.aget_state(today_config)
    assert reference.values["status"] == "done"
    assert json.loads((run_dir / "tree" / "tree_meta_info.json").read_text(encoding="utf-8")) == json.loads(
        (today_dir / "tree" / "tree_meta_info.json").read_text(encoding="utf-8")
    )
    assert done.values["visits"] == reference.values["visits"]
    if name == "explore-paused":
        assert records == lines(today_dir / "examples.jsonl")
        assert done.values["stats"]["calls"] == reference.values["stats"]["calls"] == model.calls + meta_calls(run_dir)
