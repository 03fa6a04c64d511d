"""Grounded generation: examples for one task from its retrieved chunks, each citing a verified quote.

The same structured call and filters as `generate.generate` (both go through `generate.sift`), with the chunks in
the prompt and the citation in each example. Two shapes, by prompt profile:

- full: the task's k chunks, numbered; each example names its `source` and copies a `quote` of it. A capable model
  keeps several sources and their numbers apart.
- compact: ONE chunk a call (graphs/grounding.py rotates a task's batches over its retrieved pool, so a task still
  cites several) and a schema whose first field is the `quote`. On SmolLM2-135M three numbered chunks gave made-up
  quotes and one chunk's sentence paired with another chunk's number; a single text leaves no number to get wrong,
  and grammar-constrained decoding writes fields in schema order, so the model copies the sentence first, then
  the answer it gives, then the question, each with what it rests on already in its context.

Gates, in order: a quote that is not a span of its chunk drops the example as `unsupported_quote`, a source number
that was not shown as `unknown_source` (full only), and an output that shares too little with its own quote as
`answer_ignores_quote` (a true sentence copied, then an answer written from memory; see `quote_recall`). What is
kept carries `sources: [{"doc", "chunk_id", "page", "quote"}]`, which the run's examples.jsonl and every export keep.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.corpus.quotes import MIN_CHARS, supported
from explore_instruct.tools.corpus.retrieve import Passage, source_of
from explore_instruct.tools.generation.decompose import ExampleSpec, Skip
from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult, sift
from explore_instruct.tools.llm.local import GRAMMAR_PATTERN
from explore_instruct.tools.llm.structured import Method
from explore_instruct.tools.prompts.grounded import SHOW_CHARS, grounded_generate_messages

# Share of the quote's content words the output must repeat (measured on SmolLM2-135M, README "Grounded
# exploration on the embedded model"): an answer built on its sentence repeats most of them, one written from
# memory next to a copied sentence repeats almost none.
MIN_QUOTE_RECALL = 0.5


class GroundedSpec(ExampleSpec):
    source: int = Field(ge=1, description="Number of the source the answer rests on")
    quote: str = Field(min_length=1, description="One sentence copied word for word from that source")


class QuoteFirstSpec(BaseModel):
    """The compact profile's example, in the order a small model can ground it: the copied sentence, the answer it
    gives (written right after the sentence, so it reuses it), then the question that answer answers (instruction
    backtranslation, Li et al. 2023). Quote, question, answer let SmolLM2 drift off the sentence (README)."""

    quote: str = Field(min_length=1, description="One sentence copied word for word from the text")
    output: str = Field(min_length=1, description="An answer that says what this sentence says")
    instruction: str = Field(min_length=8, description="The question or task that this answer answers")
    input: str = Field(description="Material the instruction works on, or empty")


@functools.lru_cache(maxsize=64)
def grounded_schema(n: int, compact: bool = False, sentences: tuple[str, ...] = ()) -> type[BaseModel]:
    """The reply's schema: n examples; compact ones quote first, the quote held to `sentences` when given."""
    counts: dict[str, Any] = {"minItems": n, "maxItems": n}
    spec: type[BaseModel] = QuoteFirstSpec if compact else GroundedSpec
    if compact and sentences:  # patterns only the grammar sees; validation stays free strings (the gates check)
        one_of = "(" + "|".join(map(_literal, sentences)) + ")"
        held: dict[str, Any] = {GRAMMAR_PATTERN: f"^{one_of}$"}
        opens: dict[str, Any] = {GRAMMAR_PATTERN: f"^{one_of}{_TAIL}$"}
        fields = QuoteFirstSpec.model_fields
        spec = create_model(
            "QuoteFirstSpec", __base__=QuoteFirstSpec,
            quote=(str, Field(min_length=1, description=fields["quote"].description, json_schema_extra=held)),
            output=(str, Field(min_length=1, description=fields["output"].description, json_schema_extra=opens)),
        )  # fmt: skip
    return create_model("GroundedBatch", examples=(list[spec], Field(min_length=1, json_schema_extra=counts)))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# The output opens with a sentence of the text, then may go on a little (the support gate checks it is the quote's).
_TAIL = "[a-zA-Z0-9 ,.;:!?()'/-]{0,160}"
_PLAIN = re.compile(r"[A-Za-z0-9 ,.;:!?()'/-]+")  # llama.cpp's schema-to-grammar refuses enums with quotes, backticks
_MARKS = re.compile(r"[`\"“”]")


def _literal(sentence: str) -> str:
    """A plain sentence as a regex llama.cpp turns into a grammar: its regex characters as one-character classes
    (the converter keeps a backslash escape such as `\\.` inside the grammar's literal)."""
    return "".join(f"[{c}]" if c in ".?()" else c for c in sentence)


def copyable(text: str, show: int = SHOW_CHARS) -> tuple[str, ...]:
    """The plain sentences of the part of `text` a compact prompt shows: what the grammar holds its quote to.

    SmolLM2-135M shown one text still wrote quotes of its own, and with the quote held it still wrote answers that
    ignore it (README). So the embedded model's grammar holds the quote to these sentences and makes the output open
    with one of them (an extractive answer, which the support gate checks is the quote's); the instruction is then
    written for that answer. A text with no plain sentence (code, a table) leaves both free strings, checked by the
    gates as in the full profile."""
    shown = " ".join(text.split())[:show]
    # Quote marks and backticks around a name (`git daemon`, "git-daemon-export-ok") break the grammar; the sentence
    # without them is still near-verbatim for the quote gate, so technical text keeps its grammar (measured on git-doc:
    # chunks whose every sentence held a backtick got none, and SmolLM2 made their quotes up).
    plain = (_MARKS.sub("", s) for s in _SENTENCE_END.split(shown))
    found = (s for s in plain if len(s) >= MIN_CHARS and _PLAIN.fullmatch(s))
    return tuple(dict.fromkeys(s for s in found if supported(s, text)))


_WORD = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # a core dependency; loaded only when grounded

    return frozenset(ENGLISH_STOP_WORDS)


def content_words(text: str) -> set[str]:
    """The words of `text` that carry its content: lower-cased, stop words and one-letter tokens left out."""
    stop = _stop_words()
    return {w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in stop}


def quote_recall(quote: str, output: str) -> float:
    """Share of the quote's content words that the output repeats (1.0 for a quote with none).

    Cheap and deterministic, so it runs on every example before the judge: it cannot tell a faithful answer from a
    wrong one that reuses the sentence's words (the `unfaithful` judge does that), only an answer that ignores the
    sentence it cites, which is what a small model does most.
    """
    words = content_words(quote)
    if not words:
        return 1.0
    return len(words & content_words(output)) / len(words)


def uses_quote(spec: Any, quote: str) -> Skip | None:
    """`answer_ignores_quote` when the output repeats under `MIN_QUOTE_RECALL` of its quote's content words."""
    recall = quote_recall(quote, spec.output)
    if recall < MIN_QUOTE_RECALL:
        return Skip("example", "answer_ignores_quote", f"quote recall {recall:.2f} < {MIN_QUOTE_RECALL}",
                    spec.model_dump())  # fmt: skip
    return None


async def generate_grounded(
    model: BaseChatModel,
    req: GenerateRequest,
    shown: Sequence[Passage],
    *,
    method: Method = "auto",
    model_label: str = "",
) -> GenerateResult:
    """One call for `req.n` examples of `req.task` resting on `shown`; quotes checked, then the usual filters.

    The compact profile is shown only the first of `shown` (graphs/grounding.py passes one already)."""
    compact = req.profile == "compact"
    shown = list(shown[:1]) if compact else list(shown)
    done = [d.instruction for d in req.demonstrations]
    messages = grounded_generate_messages(req.task, req.parent, shown, done, req.n, compact=compact)

    def quoted(spec: Any) -> Skip | dict[str, Any]:
        item = spec.model_dump()
        number = 1 if compact else spec.source
        if number > len(shown):
            return Skip("example", "unknown_source", f"source {number} of {len(shown)}", item)
        passage = shown[number - 1]
        if not supported(spec.quote, passage["text"]):
            return Skip("example", "unsupported_quote", f"not in {passage['chunk_id']}", item)
        ignored = uses_quote(spec, spec.quote)
        if ignored is not None:
            return ignored
        return {"sources": [source_of(passage, spec.quote.strip())]}

    sentences = copyable(shown[0]["text"]) if compact and shown else ()
    schema = grounded_schema(req.n, compact, sentences)
    return await sift(model, req, schema, messages, quoted, method=method, model_label=model_label)
