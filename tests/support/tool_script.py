"""A scripted chat model for the `tool_calls` shape (tools/shapes/tool_calls.py, tools/prompts/tool_calls.py).

It answers the compact tool-call prompt ("Task: ... Tool: NAME: ... Parameters: ...") with a request, arguments
built from the listed parameters (or given per tool) and, when the schema asks for one, a result; the answer prompt
("User request: ... The tool returned: ...") with an answer that quotes the result; and with native tool calling
(`bind_tools`, the full profile) it calls a tool per request. Everything else (the no-tool examples come from the
method's own generation) goes to `support.scripted.Script`. Switches make it misbehave on purpose: arguments of the
wrong type for some tools, a call to a tool that does not exist, answers that ignore the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field

from support.scripted import ScriptedChatModel

_TOOL = re.compile(r"^Tool: (?P<name>[\w-]+): ", re.M)
_PARAM = re.compile(r"^- (?P<key>[\w-]+) \((?P<kind>[^,]+(?:, [^,()]+)*?), (?P<need>required|optional)\)", re.M)
_RETURNED = re.compile(r"The tool returned:\n(?P<r>.*)\nAnswer the user", re.S)
_REQUEST = re.compile(r"^User request: (?P<q>.+)$", re.M)
_WRITE_REQUESTS = re.compile(r"^Write (?P<n>\d+) different, realistic requests", re.M)


def value_for(kind: str) -> Any:
    """A value of the listed type: what a careful model would put there."""
    if kind.startswith("one of "):
        return kind[len("one of ") :].split(", ")[0]
    return {"integer": 2, "number": 1.5, "boolean": True, "array": ["a"], "object": {}}.get(kind, "Europe/London")


class ToolScriptModel(ScriptedChatModel):
    """Answers the tool_calls prompts as a well-behaved model would, except where a switch says otherwise; its
    script, prompt log and lock are `ScriptedChatModel`'s."""

    arguments: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per tool: the arguments to give
    invalid: frozenset[str] = frozenset()  # tools whose arguments come back with the wrong types
    unknown_tool: bool = False  # native calls name a tool that is not in the set
    no_calls: bool = False  # native replies answer in text and call nothing
    ignore_result: bool = False  # answers say nothing of the result

    @property
    def _llm_type(self) -> str:
        return "tool-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, BaseMessage]:
        return self.bind(tools=list(tools), **kwargs)

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        """None: structured calls go the prompt-JSON way, as for a model without a JSON mode."""
        raise NotImplementedError

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last = messages[-1]
        self._record(str(last.content))
        if isinstance(last, ToolMessage):
            message = AIMessage(content=self._answer_result(str(last.content)))
        elif kwargs.get("tools"):
            message = self._native_call(str(last.content), kwargs["tools"])
        else:  # a repair request ("Your last reply could not be used") gets the same reply again: a stubborn model
            asked = [
                str(m.content) for m in messages if m.type == "human" and not str(m.content).startswith("Your last")
            ]
            message = AIMessage(content=self._reply(asked[-1]))
        message.response_metadata = {"finish_reason": "stop"}
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, None, **kwargs)

    # ---- the compact profile's prompts (JSON replies) ----------------------------------------------

    def _reply(self, prompt: str) -> str:
        tool = _TOOL.search(prompt)
        if tool and prompt.startswith("Task: "):
            return json.dumps(self._call(tool.group("name"), prompt))
        returned = _RETURNED.search(prompt)
        if returned:
            answer = self._answer_result(returned.group("r"))
            if '"reasoning"' in prompt:  # the schema of a reasoning,tool_calls answer
                return json.dumps(
                    {"reasoning": "The user asked for this; the tool's result has the facts.", "answer": answer}
                )
            return json.dumps({"answer": answer})
        many = _WRITE_REQUESTS.search(prompt)
        if many:
            task = prompt.splitlines()[0].removeprefix("Task: ")
            n = int(many.group("n"))
            return json.dumps(
                {"requests": [f"Please check this for {task}, request number {i + 1}." for i in range(n)]}
            )
        if prompt.startswith("Tool ") and "Write a realistic, specific result" in prompt:
            return json.dumps({"result": "Result: 14:05 on Saturday in Europe/London."})
        return self.script.reply(prompt)

    def _args(self, name: str, prompt: str) -> dict[str, Any]:
        if name in self.arguments:
            args = dict(self.arguments[name])
        else:
            section = prompt.split("Parameters:\n", 1)[-1]
            args = {m["key"]: value_for(m["kind"]) for m in _PARAM.finditer(section) if m["need"] == "required"}
        if name in self.invalid:
            args = {k: 12345 if isinstance(v, str) else "not a number" for k, v in args.items()} or {"x": 1}
        return args

    def _call(self, name: str, prompt: str) -> dict[str, Any]:
        task = prompt.splitlines()[0].removeprefix("Task: ")
        reply: dict[str, Any] = {
            "request": f"For {task}, can you use {name} to help me right now?",
            "arguments": self._args(name, prompt),
        }
        if '"result"' in prompt:  # the schema asks for a simulated result
            reply["result"] = f"{name} says: 14:05 on Saturday, all clear."
        return reply

    def _answer_result(self, result: str) -> str:
        if self.ignore_result:
            return "I could not say anything useful about that, sorry about it."
        words = re.findall(r"[A-Za-z0-9/:+-]{3,}", result)[:8]
        return "Here is what the tool found: " + " ".join(words) + "."

    # ---- the full profile's native tool calls -------------------------------------------------------

    def _native_call(self, request: str, tools: list[dict[str, Any]]) -> AIMessage:
        if self.no_calls:
            return AIMessage(content="I can answer that directly without a tool.")
        names = [t["function"]["name"] for t in tools]
        number = re.search(r"number (\d+)", request)
        name = names[(int(number.group(1)) - 1 if number else 0) % len(names)]
        fn = next(t["function"] for t in tools if t["function"]["name"] == name)
        props = fn.get("parameters", {}).get("properties", {})
        required = fn.get("parameters", {}).get("required", [])
        listed = "".join(
            f"- {k} ({props[k].get('type', 'string')}, required)\n" for k in required if isinstance(props.get(k), dict)
        )
        args = self._args(name, "Parameters:\n" + listed)
        called = "no_such_tool" if self.unknown_tool else name
        return AIMessage(content="", tool_calls=[{"id": "x1", "name": called, "args": args, "type": "tool_call"}])
