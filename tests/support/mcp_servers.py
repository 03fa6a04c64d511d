"""Real MCP servers for the `tool_calls` tests, started on this machine: ones we did not write.

- `mcp-server-time` and `mcp-server-git` (the reference servers, from PyPI, in the dev extra): stdio commands.
  The git server works on a repository it is given; `git_sandbox` makes a throwaway one, so an executed call
  (even `git_commit`) touches nothing else.
- `explore-instruct mcp --http` (this project's served face, on the official SDK's FastMCP): the streamable-HTTP
  transport, on a free loopback port.
- `EMPTY_SERVER`: a FastMCP server that lists no tools, for the refusal of a tool-less server.

A server that is not installed fails the test loudly (the dev extra installs them); it is never skipped.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.mcp_http import mcp_http

BIN = Path(sys.executable).parent


def command(name: str, *args: str) -> str:
    """The stdio command line of an installed server (the venv's bin, so no PATH is needed)."""
    exe = BIN / name
    assert exe.is_file(), f"{name} is not installed: pip install -e '.[dev]' brings it"
    return shlex.join([str(exe), *args])


def time_server() -> str:
    return command("mcp-server-time", "--local-timezone", "Etc/UTC")


def git_sandbox(root: Path) -> Path:
    """A fresh git repository with one commit, for the git server to read (and write) without harm."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    (repo / "notes.txt").write_text("first line\n")
    for argv in (["init", "-q", "-b", "main"], ["add", "notes.txt"], ["commit", "-q", "-m", "first commit"]):
        subprocess.run(["git", *argv], cwd=repo, env=env, check=True)
    (repo / "notes.txt").write_text("first line\nsecond line\n")  # an unstaged change for git_status/git_diff
    return repo


def git_server(repo: Path) -> str:
    return command("mcp-server-git", "--repository", str(repo))


EMPTY_SERVER = shlex.join(
    [sys.executable, "-c", "from mcp.server.fastmcp import FastMCP; FastMCP('empty').run()"]
)  # fmt: skip


@contextmanager
def served_http(root: Path, timeout: float = 90.0) -> Iterator[str]:
    """`explore-instruct mcp --http` on a free port; yields its /mcp URL, stops it after."""
    (root / "seeds").mkdir(parents=True, exist_ok=True)
    with mcp_http(root, root / "server.log", env={"EXPLORE_INSTRUCT_SIMILARITY": "exact"}, timeout=timeout) as started:
        yield started.url
