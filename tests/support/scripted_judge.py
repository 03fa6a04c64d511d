"""A scripted judge: answers the judge's and the re-solver's prompts (tools/prompts/judge.py) deterministically.

Each example's score is a pure function of its instruction (a share `low_share` scores 2, the rest 5), so two
runs judge alike; an example whose block in the prompt shows `bad_text` anywhere (a conversation's middle turn,
say) scores 1, so a test can tell what the judge was shown. `broken` lists the judge calls (1-based, in arrival
order) that get an unusable reply (and its repair too), and `looping` those whose reasons loop, to exercise
`judge_failed`. Math problems are solved from an answer map or by echoing the example's own boxed answer.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

_BLOCK = re.compile(r"^\[(\d+)\]\nInstruction: (.*)$", re.M)
_PROBLEM = re.compile(r"^\[(\d+)\] (.*)$", re.M)
_FAITHFUL = re.compile(r"^\[(\d+)\]\nSource: .*\nInstruction: (.*)$", re.M)


def low_score(instruction: str, low_share: float) -> bool:
    roll = int(hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return roll < low_share


def _blocks(prompt: str) -> list[tuple[str, str, str]]:
    """(number, instruction, the block's whole text) for each example of a judge prompt."""
    found = list(_BLOCK.finditer(prompt))
    ends = [m.start() for m in found[1:]] + [len(prompt)]
    return [(m[1], m[2], prompt[m.start() : end]) for m, end in zip(found, ends, strict=True)]


class ScriptedJudge(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    low_share: float = 0.3
    broken: frozenset[int] = frozenset()
    looping: frozenset[int] = frozenset()  # calls whose reasons (and repair's) loop as SmolLM2's did: "1.1.1..."
    answers: dict[str, str] = Field(default_factory=dict)  # problem instruction -> the solver's answer
    unfaithful_share: float = 0.0  # grounded runs: share of examples the faithfulness check finds unsupported
    bad_text: str | None = None  # an example whose block shows this scores 1
    _calls: list[str] = PrivateAttr(default_factory=list)
    _order: dict[str, int] = PrivateAttr(default_factory=dict)  # judge prompt -> its call number
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted-judge"

    @property
    def judge_calls(self) -> int:
        with self._lock:
            return sum(1 for k in self._calls if k == "judge")

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self._calls)

    def _reply(self, messages: list[BaseMessage]) -> str:
        prompt = next(str(m.content) for m in messages if isinstance(m, HumanMessage))
        repair = sum(isinstance(m, HumanMessage) for m in messages) > 1
        if "Grade each example" in prompt:
            with self._lock:
                if not repair:
                    self._calls.append("judge")
                    self._order.setdefault(prompt, sum(1 for k in self._calls if k == "judge"))
                n = self._order.get(prompt, 0)
            if n in self.broken:
                return '{"verdicts": [{"id": 1, "score": 9, "reason": "out of range"}]}' if repair else "no JSON here"
            reason = "1." * 150 if n in self.looping else "Scripted verdict on the instruction."
            verdicts = [
                {"id": int(i), "score": self._score(ins.strip(), block), "reason": reason}
                for i, ins, block in _blocks(prompt)
            ]  # fmt: skip
            return json.dumps({"verdicts": verdicts})
        if "supported by its source?" in prompt:  # tools/quality/faithful.py: a share `unfaithful_share` is not
            with self._lock:
                self._calls.append("faithful")
            checks = [
                {"id": int(i), "supported": not low_score("faithful:" + ins.strip(), self.unfaithful_share)}
                for i, ins in _FAITHFUL.findall(prompt)
            ]
            return json.dumps({"checks": checks})
        if "Solve each problem" in prompt:
            with self._lock:
                self._calls.append("solve")
            solutions = [
                {"id": int(i), "solution": "Scripted.", "answer": self.answers.get(text.strip(), "0")}
                for i, text in _PROBLEM.findall(prompt)
            ]
            return json.dumps({"solutions": solutions})
        raise ValueError(f"ScriptedJudge: not a judge or solve prompt: {prompt[:80]!r}")

    def _score(self, instruction: str, block: str) -> int:
        if self.bad_text and self.bad_text in block:
            return 1
        return 2 if low_score(instruction, self.low_share) else 5

    def responder(self, request: dict[str, Any]) -> dict[str, Any]:
        """The same replies over HTTP (ScriptedOpenAIServer): the request's user turns become the messages."""
        turns: list[BaseMessage] = [
            HumanMessage(m["content"]) for m in request.get("messages", []) if m.get("role") == "user"
        ]
        try:
            return {"content": self._reply(turns)}
        except ValueError as e:
            return {"status": 400, "body": {"error": {"message": str(e), "type": "scripted"}}}

    def _answer(self, messages: list[BaseMessage]) -> ChatResult:
        text = self._reply(messages)
        usage = {"input_tokens": 50, "output_tokens": len(text) // 4, "total_tokens": 50 + len(text) // 4}
        message = AIMessage(content=text, response_metadata={"finish_reason": "stop"}, usage_metadata=usage)
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
        return self._answer(messages)
