"""What bench/cost.py showed to be waste, held fixed: a full-profile enrich call asks for exactly n examples."""

from __future__ import annotations

from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

from explore_instruct.tools.generation.generate import GenerateRequest, generate
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model


async def test_a_full_profile_enrich_call_pins_the_count(openai_server: ScriptedOpenAIServer) -> None:
    """ "At most n" (maxItems alone) let replies come back short, each shortfall a refill call later."""
    openai_server.responder = Script().responder
    model = make_chat_model(ModelSpec(model="openai:gpt-4o-mini", base_url=openai_server.base_url))
    result = await generate(model, GenerateRequest(task="Email writing for work", n=4, profile="full"))
    assert len(result.examples) == 4
    schema = openai_server.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["examples"]["minItems"] == schema["properties"]["examples"]["maxItems"] == 4
