"""The curation layer: replay (order, idempotence, conflicts), the checks before a decision is written, and every
reader of a run's data honouring it (sample, export, stats through load_run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.dataset_run import make_run
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app
from explore_instruct.tools.dataset import curation
from explore_instruct.tools.dataset.curate import CurationError, curate
from explore_instruct.tools.dataset.curation import CURATION, Decision, replay
from explore_instruct.tools.dataset.sampling import curated, load_run, sample
from explore_instruct.tools.tree.model import Example

runner = CliRunner()


def _d(action: str, target: str, **kw: object) -> Decision:
    return Decision(action=action, target=target, **kw)  # type: ignore[arg-type]


def test_replay_folds_in_order_and_repeats_change_nothing() -> None:
    once = replay([_d("reject", "a"), _d("accept", "a"), _d("reject", "b")])
    twice = replay([_d("reject", "a"), _d("reject", "a"), _d("accept", "a"), _d("accept", "a"), _d("reject", "b")])
    assert {k: v.status for k, v in once.examples.items()} == {"a": "accepted", "b": "rejected"}
    assert {k: v.status for k, v in twice.examples.items()} == {k: v.status for k, v in once.examples.items()}


def test_edits_merge_field_by_field_and_an_edit_after_a_reject_readmits_with_a_conflict() -> None:
    state = replay(
        [
            _d("edit", "a", fields={"output": "one"}),
            _d("edit", "a", fields={"instruction": "Say it."}),
            _d("reject", "b", who="ann"),
            _d("edit", "b", fields={"output": "fixed"}, who="bob"),
        ]
    )
    assert state.examples["a"].fields == {"output": "one", "instruction": "Say it."}
    assert state.examples["b"].status == "accepted" and state.examples["b"].fields == {"output": "fixed"}
    assert state.conflicts == ["b: edited by bob after a reject; the edit keeps it"]
    assert state.summary()["conflicts"] == 1


def test_task_decisions() -> None:
    state = replay([_d("rescue", "t"), _d("pin", "u"), _d("unpin", "u"), _d("pin", "v")])
    assert state.tasks["t"].rescued and not state.tasks["u"].pinned and state.tasks["v"].pinned


def test_bad_decisions_are_one_line_errors(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    with pytest.raises(CurationError, match="no example 'nope'"):
        curate(run, "reject", ["nope"])
    with pytest.raises(CurationError, match="not pruned"):
        curate(run, "rescue", ["summaries"])
    with pytest.raises(CurationError, match="at least one of"):
        curate(run, "edit", ["summaries:x:9"])
    with pytest.raises(CurationError, match="cannot empty the instruction"):
        curate(run, "edit", ["summaries:x:9"], fields={"instruction": "  "})
    with pytest.raises(CurationError, match="not one of"):
        curate(run, "delete", ["summaries:x:9"])
    with pytest.raises(CurationError, match="not a run directory"):
        curate(tmp_path, "reject", ["x"])
    assert not (run / CURATION).exists()  # nothing written by a refused decision


def test_the_data_honours_the_log_and_examples_jsonl_is_never_rewritten(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    before = (run / "examples.jsonl").read_bytes()
    all_ids = [s.id for s in sample(load_run(run), None).examples]
    stored = sum(len(n.examples) for n in load_run(run, curated_view=False).tree.nodes.values())
    rejected, edited = all_ids[0], all_ids[1]
    curate(run, "reject", [rejected], note="off-topic", who="ann")
    curate(run, "edit", [edited], fields={"output": "A better answer."}, who="bob")
    view = sample(load_run(run), None)
    ids = [s.id for s in view.examples]
    assert rejected not in ids and edited in ids and len(ids) == len(all_ids) - 1
    fixed = next(s for s in view.examples if s.id == edited).example
    assert fixed.output == "A better answer."
    assert (fixed.model_extra or {})["curation"]["edited"] == ["output"]
    assert (run / "examples.jsonl").read_bytes() == before
    raw = load_run(run, curated_view=False)
    assert sum(len(n.examples) for n in raw.tree.nodes.values()) == stored
    assert load_run(run).curation == {
        "decisions": 2,
        "rejected": 1,
        "accepted": 1,
        "edited": 1,
        "rescued": 0,
        "pinned": 0,
        "conflicts": 0,
    }


def test_repeating_a_decision_writes_nothing_more(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    target = sample(load_run(run), None).examples[0].id
    assert curate(run, "reject", [target])["recorded"] == [target]
    assert curate(run, "reject", [target]) == {"recorded": [], "unchanged": [target], "action": "reject"}
    assert len(curation.read_decisions(run)) == 1


def test_a_line_cut_by_a_kill_is_skipped(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    target = sample(load_run(run), None).examples[0].id
    curate(run, "reject", [target])
    with open(run / CURATION, "a", encoding="utf-8") as f:
        f.write('{"action": "reject", "target": "summ')
    assert [d.target for d in curation.read_decisions(run)] == [target]


def test_bulk_reject_by_text_and_branch(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    result = curate(run, "reject", match="SUMMARI", note="no summaries")
    texts = [s.example.instruction for s in sample(load_run(run), None).examples]
    assert result["matched"] == len(result["recorded"]) >= 2
    assert not any("summari" in t.lower() for t in texts)
    branch = curate(run, "reject", task="product_copy")
    left = {s.node_id for s in sample(load_run(run), None).examples}
    assert branch["matched"] == 7 and not left & {"product_copy", "editing_copy"}
    with pytest.raises(CurationError, match="name no ids"):
        curate(run, "reject", ["x"], match="a")


def test_review_cli_and_export_honour_the_log(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    ids = [s.id for s in sample(load_run(run), None).examples]
    res = runner.invoke(app, ["review", str(run), "--reject", ids[0], "--note", "wrong", "--who", "ann", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["recorded"] == [ids[0]]
    res = runner.invoke(app, ["review", str(run), "--edit", ids[1], "--output", "Edited.", "--who", "bob"])
    assert res.exit_code == 0 and "edit: 1 recorded" in res.output
    res = runner.invoke(app, ["review", str(run), "--reject", ids[2], "--accept", ids[3]])
    assert res.exit_code == 2 and "one kind of decision" in res.output
    res = runner.invoke(app, ["review", str(run), "--reject", "missing"])
    assert res.exit_code == 2 and "no example 'missing'" in res.output
    res = runner.invoke(app, ["review", str(run)])
    assert res.exit_code == 0 and "rejected 1" in res.output and "edited 1" in res.output
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["export", str(run), "--format", "jsonl", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert ids[0] not in {r["id"] for r in rows}
    assert next(r for r in rows if r["id"] == ids[1])["output"] == "Edited."
    card = (tmp_path / "README.md").read_text()  # the dataset card beside the export
    assert "## Curation" in card and "1 examples rejected, 1 edited" in card
    log = [json.loads(line) for line in (run / CURATION).read_text().splitlines()]
    assert [(d["action"], d["target"], d["who"]) for d in log] == [("reject", ids[0], "ann"), ("edit", ids[1], "bob")]
    assert log[0]["note"] == "wrong" and log[0]["at"].endswith("Z")


def test_an_edit_of_a_conversation_reaches_the_turns_its_export_is_made_from(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    raw = load_run(run, curated_view=False)
    node_id, ids = next((n, i) for n, i in raw.ids.items() if i)
    node = raw.tree.nodes[node_id]
    first = node.examples[0]
    turns = [
        {"role": "user", "content": first.instruction},
        {"role": "assistant", "content": "A first answer."},
        {"role": "user", "content": "Shorter, please."},
        {"role": "assistant", "content": first.output},
    ]
    node.examples[0] = Example(**first.model_dump(), messages=turns)
    curate(run, "edit", [ids[0]], fields={"instruction": "Write a haiku about the sea.", "output": "Salt wind."})
    edited = curated(raw).tree.nodes[node_id].examples[0]
    got = [t["content"] for t in (edited.model_extra or {})["messages"]]
    assert got == ["Write a haiku about the sea.", "A first answer.", "Shorter, please.", "Salt wind."]
    assert edited.instruction == "Write a haiku about the sea." and turns[0]["content"] == first.instruction
