"""Start and stop the shared PostgreSQL and Chroma servers `.ci/run` runs the suite against.

    python tests/support/services.py start DIR   # prints `export NAME=value` lines for the tests
    python tests/support/services.py stop DIR

Both listen on 127.0.0.1 only; DIR holds their data, logs and pids and is removed by `stop`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `support` as the tests import it

from support import chroma_server, postgres
from support.services_env import CHROMA_ENV, POSTGRES_ENV, REQUIRED_ENV


def start(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    # The cluster runs as the postgres user, who must reach its directory: one of its own under /tmp.
    pg_root = Path(tempfile.mkdtemp(prefix="ei-pg-", dir="/tmp"))
    (root / "postgres.path").write_text(str(pg_root))
    url = postgres.start_cluster(pg_root)
    proc, port = chroma_server.start(root / "chroma", root / "chroma.log")
    (root / "chroma.pid").write_text(str(proc.pid))
    for name, value in ((POSTGRES_ENV, url), (CHROMA_ENV, f"127.0.0.1:{port}"), (REQUIRED_ENV, "required")):
        print(f"export {name}={shlex.quote(value)}")
    print(f"PostgreSQL at {url}, Chroma at 127.0.0.1:{port}", file=sys.stderr)


def stop(root: Path) -> None:
    pid_file = root / "chroma.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
    pg_path = root / "postgres.path"
    if pg_path.exists():
        postgres.stop_cluster(Path(pg_path.read_text()))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in {"start", "stop"}:
        sys.exit("usage: services.py start|stop DIR")
    (start if sys.argv[1] == "start" else stop)(Path(sys.argv[2]))
