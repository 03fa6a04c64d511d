"""Per-example heuristic filters (the method's, then tools/quality/degeneracy.py's), applied at generation time;
each drop is named by its rule."""

from __future__ import annotations

import re
from dataclasses import dataclass

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.quality.degeneracy import Thresholds, degenerate
from explore_instruct.tools.tree.model import Example

MIN_WORDS, MAX_WORDS = 3, 150
DEFAULT_QUALITY = Thresholds()
_BASE_BLACKLIST = [
    "image", "images", "picture", "pictures", "file", "files", "draw", "plot", "plots", "go to",
    "video", "videos", "audio", "music", "flowchart", "flowcharts", "diagram", "diagrams",
]  # fmt: skip
_EXTRA_BLACKLIST: dict[Flavour, list[str]] = {
    Flavour.REWRITING: ["graph", "graphs", "map", "maps"],
    Flavour.BRAINSTORMING: ["graph", "graphs"],
}
_NO_INPUT = re.compile(r"^\s*<\s*no\s*input\s*>\s*$|^\s*(none|n/?a|\(empty\)|empty)\s*\.?\s*$", re.I)
# One bracketed phrase ("<insert text>", "(your text)"), not markup such as "<p>Hi</p>".
_PLACEHOLDER = re.compile(r"^\s*(<[^<>]*>|\([^()]*\))\s*$")
_BOXED = re.compile(r"\\boxed\{")
# The leading greedy `.*` anchors on the LAST "answer is/:" so earlier prose is not boxed.
_ANSWER = re.compile(r".*\banswer\s*(?:is|:)\s*(.+?)\s*\.?\s*$", re.I | re.S)


def _blacklist_re(flavour: Flavour) -> re.Pattern[str]:
    words = _BASE_BLACKLIST + _EXTRA_BLACKLIST.get(flavour, [])
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.I)


_BLACKLISTS = {f: _blacklist_re(f) for f in Flavour}


@dataclass(frozen=True)
class Verdict:
    example: Example | None  # the (normalised) example when kept
    rule: str | None = None  # why it was dropped
    detail: str = ""

    @property
    def kept(self) -> bool:
        return self.example is not None


def normalise(example: Example, flavour: Flavour) -> Example:
    """Whitespace, the `<noinput>` convention, and the math answer box; the drop rules come after."""
    instruction = " ".join(example.instruction.split())
    inp = example.input.strip()
    if _NO_INPUT.match(inp):
        inp = ""
    output = example.output.strip()
    if flavour == Flavour.MATH and output and not _BOXED.search(output):
        m = _ANSWER.search(output)
        if m and m.group(1).strip():
            answer = m.group(1).strip().strip("$").strip()
            output = output[: m.start(1)] + f"\\boxed{{{answer}}}"
    return example.model_copy(update={"instruction": instruction, "input": inp, "output": output})


def check(
    example: Example,
    flavour: Flavour = Flavour.GENERIC,
    quality: Thresholds | None = DEFAULT_QUALITY,
    *,
    truncated: bool = False,
) -> Verdict:
    """The method's rules, then the degeneracy rules (`quality=None` leaves those out)."""
    ex = normalise(example, flavour)
    ins = ex.instruction
    if not ins:
        return Verdict(None, "empty_instruction")
    if not ex.output:
        return Verdict(None, "empty_output")
    if flavour != Flavour.MATH:
        n = len(ins.split())
        if n < MIN_WORDS or n > MAX_WORDS:
            return Verdict(None, "instruction_length", f"{n} words, want {MIN_WORDS}-{MAX_WORDS}")
    hit = _BLACKLISTS[flavour].search(ins)
    if hit:
        return Verdict(None, "blacklist", hit.group(1).lower())
    if re.match(r"write\s+a\s+program", ins, re.I):
        return Verdict(None, "write_a_program")
    first = ins[0]
    if not first.isascii():
        return Verdict(None, "non_ascii_start", repr(first))
    if not first.isalnum() and first not in "\"'`$\\":
        return Verdict(None, "punctuation_start", repr(first))
    if ex.input and _PLACEHOLDER.match(ex.input):
        return Verdict(None, "placeholder_input", ex.input[:40])
    if flavour == Flavour.MATH and not _BOXED.search(ex.output):
        return Verdict(None, "no_boxed_answer")
    if quality is not None:
        bad = degenerate(ex, quality, truncated=truncated, rewriting=flavour == Flavour.REWRITING)
        if bad is not None:
            return Verdict(None, *bad)
    return Verdict(ex)
