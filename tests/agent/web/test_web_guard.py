"""The web chat as a hostile caller sees it, with plain HTTP requests (no browser): a Host header it does not
know is refused (DNS rebinding), no file of the output root can be fetched through Gradio's file route, an access
token (EXPLORE_INSTRUCT_WEB_TOKEN) closes the page and the file route until someone logs in with it and never
shows up in the server's output, and `--host 0.0.0.0` without a token warns."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.browser import EXE, free_port, wait_up, web_env
from typer.testing import CliRunner

from explore_instruct.agent.web import guard

TOKEN = "tok-3f9a1c77e2b54d08"


def make_root(base: Path) -> Path:
    """An output root with a run directory holding the files nobody should download."""
    run = base / "root" / "r1"
    run.mkdir(parents=True)
    (run / "checkpoints.sqlite").write_bytes(b"SQLite format 3\x00 secret checkpoint")
    (run / "query_log.jsonl").write_text('{"prompt": "secret prompt"}\n')
    return base / "root"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, Path, Path]]]:
    """Two pages: an open one (with one more allowed host name) and one behind a token; (url, root, log)."""
    base = tmp_path_factory.mktemp("web-guard")
    env = web_env()
    procs, out = [], {}
    try:
        for name, extra_env, extra_args in (
            ("open", {}, ["--allow-host", "studio.lan"]),
            ("token", {"EXPLORE_INSTRUCT_WEB_TOKEN": TOKEN}, []),
        ):
            root, log, port = make_root(base / name), base / f"{name}.log", free_port()
            cmd = [EXE, "web", "--root", str(root), "--model", "openai:scripted", "--base-url", "http://127.0.0.1:9/v1"]
            cmd += ["--similarity", "exact", "--port", str(port), *extra_args]
            sink = log.open("w")
            procs.append((subprocess.Popen(cmd, env=env | extra_env, stdout=sink, stderr=subprocess.STDOUT), sink))
            out[name] = (f"http://127.0.0.1:{port}/", root, log)
        for (proc, _), (url, _, log) in zip(procs, out.values(), strict=True):
            wait_up(proc, url, log)
        yield out
    finally:
        for proc, sink in procs:
            proc.terminate()
            proc.wait(timeout=20)
            sink.close()


@pytest.mark.slow
def test_a_host_header_it_does_not_know_is_refused(servers: dict[str, tuple[str, Path, Path]]) -> None:
    url, _, _ = servers["open"]
    port = httpx.URL(url).port or 80
    assert httpx.get(url, headers={"Host": "evil.example.com"}).status_code == 400
    assert httpx.get(url, headers={"Host": f"evil.example.com:{port}"}).status_code == 400
    assert httpx.get(url, headers={"Host": f"127.0.0.1:{port + 1}"}).status_code == 400  # another port
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"studio.lan:{port}"):
        assert httpx.get(url, headers={"Host": good}).status_code == 200, good
    assert httpx.get(f"{url}gradio_api/info", headers={"Host": "evil.example.com"}).status_code == 400


@pytest.mark.slow
@pytest.mark.parametrize("name", ["checkpoints.sqlite", "query_log.jsonl"])
def test_no_file_of_the_output_root_comes_through_the_file_route(
    servers: dict[str, tuple[str, Path, Path]], name: str
) -> None:
    url, root, _ = servers["open"]
    for form in (f"gradio_api/file={root / 'r1' / name}", f"file={root / 'r1' / name}"):
        r = httpx.get(url + form)
        assert r.status_code in (403, 404), (form, r.status_code)
        assert b"secret" not in r.content


@pytest.mark.slow
def test_the_token_closes_the_page_until_someone_logs_in_with_it(servers: dict[str, tuple[str, Path, Path]]) -> None:
    url, root, log = servers["token"]
    with httpx.Client(base_url=url) as anon:
        assert anon.get("config").status_code == 401
        assert anon.get("gradio_api/info").status_code == 401
        assert anon.get(f"gradio_api/file={root / 'r1' / 'query_log.jsonl'}").status_code in (401, 403)
        assert anon.post("login", data={"username": "me", "password": "wrong"}).status_code >= 400
        assert anon.get("config").status_code == 401
    with httpx.Client(base_url=url) as person:
        assert person.post("login", data={"username": "me", "password": TOKEN}).status_code == 200
        assert person.get("config").status_code == 200
        assert person.get(f"gradio_api/file={root / 'r1' / 'query_log.jsonl'}").status_code == 403
    assert TOKEN not in log.read_text()


def test_a_host_other_machines_reach_without_a_token_warns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import explore_instruct.agent.web.app as web_app
    from explore_instruct.agent.cli.main import app

    served: list[tuple[str, int]] = []
    monkeypatch.setattr(web_app, "serve", lambda ctx, host, port, **kw: served.append((host, port)))
    monkeypatch.delenv("EXPLORE_INSTRUCT_WEB_TOKEN", raising=False)
    args = ["web", "--root", str(tmp_path), "--similarity", "exact"]
    wide = CliRunner().invoke(app, [*args, "--host", "0.0.0.0"])
    assert wide.exit_code == 0, wide.output
    assert "warning: --host 0.0.0.0" in wide.output and "EXPLORE_INSTRUCT_WEB_TOKEN" in wide.output
    assert CliRunner().invoke(app, args).output == ""  # loopback: no warning
    monkeypatch.setenv("EXPLORE_INSTRUCT_WEB_TOKEN", TOKEN)
    closed = CliRunner().invoke(app, [*args, "--host", "0.0.0.0"])
    assert "warning" not in closed.output and TOKEN not in closed.output
    assert served == [("0.0.0.0", 7860), ("127.0.0.1", 7860), ("0.0.0.0", 7860)]


# ---- what the download box gets (no server) -----------------------------------------------------------------


class Exports:
    """A stand-in for `Runs.export` (the `export` operation's runner calls it): what the run directory holds
    after an export, or a failure."""

    def __init__(self, written: list[Path] | Exception) -> None:
        from explore_instruct.agent.runs.limits import Limits

        self.written = written
        self.limits = Limits(output_root="/srv/explore-instruct/runs")

    async def export(
        self, run: str, fmt: str, n: int | None = None, seed: int = 0, *, include_reasoning: bool = False
    ) -> dict[str, object]:
        if isinstance(self.written, Exception):
            raise self.written
        files = [str(p) for p in self.written]
        return {"run_id": run, "format": fmt, "examples": 1, "shortfall": 0, "summary": "1 example", "files": files}


def panel_for(tmp_path: Path, exports: Exports) -> object:
    from types import SimpleNamespace

    from explore_instruct.agent.web.panel import Panel

    return Panel(SimpleNamespace(runs=exports), pictures=tmp_path / "pictures", exports=tmp_path / "exports")  # type: ignore[arg-type]


async def test_an_hf_export_downloads_as_a_zip_from_the_sessions_own_folder(tmp_path: Path) -> None:
    import uuid
    import zipfile

    hf = tmp_path / "root" / "r1" / "export" / "hf"
    (hf / "data").mkdir(parents=True)
    (hf / "README.md").write_text("card")
    (hf / "data" / "train.parquet").write_bytes(b"PAR1")
    panel: Any = panel_for(tmp_path, Exports([hf]))
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    [first] = await panel.export("r1", "hf", one)
    assert first.endswith("r1-hf.zip") and Path(first).parent == tmp_path / "exports" / uuid.UUID(one).hex
    assert sorted(zipfile.ZipFile(first).namelist()) == ["README.md", "data/", "data/train.parquet"]
    [second] = await panel.export("r1", "hf", two)
    assert Path(first).exists() and Path(second).parent != Path(first).parent  # one session's files, not another's
    jsonl = tmp_path / "root" / "r1" / "export" / "jsonl" / "data.jsonl"
    jsonl.parent.mkdir(parents=True)
    jsonl.write_text("{}\n")
    panel.background.runs.written = [jsonl]
    [again] = await panel.export("r1", "jsonl", one)  # a session keeps only its latest export
    assert Path(again).read_text() == "{}\n" and not Path(first).exists()
    with pytest.raises(ValueError):
        await panel.export("r1", "jsonl", "../../root")


async def test_a_failed_export_empties_the_download_box(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from explore_instruct.agent.web.app import Web

    failed = ValueError("export: run r1 has no examples yet in /srv/explore-instruct/runs/r1")
    web: Any = SimpleNamespace(panel=panel_for(tmp_path, Exports(failed)))
    files, history = await Web.export(web, "r1", "hf", False, [], "6d0c5c1e-7b0b-4a57-9f55-0d5bb0a4d3a1")
    assert files is None  # not gr.skip(): the last download (or Gradio's "Error") would stay in the box
    assert history[-1]["content"] == "Error: export: run r1 has no examples yet in r1"  # no server path


# ---- paths a web user may name (no server)


def test_only_files_in_the_upload_folder_are_read(tmp_path: Path) -> None:
    uploads = tmp_path / "gradio"
    (uploads / "abc").mkdir(parents=True)
    good = uploads / "abc" / "manual.md"
    good.write_text("# Manual\n\nText.")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (uploads / "abc" / "link.md").symlink_to(secret)
    assert guard.uploaded_paths([str(good)], uploads) == [good.resolve()]
    for bad in (str(secret), str(uploads / "abc" / "link.md"), str(uploads / "abc" / ".." / ".." / "secret.txt")):
        with pytest.raises(guard.UploadError, match="is not a file this page received"):
            guard.uploaded_paths([bad], uploads)
    with pytest.raises(guard.UploadError, match="choose one or more"):
        guard.uploaded_paths([], uploads)
    assert guard.safe_name("../../.bashrc") == "bashrc"
    assert guard.safe_name("a/b/Report (v2).pdf") == "Report _v2_.pdf"
    session = "6d0c5c1e-7b0b-4a57-9f55-0d5bb0a4d3a1"
    assert guard.session_folder(tmp_path, session) == tmp_path / "6d0c5c1e7b0b4a579f550d5bb0a4d3a1"
    for hostile in ("../../etc", "/etc", "", "6d0c5c1e/../.."):
        with pytest.raises(ValueError):
            guard.session_folder(tmp_path, hostile)


def test_without_a_private_upload_folder_no_upload_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "manual.md"
    doc.write_text("text")
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    with pytest.raises(guard.UploadError):
        guard.uploaded_paths([str(doc)])
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    assert guard.uploaded_paths([str(doc)]) == [doc.resolve()]
