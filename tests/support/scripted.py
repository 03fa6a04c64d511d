"""A deterministic scripted "LLM" that answers the project's own prompts.

It reads the decomposition or generation prompt (tools/prompts/full.py), pulls out the target task, how many
children it already has and how many subtasks or examples are asked for, and writes a JSON reply that
passes the schemas and tools/quality/filters.py. The reply is a pure function of the prompt, so two runs of the
same exploration build identical trees.

Use it two ways:

    script = Script(dup_share=0.25)
    Context(chat_model=script.chat_model(), ...)            # in-process LangChain chat model
    ScriptedOpenAIServer(responder=script.responder)        # over HTTP, through the real openai client

Subtask names are hierarchical and short: the root "Email writing for work" gets "Email part 1",
"Email part 2"; "Email part 1" gets "Email part 1.1", and so on, so names stay unique in a tree.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

__all__ = ["Script", "ScriptedChatModel", "parse_decompose", "parse_generate", "parse_sources", "subtask_names"]

_TARGET = re.compile(r"^Target task: (?P<x>.+)$", re.M)
_HAS = re.compile(r"It already has (?P<m>\d+):")
_PROPOSE = re.compile(r"Propose (?P<k>\d+) NEW subtasks")
_PER_SUBTASK = re.compile(r"exactly (?P<n>\d+) examples")
_TASK = re.compile(r"^Task: (?P<x>.+)$", re.M)
_WRITE = re.compile(r"Write (?P<n>\d+) new")
# The compact profile's prompts (tools/prompts/compact.py): "Task: X", "Existing subtasks:" bullets, "Give K new".
_GIVE = re.compile(r"^Give (?P<k>\d+) new subtasks", re.M)
_EXISTING = re.compile(r"^Existing subtasks:\n(?P<items>(?:- .*\n?)*)", re.M)
_HIERARCHICAL = re.compile(r"^(?P<prefix>\w+) part (?P<code>\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class DecomposeAsk:
    target: str
    existing: int
    k: int
    examples_per_subtask: int


@dataclass(frozen=True)
class GenerateAsk:
    task: str
    n: int


def parse_decompose(prompt: str) -> DecomposeAsk | None:
    target, has, k = _TARGET.search(prompt), _HAS.search(prompt), _PROPOSE.search(prompt)
    if not (target and has and k):
        return _parse_compact_decompose(prompt)
    per = _PER_SUBTASK.search(prompt)
    return DecomposeAsk(target["x"].strip(), int(has["m"]), int(k["k"]), int(per["n"]) if per else 2)


def _parse_compact_decompose(prompt: str) -> DecomposeAsk | None:
    task, give, existing = _TASK.search(prompt), _GIVE.search(prompt), _EXISTING.search(prompt)
    if not (task and give and existing):
        return None
    items = [line for line in existing["items"].splitlines() if line.strip() and line.strip() != "- none"]
    return DecomposeAsk(task["x"].strip(), len(items), int(give["k"]), 0)


def parse_generate(prompt: str) -> GenerateAsk | None:
    task, n = _TASK.search(prompt), _WRITE.search(prompt)
    if not (task and n):
        return None
    return GenerateAsk(task["x"].strip(), int(n["n"]))


_SOURCES = re.compile(r"^Sources:\n(?P<items>(?:\[\d+\] .*\n?)*)", re.M)
_ONE_TEXT = re.compile(r"^Text: (?P<text>.+)$", re.M)


def parse_sources(prompt: str) -> list[str]:
    """The numbered source passages of a grounded prompt (tools/prompts/grounded.py), in order."""
    m = _SOURCES.search(prompt)
    if not m:
        one = _ONE_TEXT.search(prompt)  # the compact profile's single text
        return [one["text"]] if one else []
    return [re.sub(r"^\[\d+\] ", "", line) for line in m["items"].splitlines() if line.strip()]


def subtask_names(target: str, existing: int, k: int) -> list[str]:
    """The names the script proposes for `target` when it already has `existing` children."""
    m = _HIERARCHICAL.match(target)
    if m:
        prefix, code = m["prefix"], m["code"] + "."
    else:
        words = re.findall(r"[A-Za-z0-9]+", target)
        prefix, code = (words[0] if words else "Task"), ""
    return [f"{prefix} part {code}{existing + i + 1}" for i in range(k)]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Script:
    """What the scripted model answers; every reply depends on the prompt text alone.

    dup_share: share of generated examples (0..1) whose instruction is a fixed per-task sentence, so
    repeated calls for one task hand the dedup step exact duplicates.
    delay: seconds the HTTP responder asks the server to wait before answering.
    """

    dup_share: float = 0.0
    delay: float = 0.0
    quotes: str = "copy"  # a grounded prompt (with "Sources:"): "copy" a sentence of the source, or "invent" one

    # ---- grounded replies ---------------------------------------------------------------------------

    def _grounded(self, gen: GenerateAsk, h: str, sources: list[str]) -> list[dict[str, Any]]:
        out = []
        for j in range(gen.n):
            n = j % len(sources)
            first = re.split(r"(?<=[.!?])\s", sources[n].strip(), maxsplit=1)[0]
            quote = first if self.quotes == "copy" else f"The manual never says this about {gen.task} at all."
            example = self._example(gen.task, h, j)  # an answer that uses its quote (answer_ignores_quote)
            example["output"] = f"{example['output']} {quote}"
            out.append({**example, "source": n + 1, "quote": quote})
        return out

    # ---- replies ----------------------------------------------------------------------------------

    def reply(self, prompt: str) -> str:
        ask = parse_decompose(prompt)
        if ask is not None:
            return json.dumps({"subtasks": [self._subtask(name, ask) for name in self._names(ask)]})
        gen = parse_generate(prompt)
        if gen is not None:
            h = _digest(gen.task, prompt)
            sources = parse_sources(prompt)
            if sources:
                return json.dumps({"examples": self._grounded(gen, h, sources)})
            return json.dumps({"examples": [self._example(gen.task, h, j) for j in range(gen.n)]})
        raise ValueError(f"Script: not a decompose or generate prompt: {prompt[:120]!r}")

    def _names(self, ask: DecomposeAsk) -> list[str]:
        return subtask_names(ask.target, ask.existing, ask.k)

    def _subtask(self, name: str, ask: DecomposeAsk) -> dict[str, Any]:
        return {
            "name": name,
            "reason": f"A common, practical part of {ask.target}.",
            "examples": [self._subtask_example(name, j) for j in range(ask.examples_per_subtask)],
        }

    def _subtask_example(self, name: str, j: int) -> dict[str, str]:
        return {
            "instruction": f"Give a concrete tip for {name}, case {j + 1}.",
            "input": "",
            "output": f"Here is a useful tip for {name} in case {j + 1}.",
        }

    def _example(self, task: str, h: str, j: int) -> dict[str, str]:
        roll = int(_digest(h, str(j))[:8], 16) / 0xFFFFFFFF
        if roll < self.dup_share:
            instruction = f"Give a general overview of {task} for a beginner."
        else:
            instruction = f"Please help with {task} in situation {h[:10]}-{j}."
        return {"instruction": instruction, "input": "", "output": f"A helpful answer about {task} ({h[:6]}-{j})."}

    # ---- the two faces ----------------------------------------------------------------------------

    def responder(self, request: dict[str, Any]) -> dict[str, Any]:
        """ScriptedOpenAIServer responder: answers the user message that holds the task prompt.

        A request it cannot read gets HTTP 400, which the client does not retry: a loud, fast failure.
        """
        try:
            return {"content": self.reply(prompt_of_request(request)), "delay": self.delay}
        except ValueError as e:
            return {"status": 400, "body": {"error": {"message": f"Script: {e}", "type": "scripted"}}}

    def chat_model(self) -> ScriptedChatModel:
        return ScriptedChatModel(script=self)


def prompt_of_request(request: dict[str, Any]) -> str:
    for message in reversed(request.get("messages", [])):
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, str) and _is_task_prompt(content):
            return content
    raise ValueError("request holds no task prompt")


def _is_task_prompt(text: str) -> bool:
    return parse_decompose(text) is not None or parse_generate(text) is not None


def _first_task_prompt(messages: list[BaseMessage]) -> str:
    """The task prompt being answered: the last one (worked turns of the compact profile come before it)."""
    for m in reversed(messages):
        if isinstance(m, HumanMessage) and isinstance(m.content, str) and _is_task_prompt(m.content):
            return m.content
    raise ValueError("no task prompt in the messages")


class ScriptedChatModel(BaseChatModel):
    """A LangChain chat model that answers with `Script.reply`; no tool binding, so callers use prompt JSON."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: Script = Field(default_factory=Script)
    _prompts: list[str] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def prompts(self) -> list[str]:
        """Every task prompt answered so far, in arrival order."""
        with self._lock:
            return list(self._prompts)

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self._prompts)

    def _record(self, prompt: str) -> None:
        with self._lock:
            self._prompts.append(prompt)

    def _answer(self, messages: list[BaseMessage]) -> ChatResult:
        prompt = _first_task_prompt(messages)
        self._record(prompt)
        text = self.script.reply(prompt)
        message = AIMessage(
            content=text,
            response_metadata={"finish_reason": "stop"},
            usage_metadata={
                "input_tokens": len(prompt) // 4,
                "output_tokens": len(text) // 4,
                "total_tokens": len(prompt) // 4 + len(text) // 4,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._answer(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.script.delay:  # the same latency in process as the HTTP responder asks of the server
            await asyncio.sleep(self.script.delay)
        return self._answer(messages)

    def iter_prompts(self, kind: str) -> Iterator[str]:
        """The answered prompts of one kind: "decompose" or "generate"."""
        parse = parse_decompose if kind == "decompose" else parse_generate
        return (p for p in self.prompts if parse(p) is not None)
