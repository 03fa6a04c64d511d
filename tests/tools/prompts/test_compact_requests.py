"""The compact generation prompt asks for requests that open with a verb and its object (issue 23).

Under a task named like a topic the embedded model wrote statements about it, which no user sends and in which
the verb-noun count finds nothing; the generic flavour's prompt and worked batch now show the form instead."""

from __future__ import annotations

import json

import pytest

from explore_instruct.tools.dataset.coverage import CoverageError, verb_noun_pairs
from explore_instruct.tools.prompts.compact import (
    GENERATE_SHOTS,
    IMPERATIVE,
    generate_messages,
    generate_text,
    shot_examples,
)
from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.tree.model import Example


def test_generic_generation_asks_for_a_verb_and_its_object() -> None:
    done = [Example(instruction="List three ways to save pocket money.", input="", output="...")]
    _, shots, prompt = generate_messages("saving money as a teenager", "personal finance", done, 4, Flavour.GENERIC)
    assert IMPERATIVE in prompt
    assert prompt.index("Already written") < prompt.index("Write 4 new examples.") < prompt.index(IMPERATIVE)
    assert IMPERATIVE in shots[0][0], "the worked turn shows the same request as the real one"


@pytest.mark.parametrize("flavour", [Flavour.REWRITING, Flavour.BRAINSTORMING, Flavour.MATH])
def test_other_flavours_keep_their_own_form(flavour: Flavour) -> None:
    # A math problem is a question, and a rewriting or brainstorming request already names its verb.
    _, shots, prompt = generate_messages("a task", None, [], 3, flavour)
    assert IMPERATIVE not in prompt and IMPERATIVE not in shots[0][0]
    assert prompt == generate_text("a task", None, [], 3)


def test_the_generic_worked_batch_matches_its_prompt_and_opens_each_request_with_a_different_verb() -> None:
    prompt, reply = GENERATE_SHOTS[Flavour.GENERIC]
    shown = shot_examples(Flavour.GENERIC)
    assert f"Write {len(shown)} new examples." in prompt
    assert len(json.loads(reply)["examples"]) == len(shown)
    verbs = [e.instruction.split()[0] for e in shown]
    assert len(set(verbs)) == len(verbs)
    assert all(v[0].isupper() and not v.endswith("?") for v in verbs)


def test_the_generic_worked_requests_each_hold_a_verb_noun_pair() -> None:
    # What the prompt asks for is what the ablation counts: every worked request gives spaCy a verb and its object.
    try:
        pairs = verb_noun_pairs([e.instruction for e in shot_examples(Flavour.GENERIC)])
    except CoverageError as e:  # spaCy's model is an optional extra
        pytest.skip(str(e))
    assert all(v and n for v, n in pairs), pairs
    assert len(set(pairs)) == len(pairs)


@pytest.mark.embedded
async def test_the_embedded_model_answers_the_generic_prompt_with_valid_examples() -> None:
    # Form only (a seed does not pin llama.cpp's text across machines): the longer worked batch and the added line
    # still fit the embedded model's context and grammar, and no worked request comes back as if it were new.
    from explore_instruct.tools.generation.generate import GenerateRequest, generate
    from explore_instruct.tools.llm.models import ModelSpec, make_chat_model

    model = make_chat_model(ModelSpec(model="local:smollm2", seed=7, temperature=0.8))
    req = GenerateRequest(task="saving pocket money", parent="personal finance for teenagers", n=3, profile="compact")
    result = await generate(model, req, model_label="local:smollm2")
    assert len(result.calls) == 1 and result.calls[0].ok, result.calls
    assert len(result.examples) + len(result.skipped) <= 3
    shown = {e.instruction for e in shot_examples(Flavour.GENERIC)}
    assert not shown & {e.instruction for e in result.examples}
