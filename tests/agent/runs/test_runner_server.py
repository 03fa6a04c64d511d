"""The runner and the CLI against a real local OpenAI-compatible server, through the real openai client.

The scripted model (tests/support/scripted.py) answers from the server's responder, so transient HTTP
faults, fan-out concurrency and a SIGKILL mid-run are exercised over a socket. Similarity is pinned to
"exact" (see test_explore_graph.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from support.openai_server import Reply, ScriptedOpenAIServer
from support.scripted import Script
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import EXIT_BAD_INPUT, app
from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.similarity.indexes import normalise

DOMAIN = "Email writing for work"
SMALL: dict[str, Any] = {
    "max_depth": 2,
    "breadth": [2, 2],
    "subtasks_per_call": 1,
    "examples": [2],
    "examples_per_call": 2,
}
EXE = str(Path(sys.executable).parent / "explore-instruct")


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-for-tests")
    for name in list(os.environ):
        if name.startswith("EXPLORE_INSTRUCT_"):
            monkeypatch.delenv(name)


def server_context(server: ScriptedOpenAIServer, run_dir: Path, **overrides: Any) -> Context:
    params: dict[str, Any] = {
        "model": "openai:scripted",
        "base_url": server.base_url,
        "run_dir": str(run_dir),
        "similarity": "exact",
        **SMALL,
    }
    params.update(overrides)
    return Context(**params)


def read_examples(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "examples.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def assert_no_duplicates(records: list[dict[str, Any]]) -> None:
    assert [i for i, c in Counter(r["id"] for r in records).items() if c > 1] == []
    assert [i for i, c in Counter(normalise(r["instruction"]) for r in records).items() if c > 1] == []


# ---- transient faults -----------------------------------------------------------------------------


async def test_rate_limit_and_server_error_are_retried_by_the_client(
    openai_server: ScriptedOpenAIServer, api_key: None, tmp_path: Path
) -> None:
    openai_server.script([Reply(status=429, retry_after=0.2), Reply(status=500)])
    openai_server.responder = Script().responder
    outcome = await Runner().start(server_context(openai_server, tmp_path / "run"), domain=DOMAIN)

    assert outcome.status == "done", outcome
    assert outcome.stats.get("faults", {}) == {}
    assert outcome.stats["calls"] == outcome.stats["calls_ok"] == 7
    # Two extra HTTP requests: the same first request, sent again by the openai client.
    assert openai_server.request_count == 7 + 2
    assert openai_server.requests[0] == openai_server.requests[1] == openai_server.requests[2]
    assert openai_server.requests[2] != openai_server.requests[3]
    assert openai_server.request_times[1] - openai_server.request_times[0] >= 0.15  # Retry-After was honoured
    assert openai_server.exhausted == 0
    assert outcome.summary["shortfall"] == {}
    assert len(read_examples(tmp_path / "run")) == outcome.summary["examples"]


# ---- fan-out concurrency --------------------------------------------------------------------------


@pytest.mark.parametrize("cap", [3, 1])
async def test_enrich_fan_out_runs_in_parallel_up_to_max_concurrency(
    openai_server: ScriptedOpenAIServer, api_key: None, tmp_path: Path, cap: int
) -> None:
    openai_server.responder = Script(delay=0.3 if cap > 1 else 0.1).responder
    # One decomposition into six subtasks, then one round of eight enrich calls (two for the root).
    ctx = server_context(
        openai_server,
        tmp_path / "run",
        max_depth=1,
        breadth=[6],
        subtasks_per_call=6,
        examples=[4],
        examples_per_call=2,
        max_concurrency=cap,
    )
    outcome = await Runner().start(ctx, domain=DOMAIN)

    assert outcome.status == "done", outcome
    assert outcome.stats["calls"] >= 9
    assert openai_server.max_concurrent == cap  # >= 2 proves parallel calls, <= cap proves the bound


# ---- review pauses ----------------------------------------------------------------------------------


async def test_resume_moves_past_a_review_pause(tmp_path: Path) -> None:
    model = Script().chat_model()
    ctx = Context(chat_model=model, run_dir=str(tmp_path / "run"), similarity="exact", review=True, **SMALL)
    outcome = await Runner().start(ctx, domain=DOMAIN)  # nobody to ask: the run stops at the first review
    assert outcome.status == "review"
    assert outcome.interrupt is not None and outcome.interrupt["kind"] == "review_subtasks"

    resumes = 0
    while outcome.status == "review" and resumes < 20:
        before = model.calls
        outcome = await Runner(chat_model=model).resume(str(tmp_path / "run"))  # accepts what was proposed
        resumes += 1
        assert model.calls > before  # every resume moves on
    assert outcome.status == "done"
    assert resumes == 6  # seven proposals reviewed, the first by the start's pause
    assert outcome.summary["tasks_pruned"] == 0
    assert outcome.summary["nodes_per_depth"] == {"0": 1, "1": 2, "2": 4}


# ---- a kill between a step and its checkpoint -------------------------------------------------------


async def test_resume_finishes_a_run_whose_last_step_wrote_but_was_never_checkpointed(tmp_path: Path) -> None:
    """The state a SIGKILL leaves when a step's writes landed but the next checkpoint did not.

    LangGraph's `next` is empty then (every task has its writes), which must not read as "done".
    """
    run_dir = tmp_path / "run"
    model = Script(dup_share=0.3).chat_model()
    ctx = Context(chat_model=model, run_dir=str(run_dir), similarity="exact", **{**SMALL, "examples": [4]})
    whole = await Runner().start(ctx, domain=DOMAIN)
    assert whole.status == "done"
    examples = (run_dir / "examples.jsonl").read_bytes()

    # Cut the history back to the last enrich fan-out: its calls are done and saved, nothing after it is.
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from explore_instruct.graphs.explore import builder

    cfg: RunnableConfig = {"configurable": {"thread_id": whole.thread_id}}
    async with AsyncSqliteSaver.from_conn_string(str(run_dir / "checkpoints.sqlite")) as saver:
        history = [h async for h in builder.compile(checkpointer=saver).aget_state_history(cfg)]
    fan_out = next(h for h in history if {t.name for t in h.tasks} == {"enrich_batch"})
    cut = fan_out.config["configurable"]["checkpoint_id"]
    with sqlite3.connect(run_dir / "checkpoints.sqlite") as db:
        assert db.execute("DELETE FROM checkpoints WHERE checkpoint_id > ?", (cut,)).rowcount > 0
        db.execute("DELETE FROM writes WHERE checkpoint_id > ?", (cut,))
    async with AsyncSqliteSaver.from_conn_string(str(run_dir / "checkpoints.sqlite")) as saver:
        snapshot = await builder.compile(checkpointer=saver).aget_state(cfg)
    assert snapshot.next == ()  # every task of the step has its writes...
    assert snapshot.tasks and all(t.name == "enrich_batch" and t.result for t in snapshot.tasks)

    assert (await Runner().status(str(run_dir)))["status"] == "enriching"  # ...yet the run is not done
    again = Script(dup_share=0.3).chat_model()
    outcome = await Runner(chat_model=again).resume(str(run_dir))
    assert outcome.status == "done"
    assert outcome.summary == whole.summary
    assert again.calls == 0  # the saved writes were used, no call was made twice
    assert (run_dir / "examples.jsonl").read_bytes() == examples


# ---- the CLI on bad input ---------------------------------------------------------------------------


def bad_config(tmp_path: Path) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text("max_depth: 1\nbreadht: [2]\n", encoding="utf-8")
    return str(path)


BAD_INPUTS = {
    "depth out of range": (["--domain", DOMAIN, "--depth", "99"], "depth: Input should be less than or equal to 8"),
    "domain and seed": (["--domain", DOMAIN, "--seed", "tests/fixtures/seed_tree.yaml"], "exactly one of"),
    "neither domain nor seed": ([], "exactly one of"),
    "unknown config key": (["--domain", DOMAIN, "--config", "{bad_config}"], "unknown parameter 'breadht'"),
    "missing seed file": (["--seed", "no/such/seed.yaml"], "no such file"),
    "bad breadth": (["--domain", DOMAIN, "--breadth", "two,three"], "'two'"),
    "bad strategy": (["--domain", DOMAIN, "--strategy", "random"], "strategy: 'random' is not dfs, bfs or flat"),
    "bad similarity": (["--domain", DOMAIN, "--similarity", "fuzzy"], "similarity: 'fuzzy' is not"),
    "missing api key": (["--domain", DOMAIN, "--model", "openai:gpt-4o-mini"], "OPENAI_API_KEY"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_cli_run_rejects_bad_input_before_writing_anything(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    args, needle = BAD_INPUTS[case]
    args = [a.replace("{bad_config}", bad_config(tmp_path)) for a in args]
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--out", str(out), "--quiet", *args])

    assert result.exit_code == EXIT_BAD_INPUT, (result.output, result.exception)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert not out.exists()


# ---- kill -9 and resume, for real ---------------------------------------------------------------------

CLI_PARAMS = [
    "--depth", "2", "--breadth", "2,2", "--subtasks-per-call", "1", "--examples", "6", "--examples-per-call", "2",
]  # fmt: skip
DEFAULT_CONCURRENCY = Context.__dataclass_fields__["max_concurrency"].default
# Long enough that no call of the first enrich wave finishes before the kill lands (see the bound below).
KILL_DELAY = 0.1


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORE_INSTRUCT_")}
    env.update(OPENAI_API_KEY="sk-dummy-for-tests", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.pop("OPENAI_BASE_URL", None)
    return env


def cli_run(server: ScriptedOpenAIServer, run_dir: Path, config: Path) -> list[str]:
    return [
        EXE, "run", "--domain", DOMAIN, "--out", str(run_dir), "--model", "openai:scripted",
        "--base-url", server.base_url, *CLI_PARAMS, "--config", str(config), "--quiet", "--json",
    ]  # fmt: skip


def exact_config(directory: Path) -> Path:
    path = directory / "exact.yaml"
    path.write_text("similarity: exact\n", encoding="utf-8")
    return path


def finished(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)
    assert outcome["status"] == "done"
    return outcome


def tree_meta(run_dir: Path) -> Any:
    return json.loads((run_dir / "tree" / "tree_meta_info.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The reference the killed runs must end up equal to: the same run, whole, in process."""
    root = tmp_path_factory.mktemp("whole")
    with (
        pytest.MonkeyPatch.context() as mp,
        ScriptedOpenAIServer(responder=Script(dup_share=0.25, delay=KILL_DELAY).responder) as server,
    ):
        env = cli_env()
        for name in ("OPENAI_API_KEY", "NO_PROXY", "no_proxy"):
            mp.setenv(name, env[name])
        ctx = server_context(server, root / "run", max_depth=2, breadth="2,2", examples="6", examples_per_call=2)
        outcome = asyncio.run(Runner().start(ctx, domain=DOMAIN))
        assert outcome.status == "done"
        yield {"dir": root / "run", "outcome": outcome.as_dict(), "requests": server.request_count}


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [3, 9])
def test_sigkill_then_resume_ends_like_an_uninterrupted_run(
    kill_after: int, uninterrupted: dict[str, Any], openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    openai_server.responder = Script(dup_share=0.25, delay=KILL_DELAY).responder
    run_dir = tmp_path / "run"
    log = tmp_path / "stderr.txt"
    with open(log, "w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            cli_run(openai_server, run_dir, exact_config(tmp_path)),
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 60
            while openai_server.request_count < kill_after and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert proc.poll() is None, f"the run ended before request {kill_after}: {log.read_text()}"
            assert openai_server.request_count >= kill_after, "timed out waiting for requests"
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    at_kill = openai_server.request_count

    assert asyncio.run(Runner().status(str(run_dir)))["status"] != "done"

    resumed = subprocess.run(
        [EXE, "resume", str(run_dir), "--quiet", "--json"], env=cli_env(), capture_output=True, text=True, timeout=120
    )
    outcome = finished(resumed)
    # The resume did the rest, and only the rest: fewer calls than a whole run.
    assert 0 < openai_server.request_count - at_kill < uninterrupted["requests"]

    whole = uninterrupted["dir"]
    assert tree_meta(run_dir) == tree_meta(whole)
    mine, theirs = read_examples(run_dir), read_examples(whole)
    assert_no_duplicates(mine)
    assert {(r["node_id"], r["instruction"]) for r in mine} == {(r["node_id"], r["instruction"]) for r in theirs}
    assert len(mine) == len(theirs) == outcome["summary"]["examples"]
    assert outcome["summary"] == {**uninterrupted["outcome"]["summary"], "paths": outcome["summary"]["paths"]}
    # Work lost to the kill is at most the calls that were in flight.
    assert openai_server.request_count <= uninterrupted["requests"] + DEFAULT_CONCURRENCY
