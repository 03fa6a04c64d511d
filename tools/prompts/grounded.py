"""Prompts of a grounded run: the task with its retrieved chunks, and a quote copied from one of them.

Copying a span is within a small model's reach where paraphrasing faithfully is not, and the copy is checked
(tools/corpus/quotes.py). The full profile shows numbered sources: each example names the one it rests on
(`source`) and copies one sentence of it (`quote`). The compact profile gives a 135M model one job it can do: ONE
text, no numbers, "copy a sentence, say what it says, then the question it answers" (its schema puts `quote` first,
tools/generation/grounded.py). Both keep the layout of the ordinary prompts ("Task:", "Write N new examples"), so
the worked turn and the test model read them the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from explore_instruct.tools.corpus.retrieve import Passage
from explore_instruct.tools.prompts.compact import Shots

SHOW_CHARS = 700  # of each passage in a prompt (a quote is checked against the whole chunk)
SOURCES_HEADER = "Sources:"

SYSTEM_FULL = (
    "You are helping build an instruction-tuning dataset grounded in a user's documents. Every answer must be "
    "supported by the numbered sources shown: name the source it rests on and copy, word for word, one sentence "
    "of that source that supports it. Do not use facts the sources do not state. Reply with JSON only."
)
SYSTEM_ONE_TEXT = (
    "You turn a text into questions a user asks an AI assistant, each answered by one sentence of the text. "
    "Reply with JSON."
)
TEXT_HEADER = "Text:"
RULE_ONE_TEXT = (
    'For each example first copy one sentence of the text word for word as "quote", then write an "output" that '
    'says what this sentence says, then the "instruction": a question from a user that this output answers.'
)
RULE = (
    'For each example give "source" (the number of the source it uses) and "quote" '
    "(one sentence copied word for word from that source)."
)


def sources_text(passages: Sequence[Passage], show: int = SHOW_CHARS) -> str:
    lines = [SOURCES_HEADER]
    for i, p in enumerate(passages, 1):
        text = " ".join(p["text"].split())
        lines.append(f"[{i}] {text[:show]}")
    return "\n".join(lines)


def grounded_generate_text(
    task: str, parent: str | None, passages: Sequence[Passage], done: Sequence[str], n: int
) -> str:
    lines = [f"Task: {task}"]
    if parent:
        lines.append(f"Part of: {parent}")
    lines.append(sources_text(passages))
    if done:
        lines.append("Already written (do not repeat):\n" + "\n".join(f"- {d}" for d in done))
    lines.append(f"Write {n} new examples. {RULE}")
    return "\n".join(lines)


def one_text_prompt(task: str, parent: str | None, passage: Passage | None, done: Sequence[str], n: int) -> str:
    """The compact profile's user turn: the task, one text (no number to cite), what is already written."""
    lines = [f"Task: {task}"]
    if parent:
        lines.append(f"Part of: {parent}")
    text = " ".join(passage["text"].split())[:SHOW_CHARS] if passage else ""
    lines.append(f"{TEXT_HEADER} {text}")
    if done:
        lines.append("Already written (do not repeat):\n" + "\n".join(f"- {d}" for d in done))
    lines.append(f"Write {n} new examples. {RULE_ONE_TEXT}")
    return "\n".join(lines)


PLANTS = (
    "A snake plant needs water every two to three weeks. Let the soil dry out completely between waterings, "
    "because wet roots rot. It grows well in low light."
)


def _one_text_shot() -> tuple[str, str]:
    """The compact worked turn: one text, each example's quote first (the order the schema holds the model to)."""
    shown = Passage(chunk_id="shot:0", doc="plants.md", page=None, headings=[], text=PLANTS, score=1.0)
    reply = {
        "examples": [
            {
                "quote": "A snake plant needs water every two to three weeks.",
                "output": "A snake plant needs water every two to three weeks.",
                "instruction": "How often should I water my snake plant?",
                "input": "",
            },
            {
                "quote": "Let the soil dry out completely between waterings, because wet roots rot.",
                "output": "Because wet roots rot: let the soil dry out completely between waterings.",
                "instruction": "Why should the soil of my snake plant dry out before I water it again?",
                "input": "",
            },
        ]
    }
    return one_text_prompt("caring for house plants", "gardening", shown, [], 2), json.dumps(reply)


def grounded_generate_messages(
    task: str, parent: str | None, passages: Sequence[Passage], done: Sequence[str], n: int, compact: bool
) -> tuple[str, Shots, str]:
    """(system, worked turns, prompt) of one grounded generation. The compact profile is shown the first passage
    only, with one worked turn; the full profile all of them, numbered."""
    if compact:
        prompt = one_text_prompt(task, parent, passages[0] if passages else None, done, n)
        return SYSTEM_ONE_TEXT, [_one_text_shot()], prompt
    return SYSTEM_FULL, [], grounded_generate_text(task, parent, passages, done, n)


def grounding_lines(passages: Sequence[Passage], show: int = 300) -> str:
    """The passages a decomposition is shown (lookahead): short, numbered, for 'work these can answer'."""
    if not passages:
        return ""
    body = "\n".join(f"[{i}] {' '.join(p['text'].split())[:show]}" for i, p in enumerate(passages, 1))
    return f"From the documents:\n{body}\nPropose only subtasks these documents can answer."


COVERAGE_HEADER = "Not yet covered by any task:"


def coverage_lines(passages: Sequence[Passage], show: int = 300) -> str:
    """The uncovered chunks an alternative-siblings call is shown (coverage-driven backtracking)."""
    if not passages:
        return ""
    body = "\n".join(f"[{i}] {' '.join(p['text'].split())[:show]}" for i, p in enumerate(passages, 1))
    return f"{COVERAGE_HEADER}\n{body}\nPropose subtasks for work these parts of the documents answer."


OUTLINE_HEADER = "The documents' sections:"


def first_level_lines(section_names: Sequence[str], passages: Sequence[Passage], show: int = 300) -> str:
    """What a grounded run's first decomposition is shown: the corpus's outline and a passage from each cluster."""
    lines: list[str] = []
    if section_names:
        lines.append(OUTLINE_HEADER + "\n" + "\n".join(f"- {s}" for s in section_names))
    if passages:
        body = "\n".join(f"[{i}] {' '.join(p['text'].split())[:show]}" for i, p in enumerate(passages, 1))
        lines.append(f"Representative passages:\n{body}")
    if not lines:
        return ""
    return "\n".join(lines) + "\nPropose subtasks that cover these parts of the documents."
