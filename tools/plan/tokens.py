"""Prompt and reply sizes for the plan (tools/plan/estimate.py): the real prompt builders filled with text of
representative lengths, counted at ~4 characters a token."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from explore_instruct.tools.prompts.compact import decompose_messages, generate_messages
from explore_instruct.tools.prompts.full import SYSTEM, Flavour, decompose_prompt, generate_prompt
from explore_instruct.tools.prompts.judge import JUDGE_SYSTEM, SOLVE_SYSTEM, judge_prompt, solve_prompt
from explore_instruct.tools.tree.model import Example

if TYPE_CHECKING:
    from explore_instruct.tools.corpus.retrieve import Passage
    from explore_instruct.tools.plan.inputs import Measured, Params

CHARS_PER_TOKEN = 4.0
CHUNK_CHARS = 1000  # a corpus chunk as ingestion cuts it (tools/corpus/chunk.py: CHUNK_SIZE; the prompts shorten it)
# Mean characters of an example's instruction, input and output, per flavour, as real models write them
# (under the prompts' "under about 200 words" rule); a measured run replaces them.
EXAMPLE_CHARS: dict[Flavour, tuple[int, int, int]] = {
    Flavour.GENERIC: (110, 160, 650),
    Flavour.REWRITING: (90, 420, 430),
    Flavour.BRAINSTORMING: (100, 60, 750),
    Flavour.MATH: (180, 40, 600),
}


def _text(n: int, word: str = "plan") -> str:
    """Filler of `n` characters: only its length counts at ~4 characters a token."""
    return ((word + " ") * (n // (len(word) + 1) + 1))[:n]


class Shape:
    """Representative inputs of the prompt builders, from a context and what was measured."""

    def __init__(self, ctx: Params, m: Measured) -> None:
        self.ctx, self.m = ctx, m
        instr, inp, out = m.example_chars or EXAMPLE_CHARS[ctx.flavour]
        self.example = Example(instruction=_text(instr), input=_text(inp), output=_text(out))

    def name(self) -> str:
        return _text(self.m.name_chars, "task")

    def reason(self) -> str:
        return _text(self.m.reason_chars, "why")

    def examples(self, n: int) -> list[Example]:
        return [self.example] * n

    def ex_json(self, n: int) -> list[dict[str, str]]:
        return [self.example.model_dump()] * n

    def chunks(self) -> list[Passage]:
        """A grounded run's `retrieve_k` chunks, each as long as ingestion cuts them (the prompts shorten them)."""
        chunk: Passage = {"chunk_id": "c", "doc": "d", "page": None, "headings": [], "text": _text(CHUNK_CHARS, "doc"),
                          "score": 1.0}  # fmt: skip
        return [chunk] * self.ctx.retrieve_k


def _tokens(*parts: str) -> float:
    return len("\n".join(parts)) / CHARS_PER_TOKEN


def _messages(system: str, shots: list[tuple[str, str]], prompt: str) -> float:
    return _tokens(system, *(t for pair in shots for t in pair), prompt)


def decompose_tokens(s: Shape, depth: int, existing: int, k: int, peers: int, demos: int) -> tuple[float, float]:
    """(prompt, completion) tokens of one decomposition call."""
    ctx = s.ctx
    if ctx.profile == "compact":
        system, shots, prompt = decompose_messages(
            s.name(), s.name() if depth else None, [s.name()] * existing, k, s.examples(demos)
        )
        reply = {"subtasks": [{"name": s.name(), "reason": s.reason()}] * k}
        return _messages(system, shots, _grounded(s, prompt)), _tokens(json.dumps(reply))
    prompt = decompose_prompt(
        target=s.name(),
        target_reason=s.reason() if depth else "",
        existing_children=[s.name()] * existing,
        peers=[s.name()] * peers,
        demonstrations=s.examples(demos),
        k=k,
        examples_per_subtask=ctx.examples_per_subtask,
        max_children=ctx.max_children,
        flavour=ctx.flavour,
    )
    sub = {"name": s.name(), "reason": s.reason(), "examples": s.ex_json(ctx.examples_per_subtask)}
    return _messages(SYSTEM, [], _grounded(s, prompt)), _tokens(json.dumps({"subtasks": [sub] * k}))


def _grounded(s: Shape, prompt: str) -> str:
    """A decomposition prompt as a grounded run sends it: its chunks appended (graphs/grounding.py)."""
    from explore_instruct.tools.prompts.grounded import grounding_lines  # the corpus modules: only when grounded

    return f"{prompt}\n{grounding_lines(s.chunks())}" if s.ctx.grounded else prompt


def shape_scale(shape: str, turns: int) -> float:
    """How many times a single pair's completion tokens one example of `shape` (tools/shapes/) writes.

    Rough until a pilot run measures it (`--calibrate` scales the whole plan by what that run spent): a reasoning
    is about as long as the answer it leads to (x1.5 of a pair whose output is most of it); a conversation writes
    each of its `turns` user turns and answers (x turns); a tool-calling example a call, a result and an answer (x2).
    """
    words = set(shape.split(","))
    factor = float(turns) if "multi_turn" in words else 2.0 if "tool_calls" in words else 1.0
    return factor * (1.5 if "reasoning" in words else 1.0)


def shape_calls(shape: str, turns: int, profile: str) -> float | None:
    """Calls per example of a conversation shape, None where one call writes a batch (single, reasoning): the
    compact multi-turn call writes a whole conversation; the full profile's opening, assistant and user-simulator
    calls are 2 x turns - 1; a compact tool-calling example is one call for the request, arguments and simulated
    result and one for the answer (tools/shapes/tool_calls.py), the full profile's up to three (native call, result,
    answer)."""
    words = set(shape.split(","))
    if "multi_turn" in words:
        return 1.0 if profile == "compact" else 2.0 * turns - 1
    if "tool_calls" in words:
        return 2.0 if profile == "compact" else 3.0
    return None


def generate_tokens(s: Shape, depth: int, n: int, siblings: int, demos: int) -> tuple[float, float]:
    """(prompt, completion) tokens of one enrich call asking for `n` examples, its completion scaled for the run's
    shape."""
    pt, ct = _pair_tokens(s, depth, n, siblings, demos)
    return pt, ct * shape_scale(s.ctx.shape, s.ctx.turns)


def _pair_tokens(s: Shape, depth: int, n: int, siblings: int, demos: int) -> tuple[float, float]:
    """(prompt, completion) tokens of one enrich call asking for `n` single examples."""
    ctx = s.ctx
    parent = s.name() if depth else None
    if ctx.grounded:  # the task's chunks in the prompt; each example copies a quote (full: and names its source)
        from explore_instruct.tools.prompts.grounded import grounded_generate_messages

        compact = ctx.profile == "compact"
        done = [s.example.instruction] * demos
        system, shots, prompt = grounded_generate_messages(s.name(), parent, s.chunks(), done, n, compact=compact)
        # The compact schema has no source number: one text is shown (tools/generation/grounded.py).
        example = s.example.model_dump() | ({} if compact else {"source": 1}) | {"quote": _text(120, "quote")}
        return _messages(system, shots, prompt), _tokens(json.dumps({"examples": [example] * n}))
    if ctx.profile == "compact":
        system, shots, prompt = generate_messages(s.name(), parent, s.examples(demos), n, ctx.flavour)
        pt = _messages(system, shots, prompt)
    else:
        prompt = generate_prompt(
            task=s.name(),
            task_reason=s.reason() if depth else "",
            parent=parent,
            siblings=[s.name()] * siblings,
            demonstrations=s.examples(demos),
            n=n,
            flavour=ctx.flavour,
        )
        pt = _messages(SYSTEM, [], prompt)
    return pt, _tokens(json.dumps({"examples": s.ex_json(n)}))


def judge_tokens(s: Shape, n: int) -> tuple[float, float]:
    """(prompt, completion) tokens of one judge call over `n` examples."""
    pt = _messages(JUDGE_SYSTEM, [], judge_prompt(s.name(), s.examples(n), s.ctx.flavour))
    verdict = {"id": 1, "score": 4, "reason": _text(90)}
    return pt, _tokens(json.dumps({"verdicts": [verdict] * n}))


def solve_tokens(s: Shape, n: int) -> tuple[float, float]:
    """(prompt, completion) tokens of math's re-solve call over `n` problems."""
    pt = _messages(SOLVE_SYSTEM, [], solve_prompt(s.examples(n)))
    return pt, _tokens(json.dumps({"solutions": [{"id": 1, "solution": _text(300), "answer": "42"}] * n}))
