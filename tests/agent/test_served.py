"""The graph `langgraph dev` / the Agent Server serves (langgraph.json) reads a remote caller's `seed` only from
the seed root, with MCP's one-line answer; the operator's own graph (the CLI's driver) still reads any path."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.langgraph_dev import ROOT, langgraph_dev
from support.scripted import Script

from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.agent.served import ServedContext
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder

SECRET = "name: secret root name\nreason: nobody outside should read this\n"


def served(name: str = "explore_instruct") -> Any:
    """The graph langgraph.json names, imported the way the server imports it."""
    spec = json.loads((ROOT / "langgraph.json").read_text(encoding="utf-8"))["graphs"][name]["path"]
    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(output root with its seeds/ folder, a secret seed file outside it)."""
    root = tmp_path / "runs"
    (root / "seeds").mkdir(parents=True)
    (root / "seeds" / "mine.yaml").write_text("name: my own domain\nreason: a seed the operator put there\n")
    (root / "seeds" / "broken.yaml").write_text("reason: no name\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret_seed.yaml").write_text(SECRET)
    (root / "seeds" / "link.yaml").symlink_to(outside / "secret_seed.yaml")
    monkeypatch.setenv("EXPLORE_INSTRUCT_OUTPUT_ROOT", str(root))
    monkeypatch.delenv("EXPLORE_INSTRUCT_SEED_ROOT", raising=False)
    return root, outside / "secret_seed.yaml"


async def first_update(graph: Any, inputs: dict[str, Any], run_dir: Path, **context: Any) -> dict[str, Any]:
    """load_seed's update (the run stops there), or the error it raised."""
    ctx = Context(chat_model=Script().chat_model(), similarity="exact", run_dir=str(run_dir), **context)
    config: Any = {"configurable": {"thread_id": "t"}}
    async for chunk in graph.astream(inputs, config, context=ctx, stream_mode="updates"):
        return dict(chunk)
    raise AssertionError("no update")


@pytest.mark.parametrize("probe", ["outside", "symlink", "dotdot", "missing"])
async def test_served_graph_refuses_a_seed_outside_the_seed_root(
    roots: tuple[Path, Path], tmp_path: Path, probe: str
) -> None:
    root, secret = roots
    path = {
        "outside": str(secret),
        "symlink": "link.yaml",
        "dotdot": "../../outside/secret_seed.yaml",
        "missing": str(root / "seeds" / "nothing.yaml"),
    }[probe]
    with pytest.raises(LimitError) as e:
        await first_update(served(), {"seed": path}, root / "r")
    # MCP's own line, the same for every probe, so a caller cannot tell which files exist
    assert str(e.value) == f"seed: {path!r} is not a seed file under the seed root"
    assert not (root / "r" / "run.json").exists()


async def test_served_graph_cannot_be_talked_into_reading_outside(roots: tuple[Path, Path]) -> None:
    """What a remote caller can set besides the input (context, configurable) does not widen the rule."""
    root, secret = roots
    ctx = Context(chat_model=Script().chat_model(), similarity="exact", run_dir=str(root / "r"), runs_root="/")
    config: Any = {"configurable": {"thread_id": "t", "seed_root": "/", "trusted": True, "read_any_path": True}}
    with pytest.raises(LimitError):
        async for _ in served().astream({"seed": str(secret)}, config, context=ctx, stream_mode="updates"):
            break


@pytest.mark.parametrize(
    ("reach", "said"),
    [
        ({"run_dir": "/tmp/x/elsewhere"}, "run_dir: '/tmp/x/elsewhere' is outside the output root"),
        ({"run_dir": "../out"}, "run_dir: '../out' is outside the output root"),
        ({"runs_root": "/"}, "runs_root: '/' is outside the output root"),
        ({"base_url": "http://127.0.0.1:9/v1"}, "base_url: set by the operator of this server, not by a caller"),
        ({"api_key_env": "AWS_SECRET_ACCESS_KEY"}, "api_key_env: set by the operator of this server, not by a caller"),
        ({"chroma_host": "10.0.0.5"}, "chroma_host: set by the operator of this server, not by a caller"),
        ({"chat_model": "anything"}, "chat_model: a caller cannot hand the server a model object"),
        ({"max_calls": 10**9}, "max_calls: 1000000000 is above the cap 2000"),
    ],
)
async def test_a_callers_context_stays_within_the_operators_line(
    roots: tuple[Path, Path], reach: dict[str, Any], said: str
) -> None:
    """A remote caller's context arrives as JSON and is read as `ServedContext`, at every invoke."""
    root, _ = roots
    config: Any = {"configurable": {"thread_id": "t"}}
    with pytest.raises(ValueError) as e:
        async for _ in served().astream({"domain": "x"}, config, context=reach, stream_mode="updates"):
            break
    assert said in str(e.value)
    assert not list(root.rglob("run.json"))


def test_a_callers_context_within_the_line_is_read_relative_to_the_output_root(roots: tuple[Path, Path]) -> None:
    root, _ = roots
    ctx = ServedContext(run_dir="mine/r1", max_calls=5)
    assert ctx.run_dir == str(root.resolve() / "mine" / "r1")
    assert ctx.runs_root == str(root.resolve()) and ctx.max_calls == 5
    assert ServedContext().max_tokens == Limits().max_tokens  # a budget left out is the operator's cap
    # A runs_root of the caller's is checked and kept relative to the output root, not to the server's directory.
    assert ServedContext(runs_root="team").runs_root == str(root.resolve() / "team")


async def test_served_graph_reads_a_seed_under_the_seed_root(roots: tuple[Path, Path]) -> None:
    root, _ = roots
    update = await first_update(served(), {"seed": "mine.yaml"}, root / "r")
    assert update["load_seed"]["root_id"] == "my_own_domain"
    run = json.loads((root / "r" / "run.json").read_text())
    assert run["input"] == {"seed": "mine.yaml"}
    with pytest.raises(ValueError) as e:  # a seed in the root may say what is wrong with it
        await first_update(served(), {"seed": "broken.yaml"}, root / "b")
    assert str(e.value) == f"{root / 'seeds' / 'broken.yaml'}: name: Field required"


async def test_operator_graph_still_reads_any_path(roots: tuple[Path, Path]) -> None:
    """The CLI's driver compiles `builder`: the operator's own face reads whatever path it is given."""
    root, secret = roots
    update = await first_update(builder.compile(), {"seed": str(secret)}, root / "r")
    assert update["load_seed"]["root_id"] == "secret_root_name"


# ---- through `langgraph dev` ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    base = tmp_path_factory.mktemp("served")
    root, outside = base / "runs", base / "outside"
    (root / "seeds").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret_seed.yaml").write_text(SECRET)
    env = {"EXPLORE_INSTRUCT_OUTPUT_ROOT": str(root), "EXPLORE_INSTRUCT_RUNS_ROOT": str(root)}
    with langgraph_dev(env, log=base / "server.log") as url:
        yield url, root, outside / "secret_seed.yaml"


@pytest.mark.slow
async def test_agent_server_refuses_a_seed_outside_the_seed_root(dev: tuple[str, Path, Path]) -> None:
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langgraph_sdk import get_client

    url, root, secret = dev
    line = f"seed: {str(secret)!r} is not a seed file under the seed root"
    client = get_client(url=url)
    thread = await client.threads.create()
    # A caller's context cannot widen the rule either (it is the face's, not a parameter).
    context = {"run_dir": str(root / "sdk")}
    result = await client.runs.wait(
        thread["thread_id"], "explore_instruct", input={"seed": str(secret)}, context=context, raise_error=False
    )
    assert isinstance(result, dict) and result["__error__"]["message"] == line, result
    assert "secret root name" not in json.dumps(result)
    # Nor can it move the run out of the output root, or point the server's key at its own endpoint.
    for reach, said in (
        ({"runs_root": "/"}, "runs_root: '/' is outside the output root"),
        ({"run_dir": "/tmp/elsewhere"}, "run_dir: '/tmp/elsewhere' is outside the output root"),
        ({"base_url": "http://127.0.0.1:9/v1"}, "base_url: set by the operator of this server, not by a caller"),
    ):
        thread = await client.threads.create()
        result = await client.runs.wait(
            thread["thread_id"], "explore_instruct", input={"domain": "x"}, context=reach, raise_error=False
        )
        assert isinstance(result, dict) and said in result["__error__"]["message"], (reach, result)

    mcp = MultiServerMCPClient({"s": {"url": f"{url}/mcp", "transport": "streamable_http"}})
    tools = {t.name: t for t in await mcp.get_tools()}
    answer = str(await tools["explore_instruct"].ainvoke({"seed": str(secret)}))
    assert "secret root name" not in answer and "secret_root_name" not in answer
    assert not list(root.glob("*/run.json"))
