"""A full disk, a read-only run directory, an output path that cannot be a directory.

Faults are injected in process (root ignores file modes, and a real full disk needs a mount): a write of
the run store or of the checkpointer raises the OSError the kernel would, part-way through a real run of
the CLI against the scripted server. The CLI must end with a one-line error (exit 1 or 2, no traceback),
and once the fault is gone `resume` must finish the run exactly as an uninterrupted run ends.
"""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from support.openai_server import ScriptedOpenAIServer
from support.reliability import DOMAIN, WordScript, assert_same_run, cli_env
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app
from explore_instruct.tools.dataset.runstore import RunStore

SCRIPT = WordScript(dup_share=0.25)
PARAMS = [
    "--depth", "2", "--breadth", "2,2", "--subtasks-per-call", "1", "--examples", "4", "--examples-per-call", "2",
    "--similarity", "exact", "--model", "openai:scripted",
]  # fmt: skip


@pytest.fixture
def server(openai_server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedOpenAIServer:
    for k, v in cli_env().items():
        if k.startswith(("OPENAI", "NO_PROXY", "no_proxy", "HF_")):
            monkeypatch.setenv(k, v)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    openai_server.responder = SCRIPT.responder
    return openai_server


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def run_args(server: ScriptedOpenAIServer, run_dir: Path) -> list[str]:
    return ["run", "--domain", DOMAIN, "--out", str(run_dir), "--base-url", server.base_url, *PARAMS, "--quiet"]


@pytest.fixture
def reference(server: ScriptedOpenAIServer, tmp_path: Path) -> Path:
    result = cli(*run_args(server, tmp_path / "reference"))
    assert result.exit_code == 0, result.output
    return tmp_path / "reference"


def one_line_error(result: Any, *needles: str) -> str:
    assert result.exit_code in (1, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return str(lines[0])


class Fault:
    """Make `RunStore.<method>` (or the checkpointer) fail from its `at`-th call on, after a partial write."""

    def __init__(self, at: int, err: OSError | Exception, *, once: bool = True, partial: bool = True) -> None:
        self.at = at
        self.err = err
        self.once = once
        self.partial = partial  # write part of the data before failing, as a disk that fills up does
        self.calls = 0
        self.fired = 0
        self.active = True

    def hit(self) -> bool:
        self.calls += 1
        if self.active and self.calls >= self.at and (not self.once or not self.fired):
            self.fired += 1
            return True
        return False


def no_space(path: str = "") -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path or None)


def read_only(path: str = "") -> OSError:
    return OSError(errno.EROFS, "Read-only file system", path or None)


def patch_commit_examples(mp: pytest.MonkeyPatch, fault: Fault) -> None:
    original = RunStore.commit_examples

    def commit_examples(self: RunStore, records: Any, committed_offset: int) -> int:
        if fault.hit():
            records = list(records)
            if fault.partial:
                original(self, records[: len(records) // 2], committed_offset)  # half of the lines landed
            raise fault.err
        return original(self, records, committed_offset)

    mp.setattr(RunStore, "commit_examples", commit_examples)


def patch_append_jsonl(mp: pytest.MonkeyPatch, fault: Fault) -> None:
    original = RunStore.append_jsonl

    def append_jsonl(self: RunStore, name: str, rows: Any) -> None:
        rows = list(rows)
        if rows and fault.hit():
            if fault.partial:
                with open(self.path(name), "a", encoding="utf-8") as f:
                    f.write(json.dumps(rows[0])[:20])  # a cut line, as a full disk leaves it
            raise fault.err
        original(self, name, rows)

    mp.setattr(RunStore, "append_jsonl", append_jsonl)


def patch_write_tree(mp: pytest.MonkeyPatch, fault: Fault) -> None:
    original = RunStore.write_tree

    def write_tree(self: RunStore, tree: Any, *args: Any) -> Any:
        if fault.hit():
            raise fault.err
        return original(self, tree, *args)

    mp.setattr(RunStore, "write_tree", write_tree)


def patch_checkpoint(mp: pytest.MonkeyPatch, fault: Fault) -> None:
    original = AsyncSqliteSaver.aput

    async def aput(self: AsyncSqliteSaver, *args: Any, **kwargs: Any) -> Any:
        if fault.hit():
            raise fault.err
        return await original(self, *args, **kwargs)

    mp.setattr(AsyncSqliteSaver, "aput", aput)


Patch = Callable[[pytest.MonkeyPatch, Fault], None]
FULL_DISK: dict[str, tuple[Patch, int, Callable[[], Exception], str]] = {
    # where the disk fills up, at which call, the error, what the one line must say
    "examples.jsonl (mid-enrich)": (patch_commit_examples, 6, no_space, "No space left on device"),
    "examples.jsonl (first commit)": (patch_commit_examples, 1, no_space, "No space left on device"),
    "query_log.jsonl": (patch_append_jsonl, 7, no_space, "No space left on device"),
    "tree snapshot": (patch_write_tree, 5, no_space, "No space left on device"),
    "checkpoint database": (
        patch_checkpoint,
        12,
        lambda: sqlite3.OperationalError("database or disk is full"),
        "database or disk is full",
    ),
}


@pytest.mark.parametrize("where", list(FULL_DISK))
def test_full_disk_mid_run_is_one_line_and_resume_ends_like_an_uninterrupted_run(
    where: str, server: ScriptedOpenAIServer, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch, at, err, needle = FULL_DISK[where]
    fault = Fault(at, err())
    run_dir = tmp_path / "run"
    with monkeypatch.context() as mp:
        patch(mp, fault)
        result = cli(*run_args(server, run_dir))
    assert fault.fired == 1, f"the fault never fired ({fault.calls} calls): {result.output}"
    one_line_error(result, needle)
    assert (run_dir / "run.json").is_file()

    status = cli("status", str(run_dir))
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["status"] != "done"

    resumed = cli("resume", str(run_dir), "--quiet")  # the disk has room again
    assert resumed.exit_code == 0, resumed.output
    assert_same_run(run_dir, reference)


def test_read_only_run_directory_on_resume_then_writable_again(
    server: ScriptedOpenAIServer, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run stops part-way (full disk), the directory turns read-only, resume fails cleanly, then works."""
    run_dir = tmp_path / "run"
    with monkeypatch.context() as mp:
        patch_commit_examples(mp, Fault(4, no_space()))
        one_line_error(cli(*run_args(server, run_dir)), "No space left on device")

    before = {p: p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}
    with monkeypatch.context() as mp:
        patch_commit_examples(mp, Fault(1, read_only(str(run_dir)), once=False, partial=False))
        patch_append_jsonl(mp, Fault(1, read_only(str(run_dir)), once=False, partial=False))
        patch_write_tree(mp, Fault(1, read_only(str(run_dir)), once=False, partial=False))
        readonly_db = sqlite3.OperationalError("attempt to write a readonly database")
        patch_checkpoint(mp, Fault(1, readonly_db, once=False, partial=False))
        line = one_line_error(cli("resume", str(run_dir), "--quiet"))
        assert "Read-only file system" in line or "readonly database" in line, line
    # Nothing the failed resume did reached the files (checkpoint writes were refused as well).
    after = {p: p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name != "checkpoints.sqlite"}
    assert after == {p: b for p, b in before.items() if p.name != "checkpoints.sqlite"}

    resumed = cli("resume", str(run_dir), "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert_same_run(run_dir, reference)


def test_output_path_under_a_regular_file_is_one_line(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file, not a directory\n", encoding="utf-8")
    result = cli(*run_args(server, blocker / "run"))
    one_line_error(result, "not writable")
    assert blocker.read_text(encoding="utf-8") == "a file, not a directory\n"
    assert server.request_count == 0


def test_output_path_that_is_a_regular_file_is_one_line(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    blocker = tmp_path / "run"
    blocker.write_text("x", encoding="utf-8")
    result = cli(*run_args(server, blocker))
    one_line_error(result, "not writable")
    assert blocker.read_text(encoding="utf-8") == "x"
    assert server.request_count == 0


def test_tree_dir_replaced_by_a_file_mid_run(
    server: ScriptedOpenAIServer, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real filesystem fault, no patching: `tree` is a file, so the snapshot cannot be written."""
    run_dir = tmp_path / "run"
    original = RunStore.write_tree
    calls = {"n": 0}

    def sabotage(self: RunStore, tree: Any, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # someone replaces tree/ with a file while the run goes on
            import shutil

            shutil.rmtree(self.path("tree"))
            self.path("tree").write_text("in the way", encoding="utf-8")
        return original(self, tree, *args)

    with monkeypatch.context() as mp:
        mp.setattr(RunStore, "write_tree", sabotage)
        one_line_error(cli(*run_args(server, run_dir)))
    (run_dir / "tree").unlink()
    resumed = cli("resume", str(run_dir), "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert_same_run(run_dir, reference)
