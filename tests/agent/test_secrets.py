"""Secrets never reach a run's files, its checkpoints or the terminal.

The API keys and a Postgres password are unique marker strings; after a run every byte under the run
directory (checkpoints.sqlite, the Chroma files, the logs, run.json, tree/), every row of the Postgres
checkpoint tables and everything the CLI printed is searched for them. A provider that echoes the key in
its 401 error body must not get it written down either.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import postgres
from support.openai_server import Reply, ScriptedOpenAIServer
from support.reliability import DOMAIN, WordScript
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app
from explore_instruct.agent.runs.checkpoints import CHECKPOINT_URL_ENV

MARK = uuid.uuid4().hex[:16]
OPENAI_KEY = f"sk-openai-{MARK}-A"
EI_KEY = f"ei-key-{MARK}-B"
PG_PASSWORD = f"pg{MARK}C"
NEEDLES = [MARK.encode(), MARK.encode().hex().encode(), MARK.upper().encode()]
FLAGS = [
    "--depth", "1", "--breadth", "2", "--subtasks-per-call", "2", "--examples", "3", "--examples-per-call", "2",
    "--model", "openai:scripted",
]  # fmt: skip
GREPPED: dict[str, int] = {"files": 0, "bytes": 0, "rows": 0, "outputs": 0}


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\nsecrets grepped: {GREPPED}")


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", CHECKPOINT_URL_ENV, "EXPLORE_INSTRUCT_API_KEY_ENV", "EXPLORE_INSTRUCT_SIMILARITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("EXPLORE_INSTRUCT_API_KEY", EI_KEY)


def leaks(data: bytes) -> bool:
    return any(n in data for n in NEEDLES)


def assert_no_secret_in_dir(run_dir: Path) -> int:
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        GREPPED["files"] += 1
        GREPPED["bytes"] += len(data)
        assert not leaks(data), f"a secret is in {path.relative_to(run_dir)}"
    return len(files)


def assert_no_secret_in_output(*results: Any) -> None:
    for result in results:
        GREPPED["outputs"] += 1
        assert not leaks(result.stdout.encode() + result.stderr.encode()), result.output


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def run_and_inspect(server: ScriptedOpenAIServer, run_dir: Path, *extra: str) -> list[Any]:
    ran = cli("run", "--domain", DOMAIN, "--out", str(run_dir), "--base-url", server.base_url, *FLAGS, *extra, "--json")
    assert ran.exit_code == 0, ran.output
    outputs = [ran, cli("status", str(run_dir)), cli("drops", str(run_dir), "--json")]
    outputs.append(cli("resume", str(run_dir), "--json"))  # a finished run: reports and stops
    for r in outputs:
        assert r.exit_code == 0, r.output
    return outputs


def sent_keys(server: ScriptedOpenAIServer) -> set[str]:
    return {h.get("authorization", "") for h in server.request_headers}


@pytest.mark.parametrize(
    "similarity", ["exact", pytest.param("embedding", marks=pytest.mark.embedded)], ids=["exact", "embedding"]
)
def test_keys_reach_no_file_of_a_sqlite_run(
    similarity: str, openai_server: ScriptedOpenAIServer, keys: None, tmp_path: Path
) -> None:
    openai_server.responder = WordScript(dup_share=0.25).responder
    run_dir = tmp_path / "run"
    outputs = run_and_inspect(openai_server, run_dir, "--similarity", similarity)

    # The key was in use: the endpoint's own key went out, the OpenAI key did not go to a non-OpenAI host.
    assert sent_keys(openai_server) == {f"Bearer {EI_KEY}"}
    assert (run_dir / "checkpoints.sqlite").is_file()
    if similarity == "embedding":
        assert any((run_dir / "chroma").rglob("*.sqlite3"))
    assert_no_secret_in_dir(run_dir)
    assert_no_secret_in_output(*outputs)


@pytest.mark.slow
@postgres.needed
def test_keys_and_database_password_reach_no_file_and_no_checkpoint_row(
    openai_server: ScriptedOpenAIServer, keys: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    openai_server.responder = WordScript().responder
    with postgres.postgres_server() as url:
        secret_url = url.replace("postgres@", f"postgres:{PG_PASSWORD}@", 1)  # trust auth: the password is unused
        assert PG_PASSWORD in secret_url
        monkeypatch.setenv(CHECKPOINT_URL_ENV, secret_url)
        run_dir = tmp_path / "run"
        outputs = run_and_inspect(openai_server, run_dir, "--similarity", "exact")
        assert json.loads((run_dir / "run.json").read_text())["checkpointer"] == "postgres"

        with psycopg.connect(url) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "select table_name from information_schema.tables where table_schema = 'public'"
                ).fetchall()
            ]
            assert "checkpoints" in tables
            for table in tables:  # bytea columns come out as hex, so the hex needle covers them
                for (row,) in conn.execute(f'select t::text from "{table}" t').fetchall():
                    GREPPED["rows"] += 1
                    assert not leaks(row.encode()), f"a secret is in Postgres table {table}"

        bad = cli("status", str(tmp_path / "nowhere"))  # an error path, with the URL in the environment
        assert bad.exit_code == 2
        outputs.append(bad)
    assert_no_secret_in_dir(run_dir)
    assert_no_secret_in_output(*outputs)


def test_a_provider_that_echoes_the_key_in_its_401_gets_it_written_nowhere(
    openai_server: ScriptedOpenAIServer, keys: None, tmp_path: Path
) -> None:
    def unauthorised(request: dict[str, Any]) -> Reply:
        echoed = f"Incorrect API key provided: {EI_KEY} (and {OPENAI_KEY})"
        return Reply(status=401, body={"error": {"message": echoed, "type": "invalid_request_error"}})

    openai_server.responder = unauthorised
    config = tmp_path / "run.yaml"
    config.write_text("max_provider_failures: 2\nmax_retries: 0\nsimilarity: exact\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    ran = cli(
        "run", "--domain", DOMAIN, "--out", str(run_dir), "--base-url", openai_server.base_url, *FLAGS,
        "--config", str(config), "--quiet",
    )  # fmt: skip
    assert ran.exit_code == 1, ran.output  # paused: the provider keeps refusing
    assert "paused" in ran.stderr and "Traceback" not in ran.output
    assert openai_server.request_count >= 2
    bad = [json.loads(x) for x in (run_dir / "bad_completions.jsonl").read_text().splitlines()]
    assert bad and all(b["error_kind"] == "api" and "401" in b["error"] for b in bad)
    assert_no_secret_in_dir(run_dir)
    assert_no_secret_in_output(ran, cli("status", str(run_dir)))
