from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from support.openai_server import ScriptedOpenAIServer


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOpenAIServer]:
    """A scripted OpenAI-compatible server on 127.0.0.1; requests to it never go through a proxy."""
    for var in ("NO_PROXY", "no_proxy"):
        existing = os.environ.get(var)
        monkeypatch.setenv(var, f"{existing},127.0.0.1,localhost" if existing else "127.0.0.1,localhost")
    with ScriptedOpenAIServer() as server:
        yield server
