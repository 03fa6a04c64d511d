"""PostgreSQL for tests: the shared server CI starts (tests/support/services.py), else a private cluster.

With EXPLORE_INSTRUCT_TEST_POSTGRES_URL set (`.ci/run` sets it), every use gets a database of its own on
that server, dropped afterwards. Without it, a throwaway cluster is started on 127.0.0.1 from the
PostgreSQL binaries the image ships (15 here).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.services_env import POSTGRES_ENV, required


def _bin_dir() -> Path | None:
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / "initdb").exists():
            return base
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def available() -> bool:
    return bool(os.environ.get(POSTGRES_ENV)) or _bin_dir() is not None


# Skips where there is no PostgreSQL at all, except in CI (services required), where that is a failure.
needed = pytest.mark.skipif(not available() and not required(), reason="no PostgreSQL (binaries or server)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start_cluster(root: Path) -> str:
    """initdb + start a cluster under `root` (kept until `stop_cluster`); its postgres:// URL."""
    bin_dir = _bin_dir()
    assert bin_dir is not None, "PostgreSQL binaries not found (initdb)"
    data = root / "data"
    prefix = _as_postgres()
    if prefix:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
         "-o", f"-p {port} -h 127.0.0.1 -k {root}", "start"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def stop_cluster(root: Path) -> None:
    bin_dir = _bin_dir()
    if bin_dir is not None and (root / "data").exists():
        subprocess.run(
            [*_as_postgres(), str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"],
            capture_output=True,
        )
    shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _database_on(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"ei_test_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a postgres:// URL of an empty database; it is gone afterwards."""
    shared = os.environ.get(POSTGRES_ENV)
    if shared:
        with _database_on(shared) as url:
            yield url
        return
    root = Path(tempfile.mkdtemp(prefix="ei-pg-", dir="/tmp"))
    try:
        yield start_cluster(root)
    finally:
        stop_cluster(root)
