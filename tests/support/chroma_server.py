"""A real Chroma server for tests: the shared one CI starts (tests/support/services.py), else a private one.

With EXPLORE_INSTRUCT_TEST_CHROMA=host:port set (`.ci/run` sets it), tests use that server; collection
names are per run (or per test), so tests sharing it do not meet. Without it, `chroma run` from this
environment serves a temporary directory on a free port for as long as the context lasts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.services_env import CHROMA_ENV


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    host: str, port: int, proc: subprocess.Popen[bytes] | None, log: Path | None, timeout: float = 60
) -> None:
    import chromadb

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise AssertionError(f"the Chroma server exited ({proc.returncode}): {tail}")
        try:
            chromadb.HttpClient(host=host, port=port).heartbeat()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start(path: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`chroma run` on 127.0.0.1 and a free port, persisting under `path`; returns once it answers."""
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_ready("127.0.0.1", port, proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


@contextmanager
def chroma_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """Yield (host, port) of a running Chroma server."""
    shared = os.environ.get(CHROMA_ENV)
    if shared:
        host, _, port = shared.rpartition(":")
        wait_ready(host, int(port), None, None, timeout=10)
        yield host, int(port)
        return
    proc, port = start(workdir / "chroma-server", workdir / "chroma.log")
    try:
        yield "127.0.0.1", port
    finally:
        stop(proc)
