"""The flat baseline (`strategy: flat`, issue 21) and chunk rotation, end to end on the scripted model.

A flat run has no tree to explore: its tasks are the corpus's chunks (one under the root each, named from the
heading path) and each is shown its own chunk only, so every example cites the chunk its task was made from. The
corpus is ingested with the counting `HashEmbedder` (tests/support/corpus.py), so nothing loads MiniLM.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from support.corpus import HashEmbedder, chunk_texts, hashed_corpus, write_markdown
from support.graph_run import read_rows
from support.grounded_run import grounded_context
from support.scripted import Script, parse_decompose, parse_generate, parse_sources

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.graphs.grounding import rotated, rotation_index
from explore_instruct.tools.corpus.outline import chunk_tasks
from explore_instruct.tools.corpus.quotes import supported
from explore_instruct.tools.corpus.retrieve import Passage
from explore_instruct.tools.corpus.store import CorpusStore


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    write_markdown(tmp_path / "docs", {"email": "Email writing", "meetings": "Meeting notes"})
    with hashed_corpus(tmp_path / "docs", tmp_path / "corpus", monkeypatch) as out:
        yield out


def context(tmp_path: Path, model: Any, corpus: Path, name: str = "run", **kw: Any) -> Context:
    flat = {"strategy": "flat", "examples": [2], "examples_per_call": 2}
    return grounded_context(tmp_path, model, corpus, name, **{**flat, **kw})


def rows(run_dir: Path, name: str = "examples.jsonl") -> list[dict[str, Any]]:
    return read_rows(run_dir / name)


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t"}, "recursion_limit": 10000}


async def test_a_flat_run_makes_a_task_per_chunk_and_cites_each_tasks_own_chunk(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    graph = builder.compile(checkpointer=InMemorySaver())
    out = await graph.ainvoke({}, config(), context=context(tmp_path, model, corpus))
    texts = chunk_texts(corpus)
    summary = out["summary"]
    assert summary["nodes_per_depth"] == {"0": 1, "1": len(texts)}  # the root and one task per chunk
    assert summary["shortfall"] == {} and summary["examples"] == 2 * len(texts)
    assert not any(parse_decompose(p) for p in model.prompts)  # no lookahead, no backtracking
    generate = [p for p in model.prompts if parse_generate(p)]
    assert len(generate) == len(texts) and all(len(parse_sources(p)) == 1 for p in generate)
    examples = rows(tmp_path / "run")
    by_task = {t.name: t.chunk_id for t in chunk_tasks(CorpusStore(corpus, embed=HashEmbedder()))}
    state = await graph.aget_state(config())
    names = {i: n["name"] for i, n in state.values["nodes"].items()}
    root = state.values["root_id"]
    assert Counter(e["node_id"] for e in examples) == {i: 2 for i in names if i != root}
    for e in examples:
        (src,) = e["sources"]
        assert src["chunk_id"] == by_task[names[e["node_id"]]]  # the task's own chunk, nothing retrieved
        assert supported(src["quote"], texts[src["chunk_id"]])
    assert {e["sources"][0]["chunk_id"] for e in examples} == set(texts)  # every chunk cited
    assert {n["extra"]["chunk_id"] for i, n in state.values["nodes"].items() if i != root} == set(texts)


async def test_flat_task_names_follow_the_heading_path(tmp_path: Path, corpus: Path) -> None:
    tasks = chunk_tasks(CorpusStore(corpus, embed=HashEmbedder()))
    names = [t.name for t in tasks]
    assert len(set(names)) == len(names) == len(chunk_texts(corpus))
    assert "Email writing section 2" in names and "Meeting notes section 3" in names
    assert all(t.reason.startswith("passage ") for t in tasks)


def test_flat_without_a_corpus_is_one_line() -> None:
    with pytest.raises(ValueError, match="strategy: flat generates from a corpus's chunks; give docs"):
        Context(strategy="flat")
    with pytest.raises(ValueError, match="is not dfs, bfs or flat"):
        Context(strategy="tree")


async def test_flat_with_a_seed_tree_is_refused(tmp_path: Path, corpus: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("name: Email\nchildren:\n  - name: Greetings\n", encoding="utf-8")
    graph = builder.compile(checkpointer=InMemorySaver())
    with pytest.raises(ValueError, match="the tasks are the corpus's chunks"):
        await graph.ainvoke({"seed": str(seed)}, config(), context=context(tmp_path, Script().chat_model(), corpus))


async def test_a_paused_flat_run_resumes_without_losing_or_doubling(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    graph = builder.compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"domain": "Writing at work"}, config(), context=context(tmp_path, model, corpus, max_calls=3))
    snap = await graph.aget_state(config())
    assert [i.value["kind"] for i in snap.interrupts] == ["budget"]
    assert len(rows(tmp_path / "run")) < 2 * len(chunk_texts(corpus))
    await graph.ainvoke(Command(resume={}), config(), context=context(tmp_path, model, corpus))
    assert (await graph.aget_state(config())).values["status"] == "done"
    paused = rows(tmp_path / "run")
    whole = builder.compile(checkpointer=InMemorySaver())
    await whole.ainvoke(
        {"domain": "Writing at work"}, config(), context=context(tmp_path, Script().chat_model(), corpus, "whole")
    )
    uninterrupted = rows(tmp_path / "whole")
    assert len({r["id"] for r in paused}) == len(paused) == len(uninterrupted) == 2 * len(chunk_texts(corpus))
    assert Counter(r["node_id"] for r in paused) == Counter(r["node_id"] for r in uninterrupted)


# ---- rotation ------------------------------------------------------------------------------------


def test_rotation_index_reads_the_batch_id() -> None:
    assert rotation_index(None) == 0 and rotation_index("nonsense") == 0
    assert rotation_index("r0001:task:0000") == 0
    assert rotation_index("r0001:task:0002") == 2
    assert rotation_index("r0003:task:0001") == 3  # two rounds before, second batch of this one


def test_rotated_windows_take_turns_over_the_pool() -> None:
    pool = [Passage(chunk_id=str(i), doc="d", page=None, headings=[], text="t", score=0.0) for i in range(6)]
    ids = [[p["chunk_id"] for p in rotated(pool, 2, t)] for t in range(4)]
    assert ids == [["0", "1"], ["2", "3"], ["4", "5"], ["0", "1"]]
    assert [p["chunk_id"] for p in rotated(pool, 4, 1)] == ["4", "5", "0", "1"]
    assert rotated(pool[:2], 3, 5) == pool[:2]


async def test_a_tasks_batches_are_shown_different_chunks(tmp_path: Path, corpus: Path) -> None:
    """A grounded tree run whose root needs three batches: each batch sees the next window of its chunks."""
    model = Script().chat_model()
    ctx = context(tmp_path, model, corpus, strategy="dfs", max_depth=0, retrieve_k=2, examples=[6])
    graph = builder.compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"domain": "Email writing rules"}, config(), context=ctx)
    shown = [tuple(parse_sources(p)) for p in model.prompts if parse_generate(p)]
    assert len(shown) == 3 and len(set(shown)) == 3  # three batches, three different pairs of chunks
    assert len({s for pair in shown for s in pair}) == 6
    cited = {e["sources"][0]["chunk_id"] for e in rows(tmp_path / "run")}
    assert len(cited) > 2  # more than one batch's top k


# ---- the real embedded model -----------------------------------------------------------------------------------


@pytest.mark.embedded
async def test_a_flat_run_on_the_embedded_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What every valid flat run shares, whatever SmolLM2 writes: one call per chunk, and whatever is kept cites
    its own task's chunk with a verified quote (how many quotes pass is measured in the README, not asserted)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "daemon.md").write_text(
        "# Git daemon\n\n## Starting it\n\nRun git daemon with the base path of your repositories. "
        "It listens on port 9418.\n\n## Exporting\n\nA repository is exported when it holds a file named "
        "git-daemon-export-ok. Without that file the daemon refuses to serve it.\n",
        encoding="utf-8",
    )
    with hashed_corpus(docs, tmp_path / "corpus", monkeypatch) as corpus:
        ctx = Context(
            run_dir=str(tmp_path / "run"), docs=str(corpus), strategy="flat", examples=[1], examples_per_call=1,
            max_fruitless=1, similarity="exact", seed=7,
        )  # fmt: skip
        graph = builder.compile(checkpointer=InMemorySaver())
        out = await graph.ainvoke({"domain": "Running a git daemon"}, config(), context=ctx)
    texts = chunk_texts(corpus)
    assert out["status"] == "done" and out["summary"]["nodes_per_depth"] == {"0": 1, "1": len(texts)}
    calls = rows(tmp_path / "run", "query_log.jsonl")
    assert [c["purpose"] for c in calls] == ["generate"] * len(texts)  # no decomposition, one call per chunk
    state = await graph.aget_state(config())
    own = {i: n["extra"].get("chunk_id") for i, n in state.values["nodes"].items()}
    for e in rows(tmp_path / "run"):
        (src,) = e["sources"]
        assert src["chunk_id"] == own[e["node_id"]] and supported(src["quote"], texts[src["chunk_id"]])
    dropped = rows(tmp_path / "run", "dropped.jsonl") if (tmp_path / "run" / "dropped.jsonl").is_file() else []
    assert all(isinstance(d["rule"], str) and d["rule"] for d in dropped)  # every drop recorded with its rule
