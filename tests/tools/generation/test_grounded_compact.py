"""Grounded generation's compact shape (one text, quote first, no source number) and the support gate that every
profile runs after the quote gate (`answer_ignores_quote`)."""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from explore_instruct.tools.corpus.quotes import supported
from explore_instruct.tools.corpus.retrieve import Passage
from explore_instruct.tools.generation.generate import GenerateRequest
from explore_instruct.tools.generation.grounded import (
    MIN_QUOTE_RECALL,
    copyable,
    generate_grounded,
    grounded_schema,
    quote_recall,
)
from explore_instruct.tools.llm.local import grammar_schema
from explore_instruct.tools.prompts.grounded import SHOW_CHARS

TERMS = "Invoices are due within thirty days of receipt. Late payments incur a fee of two percent per month."
OTHER = "Refunds are issued to the original card within five business days of the return."
SHOWN: list[Passage] = [
    {"chunk_id": "terms#0", "doc": "terms.md", "page": 2, "headings": ["Terms"], "text": TERMS, "score": 0.9},
    {"chunk_id": "refunds#0", "doc": "refunds.md", "page": None, "headings": [], "text": OTHER, "score": 0.8},
]
QUOTE = "Late payments incur a fee of two percent per month."


def test_the_compact_schema_puts_the_quote_first_and_has_no_source() -> None:
    schema = grounded_schema(2, compact=True).model_json_schema()
    item = schema["$defs"]["QuoteFirstSpec"]
    assert list(item["properties"]) == ["quote", "output", "instruction", "input"]
    assert schema["properties"]["examples"]["minItems"] == schema["properties"]["examples"]["maxItems"] == 2
    full = grounded_schema(2).model_json_schema()["$defs"]["GroundedSpec"]
    assert list(full["properties"]) == ["instruction", "input", "output", "source", "quote"]  # full unchanged


def test_quote_recall_counts_the_quotes_content_words_in_the_output() -> None:
    assert quote_recall(QUOTE, "You pay a fee of two percent per month when payments are late.") == 5 / 6  # not "incur"
    assert quote_recall(QUOTE, "Call the billing office to ask.") == 0.0
    assert 0 < quote_recall(QUOTE, "A late fee applies.") < MIN_QUOTE_RECALL  # "late", "fee" of six words
    assert quote_recall("It is what it is.", "anything") == 1.0  # nothing to repeat: no evidence either way


async def test_a_compact_call_shows_one_chunk_checks_the_quote_against_it_and_drops_an_answer_ignoring_it() -> None:
    reply = [
        {"quote": QUOTE, "instruction": "What happens when I pay an invoice late?", "input": "",
         "output": "Late payments incur a fee of two percent per month."},
        {"quote": QUOTE, "instruction": "How do I reach the billing team by phone?", "input": "",
         "output": "Call the office between nine and five on weekdays."},
        {"quote": OTHER, "instruction": "When will my refund arrive on my card?", "input": "",
         "output": "Refunds are issued to the original card within five business days."},
    ]  # fmt: skip
    model = FakeListChatModel(responses=[json.dumps({"examples": reply})])
    req = GenerateRequest(task="Explain invoices", n=3, profile="compact")
    out = await generate_grounded(model, req, SHOWN, method="prompt")
    assert [e.instruction for e in out.examples] == [reply[0]["instruction"]]
    assert out.examples[0].model_dump()["sources"] == [
        {"doc": "terms.md", "chunk_id": "terms#0", "page": 2, "quote": QUOTE}
    ]
    # the second chunk was not shown to a compact call, so a quote of it is unsupported
    assert [s.rule for s in out.skipped] == ["answer_ignores_quote", "unsupported_quote"]
    assert out.skipped[0].item["quote"] == QUOTE and "quote recall 0.00" in out.skipped[0].detail


async def test_the_full_profile_runs_the_same_support_gate_after_its_quote_gate() -> None:
    quote = "Invoices are due within thirty days of receipt."
    reply = [
        {"instruction": "When is an invoice due for payment?", "input": "",
         "output": "Invoices are due within thirty days of receipt.", "source": 1, "quote": quote},
        {"instruction": "When will my refund arrive on my card?", "input": "",
         "output": "Within a week, usually sooner.", "source": 2, "quote": OTHER},
    ]  # fmt: skip
    model = FakeListChatModel(responses=[json.dumps({"examples": reply})])
    out = await generate_grounded(model, GenerateRequest(task="Explain invoices", n=2), SHOWN, method="prompt")
    assert [e.model_dump()["sources"][0]["chunk_id"] for e in out.examples] == ["terms#0"]
    assert [s.rule for s in out.skipped] == ["answer_ignores_quote"]


def test_the_grammar_holds_the_compact_quote_to_the_texts_plain_sentences_and_opens_the_output_with_one() -> None:
    text = (
        "Run git daemon (as root?) with a base path. It listens on port 9418. Short one. "
        'The file "git-daemon-export-ok" marks a repository as exported. ' + "Padding words go here. " * 40
    )
    sentences = copyable(text)
    assert sentences[:2] == ("Run git daemon (as root?) with a base path.", "It listens on port 9418.")
    assert "Short one." not in sentences  # too short to mean something
    # Quote marks and backticks break the grammar: the sentence goes in without them, still a span for the gate.
    assert "The file git-daemon-export-ok marks a repository as exported." in sentences
    assert all(supported(s, text) and not any(m in s for m in '`"') for s in sentences)
    code = copyable("Run `git daemon` with `--base-path`. The `git-daemon-export-ok` file marks a repository.")
    assert code == ("Run git daemon with --base-path.", "The git-daemon-export-ok file marks a repository.")
    assert len(" ".join(sentences)) <= SHOW_CHARS  # only what the prompt shows
    schema = grammar_schema(grounded_schema(1, True, sentences).model_json_schema())
    pattern = schema["$defs"]["QuoteFirstSpec"]["properties"]["quote"]["pattern"]
    assert all(re.fullmatch(pattern, s) for s in sentences)
    assert not re.fullmatch(pattern, "Run git daemon as root with a base path.")
    opens = schema["$defs"]["QuoteFirstSpec"]["properties"]["output"]["pattern"]
    assert re.fullmatch(opens, "It listens on port 9418. So open that port.")  # an extractive answer, then more
    assert not re.fullmatch(opens, "Here is how to run it: It listens on port 9418.")
    assert "pattern" not in grounded_schema(1, True, sentences).model_json_schema()["$defs"]["QuoteFirstSpec"][
        "properties"]["quote"]  # fmt: skip  # other models: a free string, checked by the quote gate
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    assert "[(]" in gbnf and "\\." not in gbnf  # one-character classes, no escape left in a grammar literal
