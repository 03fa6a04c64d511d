"""Degeneracy filters: cheap checks, no LLM, for the failures small and sampled models produce.

Modelled on the repetition filters of Gopher (Rae et al. 2021, table A1) as datatrove implements them, scaled
to examples of a few sentences; written here because datatrove 0.10 requires huggingface-hub >= 1.6 while the
embedding stack (transformers 4.x) needs < 1.0. Each check has its own rule name (it is what dropped.jsonl
records) and its own threshold (a `Context` field):
- `repeated_lines`: share of sentences/lines that repeat an earlier one ("so it must be very easy for you, so it
  must be very easy for you, ...");
- `repeated_ngrams`: share of characters covered by the commonest 2/3/4-gram of a longer text, said 3+ times;
- `repeated_substring`: the longest substring that occurs twice, as a share of the text;
- `output_copies_instruction` / `output_copies_input`: the output restates the instruction or the input;
- `output_copies_prompt`: the output is the instruction followed by the input ("Make this text more formal.
  gonna be late"), which neither check above catches, since each half is only part of it;
- `cut_off_output`: the output stops mid-sentence where the completion hit its length limit;
- `meta_input`: an input that only talks about the task ("The instructions.", "Your text here").

The reasoning an example of the `reasoning` shape carries before its answer has rules of its own
(`degenerate_reasoning`): `empty_reasoning`, `looping_reasoning` (the repetition checks above),
`cut_off_reasoning`, `reasoning_copies_answer`, and for math `reasoning_contradicts_answer` (the reasoning's final
value against the boxed answer, by math-verify).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from explore_instruct.tools.tree.model import Example

# Gopher's n-gram shares are for documents; in a text of a few sentences a phrase said twice ("virtual reality",
# "the way ... the way") is style, not a loop. So only texts of 30 words or more, and a phrase said 3 times.
MIN_WORDS_FOR_NGRAMS = 30
MIN_NGRAM_REPEATS = 3
# Likewise a short list repeats its labels ("Paragraph 2, Paragraph 1, Paragraph 3."): a loop is a long stretch.
MIN_CHARS_FOR_REPEAT, MIN_REPEAT_CHARS = 80, 25
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+|,\s+")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_TERMINAL = re.compile(r"""[.!?…"'”’)\]}`$*]\s*$""")
_META_INPUT = re.compile(
    r"^\s*(?:(?:the|your|this|an?|my|input|insert|enter|paste|provide|see|given)\s+)*"
    r"(?:input|text|instructions?|sentences?|paragraphs?|passages?|emails?|messages?|examples?|questions?|tasks?|"
    r"content|document|data|details|information|here|above|below|following)"
    r"(?:\s+(?:here|above|below|goes here|to (?:rewrite|use|edit))?)?\s*[.:!]?\s*$",
    re.I,
)


@dataclass(frozen=True)
class Thresholds:
    """Above these shares an example is dropped; the defaults follow Gopher where it has one."""

    repeated_lines: float = 0.3
    top_ngram: float = 0.2  # for 2-grams; 3- and 4-grams use 0.18 and 0.16 of it, as Gopher
    repeated_substring: float = 0.3
    copy_overlap: float = 0.85  # ROUGE-L F of output against instruction or input


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def repeated_line_share(text: str) -> float:
    """Share of sentences (or lines, or comma-separated clauses) that are a repeat of an earlier one."""
    parts = [" ".join(_words(p)) for p in _SENTENCE.split(text)]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return 0.0
    seen: set[str] = set()
    repeats = 0
    for p in parts:
        repeats += p in seen
        seen.add(p)
    return repeats / len(parts)


def top_ngram_share(text: str, n: int) -> float:
    """Characters covered by the commonest n-gram (only when it occurs more than once) over all characters."""
    words = _words(text)
    if len(words) < max(n + 1, MIN_WORDS_FOR_NGRAMS):
        return 0.0
    grams = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = grams.most_common(1)[0]
    if count < MIN_NGRAM_REPEATS:
        return 0.0
    return len(gram) * count / max(1, len(" ".join(words)))


def longest_repeat_share(text: str, above: float = 0.0) -> float:
    """Length of the longest substring that occurs at least twice (non-overlapping), over the text's length.

    0.0 when no repeat is longer than `above` of the text: one scan tells, where the bisection takes eight,
    and most texts have none (the bisection was two thirds of the degeneracy checks' CPU).
    """
    s = " ".join(text.lower().split())
    if len(s) < MIN_CHARS_FOR_REPEAT:
        return 0.0

    def repeats(length: int) -> bool:
        first: dict[str, int] = {}
        for i in range(len(s) - length + 1):
            piece = s[i : i + length]
            j = first.setdefault(piece, i)
            if i - j >= length:
                return True
        return False

    low, high = max(MIN_REPEAT_CHARS, int(above * len(s)) + 1), len(s) // 2
    if low > high or not repeats(low):
        return 0.0
    while low < high:  # the longest length that repeats, by bisection (a repeat of L implies one of L - 1)
        mid = (low + high + 1) // 2
        low, high = (mid, high) if repeats(mid) else (low, mid - 1)
    return low / len(s)


def overlap(a: str, b: str, limit: float = 0.0) -> float:
    """ROUGE-L F between two texts (no stemming, as the method's similarity); 0.0 where it cannot exceed
    `limit`, which spares most pairs the LCS."""
    if not a.strip() or not b.strip():
        return 0.0
    from explore_instruct.tools.similarity.rouge import rouge_l_over

    return rouge_l_over(a, b, limit)


def repetition(text: str, t: Thresholds) -> tuple[str, str] | None:
    """The first of the three repetition measures `text` fails — (rule, detail) with rule repeated_lines,
    repeated_ngrams or repeated_substring — or None; one home for outputs, inputs and reasonings alike."""
    share = repeated_line_share(text)
    if share > t.repeated_lines:
        return "repeated_lines", f"{share:.2f} of its sentences repeat"
    for n, limit in ((2, t.top_ngram), (3, t.top_ngram * 0.9), (4, t.top_ngram * 0.8)):
        share = top_ngram_share(text, n)
        if share > limit:
            return "repeated_ngrams", f"its commonest {n}-gram covers {share:.2f}"
    share = longest_repeat_share(text, t.repeated_substring)
    if share > t.repeated_substring:
        return "repeated_substring", f"a repeated stretch of {share:.2f} of it"
    return None


def degenerate(
    example: Example, t: Thresholds = Thresholds(), *, truncated: bool = False, rewriting: bool = False
) -> tuple[str, str] | None:
    """(rule, detail) of the first check the example fails, or None.

    `truncated`: the completion hit its length limit. `rewriting`: an output close to its input is the task (a
    grammar fix changes one word), so only an unchanged copy counts there.
    """
    out, inp, ins = example.output, example.input, example.instruction
    if inp and _META_INPUT.match(inp):
        return "meta_input", inp[:60]
    for field, text in (("output", out), ("input", inp)):
        loop = repetition(text, t)
        if loop is not None:
            return loop[0], f"{field}: {loop[1]}"
    if truncated and out and not _TERMINAL.search(out):
        return "cut_off_output", out[-40:]
    score = overlap(out, ins, t.copy_overlap)
    if score > t.copy_overlap:
        return "output_copies_instruction", f"ROUGE-L {score:.2f}"
    if rewriting:  # fixing punctuation or case is the task: only the very same text is a copy
        if inp and " ".join(out.split()) == " ".join(inp.split()):
            return "output_copies_input", "unchanged"
    else:
        score = overlap(out, inp, t.copy_overlap)
        if inp and score > t.copy_overlap:
            return "output_copies_input", f"ROUGE-L {score:.2f}"
    if inp and _copies_prompt(out, ins, inp, t.copy_overlap, rewriting=rewriting):
        return "output_copies_prompt", "instruction + input"
    return None


def _norm(text: str) -> str:
    return " ".join(_words(text.lower()))


def _copies_prompt(out: str, ins: str, inp: str, limit: float, *, rewriting: bool) -> bool:
    """Whether the output is the instruction and the input run together.

    Outside rewriting, a ROUGE-L against the two joined catches it with the copy threshold. In rewriting an output
    close to a long input is the task, and would score high against the joined text too, so there the output must
    hold the instruction word for word and, once it is taken out, leave the input unchanged.
    """
    if not rewriting:
        return overlap(out, f"{ins}\n{inp}", limit) > limit
    o, i = _norm(out), _norm(ins)
    if not i or i not in o:
        return False
    return " ".join(o.replace(i, " ", 1).split()) == _norm(inp)


# ---- the reasoning before an answer ----------------------------------------------------------------------------

MIN_REASONING_WORDS = 3
REASONING_TAIL_CHARS = 300  # the final value is at the end; a short text keeps sympy quick
_TOWER = re.compile(r"\^\s*\{?\s*\d{3,}|\^\s*\{[^}]*\^")  # 9^{999}, 2^{3^{4}}: as tools/quality/judge.py


def degenerate_reasoning(
    reasoning: str, output: str, t: Thresholds = Thresholds(), *, math: bool = False, truncated: bool = False
) -> tuple[str, str] | None:
    """(rule, detail) of the first check the reasoning before `output` fails, or None.

    A reasoning that says nothing, loops, stops where the completion was cut, or only restates the answer teaches
    a model to think for show; one whose final value is not the answer teaches it to ignore its own thinking.
    `math`: compare the reasoning's final value with the boxed answer (math-verify). `truncated`: the completion
    hit its length limit.
    """
    words = _words(reasoning)
    if len(words) < MIN_REASONING_WORDS:
        return "empty_reasoning", f"{len(words)} words"
    loop = repetition(reasoning, t)
    if loop is not None:
        return "looping_reasoning", loop[1]
    if truncated and not _TERMINAL.search(reasoning):
        return "cut_off_reasoning", reasoning[-40:]
    if _norm(reasoning) == _norm(output):
        return "reasoning_copies_answer", "the same text"
    score = overlap(reasoning, output, t.copy_overlap)
    if score > t.copy_overlap:
        return "reasoning_copies_answer", f"ROUGE-L {score:.2f}"
    if math:
        value, agree = reasoning_value(reasoning, output)
        if agree is False:
            return "reasoning_contradicts_answer", f"reasoning ends at {value[:40]}"
    return None


def reasoning_value(reasoning: str, output: str) -> tuple[str, bool | None]:
    """The reasoning's final value (math-verify's extraction from its last sentences) and whether it equals the
    output's boxed answer; None where either has no value to compare."""
    from explore_instruct.tools.quality.judge import answers_agree, boxed

    answer = boxed(output)
    tail = reasoning[-REASONING_TAIL_CHARS:]
    if not answer or _TOWER.search(tail):
        return "", None
    import logging

    from math_verify import parse

    quiet = logging.getLogger("math_verify")  # it warns on every call that the timeout is off
    level, quiet.level = quiet.level, logging.ERROR
    try:  # timeouts off: math-verify's use signal.alarm, which works on the main thread only
        found = parse(tail, parsing_timeout=None)
    finally:
        quiet.level = level
    if len(found) < 2:  # [sympy value, its text] when a value was found
        return "", None
    value = str(found[1])
    return value, answers_agree(answer, value)
