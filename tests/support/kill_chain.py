"""The SIGKILL chain the kill tests share: start a CLI run against the local OpenAI-compatible server, kill it at a
chosen kind of moment, `resume`, kill again ..., then resume to the end; and the uninterrupted reference run it
is compared with. The kinds of moment are described in tests/agent/runs/test_kills.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from support.openai_server import ScriptedOpenAIServer
from support.reliability import DOMAIN, EXE, WordScript, assert_same_run, cli_env
from support.scripted import parse_generate, prompt_of_request

DELAY = 0.05  # seconds the server takes per reply
SCRIPT = WordScript(dup_share=0.25, delay=DELAY)


def flags(params: dict[str, Any]) -> list[str]:
    return [
        "--depth", str(params["max_depth"]),
        "--breadth", ",".join(map(str, params["breadth"])),
        "--subtasks-per-call", str(params["subtasks_per_call"]),
        "--examples", ",".join(map(str, params["examples"])),
        "--examples-per-call", str(params["examples_per_call"]),
        "--concurrency", str(params["max_concurrency"]),
    ]  # fmt: skip


def reference_run(root: Path, params: dict[str, Any], similarity: str, **extra: Any) -> tuple[Path, int]:
    """The same exploration, whole and in process: its run directory and how many requests it made; `extra`
    are more Context fields (a corpus, a strategy)."""
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
            **extra,
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
