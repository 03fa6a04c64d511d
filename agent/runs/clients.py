"""One HTTP client per run for OpenAI-compatible models, so runs on different event loops never share a pool."""

from __future__ import annotations

import functools
from typing import Any

from explore_instruct.tools.compat import openai_client_of, with_openai_client


@functools.cache
def _tls_context() -> Any:
    """One TLS context per process: building one (loading the CA bundle) cost ~50 ms for every run's client."""
    import httpx2  # the openai client's HTTP library

    return httpx2.create_ssl_context()


def own_http_client(model: Any) -> tuple[Any, Any]:
    """A copy of an OpenAI-compatible model with an async HTTP client of its own, and that client.

    langchain-openai shares one pooled client per endpoint across the process, and pooled connections belong
    to the event loop that opened them: a second `asyncio.run(Runner().start(...))` or `Runner().resume` in the same
    process (a script, a notebook, the CLI invoked in process) failed with "Event loop is closed".
    """
    root = openai_client_of(model)
    if root is None or not hasattr(root, "copy") or not hasattr(model, "model_copy"):
        return model, None
    import openai

    http = openai.DefaultAsyncHttpxClient(verify=_tls_context())
    client = root.copy(http_client=http)
    return with_openai_client(model, client), http
