"""`explore-instruct mcp --http` as a subprocess on a free loopback port, for the tests and benches that drive the
served face over streamable HTTP (tests/agent/mcp/test_mcp_http.py, the soak in support/soak.py, the tool_calls
tests in support/mcp_servers.py). One start, so all of them read the port the same way (the server's own log
line) and none inherits the developer's EXPLORE_INSTRUCT_* settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

EXE = str(Path(sys.executable).parent / "explore-instruct")


@dataclass(frozen=True)
class Started:
    url: str  # http://127.0.0.1:<port>/mcp
    pid: int
    log: Path  # the server's stdout and stderr


@contextmanager
def mcp_http(
    root: Path,
    log: Path,
    *args: str,
    env: dict[str, str] | None = None,
    nofile: int | None = None,
    timeout: float = 120.0,
) -> Iterator[Started]:
    """The server over output root `root` (more flags in `args`, more environment in `env`), its output in `log`;
    `nofile`: its open-file limit. Stopped on leaving; a server that exits or never says its URL fails the test
    with the end of its log."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORE_INSTRUCT_")}
    environ |= {"NO_PROXY": "127.0.0.1,localhost", **(env or {})}
    cmd = [EXE, "mcp", "--http", "--port", "0", "--root", str(root), *args]

    def limit() -> None:
        if nofile is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, env=environ, stdout=sink, stderr=subprocess.STDOUT, preexec_fn=limit)
        try:
            yield Started(_wait_for_url(proc, log, timeout), proc.pid, log)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_for_url(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"on (http://127\.0\.0\.1:\d+/mcp)", log.read_text())
        if found:
            return found.group(1)
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError("the server did not start")
