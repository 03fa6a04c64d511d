"""Checkpoints in a real PostgreSQL (the scale-out configuration): a run, a budget pause and its resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import postgres
from support.scripted import Script

from explore_instruct.agent.runs.checkpoints import CHECKPOINT_URL_ENV
from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.dataset.runstore import CHECKPOINTS, RunDirError

pytestmark = [pytest.mark.slow, postgres.needed]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres.postgres_server() as url:
        yield url


def _ctx(run_dir: Path, script: Script, **kw: object) -> Context:
    return Context(
        chat_model=script.chat_model(),
        run_dir=str(run_dir),
        max_depth=1,
        breadth=[2],
        subtasks_per_call=2,
        examples=[3],
        examples_per_call=3,
        similarity="exact",
        **kw,
    )  # type: ignore[arg-type]


async def test_run_pause_and_resume_in_postgres(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHECKPOINT_URL_ENV, pg_url)
    script = Script()
    run_dir = tmp_path / "run"
    first = await Runner().start(_ctx(run_dir, script, max_calls=2), domain="writing polite workplace emails")
    assert first.status == "budget"
    assert not (run_dir / CHECKPOINTS).exists()  # nothing went to SQLite
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["checkpointer"] == "postgres" and pg_url not in json.dumps(meta)
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("select count(*) from checkpoints where thread_id = %s", (meta["thread_id"],)).fetchone()
    assert rows is not None and rows[0] > 0

    done = await Runner(chat_model=script.chat_model()).resume(str(run_dir), max_calls=1000)
    assert done.status == "done", done
    lines = (run_dir / "examples.jsonl").read_text().splitlines()
    assert len(lines) == done.summary["examples"] == 9
    assert len({json.loads(line)["id"] for line in lines}) == 9

    monkeypatch.delenv(CHECKPOINT_URL_ENV)
    with pytest.raises(RunDirError, match=CHECKPOINT_URL_ENV):
        await Runner(chat_model=script.chat_model()).resume(str(run_dir))


async def test_unreachable_postgres_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHECKPOINT_URL_ENV, "postgresql://postgres:s3cret@127.0.0.1:9/postgres?connect_timeout=2")
    with pytest.raises(RunDirError) as err:
        await Runner().start(_ctx(tmp_path / "run", Script()), domain="writing polite workplace emails")
    message = str(err.value)
    assert "127.0.0.1:9" in message and "\n" not in message and "s3cret" not in message
    assert not (tmp_path / "run" / "run.json").exists()
