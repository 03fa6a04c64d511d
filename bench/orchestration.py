"""Orchestration overhead: the same exploration at concurrency 1 (the reference's sequential design)
and at concurrency 16, against a local OpenAI-compatible server that answers after a fixed latency.

    .venv/bin/python bench/orchestration.py [--latency 0.5] [--concurrency 16] [--repeat 5]
    .venv/bin/python bench/orchestration.py --latency 0 [--examples 120] [--similarity rouge] [--concurrency 32]

`--latency 0` is the throughput mode: one large run (depth 2, breadth 4,3, `--examples` per task, 5 per call)
against a server that answers at once, then the same number of the same kind of structured calls made by the bare
`openai` client alone (`chat.completions.parse` with the run's response schema, `--concurrency` in flight), both
in this process. Printed: calls/s and CPU ms per call for each, the ratio of the CPU figures (goal: at most 2x),
and the peak of calls in flight during our run. Both sides run in the same invocation, so load from other work on
the machine weighs on both.

Otherwise, it prints both wall times, the critical-path lower bound (sequential extend calls + each enrich round in
waves of C calls, times the latency) and the ratios. Goal: concurrency 16 within 1.15x of its bound.
The concurrent run is repeated and its median taken: on a shared 2-core VM one run moves by +-0.2 s
(5% of it) with whatever else the machine does; every run's time is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import math
import multiprocessing as mp
import os
import re
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.dataset.runstore import QUERY_LOG

WORDS = [f"{a}{b}{c}" for a in "bcdfglmnprstvz" for b in "aeiou" for c in "klmnrst"]  # 490 plain words


class LatencyServer:
    """Answers every chat completion after `latency` seconds with valid JSON for our prompts."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes; without this, Nagle + delayed ACK adds ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with server.lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                time.sleep(server.latency)
                content = server.reply("\n".join(str(m.get("content", "")) for m in body.get("messages", [])))
                with server.lock:
                    server.in_flight -= 1
                data = json.dumps(
                    {
                        "id": "cmpl",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                        ],
                        "usage": {"prompt_tokens": 500, "completion_tokens": 300, "total_tokens": 800},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default 5 resets connections when 32 clients connect at once

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reply(self, prompt: str) -> str:
        def example() -> dict[str, str]:
            n = next(self.counter)
            # Words picked by n: ROUGE-L keeps instructions apart as it keeps apart different requests (the same
            # sentence with only its number changed would all be near-duplicates of the first).
            h = int(hashlib.sha256(str(n).encode()).hexdigest(), 16)
            words = " ".join(WORDS[(h >> (9 * i)) % len(WORDS)] for i in range(8))
            return {
                "instruction": f"Rewrite my note on {words}.",
                "input": f"note {n} text",
                "output": f"A clear version of note {n}.",
            }

        m = re.search(r"Propose (\d+) NEW subtasks", prompt)
        if m:
            subs = []
            for _ in range(int(m.group(1))):
                n = next(self.counter)
                subs.append(
                    {"name": f"facet {n}", "reason": f"covers situation {n}", "examples": [example(), example()]}
                )
            return json.dumps({"subtasks": subs})
        k = re.search(r"Write (\d+) new", prompt)
        return json.dumps({"examples": [example() for _ in range(int(k.group(1)) if k else 1)]})

    def __enter__(self) -> LatencyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def critical_path(run_dir: str, latency: float, concurrency: int) -> tuple[float, int, Counter[str]]:
    rows = [json.loads(line) for line in (Path(run_dir) / QUERY_LOG).read_text().splitlines()]
    sequential = sum(r["attempts"] for r in rows if r["purpose"] == "decompose")
    rounds: Counter[str] = Counter(r["batch"].split(":")[0] for r in rows if r["purpose"] == "generate")
    waves = sum(math.ceil(n / concurrency) for n in rounds.values())
    return latency * (sequential + waves), len(rows), rounds


async def one_run(base_url: str, concurrency: int, root: str) -> tuple[float, str]:
    ctx = Context(
        model="openai:bench",
        base_url=base_url,
        max_depth=2,
        breadth=[3, 2],
        subtasks_per_call=3,
        examples=[40],
        examples_per_call=10,
        max_concurrency=concurrency,
        similarity="exact",  # orchestration is measured here, not the embedder (bench/dedup.py does that)
        run_dir=f"{root}/c{concurrency}",
    )
    t0 = time.perf_counter()
    outcome = await Runner().start(ctx, domain="rewriting workplace messages")
    assert outcome.status == "done", outcome
    return time.perf_counter() - t0, ctx.run_dir or ""


def _serve(latency: float, url: Any, in_flight: Any, ready: Any) -> None:
    """The fake provider in a process of its own, so its work does not share our interpreter's GIL."""
    with LatencyServer(latency) as server:
        url.value = server.base_url.encode()
        ready.set()
        while True:
            in_flight.value = server.max_in_flight
            time.sleep(0.05)


async def our_throughput(base_url: str, root: str, a: argparse.Namespace) -> tuple[int, float, float, int]:
    """(calls, wall s, CPU s, examples kept) of one large run against the zero-latency server."""
    ctx = Context(
        model="openai:bench", base_url=base_url, max_depth=2, breadth=[4, 3], subtasks_per_call=3,
        examples=[a.examples], examples_per_call=5, max_concurrency=a.concurrency, similarity=a.similarity,
        run_dir=f"{root}/throughput",
    )  # fmt: skip
    # Steady state, as for the bare client (whose openai import is paid by then): the model client and the
    # similarity index are built once per process, not per call, so they are built before the clock starts.
    from explore_instruct.tools.light_imports import import_rouge_score
    from explore_instruct.tools.llm.models import shared_chat_model

    shared_chat_model(ctx.model_spec())
    import_rouge_score()
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = await Runner().start(ctx, domain="rewriting workplace messages")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert outcome.status == "done", outcome
    calls = len((Path(root) / "throughput" / QUERY_LOG).read_text().splitlines())
    kept = len((Path(root) / "throughput" / "examples.jsonl").read_text().splitlines())
    return calls, wall, cpu, kept


async def bare_throughput(base_url: str, calls: int, concurrency: int) -> tuple[float, float]:
    """(wall s, CPU s) of `calls` structured calls by the openai client alone: our enrich prompt and schema,
    parsed into the schema's pydantic model, `concurrency` at a time."""
    import openai

    from explore_instruct.tools.generation.generate import batch_schema
    from explore_instruct.tools.prompts.full import SYSTEM, Flavour, generate_prompt
    from explore_instruct.tools.tree.model import Example

    demo = Example(instruction="Rewrite this note so it reads clearly.", input="note text", output="A clear note.")
    prompt = generate_prompt(task="rewriting workplace messages", task_reason="", parent=None, siblings=[],
                             demonstrations=[demo, demo], n=5, flavour=Flavour.GENERIC)  # fmt: skip
    schema = batch_schema(5, exact=True)
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench-not-a-key", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            reply = await client.chat.completions.parse(
                model="bench", response_format=schema,
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
            )  # fmt: skip
            assert reply.choices[0].message.parsed is not None

    await asyncio.gather(*(one() for _ in range(10)))  # warm: connections, the schema's first conversion
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.close()
    return wall, cpu


async def throughput(base_url: str, in_flight: Any, a: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as root:
        calls, wall, cpu, kept = await our_throughput(base_url, root, a)
    peak = in_flight.value
    bare_wall, bare_cpu = await bare_throughput(base_url, calls, a.concurrency)
    ours_ms, bare_ms = 1000 * cpu / calls, 1000 * bare_cpu / calls
    print(f"latency 0; depth 2, breadth 4,3, {a.examples} examples a task, 5 a call, {a.similarity} similarity, "
          f"concurrency {a.concurrency}: {calls} calls, {kept} examples kept")  # fmt: skip
    print(f"ours      : {calls / wall:7.1f} calls/s, {ours_ms:6.2f} ms CPU per call ({wall:.1f} s wall, "
          f"{cpu:.1f} s CPU; peak in flight {peak} of {a.concurrency})")  # fmt: skip
    print(f"bare client: {calls / bare_wall:7.1f} calls/s, {bare_ms:6.2f} ms CPU per call ({bare_wall:.1f} s wall, "
          f"{bare_cpu:.1f} s CPU)")  # fmt: skip
    print(f"ours / bare client, CPU per call: {ours_ms / bare_ms:.2f}x  (goal <= 2x)")


async def main(latency: float, concurrency: int, repeat: int, a: argparse.Namespace | None = None) -> None:
    os.environ.setdefault("OPENAI_API_KEY", "bench-not-a-key")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    ctx = mp.get_context("spawn")
    url, in_flight, ready = ctx.Array("c", 128), ctx.Value("i", 0), ctx.Event()
    proc = ctx.Process(target=_serve, args=(latency, url, in_flight, ready), daemon=True)
    proc.start()
    ready.wait(30)
    base_url = url.value.decode()
    try:
        if latency == 0 and a is not None:
            await throughput(base_url, in_flight, a)
        else:
            await _compare(base_url, latency, concurrency, in_flight, repeat)
    finally:
        proc.terminate()


async def _compare(base_url: str, latency: float, concurrency: int, in_flight: Any, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as root:
        wall_1, dir_1 = await one_run(base_url, 1, root)
        seq_calls = len((Path(dir_1) / QUERY_LOG).read_text().splitlines())
        first_max = in_flight.value
        walls: list[float] = []
        bounds: set[float] = set()
        for i in range(repeat):
            wall, dir_c = await one_run(base_url, concurrency, f"{root}/r{i}")
            walls.append(wall)
            bounds.add(critical_path(dir_c, latency, concurrency)[0])
        assert len(bounds) == 1, f"the runs differ in shape: bounds {bounds}"  # the same work every time
        wall_c = statistics.median(walls)
        time.sleep(0.1)
        bound, calls, rounds = critical_path(dir_c, latency, concurrency)
        bound_inf, _, _ = critical_path(dir_c, latency, 10**9)
        print(
            f"latency {latency:.2f} s per call; {calls} calls ({sum(rounds.values())} enrich in {len(rounds)} rounds)"
        )
        print(f"concurrency 1 : {wall_1:7.2f} s  ({seq_calls} calls; sequential floor {latency * seq_calls:.2f} s)")
        print(
            f"concurrency {concurrency:<2d}: {wall_c:7.2f} s  median of {repeat} runs "
            f"({', '.join(f'{w:.2f}' for w in walls)}; max in flight {in_flight.value}; at C=1: {first_max})"
        )
        print(f"critical-path bound at C={concurrency}: {bound:.2f} s (unbounded C: {bound_inf:.2f} s)")
        print(f"speed-up C={concurrency} vs C=1: {wall_1 / wall_c:.2f}x")
        if bound > 0:
            print(f"C={concurrency} wall / bound: {wall_c / bound:.3f}x  (goal <= 1.15x)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--latency", type=float, default=0.5)
    p.add_argument("--concurrency", type=int, default=None, help="default 16; 32 with --latency 0")
    p.add_argument("--repeat", type=int, default=5, help="runs at --concurrency; the median is compared")
    p.add_argument("--examples", type=int, default=120, help="--latency 0: examples per task")
    p.add_argument("--similarity", default="rouge", choices=["rouge", "exact"], help="--latency 0: similarity")
    a = p.parse_args()
    a.concurrency = a.concurrency or (32 if a.latency == 0 else 16)
    asyncio.run(main(a.latency, a.concurrency, max(1, a.repeat), a))
