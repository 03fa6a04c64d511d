"""The grounded prompts by profile: the compact one shows one text and asks for the quote first; the full one
numbers every source."""

from __future__ import annotations

import json

from explore_instruct.tools.corpus.retrieve import Passage
from explore_instruct.tools.prompts.grounded import TEXT_HEADER, grounded_generate_messages


def passage(i: int, text: str) -> Passage:
    return Passage(chunk_id=f"doc#{i}", doc="doc.md", page=None, headings=[], text=text, score=0.5)


SHOWN = [passage(0, "Alpha first sentence here.  Alpha second\nsentence."), passage(1, "Beta text entirely.")]


def test_the_compact_prompt_shows_one_text_without_numbers_and_asks_for_the_quote_first() -> None:
    system, _shots, prompt = grounded_generate_messages("Use alpha", "Greek", SHOWN, ["Done one?"], 3, compact=True)
    assert f"{TEXT_HEADER} Alpha first sentence here. Alpha second sentence." in prompt.splitlines()
    assert "Beta" not in prompt and "[1]" not in prompt and "source" not in prompt.lower()
    assert prompt.startswith("Task: Use alpha\nPart of: Greek\n")
    assert "- Done one?" in prompt and "Write 3 new examples." in prompt
    assert prompt.index('"quote"') < prompt.index('"output"') < prompt.index('"instruction"')
    assert len(system) < 200  # a small model's system turn stays short


def test_the_compact_worked_turn_writes_the_quote_first_and_answers_with_it() -> None:
    _, shots, _ = grounded_generate_messages("Use alpha", None, SHOWN, [], 2, compact=True)
    [(shown, reply)] = shots
    text = next(line for line in shown.splitlines() if line.startswith(TEXT_HEADER))
    for example in json.loads(reply)["examples"]:
        assert list(example) == ["quote", "output", "instruction", "input"]
        assert example["quote"] in text  # copied word for word
        assert "source" not in example


def test_the_full_prompt_numbers_every_source_and_keeps_its_rule() -> None:
    system, shots, prompt = grounded_generate_messages("Use alpha", None, SHOWN, [], 2, compact=False)
    assert shots == []
    assert "Sources:\n[1] Alpha first sentence here. Alpha second sentence.\n[2] Beta text entirely." in prompt
    assert '"source"' in prompt and "numbered sources" in system


def test_a_compact_call_with_no_passage_still_builds_a_prompt() -> None:
    _, _, prompt = grounded_generate_messages("Use alpha", None, [], [], 1, compact=True)
    assert f"{TEXT_HEADER} \n" in prompt
