"""A flaky provider: transient HTTP faults and malformed completions, injected at random over a real socket.

The run must finish, count every fault by kind, and stop cleanly (resumably) when the provider refuses
every call.
"""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from support.openai_server import Reply, ScriptedOpenAIServer
from support.scripted import Script

from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context


class Flaky:
    """Wraps the scripted responder: `transient` share of HTTP faults, `malformed` share of bad completions."""

    TRANSIENT = ("500", "502", "503", "429", "429-retry-after", "drop", "read_timeout")
    MALFORMED = ("truncated_json", "schema", "length", "empty_choices", "prose")

    def __init__(self, script: Script, transient: float, malformed: float, seed: int = 0) -> None:
        self.script = script
        self.transient = transient
        self.malformed = malformed
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def _pick(self) -> str | None:
        with self.lock:
            r = self.rng.random()
            if r < self.transient:
                kind = self.rng.choice(self.TRANSIENT)
            elif r < self.transient + self.malformed:
                kind = self.rng.choice(self.MALFORMED)
            else:
                return None
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind

    def __call__(self, request: dict[str, Any]) -> Reply | dict[str, Any]:
        kind = self._pick()
        good = self.script.responder(request)
        content = str(good.get("content", ""))
        match kind:
            case None:
                return good
            case "500" | "502" | "503":
                return Reply(status=int(kind))
            case "429":
                return Reply(status=429)
            case "429-retry-after":
                return Reply(status=429, retry_after=0.05)
            case "drop":
                return Reply(drop=True)
            case "read_timeout":  # answers after the client's timeout (timeout_s below): it gives up and retries
                return Reply(content=content, delay=TIMEOUT_S + 0.5)
            case "truncated_json":
                return Reply(content=content[: len(content) // 2])
            case "schema":
                return Reply(content=json.dumps({"unexpected": True}))
            case "length":
                return Reply(content=content[: len(content) // 3], finish_reason="length")
            case "empty_choices":
                return Reply(empty_choices=True)
            case _:
                return Reply(content="Sure! Here are some ideas, written as prose instead of JSON.")


TIMEOUT_S = 1.0


def _ctx(base_url: str, run_dir: Path, **kw: Any) -> Context:
    params: dict[str, Any] = dict(
        model="openai:flaky",
        base_url=base_url,
        run_dir=str(run_dir),
        max_depth=2,
        breadth=[2, 2],
        subtasks_per_call=2,
        examples=[4],
        examples_per_call=4,
        similarity="exact",
        max_concurrency=4,
        max_retries=4,
        timeout_s=TIMEOUT_S,
    )
    params.update(kw)
    return Context(**params)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORE_INSTRUCT_API_KEY", "sk-flaky-test-key")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


async def test_run_finishes_through_30pct_transient_and_20pct_malformed(tmp_path: Path) -> None:
    flaky = Flaky(Script(), transient=0.30, malformed=0.20, seed=7)
    with ScriptedOpenAIServer(responder=flaky) as server:
        ctx = _ctx(server.base_url, tmp_path / "run", breadth=[3, 2], examples=[6], examples_per_call=2)
        outcome = await Runner().start(ctx, domain="writing polite workplace emails")
    assert outcome.status == "done", outcome
    stats = outcome.stats
    injected = flaky.injected
    assert sum(injected.values()) >= 10, injected  # the faults really happened
    # Transient faults are absorbed by the client's retries: more HTTP requests than logical attempts.
    assert server.request_count > stats["llm_requests"]
    # Malformed completions are caught, repaired or recorded, by kind.
    faults = stats.get("faults", {})
    malformed = sum(injected.get(k, 0) for k in Flaky.MALFORMED)
    repaired = stats["llm_requests"] - stats["calls"]  # each repair is one more attempt of the same call
    # Every malformed reply was seen and handled: it either triggered the one repair attempt or, if the
    # repair was malformed too, ended as a recorded fault.
    assert malformed >= 3
    assert repaired + sum(v for k, v in faults.items() if k != "api") == malformed, (injected, stats)
    assert set(faults) <= {"invalid_json", "schema", "length", "empty", "api", "other"}
    print(
        f"faults injected by kind: {dict(injected)} over {server.request_count} requests; "
        f"{repaired} repaired, recorded as given up: {faults}"
    )
    # The tree still grew and every task got examples despite the faults.
    assert outcome.summary["nodes_per_depth"]["1"] >= 1
    lines = [json.loads(x) for x in (tmp_path / "run" / "examples.jsonl").read_text().splitlines()]
    assert len(lines) == outcome.summary["examples"] > 0
    assert len({x["id"] for x in lines}) == len(lines)
    bad = tmp_path / "run" / "bad_completions.jsonl"
    if faults:
        assert bad.exists() and len(bad.read_text().splitlines()) == sum(faults.values())


async def test_quota_exhausted_stops_resumably_then_resumes(tmp_path: Path) -> None:
    script = Script()
    refusing = True

    def responder(request: dict[str, Any]) -> Reply | dict[str, Any]:
        if refusing:
            return Reply(
                status=429,
                retry_after=0.01,
                body={"error": {"message": "quota exceeded", "type": "insufficient_quota"}},
            )
        return script.responder(request)

    with ScriptedOpenAIServer(responder=responder) as server:
        ctx = _ctx(server.base_url, tmp_path / "run", max_retries=1, max_provider_failures=3)
        paused = await Runner().start(ctx, domain="writing polite workplace emails")
        assert paused.status == "provider", paused
        assert paused.interrupt is not None and "in a row" in paused.interrupt["reason"]
        assert paused.stats["faults"] == {"api": 3}
        requests_when_paused = server.request_count
        assert requests_when_paused == 3 * 2  # each call: one try + one retry, then the run stops (no busy loop)

        refusing = False
        done = await Runner().resume(str(tmp_path / "run"))
        assert done.status == "done", done
        assert done.summary["examples"] > 0
