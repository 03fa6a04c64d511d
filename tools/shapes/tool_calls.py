"""The `tool_calls` shape: each example is a conversation in which the assistant calls a tool of the run's tool set.

user request -> assistant tool call (arguments validated against the tool's input schema with `jsonschema`) ->
tool result (simulated by the model, shaped by the tool's output schema when it has one, or the real result of the
MCP server with `--execute-tools`) -> final answer from that result. A share of each batch (`no_tool_share`) are
requests the assistant answers directly: a good tool-use set teaches when not to call too.

Compact profile (a 135M model copies and loops): we pick the tool (round robin over the tool set, so every tool
and with it every required parameter is exercised), and the model fills a small schema built from THAT tool's
parameters (the grammar holds it to their types); a second call writes the answer from the result. Full profile:
the model writes requests in view of every tool and chooses among them by native tool calling (`bind_tools`);
a model without tool calling gets the compact flow.

Drops, named by rule: `invalid_tool_arguments`, `unknown_tool`, `missing_tool_call`, `tool_result_ignored` (the
answer shares no word or number with the result), `tool_error` (an executed call failed), and the degeneracy rules
on the final answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, create_model

from explore_instruct.tools.generation.decompose import Skip
from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult, generate
from explore_instruct.tools.llm.structured import CallRecord, Method, call_structured
from explore_instruct.tools.prompts import tool_calls as prompts
from explore_instruct.tools.shapes.base import ShapeSpec
from explore_instruct.tools.shapes.tool_checks import (
    Answer,
    ReasonedAnswer,
    Requests,
    argument_error,
    call_schema,
    conversation,
    final_check,
    normalise,
    object_model,
)
from explore_instruct.tools.shapes.tool_schemas import ToolsetError
from explore_instruct.tools.shapes.toolsets import Toolset

MAX_CALLS_PER_TURN = 3


def _record(purpose: str, label: str, ai: Any, started: float, ok: bool, error: str | None = None) -> CallRecord:
    rec = CallRecord(purpose=purpose, model=label, method="tool_calling", attempts=1, ok=ok, error=error)
    rec.latency_s = time.perf_counter() - started
    if isinstance(ai, AIMessage):
        if ai.usage_metadata:
            rec.input_tokens = ai.usage_metadata.get("input_tokens", 0)
            rec.output_tokens = ai.usage_metadata.get("output_tokens", 0)
        if ai.response_metadata.get("finish_reason"):
            rec.finish_reasons.append(str(ai.response_metadata["finish_reason"]))
    if not ok:
        rec.error_kind = "other"
    return rec


# ---------------------------------------------------------------- generation


async def generate_tool_calls(
    model: BaseChatModel,
    req: GenerateRequest,
    spec: ShapeSpec,
    toolset: Toolset,
    *,
    method: Method = "auto",
    model_label: str = "",
) -> GenerateResult:
    """Up to `req.n` tool-calling conversations for `req.task` (the no-tool share answered directly)."""
    direct = toolset.direct_count(req.n, spec.no_tool_share)
    out = GenerateResult([], [])
    if direct:
        await _direct(model, replace(req, n=direct), toolset, out, method, model_label)
    answered = len(out.examples)
    want = req.n - direct
    if want > 0 and req.profile == "full" and _binds_tools(model, toolset):
        await _full(model, req, spec, toolset, want, out, method, model_label)
    elif want > 0:
        for _ in range(want):  # one after another: the embedded model serves one call at a time anyway
            await _compact_one(model, req, spec, toolset, toolset.next_tool(), out, method, model_label)
    toolset.kept(direct=answered, tool=len(out.examples) - answered)
    return out


async def _direct(
    model: BaseChatModel, req: GenerateRequest, toolset: Toolset, out: GenerateResult, method: Method, label: str
) -> None:
    """Examples where no tool is called: the method's own generation, offered the tools and answering directly."""
    plain = await generate(model, req, method=method, model_label=label)
    out.calls.extend(plain.calls)
    out.skipped.extend(plain.skipped)
    for ex in plain.examples:
        request = normalise(f"{ex.instruction}\n\n{ex.input}" if ex.input else ex.instruction)
        out.examples.append(conversation(request, [], ex.output, toolset, executed=False))


async def _result_of(
    toolset: Toolset, name: str, arguments: dict[str, Any], simulated: Any, item: dict[str, Any], out: GenerateResult
) -> str | None:
    """The tool message's text: the real call's when the server is attached, else the model's simulation."""
    if not toolset.executable:
        return simulated if isinstance(simulated, str) else json.dumps(simulated, ensure_ascii=False)
    try:
        done = await toolset.execute(name, arguments)
    except ToolsetError as e:
        out.skipped.append(Skip("example", "tool_error", str(e)[:200], item))
        return None
    if done.is_error:
        out.skipped.append(Skip("example", "tool_error", done.text[:200], item))
        return None
    return done.text


async def _compact_one(
    model: BaseChatModel,
    req: GenerateRequest,
    spec: ShapeSpec,
    toolset: Toolset,
    name: str,
    out: GenerateResult,
    method: Method,
    label: str,
) -> None:
    fn = toolset.function(name) or {}
    params = toolset.parameters(name)
    simulate = not toolset.executable
    schema = call_schema(name, params, toolset.output_schemas.get(name), simulate)
    first = await call_structured(
        model, schema, prompts.call_text(req.task, req.parent, name, fn.get("description", ""), params),
        system=prompts.CALL_SYSTEM, shots=prompts.call_shots(simulate), method=method, purpose="tool_call",
        model_label=label,
    )  # fmt: skip
    out.calls.append(first.record)
    if first.value is None:
        rec = first.record  # arguments that do not even parse as the tool's types are invalid arguments too
        if rec.error_kind == "schema" and "arguments" in (rec.error or ""):
            item = {"tool": name, "raw": (rec.raw_text or "")[:500]}
            out.skipped.append(Skip("example", "invalid_tool_arguments", rec.error or "", item))
        return
    value: Any = first.value
    request = normalise(value.request)
    arguments = value.arguments.model_dump(by_alias=True, exclude_none=True)
    simulated = getattr(value, "result", None)
    if isinstance(simulated, BaseModel):
        simulated = simulated.model_dump(by_alias=True, exclude_none=True)
    item = {"request": request, "tool": name, "arguments": arguments}
    error = argument_error(arguments, params)
    if error is not None:
        out.skipped.append(Skip("example", "invalid_tool_arguments", error, item))
        return
    result = await _result_of(toolset, name, arguments, simulated, item, out)
    if result is None:
        return
    answer_schema: type[BaseModel] = ReasonedAnswer if spec.reasoning else Answer
    second = await call_structured(
        model, answer_schema, prompts.answer_text(request, name, arguments, result), system=prompts.ANSWER_SYSTEM,
        shots=[] if spec.reasoning else prompts.answer_shots(), method=method, purpose="tool_answer", model_label=label,
    )  # fmt: skip
    out.calls.append(second.record)
    if second.value is None:
        return
    replied: Any = second.value
    answer = normalise(replied.answer)
    reasoning = getattr(replied, "reasoning", None)
    truncated = "length" in second.record.finish_reasons
    verdict = final_check(request, answer, result, truncated=truncated)
    if verdict is None and spec.reasoning:
        from explore_instruct.tools.shapes.reasoning import check_reasoning

        verdict = check_reasoning(reasoning or "", answer, req.flavour, req.quality, truncated=truncated)
    item |= {"result": result[:500], "answer": answer}
    if verdict is not None:
        out.skipped.append(Skip("example", verdict[0], verdict[1], item))
        return
    calls = [(name, arguments, result)]
    out.examples.append(conversation(request, calls, answer, toolset, executed=not simulate, reasoning=reasoning))


def _binds_tools(model: BaseChatModel, toolset: Toolset) -> bool:
    try:
        model.bind_tools(toolset.tools)
    except NotImplementedError:
        return False
    return True


async def _full(
    model: BaseChatModel,
    req: GenerateRequest,
    spec: ShapeSpec,
    toolset: Toolset,
    want: int,
    out: GenerateResult,
    method: Method,
    label: str,
) -> None:
    asked = await call_structured(
        model, Requests, prompts.requests_text(req.task, req.parent, toolset.tools, want), method=method,
        purpose="tool_requests", model_label=label,
    )  # fmt: skip
    out.calls.append(asked.record)
    if asked.value is None:
        return
    requests = [normalise(r) for r in asked.value.requests[:want] if normalise(r)]
    await asyncio.gather(*(_full_one(model, spec, toolset, r, out, method, label) for r in requests))


async def _full_one(
    model: BaseChatModel,
    spec: ShapeSpec,
    toolset: Toolset,
    request: str,
    out: GenerateResult,
    method: Method,
    label: str,
) -> None:
    history: list[BaseMessage] = [SystemMessage(prompts.FULL_SYSTEM), HumanMessage(request)]
    started = time.perf_counter()
    try:
        ai = await model.bind_tools(toolset.tools).ainvoke(history)
    except Exception as e:  # an API fault is a recorded failed call, as call_structured records one
        out.calls.append(_record("tool_choice", label, None, started, False, f"{type(e).__name__}: {str(e)[:200]}"))
        return
    out.calls.append(_record("tool_choice", label, ai, started, True))
    assert isinstance(ai, AIMessage)
    item: dict[str, Any] = {"request": request}
    if ai.invalid_tool_calls:
        bad = ai.invalid_tool_calls[0]
        item |= {"tool": bad.get("name"), "arguments": bad.get("args")}
        out.skipped.append(Skip("example", "invalid_tool_arguments", str(bad.get("error") or "not JSON")[:200], item))
        return
    if not ai.tool_calls:
        out.skipped.append(Skip("example", "missing_tool_call", normalise(ai.text)[:80], item))
        return
    calls: list[tuple[str, dict[str, Any], str]] = []
    for call in ai.tool_calls[:MAX_CALLS_PER_TURN]:
        name, arguments = call["name"], call["args"]
        item = {"request": request, "tool": name, "arguments": arguments}
        if toolset.function(name) is None:
            out.skipped.append(Skip("example", "unknown_tool", name, item))
            return
        error = argument_error(arguments, toolset.parameters(name))
        if error is not None:
            out.skipped.append(Skip("example", "invalid_tool_arguments", error, item))
            return
        simulated = None if toolset.executable else await _simulate(model, toolset, name, arguments, out, method, label)
        if simulated is None and not toolset.executable:
            return
        result = await _result_of(toolset, name, arguments, simulated, item, out)
        if result is None:
            return
        calls.append((name, arguments, result))
    reply = AIMessage(
        content="", tool_calls=[{"id": f"call_{i}", "name": n, "args": a} for i, (n, a, _r) in enumerate(calls, 1)]
    )
    history += [reply, *(ToolMessage(r, tool_call_id=f"call_{i}") for i, (_n, _a, r) in enumerate(calls, 1))]
    started = time.perf_counter()
    try:
        final = await model.ainvoke(history)
    except Exception as e:
        out.calls.append(_record("tool_answer", label, None, started, False, f"{type(e).__name__}: {str(e)[:200]}"))
        return
    out.calls.append(_record("tool_answer", label, final, started, True))
    answer = normalise(final.text)
    joined = "\n".join(r for _n, _a, r in calls)
    truncated = final.response_metadata.get("finish_reason") == "length"
    verdict = final_check(request, answer, joined, truncated=truncated)
    if verdict is not None:
        out.skipped.append(Skip("example", verdict[0], verdict[1], item | {"answer": answer}))
        return
    reasoning = final.additional_kwargs.get("reasoning_content") if spec.reasoning else None
    out.examples.append(conversation(request, calls, answer, toolset, executed=toolset.executable, reasoning=reasoning))


async def _simulate(
    model: BaseChatModel,
    toolset: Toolset,
    name: str,
    arguments: dict[str, Any],
    out: GenerateResult,
    method: Method,
    label: str,
) -> Any:
    """The model's stand-in for a tool's result: its output schema's fields when it declares one, else text."""
    output = toolset.output_schemas.get(name)
    shaped = bool(output and output.get("properties"))
    schema = object_model(f"{name}_result", output or {}) if shaped else create_model("ToolOutput", result=(str, ...))
    fn = toolset.function(name) or {}
    done = await call_structured(
        model, schema, prompts.simulate_text(name, fn.get("description", ""), arguments, shaped), method=method,
        purpose="tool_result", model_label=label,
    )  # fmt: skip
    out.calls.append(done.record)
    if done.value is None:
        return None
    dumped = done.value.model_dump(by_alias=True, exclude_none=True)
    return dumped if shaped else dumped.get("result")
