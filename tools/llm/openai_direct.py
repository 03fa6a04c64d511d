"""Structured calls to OpenAI-compatible endpoints through the `openai` client itself, not LangChain's wrapper.

The exploration makes thousands of small structured calls; on a fast endpoint the CPU between replies is ours,
and LangChain's runnable stack around each call (callbacks, config merges, the include_raw parallel branch, a
new response-format schema every time) cost more than the HTTP call it wraps. For a `ChatOpenAI` model, whose
settings and client we made (tools/llm/models.py), the same request goes straight to its `openai` client: the JSON
schema is built once per response model, the reply text is always at hand for the repair and the recorded skip,
and the client keeps its own retries and timeout. Any other chat model keeps the LangChain path.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from explore_instruct.tools.compat import openai_client_of, openai_response_format

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from explore_instruct.tools.llm.structured import CallRecord

T = TypeVar("T", bound=BaseModel)
_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def direct(model: BaseChatModel) -> bool:
    """Whether `model` is a plain `ChatOpenAI` (ours) whose openai client can be called as it is."""
    from langchain_openai import ChatOpenAI

    return type(model) is ChatOpenAI and openai_client_of(model) is not None


@functools.lru_cache(maxsize=256)
def response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """The `response_format` the openai client would send for `schema` (strict JSON schema), made once."""
    return openai_response_format(schema)


def _payload(model: Any, schema: type[BaseModel], messages: list[BaseMessage]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": model.model_name,
        "messages": [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
        "response_format": response_format(schema),
    }
    for name in ("temperature", "seed", "top_p", "frequency_penalty", "presence_penalty"):
        value = getattr(model, name, None)
        if value is not None:
            payload[name] = value
    if getattr(model, "max_tokens", None):
        payload["max_tokens"] = model.max_tokens
    payload.update(getattr(model, "model_kwargs", None) or {})
    payload.update(getattr(model, "extra_body", None) or {})  # as `create` merges it: into the JSON body
    return payload


async def openai_attempt(
    model: BaseChatModel, schema: type[T], messages: list[BaseMessage], record: CallRecord
) -> tuple[T | None, str | None, Exception | None]:
    """One round trip: (parsed, raw text, error), with the usage and finish reason on `record`."""
    import openai
    from openai.types.chat import ChatCompletion

    from explore_instruct.tools.llm.structured import CutCompletion

    try:
        # The client's documented `post`, not `chat.completions.create`: the payload is already in wire form, and
        # `create` walks it (every message, the whole JSON schema) through its TypedDict transform on each call,
        # an eighth of our CPU per call on a fast endpoint. Retries, timeout and errors are the client's, as before.
        client: Any = openai_client_of(model)  # not None: `direct` chose this path
        completion = await client.post(
            "/chat/completions", body=_payload(model, schema, messages), cast_to=ChatCompletion
        )
        if completion.usage is not None:
            record.input_tokens += completion.usage.prompt_tokens or 0
            record.output_tokens += completion.usage.completion_tokens or 0
        choice = completion.choices[0]  # an empty list is an IndexError, reported as "empty"
    except (openai.APIError, IndexError) as e:
        return None, None, e
    if choice.finish_reason:
        record.finish_reasons.append(str(choice.finish_reason))
    text = choice.message.content
    if choice.finish_reason == "length":
        return None, text, CutCompletion()
    if choice.finish_reason == "content_filter" or (choice.message.refusal and not text):
        from langchain_core.exceptions import ModelRefusalError

        return None, text, ModelRefusalError(choice.message.refusal or "the model refused")
    if not text:
        return None, None, ValueError("no structured output in the reply")
    try:
        return schema.model_validate_json(text), text, None
    except (ValidationError, ValueError):
        from explore_instruct.tools.llm.structured import parse_json

        try:  # prose or fences around the object: the same lenient reading as the other paths
            return parse_json(schema, text), text, None
        except (ValidationError, ValueError) as e:
            return None, text, e
