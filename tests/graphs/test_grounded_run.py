"""Grounded exploration end to end on the scripted model over a corpus ingested in the test (issue 21, section 2).

The corpus is made by `tools/corpus/ingest` with the counting `HashEmbedder` (tests/support/corpus.py; cosine
follows shared words), so retrieval is predictable without MiniLM. The scripted model copies the first sentence
of a shown source as its quote (`Script(quotes="copy")`) or invents one (`quotes="invent"`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from support.corpus import SPEC, HashEmbedder, chunk_texts, hashed_corpus, write_markdown
from support.grounded_run import TOPICS, grounded_context
from support.scripted import Script, parse_generate, parse_sources

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.corpus.quotes import supported
from explore_instruct.tools.corpus.store import CorpusStore

SMALL = {"max_depth": 1, "breadth": [2], "subtasks_per_call": 2, "examples": [2], "examples_per_call": 2}


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    write_markdown(tmp_path / "docs", TOPICS, work=True)
    with hashed_corpus(tmp_path / "docs", tmp_path / "corpus", monkeypatch) as out:
        yield out


def context(tmp_path: Path, model: Any, corpus: Path, name: str = "run", **kw: Any) -> Context:
    return grounded_context(tmp_path, model, corpus, name, **{**SMALL, **kw})


def config(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, "recursion_limit": 10000}


def rows(run_dir: Path, name: str) -> list[dict[str, Any]]:
    path = run_dir / name
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def run(inputs: dict[str, Any], ctx: Context, graph: Any = None) -> Any:
    graph = graph or builder.compile(checkpointer=InMemorySaver())
    await graph.ainvoke(inputs, config(), context=ctx)
    return graph


async def test_every_example_cites_a_verified_quote_of_its_chunk(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    await run({"domain": "Email writing for work"}, context(tmp_path, model, corpus))
    examples = rows(tmp_path / "run", "examples.jsonl")
    assert len(examples) == 3 * 2  # root + 2 children, 2 examples each
    texts = chunk_texts(corpus)
    for ex in examples:
        assert len(ex["sources"]) == 1
        src = ex["sources"][0]
        assert set(src) == {"doc", "chunk_id", "page", "quote"}
        assert src["doc"].endswith(".md") and src["chunk_id"] in texts
        assert supported(src["quote"], texts[src["chunk_id"]])
    prompts = [p for p in model.prompts if parse_generate(p)]
    assert prompts and all(len(parse_sources(p)) == 3 for p in prompts)  # retrieve_k chunks each
    assert [d for d in rows(tmp_path / "run", "dropped.jsonl") if d.get("rule") == "unsupported_quote"] == []


async def test_invented_quotes_are_dropped_as_unsupported(tmp_path: Path, corpus: Path) -> None:
    model = Script(quotes="invent").chat_model()
    await run({"domain": "Email writing for work"}, context(tmp_path, model, corpus, max_fruitless=1))
    assert rows(tmp_path / "run", "examples.jsonl") == []
    drops = Counter(d["rule"] for d in rows(tmp_path / "run", "dropped.jsonl"))
    assert drops["unsupported_quote"] == 6


async def test_without_a_domain_the_root_is_named_from_the_corpus(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    await run({}, context(tmp_path, model, corpus, max_depth=0))
    tree = json.loads((tmp_path / "run" / "tree" / "tree_meta_info.json").read_text(encoding="utf-8"))
    assert tree["raw_task_name"] == "Email writing for work, Meeting notes"  # two documents, no majority title


def test_quote_gate_cases() -> None:
    chunk = "The  Email rule number 1 says to keep every email short.\nA good email names its purpose."
    assert supported("the email rule number 1 says to keep every email short.", chunk)
    assert supported("A good email names its purpose", chunk)
    assert supported("The Email rule number 1 says to keep every email short", chunk.replace("short", "short,"))
    assert not supported("A good email is always long and winding.", chunk)
    assert not supported("email short", chunk)  # too short to prove anything
    assert not supported("", chunk)


# ---- lookahead and backtracking over the corpus --------------------------------------------------


async def test_proposals_the_corpus_cannot_answer_are_dropped_as_ungrounded(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    ctx = context(tmp_path, model, corpus, min_grounding=0.6, max_fruitless=1)
    await run({"domain": "Zorblax quantum knitting"}, ctx)
    drops = [d for d in rows(tmp_path / "run", "dropped.jsonl") if d.get("rule") == "ungrounded_task"]
    assert drops and all(d["item"]["grounding"] < 0.6 for d in drops)
    tree = json.loads((tmp_path / "run" / "tree" / "tree_meta_info.json").read_text(encoding="utf-8"))
    assert "Zorblax part 1" not in json.dumps(tree)
    # every decomposition was shown the target's chunks (lookahead sees the corpus)
    decompositions = [p for p in model.prompts if not parse_generate(p)]
    headers = ("From the documents:", "Not yet covered by any task:", "The documents' sections:")
    assert decompositions and all(any(h in p for h in headers) for p in decompositions)


async def test_allow_parametric_keeps_ungrounded_proposals_flagged(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    ctx = context(tmp_path, model, corpus, min_grounding=0.6, allow_parametric=True)
    graph = await run({"domain": "Zorblax quantum knitting"}, ctx)
    snap = await graph.aget_state(config())
    children = [n for n in snap.values["nodes"].values() if n.get("depth") == 1 and n.get("status") == "accepted"]
    assert len(children) == 2
    assert [d for d in rows(tmp_path / "run", "dropped.jsonl") if d.get("rule") == "ungrounded_task"] == []


async def test_backtracking_asks_for_chunks_no_accepted_task_retrieves(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    ctx = context(tmp_path, model, corpus, subtasks_per_call=1, retrieve_k=2)
    await run({"domain": "Email writing for work"}, ctx)
    asks = [p for p in model.prompts if "Not yet covered by any task:" in p]
    assert asks, "a backtracking call was made and shown uncovered chunks"
    first = asks[0]
    shown = first.split("Not yet covered by any task:\n", 1)[1].split("\nPropose subtasks", 1)[0].splitlines()
    assert shown
    # At that moment the tree held the root and its first child: none of their retrieved chunks is shown.
    with CorpusStore(corpus, embed=HashEmbedder()) as s:
        covered = set()
        for name, reason in [
            ("Email writing for work", ""),
            ("Email part 1", "A common, practical part of Email writing for work."),
        ]:
            query = f"{name}. {reason}".strip() if reason else name
            covered |= {" ".join(h.chunk.text.split())[:300] for h in s.query(query, k=2)}
    assert all(line.split("] ", 1)[1] not in covered for line in shown)


# ---- durable -------------------------------------------------------------------------------------


async def test_budget_pause_and_resume_lose_or_double_no_example(tmp_path: Path, corpus: Path) -> None:
    from langgraph.types import Command

    model = Script().chat_model()
    ctx = context(tmp_path, model, corpus, max_calls=2)
    graph = await run({"domain": "Email writing for work"}, ctx)
    snap = await graph.aget_state(config())
    assert [i.value["kind"] for i in snap.interrupts] == ["budget"]
    await graph.ainvoke(Command(resume={}), config(), context=context(tmp_path, model, corpus))
    snap = await graph.aget_state(config())
    assert snap.values["status"] == "done"
    paused = rows(tmp_path / "run", "examples.jsonl")

    whole = Script().chat_model()
    await run({"domain": "Email writing for work"}, context(tmp_path, whole, corpus, name="whole"))
    uninterrupted = rows(tmp_path / "whole", "examples.jsonl")
    assert len({r["id"] for r in paused}) == len(paused) == len(uninterrupted) == 6
    # The pause split enrichment into two rounds (so the order differs); per task, nothing is lost or doubled.
    assert Counter(r["node_id"] for r in paused) == Counter(r["node_id"] for r in uninterrupted)
    assert len({r["instruction"] for r in paused}) == 6
    texts = chunk_texts(corpus)
    assert all(supported(r["sources"][0]["quote"], texts[r["sources"][0]["chunk_id"]]) for r in paused)


# ---- provenance out ------------------------------------------------------------------------------


async def test_exports_card_and_stats_carry_provenance(tmp_path: Path, corpus: Path) -> None:
    from explore_instruct.tools.dataset.export import messages_row, rows_for, sharegpt_row
    from explore_instruct.tools.dataset.provenance import corpus_card_section, run_corpus_stats
    from explore_instruct.tools.dataset.sampling import SampledExample
    from explore_instruct.tools.tree.model import Example

    model = Script().chat_model()
    await run({"domain": "Email writing for work"}, context(tmp_path, model, corpus))
    run_dir = tmp_path / "run"
    stats = run_corpus_stats(run_dir)["corpus"]
    assert stats["examples"] == 6 and stats["verified_quote_share"] == 1.0
    assert stats["chunks"] == 6 and 0 < stats["chunks_cited"] <= 6
    assert stats["chunk_coverage"] == round(stats["chunks_cited"] / 6, 4)
    assert stats["documents_cited"] >= 1

    row = rows(run_dir, "examples.jsonl")[0]
    ex = Example.model_validate({k: row[k] for k in ("instruction", "input", "output", "sources")})
    sampled = SampledExample(id=row["id"], node_id=row["node_id"], depth=row["depth"], path=("Email",), example=ex)
    assert rows_for("jsonl", [sampled])[0]["sources"] == row["sources"]
    assert sharegpt_row(sampled)["sources"] == row["sources"]
    assert messages_row(sampled)["sources"] == row["sources"]

    run_json = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    card = "\n".join(corpus_card_section(run_json["context"], [row["sources"]]))
    assert "## Corpus" in card and "email.md" in card and "meetings.md" in card
    texts = chunk_texts(corpus)
    body = texts[row["sources"][0]["chunk_id"]]
    assert body not in card  # no document text beyond quotes


async def test_the_first_level_is_shown_the_corpus_outline_and_clusters(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    await run({"domain": "Email writing for work"}, context(tmp_path, model, corpus, max_depth=1))
    first = next(p for p in model.prompts if "Target task: Email writing for work" in p)
    outline = first.split("The documents' sections:\n", 1)[1].split("\nRepresentative passages:", 1)[0]
    assert "- Email writing for work section 1" in outline.splitlines()
    assert "- Meeting notes section 1" in outline.splitlines()
    shown = first.split("Representative passages:\n", 1)[1].split("\nPropose subtasks", 1)[0].splitlines()
    assert len(shown) == 3  # max(breadth at depth 0, retrieve_k) clusters, one passage each
    assert len(set(shown)) == 3


async def test_the_compact_profile_grounds_with_one_worked_turn(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    await run({"domain": "Email writing for work"}, context(tmp_path, model, corpus, prompt_profile="compact"))
    examples = rows(tmp_path / "run", "examples.jsonl")
    assert len(examples) == 6 and all(len(e["sources"]) == 1 for e in examples)
    texts = chunk_texts(corpus)
    assert all(supported(e["sources"][0]["quote"], texts[e["sources"][0]["chunk_id"]]) for e in examples)
    generations = [p for p in model.prompts if parse_generate(p)]
    assert generations and all("copied word for word" in p for p in generations)


async def test_the_export_and_stats_commands_carry_the_corpus(tmp_path: Path, corpus: Path) -> None:
    from typer.testing import CliRunner

    from explore_instruct.agent.cli.main import app

    model = Script().chat_model()
    await run({"domain": "Email writing for work"}, context(tmp_path, model, corpus))
    run_dir = tmp_path / "run"
    for fmt, name in (("jsonl", "data.jsonl"), ("sharegpt", "sharegpt.json"), ("messages", "messages.jsonl")):
        out = tmp_path / fmt / name
        result = CliRunner().invoke(app, ["export", str(run_dir), "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        exported = json.loads(text) if name.endswith(".json") else [json.loads(x) for x in text.splitlines() if x]
        assert len(exported) == 6 and all(r["sources"][0]["quote"] for r in exported)
    card = (tmp_path / "jsonl" / "README.md").read_text(encoding="utf-8")
    assert "## Corpus" in card and "email.md" in card
    stats = CliRunner().invoke(app, ["stats", str(run_dir), "--json", "--no-embeddings"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["corpus"]["verified_quote_share"] == 1.0


async def test_raw_documents_are_ingested_into_the_run_directory(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    ctx = context(tmp_path, model, corpus, docs=str(tmp_path / "docs"), embedder=SPEC)
    await run({}, ctx)
    run_dir = tmp_path / "run"
    assert (run_dir / "corpus" / "corpus.json").is_file()
    examples = rows(run_dir, "examples.jsonl")
    assert len(examples) == 6 and all(e["sources"] for e in examples)
    from explore_instruct.tools.dataset.provenance import run_corpus_stats

    assert run_corpus_stats(run_dir)["corpus"]["documents"] == 2


async def test_docs_that_are_neither_a_corpus_nor_readable_get_one_line(tmp_path: Path, corpus: Path) -> None:
    model = Script().chat_model()
    with pytest.raises(ValueError, match=r"^docs: '.*nowhere' is neither a corpus folder nor a file or folder"):
        await run({}, context(tmp_path, model, corpus, docs=str(tmp_path / "nowhere")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"^docs: nothing in '.*empty' could be ingested"):
        await run({}, context(tmp_path, model, corpus, name="r2", docs=str(tmp_path / "empty"), embedder=SPEC))


async def test_compare_reports_each_grounded_runs_corpus_coverage(tmp_path: Path, corpus: Path) -> None:
    from typer.testing import CliRunner

    from explore_instruct.agent.cli.main import app

    for name in ("a", "b"):
        await run({"domain": "Email writing for work"}, context(tmp_path, Script().chat_model(), corpus, name=name))
    result = CliRunner().invoke(
        app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json", "--no-embeddings", "--no-verbs"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["a"]["corpus"]["verified_quote_share"] == out["b"]["corpus"]["verified_quote_share"] == 1.0


async def test_the_judge_drops_outputs_their_chunks_do_not_support_as_unfaithful(tmp_path: Path, corpus: Path) -> None:
    from support.scripted_judge import ScriptedJudge

    judge = ScriptedJudge(low_share=0.0, unfaithful_share=0.5)
    ctx = context(tmp_path, Script().chat_model(), corpus, judge=True, judge_chat_model=judge, max_fruitless=2)
    await run({"domain": "Email writing for work"}, ctx)
    drops = [d for d in rows(tmp_path / "run", "dropped.jsonl") if d.get("rule") == "unfaithful"]
    judgements = rows(tmp_path / "run", "judgements.jsonl")
    assert drops and len(drops) == sum(1 for j in judgements if j.get("faithful") is False)
    kept = {r["id"] for r in judgements if r["kept"]}
    assert kept and all(j.get("faithful") is True for j in judgements if j["id"] in kept)
    assert judge.calls > 0
