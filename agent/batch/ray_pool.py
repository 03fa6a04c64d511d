"""Batch jobs on Ray: one task per run, retried by Ray when its worker process or node is lost.

`ray` is an optional extra (`pip install 'explore-instruct[ray]'`). `--ray local` starts a cluster inside this
process; `--ray HOST:PORT` joins one started with `ray start --head` (and `ray start --address HOST:PORT` on the
other machines). Every task runs `batch_jobs.run_job`, which starts its run or resumes it from its checkpoint,
so a retry continues the run instead of starting it again. The workers need the package installed, the run
directories on a filesystem they share with the driver (or one directory per run on the machine that runs it,
with PostgreSQL checkpoints and a Chroma server), and the environment the runs read (API keys,
EXPLORE_INSTRUCT_CHECKPOINT_URL): Ray workers inherit the environment of the `ray start` that made their node;
nothing secret is sent through Ray.
"""

from __future__ import annotations

import asyncio
import os
import socket
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
        try:
            import ray
        except ImportError:
            raise BatchError("--ray: Ray is not installed; pip install 'explore-instruct[ray]'") from None
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address != "local":
            _reachable(address)
        if not ray.is_initialized():
            common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
            if address == "local":
                ray.init(num_cpus=parallel or os.cpu_count() or 1, include_dashboard=False, **common)
            else:
                ray.init(address=address, **common)
        self.ray = ray
        self.task = ray.remote(num_cpus=1, max_retries=retries)(run_job)

    @property
    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def submit(self, job: Job) -> Awaitable[dict[str, Any]]:
        ref = self.task.remote(job.as_dict())
        return asyncio.wrap_future(ref.future())

    def close(self) -> None:
        self.ray.shutdown()
