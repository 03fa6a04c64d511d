"""SIGKILL a real exploration at many random points, resume it every time, and compare with a run that
was never interrupted.

The CLI runs as a subprocess against a local OpenAI-compatible server whose replies are a pure function of
the prompt (tests/support/reliability.py: WordScript), so an uninterrupted run with the same replies is
the reference. Kill points come from a seeded RNG and are of six kinds:

- request: the moment the server sees the n-th new request (a call in flight: extend or enrich);
- idle: a random few milliseconds after the last reply while no new request has come: the process is
  between calls (similarity check, dedup, file writes, checkpointing); inside an enrich round, where
  calls leave no pause, it lands among the calls after six more requests;
- dedup: the same, right after an enrich reply: the end of a round, where dedup runs;
- append: the moment examples.jsonl grows: a step (similarity check or dedup) appended its kept examples
  and its checkpoint has not landed yet, the point where a naive resume would append them twice;
- time: a random time (up to 0.15 s) after the segment's first request (anywhere, calls or not);
- startup: a random time after the process started, before its first request (loading, opening the
  checkpoint, first steps).

Most kinds let a segment move only a few calls on, whatever the machine's speed; the two that wait for the
end of an enrich round come where the run can afford them (`kill_plan`), so it cannot end before the 20th.

After each kill the checkpoint must be readable and the run not done; after the last, `resume` finishes
it and the run must equal the reference: the same tree, the same kept examples, no duplicate, none lost,
and no more redone calls than were in flight at the kills.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import chroma_server as support_chroma
from support import postgres
from support.kill_chain import SCRIPT, Chain, check_chain, reference_run, run_argv
from support.openai_server import ScriptedOpenAIServer
from support.reliability import (
    EXE,
    accepted_ids,
    cli_env,
    read_examples,
)

from explore_instruct.agent.runs.checkpoints import CHECKPOINT_URL_ENV

pytestmark = pytest.mark.slow


# Big enough for 20 kills: 13 tasks, 12 extend calls (each followed by a similarity check that appends),
# ~175 enrich calls in several rounds.
LARGE: dict[str, Any] = {
    "max_depth": 2,
    "breadth": [3, 3],
    "subtasks_per_call": 1,
    "examples": [10],
    "examples_per_call": 1,
    "max_concurrency": 3,
}
SMALL: dict[str, Any] = {
    "max_depth": 2,
    "breadth": [2, 1],
    "subtasks_per_call": 1,
    "examples": [4],
    "examples_per_call": 1,
    "max_concurrency": 3,
}


# ---- a kill in the middle of an enrich round --------------------------------------------------------------


def test_a_kill_mid_round_loses_only_the_calls_in_flight(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    """Kill once 30 of a round's ~50 calls have finished: resume must not ask any of them again.

    Regression: LangGraph queued the checkpoint writes of finished calls behind the calls still waiting for
    a max_concurrency slot, so all 30 were lost and paid for twice (agent/runs/checkpoints.py: eager_writes).
    """
    openai_server.responder = SCRIPT.responder
    config = tmp_path / "run.yaml"
    config.write_text("similarity: exact\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    log = run_dir / "query_log.jsonl"

    def finished_enrich_calls() -> list[str]:
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        rows = [json.loads(x) for x in text.split("\n")[:-1]]  # the last piece may be a line being written
        return [r["batch"] for r in rows if r["purpose"] == "generate"]

    chain = Chain(openai_server, run_dir, cli_env(), seed=0)
    proc = chain.spawn(run_argv(openai_server, run_dir, LARGE, config))
    try:
        assert chain.wait(proc, lambda: len(finished_enrich_calls()) >= 30), "the run ended before the kill"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = Counter(finished_enrich_calls())
    assert len(before) >= 30 and all(b.startswith("r0001:") for b in before)  # all in the first round

    done = subprocess.run(
        [EXE, "resume", str(run_dir), "--quiet", "--json"], env=cli_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    asked_again = [b for b, n in Counter(finished_enrich_calls()).items() if n > before.get(b, 0) and b in before]
    assert len(asked_again) <= LARGE["max_concurrency"] + 1, asked_again


# ---- exact similarity, SQLite checkpoints: 20 kills -----------------------------------------------------


def kill_plan(rng: random.Random) -> list[str]:
    """20 kinds in a seeded order. A `dedup` kill, and an `append` kill once enrichment runs, waits for the end
    of an enrich round (the first is ~130 calls), so those come early (an append after an extend's similarity
    check) or last: anywhere else they could let the run finish before the 20th kill."""
    light = ["request"] * 7 + ["idle"] * 4 + ["time"] * 3 + ["startup"] * 2
    rng.shuffle(light)
    light.insert(rng.randint(1, 3), "append")  # the first kill comes once the run directory exists
    return ["request", *light, "dedup", "append"]


def test_twenty_kills_then_resume_equal_an_uninterrupted_run(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    reference, ref_requests = reference_run(tmp_path, LARGE, "exact")
    openai_server.responder = SCRIPT.responder
    config = tmp_path / "run.yaml"
    config.write_text("similarity: exact\n", encoding="utf-8")
    chain = Chain(openai_server, tmp_path / "run", cli_env(), seed=18)
    plan = kill_plan(random.Random(18))
    assert len(plan) == 20 and set(plan) == {"request", "idle", "dedup", "append", "time", "startup"}
    outcome = chain.run(run_argv(openai_server, chain.run_dir, LARGE, config), plan)
    chain.report("exact/sqlite", ref_requests)

    assert len(chain.kills) == 20
    phases = {k.phase for k in chain.kills}
    assert {"extend", "enrich"} <= phases, chain.kills  # kills landed in both halves of the run
    check_chain(chain, outcome, reference, ref_requests, LARGE)


# ---- embedding similarity (Chroma on disk): 4 kills, collections in step with the kept set --------------


def chroma_ids(client: Any, run_dir: Path) -> tuple[set[str], set[str]]:
    from explore_instruct.graphs.indexes import collection_name

    instructions = client.get_collection(collection_name(run_dir, "instructions"))
    tasks = client.get_collection(collection_name(run_dir, "tasks"))
    return set(instructions.get(include=[])["ids"]), set(tasks.get(include=[])["ids"])


def assert_chroma_in_step(client: Any, run_dir: Path) -> None:
    instruction_ids, task_ids = chroma_ids(client, run_dir)
    assert instruction_ids == {r["id"] for r in read_examples(run_dir)}
    assert task_ids == accepted_ids(run_dir)


@pytest.fixture(scope="module")
def embedding_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    return reference_run(tmp_path_factory.mktemp("embedding"), SMALL, "embedding")


@pytest.mark.embedded
def test_kills_in_embedding_mode_keep_chroma_in_step(
    openai_server: ScriptedOpenAIServer, embedding_reference: tuple[Path, int], tmp_path: Path
) -> None:
    import chromadb

    reference, ref_requests = embedding_reference
    openai_server.responder = SCRIPT.responder
    config = tmp_path / "run.yaml"
    config.write_text("similarity: embedding\n", encoding="utf-8")
    chain = Chain(openai_server, tmp_path / "run", cli_env(), seed=3)
    outcome = chain.run(run_argv(openai_server, chain.run_dir, SMALL, config), ["request", "append", "idle", "dedup"])
    chain.report("embedding/chroma-on-disk", ref_requests)

    check_chain(chain, outcome, reference, ref_requests, SMALL)
    names = {c.name for c in chromadb.PersistentClient(path=str(chain.run_dir / "chroma")).list_collections()}
    assert len(names) == 2, names  # one collection per kind, no leftovers from the killed processes
    assert_chroma_in_step(chromadb.PersistentClient(path=str(chain.run_dir / "chroma")), chain.run_dir)


# ---- the scale-out configuration: Postgres checkpoints + a Chroma server: 3 kills ------------------------


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with support_chroma.chroma_server(tmp_path) as address:
        yield address


@pytest.mark.embedded
@postgres.needed
def test_kills_with_postgres_checkpoints_and_a_chroma_server(
    openai_server: ScriptedOpenAIServer,
    embedding_reference: tuple[Path, int],
    chroma_server: tuple[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import chromadb

    host, port = chroma_server
    reference, ref_requests = embedding_reference  # Chroma on disk there: the results do not depend on where
    openai_server.responder = SCRIPT.responder
    config = tmp_path / "run.yaml"
    config.write_text(f"similarity: embedding\nchroma_host: {host}\nchroma_port: {port}\n", encoding="utf-8")
    with postgres.postgres_server() as url:
        monkeypatch.setenv(CHECKPOINT_URL_ENV, url)  # for Runner.status in this process
        chain = Chain(openai_server, tmp_path / "run", cli_env(**{CHECKPOINT_URL_ENV: url}), seed=22)
        outcome = chain.run(run_argv(openai_server, chain.run_dir, SMALL, config), ["request", "append", "dedup"])
    chain.report("embedding/postgres+chroma-server", ref_requests)

    assert json.loads((chain.run_dir / "run.json").read_text())["checkpointer"] == "postgres"
    assert not (chain.run_dir / "checkpoints.sqlite").exists()
    assert not (chain.run_dir / "chroma").exists()  # the vectors live on the server
    check_chain(chain, outcome, reference, ref_requests, SMALL)
    assert_chroma_in_step(chromadb.HttpClient(host=host, port=port), chain.run_dir)
