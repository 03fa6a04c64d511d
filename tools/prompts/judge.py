"""Prompt text for the LLM judge and the math re-solver, per domain flavour (the wording is ours), and the warning
for judges measured not to discriminate (light to import: the dataset card prints it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.tree.model import Example

JUDGE_SYSTEM = "You grade training examples for an AI assistant strictly and fairly. Reply with JSON."
SOLVE_SYSTEM = "You solve math problems carefully. Reply with JSON."

_COMMON = (
    "- Is the instruction clear, and is it really an example of the task?\n"
    "- Does the input give everything the instruction needs (or is none needed)?\n"
    "- Is the output correct, complete and on-task, without rambling or repetition?"
)
RUBRICS: dict[Flavour, str] = {
    Flavour.GENERIC: _COMMON,
    Flavour.REWRITING: _COMMON + "\n- Does the output rewrite the input as asked, keeping its meaning?",
    Flavour.BRAINSTORMING: _COMMON + "\n- Does the output offer several distinct, useful ideas?",
    Flavour.MATH: _COMMON + "\n- Is the reasoning sound, and is the final \\boxed{} answer right?",
}
SCALE = "5 = excellent, 4 = good, 3 = usable with flaws, 2 = poor, 1 = wrong or useless"


CONVERSATION_RUBRIC = (
    "- In a conversation: does every assistant turn answer the user's latest message correctly and in the task's "
    "spirit, calling tools with fitting arguments and using what they return? One bad turn makes a poor example."
)
# The judge reads a whole conversation, yet a batch of them must fit a small model's window: each message gets
# an even share of MAX_CONVERSATION_CHARS (at least MIN_MESSAGE_CHARS, at most MAX_MESSAGE_CHARS), long ones keep
# their head and tail; a reasoning is a side note, cut to half a message's share (MAX_REASONING_CHARS at most).
# Past MAX_MESSAGES (more than any --turns writes) the middle messages are left out, saying how many.
MAX_CONVERSATION_CHARS = 2400
MIN_MESSAGE_CHARS, MAX_MESSAGE_CHARS = 80, 600
MAX_REASONING_CHARS = 160
MAX_MESSAGES = 30


def shorten(text: str, limit: int) -> str:
    """`text` on one line, at most about `limit` characters: its head and tail around a marked cut."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]} [...] {text[len(text) - (limit - head) :]}"


def _call_text(call: Any) -> str:
    function = call.get("function", {}) if isinstance(call, dict) else {}
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return f"{function.get('name', '?')}({arguments})"


def _message_lines(message: dict[str, Any], limit: int, first: bool) -> list[str]:
    """One message as judge lines: its reasoning shortened, its tool calls, its content."""
    role = message.get("role")
    content = message.get("content") or ""
    if role == "user":
        return [f"{'Instruction' if first else 'User'}: {shorten(content, limit)}"]
    if role == "tool":
        return [f"Tool result ({message.get('name', '?')}): {shorten(content, limit)}"]
    lines = []
    if message.get("reasoning"):
        lines.append(f"Assistant thinks: {shorten(message['reasoning'], min(MAX_REASONING_CHARS, limit // 2))}")
    lines += [f"Assistant calls {shorten(_call_text(c), limit)}" for c in message.get("tool_calls") or []]
    if content or not message.get("tool_calls"):
        lines.append(f"Assistant: {shorten(content, limit)}")
    return lines


def conversation_text(messages: Sequence[dict[str, Any]]) -> str:
    """A conversation for the judge, every turn in order; the opening user turn is its `Instruction:` line (the
    scripted judge and people read an example by it). Bounded: see MAX_CONVERSATION_CHARS."""
    turns = [m for m in messages if isinstance(m, dict) and m.get("role") in ("user", "assistant", "tool")]
    limit = max(MIN_MESSAGE_CHARS, min(MAX_MESSAGE_CHARS, MAX_CONVERSATION_CHARS // max(1, len(turns))))
    lines = [_message_lines(m, limit, i == 0) for i, m in enumerate(turns)]
    if len(lines) > MAX_MESSAGES:
        gap = [f"[... {len(lines) - MAX_MESSAGES} messages left out ...]"]
        half = MAX_MESSAGES // 2
        lines = [*lines[:half], gap, *lines[len(lines) - half :]]
    return "\n".join(line for group in lines for line in group)


def _block(i: int, ex: Example) -> str:
    extra = ex.model_extra or {}
    messages = extra.get("messages")
    if isinstance(messages, list) and messages:
        return f"[{i}]\n{conversation_text(messages)}"
    thinking = extra.get("reasoning")
    note = f"\nReasoning: {shorten(thinking, MAX_REASONING_CHARS)}" if thinking else ""
    return f"[{i}]\nInstruction: {ex.instruction}\nInput: {ex.input or '(none)'}{note}\nOutput: {ex.output}"


def judge_prompt(task: str, examples: Sequence[Example], flavour: Flavour) -> str:
    blocks = "\n\n".join(_block(i, ex) for i, ex in enumerate(examples, 1))
    talks = any(isinstance((ex.model_extra or {}).get("messages"), list) for ex in examples)
    rubric = RUBRICS[flavour] + (f"\n{CONVERSATION_RUBRIC}" if talks else "")
    return f"""Task: {task}

Grade each example below from 1 to 5 ({SCALE}). Ask:
{rubric}

{blocks}

For each example give its number, a one-sentence reason, then its score."""


def solve_prompt(problems: Sequence[Example]) -> str:
    blocks = "\n\n".join(
        f"[{i}] {p.instruction}" + (f"\n{p.input}" if p.input else "") for i, p in enumerate(problems, 1)
    )
    return f"""Solve each problem on your own. Give its number, a short solution, and the final answer alone
in LaTeX, as it would appear inside \\boxed{{}}.

{blocks}"""


EMBEDDED_JUDGE_CAVEAT = (
    "the embedded 135M model cannot judge: it scored every hand-written example of the rewriting preset 1 or 2, "
    "by its place in the batch rather than its quality; for scores worth filtering on, pass a stronger "
    "--judge-model (docs/quality.md)"
)


def judge_caveat(model_label: str) -> str | None:
    """A warning for judges measured not to discriminate (docs/quality.md has the figures), else None."""
    return EMBEDDED_JUDGE_CAVEAT if model_label.startswith("local:") or model_label == "smollm2" else None
