"""Prompts of a grounded run: the task with its retrieved chunks, and a quote copied from one of them.

Grounding gives the model one more job, so it is kept to the smallest form a 135M model can do: the sources are
numbered passages, each example names the passage it rests on (`source`) and copies one sentence of it, word for
word (`quote`). Copying a span is within a small model's reach where paraphrasing faithfully is not, and the
copy is checked (tools/corpus/quotes.py). The user turn keeps the layout of the ordinary prompts ("Task:",
"Write N new examples"), so the compact profile's worked turn and the test model read it the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from explore_instruct.tools.corpus.retrieve import Passage
from explore_instruct.tools.prompts.compact import Shots

SHOW_CHARS = 700  # of each passage in a prompt (a quote is checked against the whole chunk)
SOURCES_HEADER = "Sources:"

SYSTEM_COMPACT = (
    "You write requests that a user sends to an AI assistant, each with a good answer taken from the sources. "
    "Reply with JSON."
)
SYSTEM_FULL = (
    "You are helping build an instruction-tuning dataset grounded in a user's documents. Every answer must be "
    "supported by the numbered sources shown: name the source it rests on and copy, word for word, one sentence "
    "of that source that supports it. Do not use facts the sources do not state. Reply with JSON only."
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


def _shot() -> tuple[str, str]:
    shown: list[Passage] = [
        Passage(
            chunk_id="shot:0",
            doc="plants.md",
            page=None,
            headings=[],
            text="A snake plant needs water every two to three weeks. Let the soil dry out completely between "
            "waterings, because wet roots rot.",
            score=1.0,
        ),
        Passage(
            chunk_id="shot:1",
            doc="plants.md",
            page=None,
            headings=[],
            text="Ferns and pothos grow well in low light. Both like the humid air of a bathroom.",
            score=1.0,
        ),
    ]
    reply = {
        "examples": [
            {
                "instruction": "How often should I water my snake plant?",
                "input": "",
                "output": "Every two to three weeks. Wait until the soil is completely dry, since wet roots rot.",
                "source": 1,
                "quote": "Let the soil dry out completely between waterings, because wet roots rot.",
            },
            {
                "instruction": "Which plants can I keep in a dark bathroom?",
                "input": "",
                "output": "Ferns and pothos: they grow in low light and like a bathroom's humid air.",
                "source": 2,
                "quote": "Ferns and pothos grow well in low light.",
            },
        ]
    }
    return grounded_generate_text("caring for house plants", "gardening", shown, [], 2), json.dumps(reply)


def grounded_generate_messages(
    task: str, parent: str | None, passages: Sequence[Passage], done: Sequence[str], n: int, compact: bool
) -> tuple[str, Shots, str]:
    """(system, worked turns, prompt) of one grounded generation; the compact profile gets one worked turn."""
    prompt = grounded_generate_text(task, parent, passages, done, n)
    return (SYSTEM_COMPACT, [_shot()], prompt) if compact else (SYSTEM_FULL, [], prompt)


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
