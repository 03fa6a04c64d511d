"""Diversity over every user turn of conversations, beside the opening turns the report already measures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app
from explore_instruct.tools.dataset.diversity import diversity_of, fixed_sample
from explore_instruct.tools.dataset.turns import all_turns_report, user_turns

OPENINGS = [
    "Rewrite this note so it sounds polite: send the report now.",
    "Summarise the minutes of yesterday's budget meeting in three lines.",
    "Translate the welcome email for new staff into plain English.",
    "Draft a reminder about the parking rules for the office.",
]
SAME_FOLLOW_UPS = ["Make it shorter.", "Make it shorter."]
VARIED_FOLLOW_UPS = [
    ["Why did you drop the greeting?", "Now write it for the finance director."],
    ["Add the date of the next meeting.", "Explain the second line to a new hire."],
    ["Keep it under forty words.", "Which sentence matters most, and why?"],
    ["Use bullet points instead.", "Turn it into a friendly chat message."],
]


def chat(opening: str, follow_ups: list[str]) -> dict[str, object]:
    messages = []
    for i, user in enumerate([opening, *follow_ups]):
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": f"Answer {i}."}]
    return {"instruction": opening, "input": "", "output": messages[-1]["content"], "messages": messages}


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_user_turns_of_messages_and_sharegpt_rows() -> None:
    assert user_turns(chat("Open.", ["Then?", "  "])) == ["Open.", "Then?"]
    sharegpt = {"conversations": [{"from": "human", "value": "Hi there"}, {"from": "gpt", "value": "Hello"}]}
    assert user_turns(sharegpt) == ["Hi there"]
    assert user_turns({"instruction": "Single.", "output": "One."}) == []
    assert user_turns({"messages": "not a list"}) == []


def test_repeated_follow_ups_show_in_all_turns_not_in_the_openings() -> None:
    same = all_turns_report([[o, *SAME_FOLLOW_UPS] for o in OPENINGS], verbs=False, embed=None)
    varied = all_turns_report(
        [[o, *f] for o, f in zip(OPENINGS, VARIED_FOLLOW_UPS, strict=True)], verbs=False, embed=None
    )
    assert same is not None and varied is not None
    assert same["conversations"] == varied["conversations"] == 4
    assert same["user_turns"] == varied["user_turns"] == 12 and same["turns_per_conversation"] == 3
    # The openings are the same in both; only the follow-ups differ, and the all-turns figures tell them apart.
    assert same["distinct_2"] < varied["distinct_2"]
    assert same["compression_ratio"] > varied["compression_ratio"]
    assert all_turns_report([[], []], verbs=False, embed=None) is None


def test_a_dataset_file_of_conversations_reports_all_turns_beside_the_openings(tmp_path: Path) -> None:
    rows = [chat(o, f) for o, f in zip(OPENINGS, VARIED_FOLLOW_UPS, strict=True)]
    path = write_jsonl(tmp_path / "chats.jsonl", [*rows, {"instruction": "A single example here.", "output": "Yes."}])
    sampled = fixed_sample(path, None)
    assert sampled.texts[:4] == OPENINGS and sampled.conversations[4] == []
    out, _, _ = diversity_of(path, verbs=False, embeddings=False)
    assert out["overall"]["instructions"] == 5  # the opening turns (instructions), as before
    assert out["all_turns"]["user_turns"] == 12 and out["all_turns"]["conversations"] == 4
    single = write_jsonl(tmp_path / "single.jsonl", [{"instruction": o, "output": "Done."} for o in OPENINGS])
    assert "all_turns" not in diversity_of(single, verbs=False, embeddings=False)[0]


def test_an_exported_messages_file_keeps_its_turns(tmp_path: Path) -> None:
    """A file in the messages layout (no `instruction`): the reader takes the first turn as the instruction and
    keeps the conversation, so its follow-ups are measured too."""
    rows = [{"messages": chat(o, f)["messages"]} for o, f in zip(OPENINGS, VARIED_FOLLOW_UPS, strict=True)]
    out, sampled, _ = diversity_of(write_jsonl(tmp_path / "m.jsonl", rows), verbs=False, embeddings=False)
    assert sampled.texts == OPENINGS
    assert out["all_turns"]["user_turns"] == 12


@pytest.mark.parametrize("as_json", [True, False])
def test_stats_reports_all_turns(tmp_path: Path, as_json: bool) -> None:
    rows = [chat(o, f) for o, f in zip(OPENINGS, VARIED_FOLLOW_UPS, strict=True)]
    path = write_jsonl(tmp_path / "chats.jsonl", rows)
    args = ["stats", str(path), "--no-verbs", "--no-embeddings", *(["--json"] if as_json else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    if as_json:
        assert json.loads(result.output)["diversity"]["all_turns"]["user_turns"] == 12
    else:
        assert "all 12 user turns of 4 conversations: distinct-1" in " ".join(result.output.split())
