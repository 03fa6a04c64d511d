"""A flat run over a corpus (a task per chunk, each example citing its chunk) survives SIGKILLs the way an explored
run does (tests/agent/runs/test_kills.py): killed at four moments, resumed each time, it ends equal to a run that
was never interrupted: the same tasks, the same cited examples, nothing doubled or lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.corpus import write_markdown
from support.kill_chain import SCRIPT, Chain, check_chain, reference_run
from support.openai_server import ScriptedOpenAIServer
from support.reliability import DOMAIN, EXE, cli_env, read_examples, tree_meta

from explore_instruct.tools.corpus.ingest import ingest
from explore_instruct.tools.corpus.outline import chunk_tasks
from explore_instruct.tools.corpus.store import CorpusStore

pytestmark = pytest.mark.slow

FLAT: dict[str, Any] = {"examples": [3], "examples_per_call": 1, "max_concurrency": 3}
SETTINGS = {"prompt_profile": "full", "min_grounding": 0.0}


def chunk_of_task(run_dir: Path, corpus: Path) -> dict[str, str]:
    """Each task's chunk by node id: the tree's task names, and the chunk each name is made from (a flat run's
    tasks are a pure function of the corpus, tools/corpus/outline.py)."""
    by_name = {t.name: t.chunk_id for t in chunk_tasks(CorpusStore(corpus))}
    tree = tree_meta(run_dir)
    return {c["task_name"]: by_name[c["raw_task_name"]] for c in tree.get("children") or []}


def test_kills_of_a_flat_run_over_a_corpus_then_resume_equal_an_uninterrupted_run(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    topics = {"email": "Email writing", "meetings": "Meeting notes", "reports": "Status reports"}
    corpus = tmp_path / "corpus"
    ingest(write_markdown(tmp_path / "docs", topics), corpus)  # the default embedder, as the CLI will open it
    reference, ref_requests = reference_run(tmp_path, FLAT, "exact", docs=str(corpus), strategy="flat", **SETTINGS)
    openai_server.responder = SCRIPT.responder
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"similarity": "exact", **SETTINGS}), encoding="utf-8")  # JSON is YAML
    chain = Chain(openai_server, tmp_path / "run", cli_env(), seed=7)
    argv = [
        EXE, "run", "--domain", DOMAIN, "--out", str(chain.run_dir), "--model", "openai:scripted",
        "--base-url", openai_server.base_url, "--docs", str(corpus), "--strategy", "flat", "--examples", "3",
        "--examples-per-call", "1", "--concurrency", "3", "--config", str(config), "--quiet", "--json",
    ]  # fmt: skip
    outcome = chain.run(argv, ["request", "append", "time", "request"])
    chain.report("flat", ref_requests)
    check_chain(chain, outcome, reference, ref_requests, FLAT)
    own = chunk_of_task(chain.run_dir, corpus)
    examples = read_examples(chain.run_dir)
    assert examples and len(own) > 3
    for e in examples:  # every kept example cites the one chunk its task was made from
        (source,) = e["sources"]
        assert source["chunk_id"] == own[e["node_id"]], e
