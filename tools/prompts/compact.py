"""The compact prompt profile, for small and local models (chosen automatically for `local:*` models).

A 135M-3B model cannot follow a page of nested rules: it copies placeholders from the prompt's shape and loops.
So the compact profile gives it one job per call, a prompt of a few lines, and worked examples from *other*
domains (written by us) as earlier chat turns, which small instruct models imitate far better than rules:
- decomposition asks only for new subtask names and one-line reasons; their examples come later from the
  ordinary enrich path;
- generation asks for a few examples of one task, shown one worked batch of the same flavour.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.tree.model import Example

Shots = list[tuple[str, str]]

DECOMPOSE_SYSTEM = "You split a task into smaller, more specific subtasks. Reply with JSON."
GENERATE_SYSTEM = "You write requests that a user sends to an AI assistant, each with a good answer. Reply with JSON."


def _list(items: Sequence[str]) -> str:
    return "\n".join(f"- {i}" for i in items) if items else "- none"


def decompose_text(target: str, parent: str | None, existing: Sequence[str], k: int, hints: Sequence[str]) -> str:
    """The user turn of a compact decomposition; the worked turns before it use the same layout.

    `parent` is the path from the root to the target's parent ("a > b"): one short line, so a deep task's
    subtasks stay inside the domain without a longer prompt a small model would copy from."""
    lines = [f"Task: {target}"]
    if parent:
        lines.append(f"Part of: {parent}")
    if hints:
        lines.append("Example requests:\n" + _list(hints))
    lines.append("Existing subtasks:\n" + _list(existing))
    lines.append(f"Give {k} new subtasks, different from the existing ones and from each other.")
    return "\n".join(lines)


def _subtasks(*pairs: tuple[str, str]) -> str:
    return json.dumps({"subtasks": [{"name": n, "reason": r} for n, r in pairs]})


DECOMPOSE_SHOTS: Shots = [
    (
        decompose_text("cooking dinner at home", None, ["planning a weekly menu"], 3, []),
        _subtasks(
            ("cooking quick pasta dishes", "pasta is a fast dinner most people can make"),
            ("grilling meat and vegetables", "grilling needs its own timing and heat skills"),
            ("baking bread by hand", "bread baking is a distinct skill with its own steps"),
        ),
    ),
    (
        decompose_text("writing cover letters", "applying for jobs", [], 2, ["Write a cover letter for a nurse job."]),
        _subtasks(
            ("tailoring a letter to a job ad", "matching the ad's wording shows the employer a fit"),
            ("explaining a career change", "people changing fields must justify the move"),
        ),
    ),
]


# What a generic request should look like. Under a task named like a topic ("discussing finances") the 135M model
# wrote statements and stories about it ("The first step is ..."), which are no request at all and which the
# verb-noun count finds nothing in; a request that opens with a verb and its object is one a user would send.
IMPERATIVE = (
    "Each instruction asks the assistant to do one thing about the task and starts with a verb and its object "
    "(Explain ..., List ..., Write ..., Compare ..., Suggest ...). Use a different verb each time."
)


def generate_text(task: str, parent: str | None, done: Sequence[str], n: int, ask: str = "") -> str:
    """The user turn of a compact generation; `ask` is a flavour's one line on the form of a request."""
    lines = [f"Task: {task}"]
    if parent:
        lines.append(f"Part of: {parent}")
    if done:
        lines.append("Already written (do not repeat):\n" + _list(done))
    lines.append(f"Write {n} new examples." + (f" {ask}" if ask else ""))
    return "\n".join(lines)


def _examples(*items: tuple[str, str, str]) -> str:
    return json.dumps({"examples": [{"instruction": i, "input": x, "output": o} for i, x, o in items]})


# One worked batch per flavour, on a topic far from the paper's domains, so a small model copies the form only.
GENERATE_SHOTS: dict[Flavour, tuple[str, str]] = {
    Flavour.GENERIC: (
        generate_text("caring for house plants", "gardening", [], 3, IMPERATIVE),
        _examples(
            ("Explain the watering needs of a snake plant.", "",
             "Water a snake plant every two to three weeks, and less in winter. Let the soil dry out completely "
             "between waterings, because wet roots rot."),
            ("List the plants from this set that can live in a dark bathroom.", "fern, cactus, pothos, rosemary",
             "A fern and a pothos both do well in low light and like the humid air of a bathroom. A cactus and "
             "rosemary need several hours of direct sun."),
            ("Write a weekly care schedule for three kitchen herbs.", "basil, mint, parsley",
             "Monday: water all three and check the soil. Wednesday: pinch the basil tips. Friday: water the mint, "
             "which likes moist soil, and turn the pots toward the light."),
        ),
    ),
    Flavour.REWRITING: (
        generate_text("making a note sound friendlier", "rewriting text", [], 2),
        _examples(
            ("Rewrite this note to a neighbour so it sounds friendly.", "Your dog barks all night. Stop it.",
             "Hi! I wanted to mention that your dog has been barking a lot at night. Could we find a way to keep "
             "it quieter? Thanks so much!"),
            ("Make this reminder kinder.", "You forgot to return my ladder again.",
             "Just a gentle reminder: could you bring the ladder back when you get a chance? Thank you!"),
        ),
    ),
    Flavour.BRAINSTORMING: (
        generate_text("ideas for a small garden", "brainstorming", [], 2),
        _examples(
            ("Suggest three ways to make a tiny balcony feel green.", "",
             "1. Hang planters on the railing. 2. Grow climbing beans on a trellis. 3. Put herbs in a stacked "
             "pot tower."),
            ("Give me ideas for a garden that children will enjoy.", "",
             "Plant sunflowers they can measure, make a small bean teepee to hide in, and give them one bed of "
             "their own for strawberries."),
        ),
    ),
    Flavour.MATH: (
        generate_text("areas of rectangles", "geometry", [], 2),
        _examples(
            ("A rectangle is 7 cm long and 4 cm wide. What is its area?", "",
             "The area of a rectangle is length times width: $7 \\times 4 = 28$. The answer is \\boxed{28}."),
            ("A square has an area of $49\\,\\text{m}^2$. How long is one side?", "",
             "A square's area is the side squared, so the side is $\\sqrt{49} = 7$. The answer is \\boxed{7}."),
        ),
    ),
}  # fmt: skip


def decompose_messages(
    target: str,
    parent: str | None,
    existing: Sequence[str],
    k: int,
    demonstrations: Sequence[Example],
    path: Sequence[str] = (),
) -> tuple[str, Shots, str]:
    """(system, worked turns, prompt) of one compact decomposition; `path` (root first, down to the target's
    parent) replaces `parent` on the "Part of" line when given."""
    hints = [d.instruction for d in demonstrations[:2]]
    part_of = " > ".join(path) if path else parent
    return DECOMPOSE_SYSTEM, DECOMPOSE_SHOTS, decompose_text(target, part_of, existing, k, hints)


def shot_examples(flavour: Flavour) -> list[Example]:
    """The worked examples a compact generation shows: a reply that repeats one of them copied the prompt."""
    return [Example.model_validate(e) for e in json.loads(GENERATE_SHOTS[flavour][1])["examples"]]


def generate_messages(
    task: str, parent: str | None, demonstrations: Sequence[Example], n: int, flavour: Flavour
) -> tuple[str, Shots, str]:
    """(system, worked turns, prompt) of one compact generation."""
    done = [d.instruction for d in demonstrations]
    ask = IMPERATIVE if flavour == Flavour.GENERIC else ""
    return GENERATE_SYSTEM, [GENERATE_SHOTS[flavour]], generate_text(task, parent, done, n, ask)
