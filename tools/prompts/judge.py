"""Prompt text for the LLM judge and the math re-solver, per domain flavour (the wording is ours), and the warning
for judges measured not to discriminate (light to import: the dataset card prints it)."""

from __future__ import annotations

from collections.abc import Sequence

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


def _block(i: int, ex: Example) -> str:
    return f"[{i}]\nInstruction: {ex.instruction}\nInput: {ex.input or '(none)'}\nOutput: {ex.output}"


def judge_prompt(task: str, examples: Sequence[Example], flavour: Flavour) -> str:
    blocks = "\n\n".join(_block(i, ex) for i, ex in enumerate(examples, 1))
    return f"""Task: {task}

Grade each example below from 1 to 5 ({SCALE}). Ask:
{RUBRICS[flavour]}

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
