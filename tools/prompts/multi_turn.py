"""Prompt text for multi-turn conversations (the `multi_turn` shape), both profiles.

A conversation's worth lies in its follow-ups: a user who refines, constrains, asks why or changes the audience
stays with the task and makes the assistant use what it already said. Each follow-up turn is given one of those
kinds by name, so the model (a small one above all) has one concrete job per turn instead of "continue".
- compact: one call writes the whole conversation, shown one worked conversation on a far topic (house plants),
  which a small model imitates better than it follows rules;
- full: a user-simulator call writes the opening requests, then per turn an assistant call answers and a
  user-simulator call writes the next follow-up, each seeing the conversation so far.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from explore_instruct.tools.prompts.full import Flavour

Shots = list[tuple[str, str]]

# (kind, what the user does in such a turn): the follow-ups in the task's spirit; round-robin per conversation.
FOLLOW_UPS: tuple[tuple[str, str], ...] = (
    ("refine", "asks to change or improve one part of the last answer"),
    ("constrain", "adds a limit the answer must follow (a length, a format or a condition)"),
    ("why", "asks why, or asks to explain a step of the last answer"),
    ("audience", "asks for the answer again for a different reader (a child, a beginner or an expert)"),
)
_DOES = dict(FOLLOW_UPS)
KINDS = tuple(k for k, _ in FOLLOW_UPS)
# The same kinds as one short, concrete job each, for the compact profile: a small model copies a long
# description into the turn itself ("Please go ahead and request to change or improve one of the parts").
_COMPACT_DOES = {
    "refine": "asks to change one detail of the answer",
    "constrain": "asks for a shorter answer",
    "why": "asks why",
    "audience": "asks to explain it to a child",
}


def follow_up_kinds(turns: int, start: int) -> list[str]:
    """The kinds of turns 2..`turns`, round-robin from `start` (each conversation of a call starts one further)."""
    return [KINDS[(start + t) % len(KINDS)] for t in range(turns - 1)]


# ---- compact: one call, the whole conversation --------------------------------------------------------------

COMPACT_SYSTEM = (
    "You write conversations between a user and an AI assistant, turn by turn. The user keeps working on the "
    "same request. Reply with JSON."
)


def compact_text(task: str, parent: str | None, kinds: Sequence[str], done: Sequence[str], reasoning: bool) -> str:
    """The user turn of a compact call; the worked turn before it uses the same layout."""
    lines = [f"Task: {task}"]
    if parent:
        lines.append(f"Part of: {parent}")
    if done:
        lines.append("Earlier first requests (ask something else):\n" + "\n".join(f"- {d}" for d in done))
    lines.append(f"Write a conversation of {len(kinds) + 1} turns.")
    lines.append(f"Turn 1: the user asks for help with {task}.")  # the task again: a small model drifts off it
    lines += [f"Turn {i}: the user {_COMPACT_DOES[k]}." for i, k in enumerate(kinds, 2)]
    if reasoning:
        lines.append("In each turn the assistant first thinks in reasoning, then answers.")
    return "\n".join(lines)


# The worked conversation: (user, reasoning, assistant) per turn, with the kind of each follow-up.
_SHOT_TOPIC = ("caring for house plants", "gardening")
_SHOT_TURNS: tuple[tuple[str, str, str], ...] = (
    ("How often should I water a snake plant?",
     "Snake plants are succulents. They need little water and rot when the soil stays wet.",
     "Water it every two to three weeks, and less in winter. Let the soil dry out completely between waterings."),
    ("Why does it need so little water?",
     "The question is about the reason. The leaves store water, and roots in wet soil rot.",
     "A snake plant stores water in its thick leaves, so it copes with dry soil. Soil that stays wet makes "
     "its roots rot."),
    ("Give me a shorter answer.",
     "One sentence only, so keep the key point: water when the soil is dry.",
     "Water only when the soil is dry all the way down."),
    ("Now explain it to my eight-year-old son.",
     "A child needs simple words and a picture he knows, like a camel.",
     "This plant keeps water in its leaves like a camel, so give it a drink only when the dirt feels dry."),
    ("Change it for a plant that sits in a dark corner.",
     "Less light means the plant uses less water, so the soil stays wet longer.",
     "In a dark corner, water it about once a month, and still only when the soil is dry."),
)  # fmt: skip
_SHOT_KINDS = ("why", "constrain", "audience", "refine")


def compact_shot(turns: int, reasoning: bool) -> tuple[str, str]:
    """The worked (prompt, reply) pair, as many turns long as asked (up to the five written)."""
    n = min(turns, len(_SHOT_TURNS))
    text = compact_text(*_SHOT_TOPIC, _SHOT_KINDS[: n - 1], [], reasoning)
    reply = [
        {"user": u, "reasoning": r, "assistant": a} if reasoning else {"user": u, "assistant": a}
        for u, r, a in _SHOT_TURNS[:n]
    ]
    return text, json.dumps({"turns": reply})


def shot_texts() -> set[str]:
    """Every turn of the worked conversation, normalised: a reply holding one of them copied the prompt."""
    return {" ".join(t.lower().split()) for turn in _SHOT_TURNS for t in (turn[0], turn[2])}


def compact_messages(
    task: str, parent: str | None, kinds: Sequence[str], done: Sequence[str], reasoning: bool
) -> tuple[str, Shots, str]:
    """(system, worked turns, prompt) of one compact conversation."""
    shot = compact_shot(len(kinds) + 1, reasoning)
    return COMPACT_SYSTEM, [shot], compact_text(task, parent, kinds, done[:3], reasoning)


# ---- full: a user simulator and an assistant, a call per turn -----------------------------------------------

USER_SYSTEM = (
    "You play the users of an AI assistant: you write the messages real people send it, in their words. "
    "You reply with JSON only."
)
ASSISTANT_SYSTEM = "You are a helpful, accurate AI assistant. You reply with JSON only."

_OPENING_RULES: dict[Flavour, str] = {
    Flavour.GENERIC: "Each asks for something that clearly belongs to the task.",
    Flavour.REWRITING: "Each asks to rewrite a text and includes that text (an email, a note, a report, an ad).",
    Flavour.BRAINSTORMING: "Each asks for ideas, options or a plan, in a different setting.",
    Flavour.MATH: "Each poses a math problem (LaTeX for the math); vary the kind of question, not only the numbers.",
}


def opening_prompt(
    *,
    task: str,
    task_reason: str,
    parent: str | None,
    siblings: Sequence[str],
    done: Sequence[str],
    n: int,
    flavour: Flavour,
) -> str:
    """The user simulator's first call: the opening messages of `n` conversations."""
    lines = [f"Task: {task}"]
    if task_reason:
        lines.append(f"What it covers: {task_reason}")
    if parent:
        lines.append(f"It is a subtask of: {parent}")
    if siblings:
        lines.append("Tasks next to it (stay out of these): " + "; ".join(siblings))
    if done:
        lines.append("Opening messages written already (do not repeat them):\n" + "\n".join(f"- {d}" for d in done))
    lines += [
        f"\nWrite {n} different opening messages that users send to an AI assistant to get help with this task.",
        "- Each is self-contained, one to three sentences, and includes any material it works on.",
        "- Each must be doable by a text-only assistant: no images, audio, video, files or acting in the world.",
        f"- {_OPENING_RULES[flavour]}",
        '\nReply with JSON: {"openings": [...]}',
    ]
    return "\n".join(lines)


def transcript(turns: Sequence[tuple[str, str]], last_user: str | None = None) -> str:
    """The conversation so far as "User:"/"Assistant:" lines, with the user's unanswered message last."""
    lines = [f"{who}: {text}" for u, a in turns for who, text in (("User", u), ("Assistant", a))]
    if last_user is not None:
        lines.append(f"User: {last_user}")
    return "\n".join(lines)


def follow_up_prompt(task: str, conversation: str, kind: str) -> str:
    """The user simulator's call for one follow-up of the given kind."""
    return (
        f"Task the user wants done: {task}\n\nConversation so far:\n{conversation}\n\n"
        f"Write the user's next message. In it the user {_DOES[kind]}. Stay with the same request, speak as the "
        'user (not the assistant), one or two sentences.\n\nReply with JSON: {"message": ...}'
    )


def assistant_prompt(conversation: str, flavour: Flavour, reasoning: bool) -> str:
    """The assistant's call for the reply to the last user message."""
    lines = [
        f"Conversation so far:\n{conversation}\n",
        "Write the assistant's reply to the last user message: complete and correct, under about 200 words, "
        "taking the whole conversation into account (do exactly what the last message asks).",
    ]
    if flavour == Flavour.MATH:
        lines.append("When the reply solves a problem, end it with the final answer inside \\boxed{...}.")
    if reasoning:
        lines.append("First think it through in `reasoning` (the steps that lead to the reply), then write the reply.")
        lines.append('\nReply with JSON: {"reasoning": ..., "reply": ...}')
    else:
        lines.append('\nReply with JSON: {"reply": ...}')
    return "\n".join(lines)
