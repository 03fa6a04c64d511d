"""A batch on a real local Ray cluster (a head and two worker nodes on 127.0.0.1, started here) whose workers
are SIGKILLed mid-run: Ray retries each lost task, the retry resumes its run from its checkpoint, and every run
ends equal to the same run made whole in one process (same tree, same kept examples, none lost or doubled).

Every Ray process a test starts gets a home and a temp dir of its own and an explicit auth mode (`ray_env`):
Ray reads `~/.ray/auth_token`, and a token there (which `ray.init()` of Ray 2.5x wrote for every local cluster)
turned the head's token auth on while `ray start --address` stayed off, so the workers could not join
("InvalidAuthToken") on any machine where someone had run `batch --ray local`. A test runs such a batch, checks
that it left nothing in the home, and starts a cluster there the way a person would, with no auth setting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.openai_server import ScriptedOpenAIServer
from support.reliability import EXE, WordScript, assert_same_run, cli_env, free_port, kept_set, read_examples

from explore_instruct.agent.batch.jobs import ATTEMPTS, BATCH_DIR, read_domains
from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context

pytest.importorskip("ray")  # the `ray` extra; CI installs it (Makefile)
pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).parent / "ray")
SCRIPT = WordScript(dup_share=0.25, delay=0.1)
DOMAINS = ["Email writing for work", "Recipes for busy parents", "Tax forms for freelancers",
           "Training a new puppy", "Planning a small wedding"]  # fmt: skip
PARAMS: dict[str, Any] = {"max_depth": 2, "breadth": [2, 2], "subtasks_per_call": 1, "examples": [5],
                          "examples_per_call": 1, "max_concurrency": 3, "similarity": "exact"}  # fmt: skip
FLAGS = ["--depth", "2", "--breadth", "2,2", "--subtasks-per-call", "1", "--examples", "5", "--examples-per-call",
         "1", "--concurrency", "3", "--similarity", "exact"]  # fmt: skip


def ray_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of the Ray processes a test starts: `home` for `~` (so no `~/.ray` of the user's counts),
    none of the user's RAY_* settings, no usage stats; `extra` sets the auth mode and token."""
    env = {k: v for k, v in cli_env().items() if not k.startswith("RAY_")}
    return {**env, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0", **extra}


def token_env(home: Path) -> dict[str, str]:
    """Token auth, on for every node and the driver alike, with a token of the test's own (from the environment:
    no file is written or read)."""
    return ray_env(home, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))


@contextlib.contextmanager
def cluster(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """`ray start --head` and `workers` `ray start --address` worker nodes (one CPU each), each in a session of its
    own so that everything it leaves running is ended by its process group at the end."""
    port = free_port()
    temp = Path(f"/tmp/ei-ray-{secrets.token_hex(3)}")  # short: Ray's socket paths must fit in 107 bytes
    groups: list[int] = []
    common = ["--node-ip-address", "127.0.0.1", "--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]
    starts = [
        ["--head", "--port", str(port), "--num-cpus", "0", "--include-dashboard=false", "--temp-dir", str(temp)],
        *[["--address", f"127.0.0.1:{port}", "--num-cpus", "1"]] * workers,
    ]
    try:
        for args in starts:
            proc = subprocess.Popen([RAY, "start", *args, *common], env=env, start_new_session=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
            groups.append(proc.pid)
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, out[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for group in groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, sig)
            time.sleep(1.0 if sig == signal.SIGTERM else 0)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def ray_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, str]]]:
    """A head and two workers with token auth, in a home of their own; (address, the environment to join it).

    The test's own home holds a stale `~/.ray/auth_token`, as a user's would after `batch --ray local` with an
    older build: it must not matter."""
    user = tmp_path / "user-home"
    (user / ".ray").mkdir(parents=True)
    (user / ".ray" / "auth_token").write_text("a-stale-token-from-another-cluster")
    monkeypatch.setenv("HOME", str(user))
    home = tmp_path / "ray-home"
    home.mkdir()
    env = token_env(home)
    with cluster(env) as address:
        yield address, env


def references(root: Path, server: ScriptedOpenAIServer) -> dict[str, Path]:
    out = {}
    env = cli_env()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        for domain in DOMAINS:
            run_dir = root / f"reference-{len(out)}"
            ctx = Context(model="openai:gpt-4o-mini", base_url=server.base_url, run_dir=str(run_dir), **PARAMS)
            assert asyncio.run(Runner().start(ctx, domain=domain)).status == "done"
            out[domain] = run_dir
    return out


def attempts(root: Path) -> list[dict[str, Any]]:
    path = root / BATCH_DIR / ATTEMPTS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def calls_made(run_dir: Path) -> int:
    log = run_dir / "query_log.jsonl"
    return log.read_bytes().count(b"\n") if log.exists() else 0


def kill_mid_run(root: Path, proc: subprocess.Popen[str], skip: set[str], at_calls: int) -> dict[str, Any]:
    """SIGKILL the worker running some run not in `skip`, once that run has made `at_calls` calls."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the batch ended before the kill"
        rows = attempts(root)
        ended = {(r["run"], r["pid"]) for r in rows if r["event"] == "end"}
        for r in rows:
            running = r["event"] == "start" and r["run"] not in skip and (r["run"], r["pid"]) not in ended
            if running and calls_made(root / r["run"]) >= at_calls:
                os.kill(r["pid"], signal.SIGKILL)
                return {**r, "calls": calls_made(root / r["run"])}
        time.sleep(0.005)
    raise AssertionError("no run got far enough to be killed")


def test_a_ray_batch_survives_two_worker_kills(
    ray_cluster: tuple[str, dict[str, str]], openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    address, env = ray_cluster
    openai_server.responder = SCRIPT.responder
    refs = references(tmp_path / "references", openai_server)
    ref_requests = openai_server.request_count
    domains = tmp_path / "domains.txt"
    domains.write_text("\n".join(DOMAINS) + "\n", encoding="utf-8")
    root = tmp_path / "batch"
    argv = [EXE, "batch", str(domains), "--out", str(root), "--ray", address, "--parallel", "2",
            "--model", "openai:gpt-4o-mini", "--base-url", openai_server.base_url, *FLAGS, "--json"]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = kill_mid_run(root, proc, set(), at_calls=4)
        second = kill_mid_run(root, proc, {first["run"]}, at_calls=8)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wall = time.monotonic() - started
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out)
    rows = {r["name"]: r for r in summary["runs"]}
    names = {e["domain"]: e["name"] for e in read_domains(domains)}
    assert [r["status"] for r in rows.values()] == ["done"] * 5
    for killed in (first, second):
        assert rows[killed["run"]]["attempts"] == 2, rows[killed["run"]]  # the kill, then Ray's retry
        pids = {r["pid"] for r in attempts(root) if r["run"] == killed["run"] and r["event"] == "start"}
        assert len(pids) == 2  # the retry ran in another worker process
    lost = doubled = 0
    for domain, reference in refs.items():
        mine = [(r["node_id"], r["instruction"], r["input"], r["output"]) for r in read_examples(root / names[domain])]
        lost += len(kept_set(read_examples(reference)) - set(mine))
        doubled += len(mine) - len(set(mine))
        counts = assert_same_run(root / names[domain], reference)  # no example lost or doubled, same tree
        assert rows[names[domain]]["examples"] == counts["examples"]
    redone = openai_server.request_count - 2 * ref_requests
    assert lost == doubled == 0
    assert 0 <= redone <= 2 * (PARAMS["max_concurrency"] + 1), redone  # only calls in flight at the kills
    print(f"ray batch: 5 runs, 2 worker kills at calls {first['calls']} and {second['calls']}, "
          f"{summary['totals']['examples']} examples, lost {lost}, doubled {doubled}, {redone} calls redone, "
          f"{wall:.1f} s")  # fmt: skip


def small_batch(server: ScriptedOpenAIServer, tmp_path: Path, ray: str, env: dict[str, str]) -> dict[str, Any]:
    """Two one-level runs through `batch --ray RAY`; its JSON summary."""
    domains = tmp_path / f"domains-{secrets.token_hex(2)}.txt"
    domains.write_text("\n".join(DOMAINS[:2]) + "\n", encoding="utf-8")
    argv = [EXE, "batch", str(domains), "--out", str(tmp_path / f"batch-{secrets.token_hex(2)}"), "--ray", ray,
            "--parallel", "2", "--model", "openai:gpt-4o-mini", "--base-url", server.base_url, "--depth", "1",
            "--breadth", "1", "--examples", "1", "--similarity", "exact", "--json"]  # fmt: skip
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    summary: dict[str, Any] = json.loads(r.stdout)
    assert [run["status"] for run in summary["runs"]] == ["done", "done"], summary
    return summary


def test_a_local_batch_leaves_nothing_that_changes_a_later_cluster(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    """`batch --ray local` as a person runs it (no RAY_* set), then, in the same home, a cluster made with
    `ray start` as a person makes one, and a batch on it: the workers join and the batch ends."""
    openai_server.responder = SCRIPT.responder
    home = tmp_path / "home"
    home.mkdir()
    env = ray_env(home)
    small_batch(openai_server, tmp_path, "local", env)
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []  # no ~/.ray/auth_token, nothing else
    with cluster(env) as address:
        small_batch(openai_server, tmp_path, address, env)
