"""call_structured over a real socket (the real openai client against the scripted server) and with fake models."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel
from support.openai_server import Reply, ScriptedOpenAIServer

from explore_instruct.tools.llm.models import ModelSpec, make_chat_model
from explore_instruct.tools.llm.structured import call_structured, resolve_method

FAKE_KEY = "sk-fake-structured-test-0000"
VALID = '{"name": "tone rewriting", "count": 3}'
BROKEN = '{"name": "tone rewriting", "count": '
WRONG_SCHEMA = '{"name": "tone rewriting", "count": "many"}'
USAGE = {"prompt_tokens": 17, "completion_tokens": 5, "total_tokens": 22}


class Pair(BaseModel):
    name: str
    count: int


def messages_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    return request["messages"]


def last_user_text(request: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(messages_of(request)) if m["role"] == "user")


@pytest.fixture
def make_model(openai_server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch):
    # A local server gets EXPLORE_INSTRUCT_API_KEY, never the user's OPENAI_API_KEY.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key-must-not-leave")
    monkeypatch.setenv("EXPLORE_INSTRUCT_API_KEY", FAKE_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    def make(**overrides: Any):
        spec = {"model": "openai:test-model", "base_url": openai_server.base_url, "max_retries": 2, "timeout_s": 5}
        spec.update(overrides)
        return make_chat_model(ModelSpec(**spec))

    return make


@pytest.fixture
def model(make_model):
    return make_model()


# ---- happy paths, one per method ------------------------------------------------------------------


async def test_json_schema_valid(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(content=VALID, usage=USAGE)])
    result = await call_structured(
        model, Pair, "Name a task.", system="Be terse.", method="json_schema", purpose="p", model_label="m"
    )
    assert result.value == Pair(name="tone rewriting", count=3)
    rec = result.record
    assert rec.ok and rec.error_kind is None and rec.raw_text is None
    assert (rec.attempts, rec.method, rec.purpose, rec.model) == (1, "json_schema", "p", "m")
    assert (rec.input_tokens, rec.output_tokens) == (17, 5)
    assert rec.finish_reasons == ["stop"]
    assert rec.latency_s > 0

    assert openai_server.request_count == 1
    body = openai_server.requests[0]
    assert body["model"] == "test-model"
    assert body["response_format"]["type"] == "json_schema"
    assert set(body["response_format"]["json_schema"]["schema"]["properties"]) == {"name", "count"}
    assert [m["role"] for m in messages_of(body)] == ["system", "user"]
    assert messages_of(body)[0]["content"] == "Be terse."
    assert last_user_text(body) == "Name a task."  # no inline schema: the API carries it
    assert not body.get("stream")  # ChatOpenAI(stream_usage=True).ainvoke does not stream
    assert openai_server.request_headers[0]["authorization"] == f"Bearer {FAKE_KEY}"


async def test_prompt_valid(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(content=f"Sure! Here it is:\n```json\n{VALID}\n```", usage=USAGE)])
    result = await call_structured(model, Pair, "Name a task.", method="prompt")
    assert result.value == Pair(name="tone rewriting", count=3)
    assert result.record.ok and result.record.method == "prompt"
    assert (result.record.input_tokens, result.record.output_tokens) == (17, 5)
    body = openai_server.requests[0]
    assert "response_format" not in body and "tools" not in body
    text = last_user_text(body)
    assert text.startswith("Name a task.")
    assert "JSON schema" in text and '"count"' in text  # the schema rides in the prompt


async def test_function_calling_valid(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(tool_calls=[{"arguments": VALID}], usage=USAGE)])
    result = await call_structured(model, Pair, "Name a task.", method="function_calling")
    assert result.value == Pair(name="tone rewriting", count=3)
    assert result.record.ok and result.record.attempts == 1
    assert (result.record.input_tokens, result.record.output_tokens) == (17, 5)
    body = openai_server.requests[0]
    assert body["tools"][0]["function"]["name"] == "Pair"
    assert body["tool_choice"]["function"]["name"] == "Pair"


async def test_usage_sums_over_repair(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script(
        [
            Reply(content=BROKEN, usage={"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}),
            Reply(content=VALID, usage={"prompt_tokens": 30, "completion_tokens": 4, "total_tokens": 34}),
        ]
    )
    result = await call_structured(model, Pair, "x", method="prompt")
    assert result.record.ok
    assert (result.record.input_tokens, result.record.output_tokens) == (40, 6)


# ---- malformed replies: one repair, then a recorded skip ------------------------------------------


@pytest.mark.parametrize("method", ["json_schema", "prompt"])
async def test_invalid_json_then_repaired(openai_server: ScriptedOpenAIServer, model, method: str) -> None:
    openai_server.script([BROKEN, VALID])
    result = await call_structured(model, Pair, "Name a task.", method=method)  # type: ignore[arg-type]
    assert result.value == Pair(name="tone rewriting", count=3)
    assert result.record.ok and result.record.attempts == 2
    assert openai_server.request_count == 2
    repair = openai_server.requests[1]
    roles = [m["role"] for m in messages_of(repair)]
    assert roles[-2:] == ["assistant", "user"]
    assert messages_of(repair)[-2]["content"] == BROKEN  # the model sees what it got wrong
    assert "could not be used" in last_user_text(repair) and "invalid JSON" in last_user_text(repair)


@pytest.mark.parametrize("method", ["json_schema", "prompt"])
async def test_invalid_json_twice_is_a_recorded_skip(openai_server: ScriptedOpenAIServer, model, method: str) -> None:
    second = '{"name": "still broken"'
    openai_server.script([BROKEN, second])
    result = await call_structured(model, Pair, "x", method=method)  # type: ignore[arg-type]
    assert result.value is None
    rec = result.record
    assert not rec.ok and rec.attempts == 2
    assert rec.error_kind == "invalid_json"
    assert rec.error and rec.error.startswith("invalid JSON")
    assert rec.raw_text == second
    assert openai_server.request_count == 2


@pytest.mark.parametrize("method", ["json_schema", "prompt", "function_calling"])
async def test_schema_mismatch_twice(openai_server: ScriptedOpenAIServer, model, method: str) -> None:
    reply = Reply(tool_calls=[{"arguments": WRONG_SCHEMA}]) if method == "function_calling" else WRONG_SCHEMA
    openai_server.script([reply, reply])
    result = await call_structured(model, Pair, "x", method=method)  # type: ignore[arg-type]
    assert result.value is None
    assert result.record.attempts == 2
    assert result.record.error_kind == "schema"
    assert result.record.error and "count" in result.record.error
    assert result.record.raw_text is not None and "many" in result.record.raw_text


async def test_schema_mismatch_then_repaired(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script(['{"name": "x"}', VALID])
    result = await call_structured(model, Pair, "x", method="json_schema")
    assert result.record.ok and result.record.attempts == 2
    assert "count" in last_user_text(openai_server.requests[1])  # the error names the missing field


@pytest.mark.parametrize("method", ["json_schema", "prompt"])
async def test_length_twice(openai_server: ScriptedOpenAIServer, model, method: str) -> None:
    cut = Reply(content='{"name": "tone rew', finish_reason="length", usage=USAGE)
    openai_server.script([cut, cut])
    result = await call_structured(model, Pair, "x", method=method)  # type: ignore[arg-type]
    assert result.value is None
    rec = result.record
    assert rec.error_kind == "length" and rec.attempts == 2
    assert rec.finish_reasons == ["length", "length"]
    assert rec.raw_text == '{"name": "tone rew'
    # A cut completion was still paid for.
    assert (rec.input_tokens, rec.output_tokens) == (34, 10)


@pytest.mark.parametrize("method", ["json_schema", "prompt", "function_calling"])
async def test_length_then_repaired(openai_server: ScriptedOpenAIServer, model, method: str) -> None:
    good = Reply(tool_calls=[{"arguments": VALID}]) if method == "function_calling" else Reply(content=VALID)
    openai_server.script([Reply(content='{"name": "to', finish_reason="length"), good])
    result = await call_structured(model, Pair, "x", method=method)  # type: ignore[arg-type]
    assert result.record.ok and result.record.attempts == 2


@pytest.mark.parametrize("method", ["json_schema", "prompt", "function_calling"])
async def test_empty_choices_twice(openai_server: ScriptedOpenAIServer, model, method: str) -> None:
    openai_server.script([Reply(empty_choices=True), Reply(empty_choices=True)])
    result = await call_structured(model, Pair, "x", method=method)  # type: ignore[arg-type]
    assert result.value is None
    assert result.record.error_kind == "empty"
    assert result.record.attempts == 2


async def test_empty_choices_then_repaired(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(empty_choices=True), VALID])
    result = await call_structured(model, Pair, "x", method="json_schema")
    assert result.record.ok and result.record.attempts == 2


async def test_function_calling_broken_arguments_twice(openai_server: ScriptedOpenAIServer, model) -> None:
    broken = Reply(tool_calls=[{"arguments": BROKEN}])
    openai_server.script([broken, broken])
    result = await call_structured(model, Pair, "x", method="function_calling")
    assert result.value is None
    assert result.record.error_kind == "invalid_json"
    assert result.record.raw_text == BROKEN
    assert openai_server.request_count == 2
    # The repair shows the model its broken arguments.
    assert BROKEN in [m["content"] for m in openai_server.requests[1]["messages"]]


async def test_function_calling_broken_then_valid(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script(
        [Reply(tool_calls=[{"arguments": "not json at all"}]), Reply(tool_calls=[{"arguments": VALID}])]
    )
    result = await call_structured(model, Pair, "x", method="function_calling")
    assert result.value == Pair(name="tone rewriting", count=3)
    assert result.record.attempts == 2


async def test_function_calling_without_tool_call_reads_content(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([VALID])  # a server that ignores tool_choice and answers in text
    result = await call_structured(model, Pair, "x", method="function_calling")
    assert result.value == Pair(name="tone rewriting", count=3)
    assert result.record.attempts == 1


async def test_refusal_is_recorded_as_refused(openai_server: ScriptedOpenAIServer, model) -> None:
    refusal = Reply(content=None, refusal="I can't help with that.")
    openai_server.script([refusal, refusal])
    result = await call_structured(model, Pair, "x", method="json_schema")
    assert result.value is None
    assert result.record.error_kind == "refused"


async def test_no_repair_when_disabled(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([BROKEN])
    result = await call_structured(model, Pair, "x", method="prompt", repair=False)
    assert result.record.attempts == 1 and result.record.error_kind == "invalid_json"
    assert openai_server.request_count == 1


# ---- transport faults: the openai client's retries ------------------------------------------------


async def test_500_then_valid_is_retried_by_the_client(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(status=500), VALID])
    result = await call_structured(model, Pair, "x", method="json_schema")
    assert result.record.ok
    assert result.record.attempts == 1  # one logical attempt; the retry happened below it
    assert openai_server.request_count == 2
    assert openai_server.requests[0] == openai_server.requests[1]


async def test_429_honours_retry_after(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(status=429, retry_after=1), VALID])
    started = time.perf_counter()
    result = await call_structured(model, Pair, "x", method="json_schema")
    elapsed = time.perf_counter() - started
    assert result.record.ok
    assert openai_server.request_count == 2
    assert elapsed >= 0.9
    assert openai_server.request_times[1] - openai_server.request_times[0] >= 0.9


async def test_401_is_an_api_error_without_repair(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(status=401, body={"error": {"message": "bad key", "type": "auth"}})])
    result = await call_structured(model, Pair, "x", method="json_schema")
    assert result.value is None
    assert result.record.error_kind == "api"
    assert result.record.error and "401" in result.record.error
    assert result.record.attempts == 1
    assert openai_server.request_count == 1  # neither retried nor repaired
    assert FAKE_KEY not in (result.record.error or "")


async def test_persistent_500_gives_up_after_max_retries(make_model, openai_server: ScriptedOpenAIServer) -> None:
    fast = Reply(status=503, headers={"retry-after-ms": "10"})
    openai_server.script([fast, fast, fast, fast])
    result = await call_structured(make_model(max_retries=2), Pair, "x", method="prompt")
    assert result.record.error_kind == "api" and "503" in (result.record.error or "")
    assert result.record.attempts == 1  # API errors are not "repaired"
    assert openai_server.request_count == 3  # 1 + max_retries
    assert openai_server.pending == 1


async def test_dropped_connection_is_retried(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(drop=True), VALID])
    result = await call_structured(model, Pair, "x", method="json_schema")
    assert result.record.ok
    assert openai_server.request_count == 2


async def test_timeout_is_an_api_error(make_model, openai_server: ScriptedOpenAIServer) -> None:
    openai_server.script([Reply(content=VALID, delay=2.0)])
    result = await call_structured(make_model(timeout_s=0.3, max_retries=0), Pair, "x", method="json_schema")
    assert result.value is None
    assert result.record.error_kind == "api"
    assert "Timeout" in (result.record.error or "")
    assert result.record.latency_s < 1.5


# ---- the scripted server itself -------------------------------------------------------------------


async def test_server_tracks_concurrency(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(content=VALID, delay=0.3) for _ in range(4)])
    results = await asyncio.gather(*(call_structured(model, Pair, "x", method="json_schema") for _ in range(4)))
    assert all(r.record.ok for r in results)
    assert openai_server.max_concurrent == 4

    openai_server.script([VALID, VALID])
    fresh = ScriptedOpenAIServer()
    assert fresh.max_concurrent == 0


async def test_server_sequential_calls_do_not_overlap(openai_server: ScriptedOpenAIServer, model) -> None:
    openai_server.script([Reply(content=VALID, delay=0.05) for _ in range(3)])
    for _ in range(3):
        assert (await call_structured(model, Pair, "x", method="json_schema")).record.ok
    assert openai_server.max_concurrent == 1


async def test_server_responder_and_exhaustion(openai_server: ScriptedOpenAIServer, model) -> None:
    seen: list[str] = []

    def respond(request: dict[str, Any]) -> str:
        seen.append(last_user_text(request))
        return VALID

    openai_server.responder = respond
    result = await call_structured(model, Pair, "dynamic", method="json_schema")
    assert result.record.ok and seen == ["dynamic"]

    openai_server.responder = None
    result = await call_structured(model, Pair, "x", method="json_schema")
    assert result.record.error_kind == "api" and "400" in (result.record.error or "")
    assert openai_server.exhausted == 1


def test_server_raw_http(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.script(["hello", Reply(status=429, retry_after=3, body="slow down")])
    url = f"{openai_server.base_url}/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi there, how are you"}]}
    first = httpx.post(url, json=body).json()
    assert first["object"] == "chat.completion"
    assert first["model"] == "m" and first["id"].startswith("chatcmpl-") and first["created"] > 0
    assert first["choices"][0]["message"] == {"role": "assistant", "content": "hello", "refusal": None}
    assert first["choices"][0]["finish_reason"] == "stop"
    usage = first["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0

    second = httpx.post(url.replace("/v1", ""), json=body)  # the path without /v1 works too
    assert second.status_code == 429 and second.headers["Retry-After"] == "3" and second.text == "slow down"

    assert httpx.post(f"{openai_server.base_url}/embeddings", json=body).status_code == 404
    streamed = httpx.post(url, json={**body, "stream": True})
    assert streamed.status_code == 400  # exhausted script, and streaming is refused anyway
    assert openai_server.requests[0] == body


def test_server_stops_cleanly() -> None:
    with ScriptedOpenAIServer(["a"]) as server:
        url = server.base_url
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{url}/chat/completions", json={"messages": []}, timeout=1)


# ---- fake LangChain chat models -------------------------------------------------------------------


def test_resolve_method() -> None:
    fake = FakeListChatModel(responses=[VALID])
    generic = GenericFakeChatModel(messages=iter([AIMessage(VALID)]))
    assert resolve_method(fake, "auto") == "prompt"
    assert resolve_method(generic, "auto") == "prompt"
    assert resolve_method(fake, "json_schema") == "json_schema"  # explicit choices pass through
    openai_model = make_chat_model(ModelSpec(model="openai:x", base_url="http://127.0.0.1:9/v1"))
    assert resolve_method(openai_model, "auto") == "json_schema"
    assert resolve_method(openai_model, "function_calling") == "function_calling"


@pytest.mark.parametrize("method", ["prompt", "auto"])
async def test_fake_list_model(method: str) -> None:
    fake = FakeListChatModel(responses=[f"Here you go: {VALID} Hope that helps."])
    result = await call_structured(fake, Pair, "x", method=method)  # type: ignore[arg-type]
    assert result.value == Pair(name="tone rewriting", count=3)
    assert result.record.method == "prompt"
    assert result.record.ok and result.record.attempts == 1


async def test_fake_list_model_repair_and_skip() -> None:
    fake = FakeListChatModel(responses=["nope", VALID])
    result = await call_structured(fake, Pair, "x", method="auto")
    assert result.record.ok and result.record.attempts == 2

    fake = FakeListChatModel(responses=["nope", "still nope"])
    result = await call_structured(fake, Pair, "x", method="auto")
    assert result.value is None
    assert result.record.error_kind == "invalid_json"
    assert result.record.raw_text == "still nope"


async def test_generic_fake_model_usage_and_length() -> None:
    usage = {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    generic = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage('{"name": "x", "co', usage_metadata=usage, response_metadata={"finish_reason": "length"}),
                AIMessage(VALID, usage_metadata=usage, response_metadata={"finish_reason": "stop"}),
            ]
        )
    )
    result = await call_structured(generic, Pair, "x", method="auto")
    assert result.record.method == "prompt"
    assert result.record.ok and result.record.attempts == 2
    assert result.record.finish_reasons == ["length", "stop"]
    assert (result.record.input_tokens, result.record.output_tokens) == (22, 14)


async def test_fake_model_prompt_carries_schema_and_system() -> None:
    seen: list[Any] = []

    class Recording(FakeListChatModel):
        async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
            seen.append(messages)
            return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)

    await call_structured(Recording(responses=[VALID]), Pair, "Do it.", system="SYS", method="auto")
    (messages,) = seen
    assert [m.type for m in messages] == ["system", "human"]
    assert messages[0].content == "SYS"
    assert messages[1].content.startswith("Do it.") and '"count"' in messages[1].content
