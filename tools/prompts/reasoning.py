"""Prompts of the `reasoning` shape: each example carries the thinking that leads to its answer.

The compact profile (small and local models) keeps the compact generation's form (tools/prompts/compact.py): a
few lines of prompt and one worked batch per flavour, now with a `reasoning` before each `output`, on topics far
from the paper's domains so a small model copies the form only. The reasoning is written before the answer in the
JSON, so a model that writes in order thinks first. The full profile is the method's generation prompt
(tools/prompts/full.py) with the reasoning asked for in words and in the reply's fields.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

from explore_instruct.tools.prompts.compact import Shots, generate_text
from explore_instruct.tools.prompts.full import Flavour, generate_prompt
from explore_instruct.tools.tree.model import Example

__all__ = ["REASONING_SHOTS", "REASONING_SYSTEM", "reasoning_messages", "reasoning_prompt", "reasoning_shot_examples"]

REASONING_SYSTEM = (
    "You write requests that a user sends to an AI assistant. For each, write the assistant's thinking first "
    "(reasoning: the steps that lead to the answer), then its answer (output). Reply with JSON."
)

_RULES = """Each example also has a "reasoning": the assistant's thinking before it answers, in a few plain
sentences: what the request needs, the steps or the facts that decide the answer, and the result. The reasoning
must lead to the output without repeating it word for word, and must not contradict it. For math, the reasoning
works the problem out and ends with the value that the output boxes."""


def _examples(*items: tuple[str, str, str, str]) -> str:
    return json.dumps(
        {"examples": [{"instruction": i, "input": x, "reasoning": r, "output": o} for i, x, r, o in items]}
    )


# One worked batch per flavour, the compact generation's topics, each with a short reasoning (the embedded model's
# grammar caps a string it has no cap for at 300 characters: the shots stay well under it).
REASONING_SHOTS: dict[Flavour, tuple[str, str]] = {
    Flavour.GENERIC: (
        generate_text("caring for house plants", "gardening", [], 2),
        _examples(
            ("How often should I water a snake plant?", "",
             "A snake plant is a succulent: it stores water in its leaves and its roots rot in wet soil. So it "
             "needs little water, and even less in winter when it grows slowly.",
             "Water a snake plant every two to three weeks, and less in winter. Let the soil dry out completely "
             "between waterings."),
            ("Which of these plants can live in a dark bathroom?", "fern, cactus, pothos, rosemary",
             "A bathroom is dark and humid. Ferns and pothos grow in shade and like humid air; a cactus and "
             "rosemary need bright sun.",
             "A fern and a pothos both do well in low light and like the humid air of a bathroom."),
        ),
    ),
    Flavour.REWRITING: (
        generate_text("making a note sound friendlier", "rewriting text", [], 2),
        _examples(
            ("Rewrite this note to a neighbour so it sounds friendly.", "Your dog barks all night. Stop it.",
             "The note blames and orders. A friendly version greets the neighbour, states the problem gently "
             "and asks instead of commanding.",
             "Hi! I wanted to mention that your dog has been barking a lot at night. Could we find a way to keep "
             "it quieter? Thanks so much!"),
            ("Make this reminder kinder.", "You forgot to return my ladder again.",
             "Saying 'you forgot again' sounds like an accusation. A kind reminder leaves out the blame and asks "
             "politely.",
             "Just a gentle reminder: could you bring the ladder back when you get a chance? Thank you!"),
        ),
    ),
    Flavour.BRAINSTORMING: (
        generate_text("ideas for a small garden", "brainstorming", [], 2),
        _examples(
            ("Suggest three ways to make a tiny balcony feel green.", "",
             "A tiny balcony has little floor space, so the ideas should use the railing, the height and small "
             "pots.",
             "1. Hang planters on the railing. 2. Grow climbing beans on a trellis. 3. Put herbs in a stacked "
             "pot tower."),
            ("Give me ideas for a garden that children will enjoy.", "",
             "Children like plants that grow fast, places to hide and a part that is their own.",
             "Plant sunflowers they can measure, make a small bean teepee to hide in, and give them one bed of "
             "their own for strawberries."),
        ),
    ),
    Flavour.MATH: (
        generate_text("areas of rectangles", "geometry", [], 2),
        _examples(
            ("A rectangle is 7 cm long and 4 cm wide. What is its area?", "",
             "The area of a rectangle is its length times its width: 7 times 4 is 28.",
             "The area is $7 \\times 4 = 28\\,\\text{cm}^2$. The answer is \\boxed{28}."),
            ("A square has an area of $49\\,\\text{m}^2$. How long is one side?", "",
             "A square's area is its side squared, so the side is the square root of 49, which is 7.",
             "The side is $\\sqrt{49} = 7$ m. The answer is \\boxed{7}."),
        ),
    ),
}  # fmt: skip


def reasoning_shot_examples(flavour: Flavour) -> list[Example]:
    """The worked examples a compact reasoning call shows: a reply that repeats one of them copied the prompt."""
    return [Example.model_validate(e) for e in json.loads(REASONING_SHOTS[flavour][1])["examples"]]


def reasoning_messages(
    task: str, parent: str | None, demonstrations: Sequence[Example], n: int, flavour: Flavour
) -> tuple[str, Shots, str]:
    """(system, worked turns, prompt) of one compact reasoning generation."""
    done = [d.instruction for d in demonstrations]
    return REASONING_SYSTEM, [REASONING_SHOTS[flavour]], generate_text(task, parent, done, n)


# The method's generation prompt (full profile) with the reasoning asked for in words and in the reply's fields;
# a partial of it, so that `generate.messages_for` gives both the same request.
reasoning_prompt = functools.partial(
    generate_prompt, more_rules=_RULES, item='"instruction": ..., "input": ..., "reasoning": ..., "output": ...'
)
