"""Structured completions that never crash the caller.

Transient HTTP faults are the `openai` client's job (its retries back off and honour Retry-After).
What its retries never cover are malformed replies: broken JSON, a schema mismatch, a cut completion,
empty choices, `None` from function calling. Those get one repair attempt and are then returned as a
recorded skip carrying the raw text.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from langchain_core.exceptions import ModelRefusalError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError

from explore_instruct.tools.llm.openai_direct import direct, openai_attempt
from explore_instruct.tools.prompts.full import JSON_ONLY, REPAIR

T = TypeVar("T", bound=BaseModel)
Method = Literal["auto", "json_schema", "function_calling", "json_mode", "prompt"]
ErrorKind = Literal["invalid_json", "schema", "length", "empty", "refused", "api", "other"]


class CutCompletion(Exception):
    """The reply stopped at the token limit (finish_reason == "length")."""


@dataclass
class CallRecord:
    """What one logical call cost and how it ended (attempts include the repair)."""

    purpose: str
    model: str
    method: str
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    ok: bool = False
    error_kind: ErrorKind | None = None
    error: str | None = None
    raw_text: str | None = None
    finish_reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class StructuredResult(Generic[T]):
    value: T | None
    record: CallRecord


def _json_block(text: str) -> str:
    """The outermost JSON object in a reply that may wrap it in prose or code fences."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text


def parse_json(schema: type[T], text: str) -> T:
    return schema.model_validate_json(_json_block(text))


@functools.lru_cache(maxsize=256)
def schema_text(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema())


def resolve_method(model: BaseChatModel, method: Method) -> Method:
    if method != "auto":
        return method
    from langchain_openai import ChatOpenAI

    from explore_instruct.tools.llm.local import ChatLocalLlama

    if isinstance(model, ChatOpenAI | ChatLocalLlama):
        return "json_schema"
    try:
        model.with_structured_output(BaseModel)
    except NotImplementedError:
        return "prompt"
    except Exception:
        pass
    return "function_calling"


def _describe(e: Exception) -> tuple[ErrorKind, str]:
    import openai  # on first use: status and resume checks load the graph, not the client

    if isinstance(e, openai.LengthFinishReasonError | CutCompletion):
        return "length", "completion cut at the token limit"
    if isinstance(e, openai.ContentFilterFinishReasonError):
        return "refused", "completion stopped by the content filter"
    if isinstance(e, ModelRefusalError):
        return "refused", "the model refused"
    if isinstance(e, openai.APIStatusError):
        return "api", f"HTTP {e.status_code}: {type(e).__name__}"
    if isinstance(e, openai.APIError):
        return "api", type(e).__name__
    if isinstance(e, IndexError):
        return "empty", "reply had no choices"
    if isinstance(e, json.JSONDecodeError):
        return "invalid_json", f"invalid JSON: {e.msg}"
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        if err["type"] == "json_invalid":
            return "invalid_json", f"invalid JSON: {err['msg']}"
        loc = ".".join(str(p) for p in err["loc"])
        return "schema", f"does not match the schema at {loc or 'top level'}: {err['msg']}"
    first = str(e).splitlines()[0][:300] if str(e) else ""
    return "other", f"{type(e).__name__}: {first}"


def _usage(record: CallRecord, raw: Any) -> None:
    if isinstance(raw, AIMessage):
        if raw.usage_metadata:
            record.input_tokens += raw.usage_metadata.get("input_tokens", 0)
            record.output_tokens += raw.usage_metadata.get("output_tokens", 0)
        finish = raw.response_metadata.get("finish_reason")
        if finish:
            record.finish_reasons.append(str(finish))


def _salvage(record: CallRecord, e: Exception) -> str | None:
    """Usage and text of a reply that arrived but failed inside the client (json_schema parses there).

    Without this a cut or unparsable json_schema reply is paid for but not counted, and its text is
    lost to both the repair prompt and the recorded skip.
    """
    body: Any = None
    completion = getattr(e, "completion", None)  # openai.LengthFinishReasonError
    if completion is not None and hasattr(completion, "model_dump"):
        body = completion.model_dump()
    else:
        response = getattr(e, "response", None)  # LangChain attaches the HTTP response to parse errors
        if response is not None and getattr(response, "status_code", None) == 200:
            try:
                body = response.json()
            except Exception:
                body = None
    if not isinstance(body, dict):
        return None
    usage = body.get("usage") or {}
    record.input_tokens += int(usage.get("prompt_tokens") or 0)
    record.output_tokens += int(usage.get("completion_tokens") or 0)
    choices = body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return None
    if choices[0].get("finish_reason"):
        record.finish_reasons.append(str(choices[0]["finish_reason"]))
    content = (choices[0].get("message") or {}).get("content")
    return content if isinstance(content, str) else None


_RUNNABLES: OrderedDict[tuple[int, type[BaseModel], str], tuple[BaseChatModel, Runnable[Any, Any]]] = OrderedDict()


def _structured(model: BaseChatModel, schema: type[BaseModel], method: Method) -> Runnable[Any, Any]:
    """`with_structured_output` once per (model, schema, method), not per call.

    Building it converts the schema to a JSON schema and a tool each time, a few milliseconds of CPU per
    call that a wide fan-out pays on the event loop between replies. Keyed by the model's identity; the
    entry keeps the model alive, so the identity cannot be reused while it is cached.
    """
    key = (id(model), schema, method)
    hit = _RUNNABLES.get(key)
    if hit is not None and hit[0] is model:
        _RUNNABLES.move_to_end(key)
        return hit[1]
    runnable = model.with_structured_output(schema, method=method, include_raw=True)
    _RUNNABLES[key] = (model, runnable)
    while len(_RUNNABLES) > 64:
        _RUNNABLES.popitem(last=False)
    return runnable


async def _attempt(
    model: BaseChatModel, schema: type[T], messages: list[BaseMessage], method: Method, record: CallRecord
) -> tuple[T | None, str | None, Exception | None]:
    """One round trip: (parsed, raw text, error)."""
    import openai

    record.attempts += 1
    try:
        if method == "prompt":
            raw = await model.ainvoke(messages)
            _usage(record, raw)
            content = str(raw.text) if isinstance(raw, BaseMessage) else str(raw)
            if isinstance(raw, AIMessage) and raw.response_metadata.get("finish_reason") == "length":
                return None, content, CutCompletion()
            try:
                return parse_json(schema, content), content, None
            except (ValidationError, ValueError) as e:
                return None, content, e
        if method == "json_schema" and direct(model):  # an OpenAI-compatible endpoint: its own client
            return await openai_attempt(model, schema, messages, record)
        out = await _structured(model, schema, method).ainvoke(messages)
    except openai.LengthFinishReasonError as e:
        return None, _salvage(record, e), e
    except (openai.APIError, IndexError, ValidationError, ValueError) as e:
        return None, _salvage(record, e), e
    assert isinstance(out, dict)
    raw_out = out.get("raw")
    _usage(record, raw_out)
    text = str(raw_out.text) if isinstance(raw_out, BaseMessage) else None
    if isinstance(raw_out, AIMessage) and not text and raw_out.tool_calls:
        text = json.dumps(raw_out.tool_calls[0].get("args", {}))
    elif isinstance(raw_out, AIMessage) and not text and raw_out.invalid_tool_calls:
        text = raw_out.invalid_tool_calls[0].get("args") or None  # the unparsable arguments string
    parsed = out.get("parsed")
    if isinstance(parsed, schema):
        return parsed, text, None
    if isinstance(raw_out, AIMessage) and raw_out.response_metadata.get("finish_reason") == "length":
        return None, text, CutCompletion()
    error = out.get("parsing_error")
    if text:  # function calling hands back None on broken arguments; try the text ourselves
        try:
            return parse_json(schema, text), text, None
        except (ValidationError, ValueError) as e:
            error = error or e
    return (
        None,
        text,
        error if isinstance(error, Exception) else ValueError("no structured output in the reply"),
    )


async def call_structured(
    model: BaseChatModel,
    schema: type[T],
    prompt: str,
    *,
    system: str | None = None,
    shots: Sequence[tuple[str, str]] = (),
    method: Method = "auto",
    purpose: str = "call",
    model_label: str = "",
    repair: bool = True,
) -> StructuredResult[T]:
    """`shots`: worked (user, assistant) turns placed before the prompt, for models that imitate better than
    they follow rules."""
    import openai

    resolved = resolve_method(model, method)
    if resolved in {"prompt", "json_mode"}:
        prompt = f"{prompt}\n\n{JSON_ONLY.format(schema=schema_text(schema))}"
    turns: list[BaseMessage] = [m for user, reply in shots for m in (HumanMessage(user), AIMessage(reply))]
    messages: list[BaseMessage] = [*([SystemMessage(system)] if system else []), *turns, HumanMessage(prompt)]
    record = CallRecord(purpose=purpose, model=model_label, method=resolved)
    started = time.perf_counter()
    value, text, error = await _attempt(model, schema, messages, resolved, record)
    if value is None and repair and error is not None and not isinstance(error, openai.APIError):
        _kind, detail = _describe(error)
        fix = [*messages]
        if text:
            fix.append(AIMessage(text[:8000]))
        fix.append(HumanMessage(REPAIR.format(error=detail, schema=schema_text(schema))))
        value, text2, error = await _attempt(model, schema, fix, resolved, record)
        text = text2 or text
    record.latency_s = time.perf_counter() - started
    record.ok = value is not None
    if value is None:
        record.error_kind, record.error = _describe(error or ValueError("no output"))
        record.raw_text = text
    return StructuredResult(value=value, record=record)
