"""The one call-and-sift path that plain and grounded generation share (`generate.sift`): each way's own rule runs
first, then the same heuristic filters, and every dropped example is recorded with its rule."""

from __future__ import annotations

import json

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from explore_instruct.tools.corpus.retrieve import Passage
from explore_instruct.tools.generation.decompose import Skip
from explore_instruct.tools.generation.generate import GenerateRequest, batch_schema, generate, messages_for, sift
from explore_instruct.tools.generation.grounded import generate_grounded
from explore_instruct.tools.prompts.compact import generate_messages, shot_examples
from explore_instruct.tools.prompts.full import SYSTEM, Flavour, generate_prompt
from explore_instruct.tools.tree.model import Example

CHUNK = "Invoices are due within thirty days of receipt. Late payments incur a fee of two percent per month."
SHOWN: list[Passage] = [
    {"chunk_id": "terms#0", "doc": "terms.md", "page": None, "headings": ["Terms"], "text": CHUNK, "score": 0.9}
]


def item(i: int, **more: object) -> dict[str, object]:
    return {
        "instruction": f"Explain to customer number {i} when an invoice must be paid.",
        "input": "",
        "output": f"Customer {i}: invoices are due within thirty days of receipt, and late payments cost a fee.",
        **more,
    }


async def test_grounded_keeps_a_supported_quote_and_records_each_other_rule() -> None:
    quote = "Invoices are due within thirty days of receipt."
    reply = [
        item(1, source=1, quote=quote),
        item(2, source=3, quote=quote),  # no third source was shown
        item(3, source=1, quote="Invoices are due within ninety days."),  # not a span of the chunk
        {**item(4, source=1, quote=quote), "instruction": "Write a program that tracks when invoices are due."},
    ]
    model = FakeListChatModel(responses=[json.dumps({"examples": reply})])
    out = await generate_grounded(model, GenerateRequest(task="Explain invoices", n=4), SHOWN, method="prompt")
    assert [e.instruction for e in out.examples] == [reply[0]["instruction"]]
    assert out.examples[0].model_dump()["sources"] == [
        {"doc": "terms.md", "chunk_id": "terms#0", "page": None, "quote": quote}
    ]
    rules = [s.rule for s in out.skipped]
    assert rules == ["unknown_source", "unsupported_quote", "write_a_program"]  # the shared filters come after
    assert out.skipped[1].item["quote"] == reply[2]["quote"]  # the whole reply item, its citation included
    assert len(out.calls) == 1


async def test_plain_generation_skips_a_copy_of_the_compact_worked_example() -> None:
    shot = shot_examples(Flavour.GENERIC)[0]
    copied = {"instruction": shot.instruction, "input": shot.input, "output": shot.output}
    model = FakeListChatModel(responses=[json.dumps({"examples": [copied, item(1)]})])
    req = GenerateRequest(task="Explain invoices", n=2, profile="compact")
    out = await generate(model, req, method="prompt")
    assert [e.instruction for e in out.examples] == [item(1)["instruction"]]
    assert [s.rule for s in out.skipped] == ["copied_worked_example"]
    assert "sources" not in out.examples[0].model_dump()


async def test_a_rule_after_the_filters_sees_the_filtered_example_and_may_drop_or_annotate() -> None:
    reply = [item(1), {**item(2), "output": "  Customer 2: invoices are due within thirty days; late fees apply.  "}]
    model = FakeListChatModel(responses=[json.dumps({"examples": [*reply, item(3)]})])
    req = GenerateRequest(task="Explain invoices", n=3)
    seen: list[tuple[str, bool]] = []

    def after(spec: object, example: Example, cut: bool) -> Skip | dict[str, object]:
        seen.append((example.output, cut))
        if "number 3" in example.instruction:
            return Skip("example", "second_rule", "", {})
        return {"checked": True}

    out = await sift(model, req, batch_schema(3), messages_for(req, generate_messages, generate_prompt),
                     lambda spec: {}, after=after, method="prompt")  # fmt: skip
    assert [e.model_dump()["checked"] for e in out.examples] == [True, True]
    assert [s.rule for s in out.skipped] == ["second_rule"]
    assert seen[1] == (str(reply[1]["output"]).strip(), False)  # the filters' normalised text, the reply not cut


def test_the_profile_picks_the_builders() -> None:
    full = messages_for(GenerateRequest(task="Explain invoices", n=2), generate_messages, generate_prompt)
    compact = messages_for(
        GenerateRequest(task="Explain invoices", n=2, profile="compact"), generate_messages, generate_prompt
    )
    assert full[0] == SYSTEM and full[1] == [] and "Explain invoices" in full[2]
    assert compact == generate_messages("Explain invoices", None, [], 2, Flavour.GENERIC)
