"""The `curate` operation: the review decisions an agent makes (LangChain tool, MCP tool, chat agent) go through
`curate.curate` into the run's curation.jsonl, like the CLI's and the web workbench's."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from support.review_run import make_review_run

from explore_instruct.agent.operations.catalogue import CATALOGUE
from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.tools.dataset import curation
from explore_instruct.tools.dataset.curate import CurationError
from explore_instruct.tools.dataset.sampling import load_run


@pytest.fixture
def runner(tmp_path: Path) -> SimpleNamespace:
    make_review_run(tmp_path / "root")
    return SimpleNamespace(limits=Limits(output_root=str(tmp_path / "root")))


async def test_curate_rejects_edits_rescues_and_answers_the_review_so_far(runner: SimpleNamespace) -> None:
    op = CATALOGUE["curate"]
    run = runner.limits.root / "review"
    first, second = load_run(run).ids["t0"][:2]
    out = await op(runner, {"run": "review", "action": "reject", "ids": [first], "note": "off topic"})
    assert out["recorded"] == [first] and out["review"]["rejected"] == 1 and out["run_id"] == "review"
    out = await op(runner, {"run": "review", "action": "edit", "ids": [second], "output": "Better."})
    assert out["review"]["edited"] == 1
    out = await op(runner, {"run": "review", "action": "reject", "match": "SUMMARIZE", "task": "t1"})
    assert out["matched"] == len(out["recorded"]) > 0
    out = await op(runner, {"run": "review", "action": "rescue", "ids": ["t2"]})
    assert out["review"]["rescued"] == 1
    assert [(d.action, d.who) for d in curation.read_decisions(run)][:2] == [("reject", "agent"), ("edit", "agent")]
    kept = load_run(run)
    assert (
        first not in kept.ids["t0"] and kept.tree.nodes["t0"].examples[kept.ids["t0"].index(second)].output == "Better."
    )


async def test_curate_refuses_bad_input_in_one_line(runner: SimpleNamespace) -> None:
    op = CATALOGUE["curate"]
    with pytest.raises(ValidationError, match="action"):
        await op(runner, {"run": "review", "action": "delete", "ids": ["x"]})
    with pytest.raises(CurationError, match="no example 'nope' in this run"):
        await op(runner, {"run": "review", "action": "reject", "ids": ["nope"]})
    with pytest.raises(LimitError, match="outside the output root"):
        await op(runner, {"run": "../x", "action": "reject", "ids": ["nope"]})
