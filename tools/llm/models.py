"""One factory for chat models from a `provider:model` string, and the price table.

Remote models go through langchain-openai (the `openai` client underneath) so every OpenAI-compatible
endpoint works the same way: OpenAI, vLLM, Ollama, a llama.cpp server. `local:smollm2` is the
embedded offline default.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from explore_instruct.tools.params import LOCAL_MAX_TEMPERATURE, default_of, env_name, run_default

# OpenAI-compatible servers people run themselves: provider prefix -> default base URL.
OPENAI_COMPATIBLE = {
    "openai": None,
    "vllm": "http://127.0.0.1:8000/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
    "compatible": None,
}

SELF_HOSTED = {"vllm", "ollama", "llamacpp"}

# USD per 1M tokens (input, output), from OpenAI's public price list. Unknown models have no entry,
# so their cost is reported as unknown rather than a misleading 0.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
}


class ModelConfigError(ValueError):
    """A model string or endpoint setting that cannot work; one line, fit for a CLI."""


@dataclass(kw_only=True)
class ModelSpec:
    """Everything needed to build a chat model. The API key is never stored here, only its env var.

    The run parameters it shares with a run's context take their defaults (and `EXPLORE_INSTRUCT_MODEL`,
    `_BASE_URL`, `_API_KEY_ENV`) from their one definition in tools/params.py."""

    model: str = field(default_factory=partial(run_default, "model"))
    base_url: str | None = field(default_factory=partial(run_default, "base_url"))
    api_key_env: str = field(default_factory=partial(run_default, "api_key_env"))
    temperature: float = 1.0
    repeat_penalty: float = 1.0  # llama.cpp, vLLM and Ollama read it; OpenAI's API has no such setting
    max_tokens: int | None = None  # completion tokens per call (not the run's token budget)
    timeout_s: float = default_of("timeout_s")
    max_retries: int = default_of("max_retries")
    seed: int | None = None

    @property
    def provider(self) -> str:
        return split_model(self.model)[0]

    @property
    def model_name(self) -> str:
        return split_model(self.model)[1]


def split_model(model: str) -> tuple[str, str]:
    model = model.strip()
    if not model:
        raise ModelConfigError("model: empty model string; use e.g. 'local:smollm2' or 'openai:gpt-4o-mini'")
    provider, sep, name = model.partition(":")
    if not sep:
        return ("local" if provider.lower() == "smollm2" else "openai"), provider
    if not name:
        raise ModelConfigError(f"model: {model!r} names no model after the provider")
    return provider.lower(), name


def make_chat_model(spec: ModelSpec) -> BaseChatModel:
    provider, name = split_model(spec.model)
    if provider == "local":
        from explore_instruct.tools.llm.local import LocalModelUnavailable, local_chat_model

        try:
            return local_chat_model(
                name,
                temperature=min(spec.temperature, LOCAL_MAX_TEMPERATURE),  # a run above it is refused: tools/params.py
                max_tokens=spec.max_tokens or 1024,
                seed=spec.seed,
                repeat_penalty=spec.repeat_penalty,
            )
        except LocalModelUnavailable as e:
            raise ModelConfigError(str(e)) from None
    if provider in OPENAI_COMPATIBLE:
        from langchain_openai import ChatOpenAI

        base_url = spec.base_url or OPENAI_COMPATIBLE[provider] or os.environ.get("OPENAI_BASE_URL") or None
        key = os.environ.get(spec.api_key_env)
        if key and spec.api_key_env == "OPENAI_API_KEY" and not _is_openai_host(base_url):
            # Never hand the user's OpenAI key to some other server just because it is the default variable.
            key = os.environ.get(env_name("api_key"))
        if not key:
            if base_url is None:
                raise ModelConfigError(
                    f"model {spec.model!r}: set the API key in ${spec.api_key_env} (or give --base-url for a "
                    "local OpenAI-compatible server)"
                )
            key = "not-needed"  # self-hosted servers usually ignore it, but the client insists on one
        kwargs: dict[str, Any] = {
            "model": name,
            "base_url": base_url,
            "api_key": SecretStr(key),
            "temperature": spec.temperature,
            "timeout": spec.timeout_s,
            "max_retries": spec.max_retries,
            "stream_usage": True,
        }
        if spec.max_tokens:
            kwargs["max_tokens"] = spec.max_tokens
        if spec.seed is not None:
            kwargs["seed"] = spec.seed
        if spec.repeat_penalty != 1.0 and provider in SELF_HOSTED:
            # vLLM reads `repetition_penalty`, llama.cpp's server and Ollama `repeat_penalty`; each ignores the other.
            kwargs["extra_body"] = {"repetition_penalty": spec.repeat_penalty, "repeat_penalty": spec.repeat_penalty}
        return ChatOpenAI(**kwargs)
    # Any other LangChain provider whose integration package is installed (anthropic, google, ...).
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(
            name, model_provider=provider, temperature=spec.temperature, max_retries=spec.max_retries
        )
    except (ImportError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelConfigError(f"model {spec.model!r}: {first}") from None


# The settings differ per run only where callers choose them (seed, temperature, judge model), so a server keeps
# a few; the least recently used past the bound is dropped (the embedded model's weights go with its last user).
_SHARED: OrderedDict[tuple[Any, ...], BaseChatModel] = OrderedDict()
MAX_SHARED = 8
_SHARED_LOCK = threading.Lock()


def shared_chat_model(spec: ModelSpec) -> BaseChatModel:
    """One model object per settings in a process: the embedded model loads its weights once, and a remote
    client keeps its connection pool across the steps of a run."""
    key: tuple[Any, ...] = (spec.model, spec.base_url, spec.api_key_env, spec.temperature, spec.repeat_penalty)
    key += (spec.max_tokens,)
    key += (spec.seed, spec.max_retries, spec.timeout_s)
    with _SHARED_LOCK:
        model = _SHARED.get(key)
        if model is not None:
            _SHARED.move_to_end(key)
            return model
    model = make_chat_model(spec)  # outside the lock: the embedded model takes seconds to load
    with _SHARED_LOCK:
        model = _SHARED.setdefault(key, model)
        _SHARED.move_to_end(key)
        while len(_SHARED) > MAX_SHARED:
            _SHARED.popitem(last=False)
    return model


def _is_openai_host(base_url: str | None) -> bool:
    if base_url is None:
        return True
    host = urlparse(base_url).hostname or ""
    return host == "api.openai.com" or host.endswith(".openai.com") or host.endswith(".openai.azure.com")


def price_for(model: str) -> tuple[float, float] | None:
    provider, name = split_model(model)
    if provider == "local":
        return (0.0, 0.0)
    if name in PRICES_PER_MTOK:
        return PRICES_PER_MTOK[name]
    # Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs.
    for known in sorted(PRICES_PER_MTOK, key=len, reverse=True):
        if name.startswith(known + "-") and name[len(known) + 1 : len(known) + 2].isdigit():
            return PRICES_PER_MTOK[known]
    return None


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    price = price_for(model)
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
