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

import asyncio
import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import chroma_server as support_chroma
from support import postgres
from support.openai_server import ScriptedOpenAIServer
from support.reliability import (
    DOMAIN,
    EXE,
    WordScript,
    accepted_ids,
    assert_same_run,
    cli_env,
    read_examples,
)
from support.scripted import parse_generate, prompt_of_request

from explore_instruct.agent.runs.checkpoints import CHECKPOINT_URL_ENV
from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context

pytestmark = pytest.mark.slow

DELAY = 0.05  # seconds the server takes per reply
SCRIPT = WordScript(dup_share=0.25, delay=DELAY)

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


def flags(params: dict[str, Any]) -> list[str]:
    return [
        "--depth", str(params["max_depth"]),
        "--breadth", ",".join(map(str, params["breadth"])),
        "--subtasks-per-call", str(params["subtasks_per_call"]),
        "--examples", ",".join(map(str, params["examples"])),
        "--examples-per-call", str(params["examples_per_call"]),
        "--concurrency", str(params["max_concurrency"]),
    ]  # fmt: skip


def reference_run(root: Path, params: dict[str, Any], similarity: str) -> tuple[Path, int]:
    """The same exploration, whole and in process: its run directory and how many requests it made."""
    run_dir = root / "reference"
    with pytest.MonkeyPatch.context() as mp, ScriptedOpenAIServer(responder=SCRIPT.responder) as server:
        for k, v in cli_env().items():
            mp.setenv(k, v)
        ctx = Context(
            model="openai:scripted",
            base_url=server.base_url,
            run_dir=str(run_dir),
            similarity=similarity,  # type: ignore[arg-type]
            **params,
        )
        outcome = asyncio.run(Runner().start(ctx, domain=DOMAIN))
        assert outcome.status == "done", outcome
        return run_dir, server.request_count


# ---- the kill chain -----------------------------------------------------------------------------------


@dataclass
class Kill:
    kind: str
    requests: int  # server requests seen when the kill landed
    phase: str  # what the last checkpoint had next


PHASES = {
    "load_seed": "start",
    "choose": "extend",
    "lookahead": "extend",
    "backtracking": "extend",
    "descend": "extend",
    "similarity_check": "extend",
    "review": "extend",
    "expand_level": "extend",
    "extend_worker": "extend",
    "budget_gate": "extend",
    "plan_enrich": "enrich",
    "enrich_batch": "enrich",
    "dedup": "dedup",
    "finish": "finish",
}


def phase_of(status: dict[str, Any], run_dir: Path) -> str:
    """Where the kill landed, as far as the checkpoint tells: the step it was in. `step`, not `next`: a kill
    after the step's last write and before its checkpoint leaves `next` empty (see agent/runs/answers.py)."""
    step = status.get("step") or []
    if not step:
        return "start" if status.get("status") == "not started" else "between steps"
    phase = PHASES.get(step[0], step[0])
    if not status.get("next"):
        return f"{phase}, its writes saved"
    if examples_lines(run_dir) > status.get("examples", 0):
        return f"{phase}, after its append"  # examples.jsonl holds lines the checkpoint does not count yet
    return phase


def examples_lines(run_dir: Path) -> int:
    path = run_dir / "examples.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


class Chain:
    """Start `run`, kill it, `resume`, kill it ... `kills` times; then resume to the end."""

    def __init__(self, server: ScriptedOpenAIServer, run_dir: Path, env: dict[str, str], seed: int) -> None:
        self.server = server
        self.run_dir = run_dir
        self.env = env
        self.rng = random.Random(seed)
        self.kills: list[Kill] = []
        self.log = run_dir.parent / "stderr.txt"

    def spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.log, "ab") as stderr:
            return subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=stderr)

    def wait(self, proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 60) -> bool:
        """True once `ready()`; False if the process ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if ready():
                return True
            time.sleep(0.002)
        raise AssertionError(f"no progress in {timeout} s: {self.log.read_text(errors='replace')[-2000:]}")

    def idle_for(self, gap: float) -> Callable[[], bool]:
        def ready() -> bool:
            times = self.server.request_times
            return bool(times) and time.monotonic() >= times[-1] + DELAY + gap

        return ready

    def land(self, proc: subprocess.Popen[bytes], kind: str, started: float) -> bool:
        """Wait for the kill point of `kind`; False if the process finished before it."""
        base = self.server.request_count
        rng = self.rng
        if kind == "request":
            n = base + rng.randint(1, 4)
            return self.wait(proc, lambda: self.server.request_count >= n)
        if kind == "idle":
            n = base + rng.randint(1, 3)
            if not self.wait(proc, lambda: self.server.request_count >= n):
                return False
            gap = rng.uniform(0.0, 0.04)
            # Inside an enrich round the calls follow each other without a pause: after 6 more requests
            # with no idle moment, kill among the calls rather than skip the round.
            cap = n + 6
            while True:  # idle since the last reply, and still no new request
                seen = self.server.request_count
                idle = self.idle_for(gap)
                if not self.wait(proc, lambda idle=idle: idle() or self.server.request_count >= cap):
                    return False
                if self.server.request_count >= cap or self.server.request_count == seen:
                    return True
        if kind == "dedup":  # idle right after an enrich reply: the round's dedup, its writes, its checkpoint
            if not self.wait(proc, lambda: self.server.request_count > base and is_generate(self.server.requests[-1])):
                return False
            gap = rng.uniform(0.01, 0.06)  # a round's end leaves ~40-90 ms between calls
            while True:
                seen = self.server.request_count
                if not self.wait(proc, self.idle_for(gap)):
                    return False
                if self.server.request_count == seen:
                    return True
        if kind == "append":  # right after a step appended to examples.jsonl, before its checkpoint lands
            path = self.run_dir / "examples.jsonl"
            if not self.wait(proc, lambda: self.server.request_count > base):
                return False
            size = path.stat().st_size if path.exists() else 0
            return self.wait(proc, lambda: path.exists() and path.stat().st_size != size)
        if kind == "time":
            if not self.wait(proc, lambda: self.server.request_count > base):
                return False
            at = time.monotonic() + rng.uniform(0.0, 0.15)
            return self.wait(proc, lambda: time.monotonic() >= at)
        at = started + rng.uniform(0.5, 4.0)  # startup: killed at that time or at its first request, if sooner
        return self.wait(proc, lambda: time.monotonic() >= at or self.server.request_count > base)

    def run(self, first: list[str], plan: list[str]) -> dict[str, Any]:
        """Kill once per entry of `plan` (a kind each; the moment is random), then resume to the end."""
        argv = first
        kills = len(plan)
        while len(self.kills) < kills:
            kind = plan[len(self.kills)]
            started = time.monotonic()
            proc = self.spawn(argv)
            try:
                landed = self.land(proc, kind, started)
                if landed:
                    proc.send_signal(signal.SIGKILL)
                    assert proc.wait(timeout=30) == -signal.SIGKILL
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert landed, (
                f"the run ended (exit {proc.returncode}) after {len(self.kills)} kills, before kill "
                f"{len(self.kills) + 1}: {self.log.read_text(errors='replace')[-2000:]}"
            )
            status = asyncio.run(Runner().status(str(self.run_dir)))  # the checkpoint is readable after every kill
            assert status["status"] != "done" or len(self.kills) + 1 == kills, (
                f"the run was complete after {len(self.kills) + 1} kills (killed on its way out), before {kills}"
            )
            self.kills.append(Kill(kind, self.server.request_count, phase_of(status, self.run_dir)))
            argv = [EXE, "resume", str(self.run_dir), "--quiet", "--json"]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        outcome: dict[str, Any] = json.loads(done.stdout)
        assert outcome["status"] == "done", outcome
        return outcome

    def report(self, name: str, ref_requests: int) -> str:
        kinds = Counter(k.kind for k in self.kills)
        phases = Counter(k.phase for k in self.kills)
        line = (
            f"{name}: {len(self.kills)} kills survived; kinds {dict(kinds)}; phases {dict(phases)}; "
            f"last kill at request {self.kills[-1].requests} (an uninterrupted run makes {ref_requests})"
        )
        print(line)
        return line


def is_generate(request: dict[str, Any]) -> bool:
    try:
        return parse_generate(prompt_of_request(request)) is not None
    except ValueError:
        return False


def run_argv(server: ScriptedOpenAIServer, run_dir: Path, params: dict[str, Any], config: Path) -> list[str]:
    return [
        EXE, "run", "--domain", DOMAIN, "--out", str(run_dir), "--model", "openai:scripted",
        "--base-url", server.base_url, *flags(params), "--config", str(config), "--quiet", "--json",
    ]  # fmt: skip


def check_chain(
    chain: Chain, outcome: dict[str, Any], reference: Path, ref_requests: int, params: dict[str, Any]
) -> None:
    counts = assert_same_run(chain.run_dir, reference)
    assert outcome["summary"]["examples"] == counts["examples"]
    # A kill loses at most the calls in flight (and one whose node was saving its result): finished calls
    # of a fan-out are not asked again. (Before agent/runs/checkpoints.py:eager_writes, LangGraph's max_concurrency
    # held their checkpoint writes back, and a kill mid-round redid the whole round.)
    extra = chain.server.request_count - ref_requests
    assert 0 <= extra <= len(chain.kills) * (params["max_concurrency"] + 1), (extra, chain.kills)


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


# ---- a flat run over a corpus: 4 kills ----------------------------------------------------------------------

FLAT: dict[str, Any] = {"examples": [3], "examples_per_call": 1, "max_concurrency": 3}


def test_kills_of_a_flat_run_over_a_corpus_then_resume_equal_an_uninterrupted_run(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    """The flat baseline (a task per chunk, each example citing its own chunk) survives SIGKILLs the way an
    explored run does: same tasks, same cited examples, nothing doubled or lost."""
    from support.corpus import write_markdown

    from explore_instruct.tools.corpus.ingest import ingest

    topics = {"email": "Email writing", "meetings": "Meeting notes", "reports": "Status reports"}
    corpus = tmp_path / "corpus"
    ingest(write_markdown(tmp_path / "docs", topics), corpus)  # the default embedder, as the CLI will open it
    settings = {"similarity": "exact", "prompt_profile": "full", "min_grounding": 0.0}
    run_dir = tmp_path / "reference"
    with pytest.MonkeyPatch.context() as mp, ScriptedOpenAIServer(responder=SCRIPT.responder) as server:
        for k, v in cli_env().items():
            mp.setenv(k, v)
        ctx = Context(model="openai:scripted", base_url=server.base_url, run_dir=str(run_dir), docs=str(corpus),
                      strategy="flat", **settings, **FLAT)  # type: ignore[arg-type]  # fmt: skip
        assert asyncio.run(Runner().start(ctx, domain=DOMAIN)).status == "done"
        ref_requests = server.request_count
    openai_server.responder = SCRIPT.responder
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
    chain = Chain(openai_server, tmp_path / "run", cli_env(), seed=7)
    argv = [
        EXE, "run", "--domain", DOMAIN, "--out", str(chain.run_dir), "--model", "openai:scripted",
        "--base-url", openai_server.base_url, "--docs", str(corpus), "--strategy", "flat", "--examples", "3",
        "--examples-per-call", "1", "--concurrency", "3", "--config", str(config), "--quiet", "--json",
    ]  # fmt: skip
    outcome = chain.run(argv, ["request", "append", "time", "request"])
    chain.report("flat", ref_requests)
    check_chain(chain, outcome, reference=run_dir, ref_requests=ref_requests, params=FLAT)
    examples = read_examples(chain.run_dir)
    assert examples and all(len(e["sources"]) == 1 for e in examples)  # every kept example cites its chunk
