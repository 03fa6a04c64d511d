"""Each private-API use in tools/compat.py, held to what we rely on: a library upgrade that changes one fails here,
by the function's name, not somewhere deep in a run."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel
from typing_extensions import TypedDict

from explore_instruct.tools import compat


class Reply(BaseModel):
    name: str
    count: int


def test_openai_response_format() -> None:
    fmt = compat.openai_response_format(Reply)
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]
    assert schema["name"] == "Reply" and schema["strict"] is True
    assert set(schema["schema"]["properties"]) == {"name", "count"}
    assert schema["schema"]["additionalProperties"] is False


def _chat_openai() -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model="m", api_key="sk-test", base_url="http://127.0.0.1:9/v1")  # type: ignore[arg-type]


def test_openai_client_of() -> None:
    import openai

    model = _chat_openai()
    assert isinstance(compat.openai_client_of(model), openai.AsyncOpenAI)
    assert compat.openai_client_of(object()) is None


def test_with_openai_client() -> None:
    import openai

    model = _chat_openai()
    client = openai.AsyncOpenAI(api_key="sk-other", base_url="http://127.0.0.1:8/v1")
    copy = compat.with_openai_client(model, client)
    assert compat.openai_client_of(copy) is client
    assert copy.async_client is client.chat.completions  # what langchain-openai itself calls
    assert compat.openai_client_of(model) is not client  # the original is untouched


class _S(TypedDict):
    n: int


def test_start_writes_at_once() -> None:
    """LangGraph must look `aput_writes` up on the instance at each call: the wrapped one sees every write."""
    saver = InMemorySaver()
    seen: list[str] = []
    put = saver.aput_writes

    async def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[2] if len(args) > 2 else kwargs.get("task_id", "?"))
        return await put(*args, **kwargs)

    saver.aput_writes = spy  # type: ignore[method-assign]
    pending = compat.start_writes_at_once(saver)
    builder = StateGraph(_S)
    builder.add_node("a", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile(checkpointer=saver)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}

    async def go() -> dict[str, Any]:
        out = await graph.ainvoke({"n": 1}, config)
        await asyncio.gather(*pending)
        return out

    assert asyncio.run(go()) == {"n": 2}
    assert seen, "LangGraph no longer calls the saver's aput_writes through the instance"
    assert not pending


def test_lowlevel_server() -> None:
    from mcp.server.fastmcp import FastMCP
    from mcp.server.lowlevel import Server

    inner = compat.lowlevel_server(FastMCP("x"))
    assert isinstance(inner, Server)
    assert callable(inner.run) and callable(inner.create_initialization_options)
