"""Many small runs through one long-lived server, and what the server process holds after them.

A server that runs for days must give back what each run took: memory, open files, threads. This starts the
scripted OpenAI-compatible server (tests/support/openai_server.py) and `explore-instruct mcp --http` as a
subprocess, sends it small runs one after another over one MCP session (streamable HTTP, bearer token) and reads
the server's resident memory, open file descriptors and threads from /proc (Linux) every few runs.
Used by tests/agent/runs/test_soak.py (30 runs) and bench/soak.py (200 runs, the curve).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.mcp_http import mcp_http
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

TOKEN = "soak-token-never-printed"
SMALL: dict[str, Any] = {"depth": 1, "breadth": [2], "examples": [3], "wait": True}


@dataclass(frozen=True)
class Usage:
    """What one process holds: resident memory (MB), open file descriptors, threads."""

    rss_mb: float
    fds: int
    threads: int

    def line(self) -> str:
        return f"rss {self.rss_mb:7.1f} MB  fds {self.fds:4d}  threads {self.threads:3d}"


def usage(pid: int) -> Usage:
    """Read from /proc, so no extra package is needed (the servers run on Linux)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    return Usage(round(rss_kb / 1024, 1), len(os.listdir(f"/proc/{pid}/fd")), int(fields["Threads"]))


def open_files(pid: int) -> Counter[str]:
    """The open descriptors by what they point at (a file's name, 'socket', 'anon_inode:[eventfd]', ...)."""
    kinds: Counter[str] = Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kinds[re.sub(r":\[\d+\]$", "", target) if not target.startswith("/") else Path(target).name] += 1
    return kinds


def thread_names(pid: int) -> Counter[str]:
    names: Counter[str] = Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            names[Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()] += 1
    return names


@dataclass
class Served:
    url: str
    pid: int
    root: Path
    log: Path


@contextlib.contextmanager
def mcp_server(base: Path, *, similarity: str = "embedding", nofile: int | None = None) -> Iterator[Served]:
    """A scripted LLM server and `explore-instruct mcp --http` talking to it; `nofile`: the server's fd limit."""
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "EXPLORE_INSTRUCT_MCP_TOKEN": TOKEN,
        "EXPLORE_INSTRUCT_SIMILARITY": similarity,
        "OPENAI_API_KEY": "sk-dummy",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    with (
        ScriptedOpenAIServer(responder=Script().responder) as llm,
        mcp_http(
            root, base / "server.log", "--model", "openai:scripted", "--base-url", llm.base_url, env=env, nofile=nofile
        ) as started,
    ):
        yield Served(started.url, started.pid, root, started.log)


async def explore_many(
    served: Served, runs: int, *, every: int = 10, on_sample: Callable[[int, Usage], None] | None = None
) -> dict[int, Usage]:
    """`runs` small runs, one after another over one MCP session; the server's usage after run 0 (before any) and
    after every `every`-th run. A run that does not end `done` fails at once with its answer."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    samples: dict[int, Usage] = {}

    def sample(n: int) -> None:
        samples[n] = usage(served.pid)
        if on_sample is not None:
            on_sample(n, samples[n])

    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        streamablehttp_client(served.url, headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        sample(0)
        for i in range(1, runs + 1):
            args = {**SMALL, "domain": f"Email writing for work, case {i}", "output_dir": f"soak-{i}"}
            result = await session.call_tool("explore", args)
            text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
            answer = json.loads(text) if text.startswith("{") else {"error": text}
            if answer.get("status") != "done":
                raise AssertionError(f"run {i}: {answer}")
            if i % every == 0:
                sample(i)
    return samples
