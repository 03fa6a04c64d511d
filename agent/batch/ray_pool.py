"""Batch jobs on Ray: one task per run, retried by Ray when its worker process or node is lost.

`ray` is an optional extra (`pip install 'explore-instruct[ray]'`). `--ray local` starts a cluster inside this
process; `--ray HOST:PORT` joins one started with `ray start --head` (and `ray start --address HOST:PORT` on the
other machines). Every task runs `batch_jobs.run_job`, which starts its run or resumes it from its checkpoint,
so a retry continues the run instead of starting it again. The workers need the package installed, the run
directories on a filesystem they share with the driver (or one directory per run on the machine that runs it,
with PostgreSQL checkpoints and a Chroma server), and the environment the runs read (API keys,
EXPLORE_INSTRUCT_CHECKPOINT_URL): Ray workers inherit the environment of the `ray start` that made their node;
nothing secret is sent through Ray.

`--ray local` leaves nothing behind. Left to itself, `ray.init()` (Ray 2.5x) turns token auth on for a new local
cluster and writes the token to `~/.ray/auth_token`, where every later `ray start --head` on the machine finds it
and turns auth on too, while `ray start --address` does not: the person's next real cluster refuses its own
workers ("InvalidAuthToken"). So the local cluster gets its auth from this process's environment (token mode, a
fresh random token in RAY_AUTH_TOKEN; a person's own RAY_AUTH_* settings win) and a temp dir of its own
(RAY_TMPDIR), removed when the pool closes; `address="local"` makes it a new cluster even when RAY_ADDRESS or a
running one is about. Nothing is written to the home directory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Awaitable
from typing import Any

from explore_instruct.agent.batch.jobs import BatchError, Job, run_job

RETRIES = 4  # worker losses one run survives (each resumes from its checkpoint)


def _reachable(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise BatchError(f"--ray: {address!r} is not HOST:PORT (or local)")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as e:
        raise BatchError(f"--ray: cannot reach a Ray cluster at {address} ({e.strerror or type(e).__name__})") from None


class RayPool:
    """Jobs as Ray tasks (num_cpus=1 each, `max_retries` for lost workers)."""

    def __init__(self, address: str, *, parallel: int | None = None, retries: int = RETRIES) -> None:
        self._saved: dict[str, str | None] = {}
        self._temp: str | None = None
        if address == "local" and "ray" not in sys.modules:
            self._own_local_cluster()  # before `import ray`: it reads the auth mode once, when imported
        try:
            import ray
        except ImportError:
            self._restore()
            raise BatchError("--ray: Ray is not installed; pip install 'explore-instruct[ray]'") from None
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address != "local":
            _reachable(address)
        if not ray.is_initialized():
            common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
            if address == "local":
                cpus = parallel or os.cpu_count() or 1
                ray.init(address="local", num_cpus=cpus, include_dashboard=False, **common)
            else:
                ray.init(address=address, **common)
        self.ray = ray
        self.task = ray.remote(num_cpus=1, max_retries=retries)(run_job)

    def _own_local_cluster(self) -> None:
        """Auth and a temp dir for the local cluster from the environment, so nothing goes to `~/.ray` (see above)."""
        settings = {"RAY_TMPDIR": tempfile.mkdtemp(prefix="ei-ray-")}  # short: Ray's socket paths fit in 107 bytes
        self._temp = settings["RAY_TMPDIR"]
        mode = os.environ.get("RAY_AUTH_MODE", "token").lower()
        if mode == "token" and not (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
            settings |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        for name, value in settings.items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value  # read by ray.init and inherited by the processes it starts

    @property
    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def submit(self, job: Job) -> Awaitable[dict[str, Any]]:
        ref = self.task.remote(job.as_dict())
        return asyncio.wrap_future(ref.future())

    def close(self) -> None:
        self.ray.shutdown()
        self._restore()

    def _restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved = {}
        if self._temp:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None
