"""Exports: every format round-trips with its metadata; writes are atomic, confined and never clobber silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.dataset_run import SECRET, make_run, read_json

from explore_instruct.tools.dataset.card import card_for, run_accounting
from explore_instruct.tools.dataset.export import (
    CARD,
    FORMATS,
    ExportError,
    check_format,
    push_to_hub,
    write_dataset,
)
from explore_instruct.tools.dataset.export_chat import prompt_text
from explore_instruct.tools.dataset.read_back import read_dataset
from explore_instruct.tools.dataset.sampling import SampledExample, load_run, sample


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path)


def drawn(run: Path) -> list[SampledExample]:
    return sample(load_run(run), None, max_depth=None).examples


def expected(s: SampledExample, chat: bool) -> dict[str, object]:
    ex = s.example
    text = {"instruction": prompt_text(ex.instruction, ex.input), "input": "", "output": ex.output} if chat else {
        "instruction": ex.instruction, "input": ex.input, "output": ex.output
    }  # fmt: skip
    return text | {"id": s.id, "node_id": s.node_id, "depth": s.depth, "task_path": list(s.path)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_text_and_metadata(run: Path, tmp_path: Path, fmt: str) -> None:
    examples = drawn(run)
    out = tmp_path / "out" / fmt
    written = write_dataset(check_format(fmt), examples, out, card="# card\n")
    assert all(p.exists() for p in written)
    data = written[0]
    # A conversation's turns ride along when read back (`messages`, `conversations`); the text is what is compared.
    rows = [{k: v for k, v in r.items() if k not in ("messages", "conversations")} for r in read_dataset(data)]
    chat = fmt in ("sharegpt", "messages", "openai")
    if fmt == "openai":  # OpenAI's format is messages and tools only: no metadata to keep
        assert rows == [{k: v for k, v in expected(s, chat).items() if k in ("instruction", "input", "output")}
                        for s in examples]  # fmt: skip
        return
    assert rows == [expected(s, chat) for s in examples]
    edit = next(r for r in rows if r["node_id"] == "editing_copy")
    assert edit["task_path"] == ["Writing help", "Product copy", "Editing copy"] and edit["depth"] == 2
    card = (data / CARD) if fmt == "hf" else data.parent / CARD
    assert card.read_text() == "# card\n"


def test_format_shapes(run: Path, tmp_path: Path) -> None:
    examples = drawn(run)
    with_input = next(i for i, s in enumerate(examples) if s.example.input)
    write_dataset("sharegpt", examples, tmp_path / "s")
    write_dataset("messages", examples, tmp_path / "m")
    sharegpt = read_json(tmp_path / "s" / "sharegpt.json")
    assert isinstance(sharegpt, list)
    turn = sharegpt[with_input]["conversations"]
    assert [t["from"] for t in turn] == ["human", "gpt"]
    assert turn[0]["value"] == f"{examples[with_input].example.instruction}\n\n{examples[with_input].example.input}"
    lines = (tmp_path / "m" / "messages.jsonl").read_text().splitlines()
    assert len(lines) == len(examples)
    msg = json.loads(lines[with_input])["messages"]
    assert [m["role"] for m in msg] == ["user", "assistant"]
    assert msg[1]["content"] == examples[with_input].example.output


def test_hf_dataset_loads_with_datasets(run: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    examples = drawn(run)
    write_dataset("hf", examples, tmp_path / "hf", card="card")
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert ds.num_rows == len(examples)
    assert {"instruction", "input", "output", "messages", "id", "node_id", "depth", "task_path"} <= set(ds.column_names)
    assert ds[0]["messages"][0]["role"] == "user"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_alpaca_without_metadata(run: Path, tmp_path: Path) -> None:
    write_dataset("alpaca", drawn(run), tmp_path / "a.json", with_meta=False)
    rows = read_json(tmp_path / "a.json")
    assert isinstance(rows, list)
    assert all(set(r) == {"instruction", "input", "output"} for r in rows)
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~mask  # not the temp file's private 0600


def test_refuses_overwrite_without_force(run: Path, tmp_path: Path) -> None:
    examples = drawn(run)
    write_dataset("jsonl", examples[:2], tmp_path / "d.jsonl", card="one")
    with pytest.raises(ExportError, match="--force"):
        write_dataset("jsonl", examples, tmp_path / "d.jsonl", card="two")
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 2
    write_dataset("jsonl", examples, tmp_path / "d.jsonl", card="two", force=True)
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == len(examples)
    assert (tmp_path / CARD).read_text() == "two"
    write_dataset("hf", examples[:1], tmp_path / "hf")
    with pytest.raises(ExportError, match="--force"):
        write_dataset("hf", examples, tmp_path / "hf")
    write_dataset("hf", examples, tmp_path / "hf", force=True)
    assert len(read_dataset(tmp_path / "hf")) == len(examples)


def test_write_is_atomic(run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    examples = drawn(run)
    target = tmp_path / "o" / "data.json"
    write_dataset("alpaca", examples[:1], target)
    before = target.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_dataset("alpaca", examples, target, force=True)
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["data.json"]  # no temp file left behind


def test_paths_are_confined_to_the_output_directory(run: Path, tmp_path: Path) -> None:
    examples = drawn(run)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match=r"'\.\.'"):
        write_dataset("alpaca", examples, out / ".." / "escape.json")
    (out / CARD).symlink_to(outside)
    with pytest.raises(ExportError, match="symlink"):
        write_dataset("alpaca", examples, out / "d.json", card="x", force=True)
    (out / CARD).unlink()
    (out / "d.json").symlink_to(outside)
    with pytest.raises(ExportError, match="symlink"):
        write_dataset("alpaca", examples, out / "d.json", force=True)
    assert outside.read_text() == "keep me"
    linked = tmp_path / "linked"
    linked.symlink_to(outside)
    with pytest.raises(ExportError):
        write_dataset("hf", examples, linked, force=True)
    assert outside.read_text() == "keep me"


def test_card_has_counts_and_no_secret(run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    loaded = load_run(run)
    result = sample(loaded, 6, seed=0, max_depth=3)
    card = card_for(loaded, result, fmt="alpaca", files=["data.json"])
    written = write_dataset("alpaca", result.examples, tmp_path / "o", card=card)
    assert "| 1 | 2 | 7 | " in card  # depth 1: two tasks (the pruned one left out), 7 examples in the tree
    assert "- tasks pruned: 1 (rouge 0.86 against Summaries: 1)" in card
    assert "- candidates dropped: 3" in card and "| dedup:similar_instruction | 2 |" in card
    assert "- tokens: 4500 in, 1000 out" in card
    assert "- LLM calls: 3 (2 valid)" in card
    assert "- model: `openai:gpt-4o-mini`" in card
    assert "- cost: $0.0013" in card  # (4500 * 0.15 + 1000 * 0.60) / 1e6
    assert "6 of 6 requested examples" in card
    for path in written:
        text = path.read_text()
        assert SECRET not in text and "hunter2password" not in text
    assert "api_key_env" in card  # the variable's name is fine; its value never is


def test_accounting_of_a_run(run: Path) -> None:
    acc = run_accounting(run)
    assert acc["calls"] == 3 and acc["calls_ok"] == 2
    assert acc["drops"] == {"dedup:similar_instruction": 2, "generate:instruction_length": 1}
    assert acc["cost_usd"] == pytest.approx(0.001275)


def test_push_needs_a_token(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ExportError, match="HF_TOKEN"):
        push_to_hub(drawn(run), "me/data", card=None)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not one of"):
        check_format("csv")
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    with pytest.raises(ExportError, match="list of examples"):
        read_dataset(bad)
    bad.write_text('[{"foo": 1}]')
    with pytest.raises(ExportError, match="no 'instruction'"):
        read_dataset(bad)
