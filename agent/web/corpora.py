"""The web chat's documents: pick a corpus the operator published, or upload documents into one of your own, and
start a grounded run on it (`/explore docs=NAME`, the chat command every face shares).

What a web user may reach is what was made for them, nothing else:
- The corpora listed are folders holding `corpus.json` under the seed root (where every remote caller's corpus
  must lie: `corpus_root.confine_docs`, which the chat's run service applies to `docs=` whatever the page sends).
- Uploads are ingested into `SEED_ROOT/web-uploads/<session>/corpus`, `<session>` being the browser session's
  own random id (a uuid the page made; never a name from the request). Other sessions' upload folders are never
  listed, and a session names only its own.
- An uploaded file is read only from Gradio's private upload folder of this process, and copied under the
  session's folder by its bare name (guard.py holds these rules: `uploaded_paths`, `safe_name`).
- Ingestion skips what it cannot read with one line per file (tools/corpus/ingest.py); nothing here raises.
- Corpora and documents are named relative to the seed root (or by their bare names), errors too (names.py).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from explore_instruct.agent.errors import one_line
from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.web import names
from explore_instruct.agent.web.guard import safe_name, session_folder, uploaded_paths
from explore_instruct.tools.corpus.manifest import MANIFEST

UPLOADS = "web-uploads"
MAX_LISTED = 100


def session_dir(limits: Limits, session: str) -> Path:
    """The session's own folder under the seed root (guard.session_folder: a session id is a uuid, never a path)."""
    return session_folder(limits.seeds / UPLOADS, session)


def list_corpora(limits: Limits, session: str | None) -> list[str]:
    """Corpus names (paths relative to the seed root) a session may pick: the operator's, then its own upload."""
    root = limits.seeds
    if not root.is_dir():
        return []
    names: list[str] = []
    for manifest in sorted(root.rglob(MANIFEST)):
        folder = manifest.parent
        rel = folder.relative_to(root)
        if (rel.parts and rel.parts[0] == UPLOADS) or folder.is_symlink() or manifest.is_symlink():
            continue
        names.append(str(rel))
        if len(names) >= MAX_LISTED:
            break
    if session:
        own = session_dir(limits, session) / "corpus"
        if (own / MANIFEST).is_file():
            names.append(str(own.relative_to(root)))
    return names


def ingest_uploads(limits: Limits, session: str, files: list[str] | None, upload_root: Path | None = None) -> str:
    """Copy the uploads into the session's folder and ingest them into its corpus; one Markdown line of what
    happened (documents, chunks, skips with their reasons). The corpus's name is `list_corpora`'s last entry."""
    from explore_instruct.tools.corpus.ingest import ingest

    paths = uploaded_paths(files, upload_root)
    folder = session_dir(limits, session)
    inbox = folder / "files"
    inbox.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in paths:
        target = inbox / safe_name(path.name)
        shutil.copyfile(path, target)
        copied.append(target)
    report = ingest(copied, folder / "corpus")
    name = str((folder / "corpus").relative_to(limits.seeds))
    done = ", ".join(f"{Path(d.path).name} ({d.chunks} chunks)" for d in report.documents) or "no document"
    skipped = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in report.skipped)
    return f"Ingested {done} into `{name}`" + (f". Skipped {skipped}" if skipped else "") + "."


# ---- the Chat tab's "Documents" box (Gradio)

Say = Callable[[str, list[Any], str, "str | None"], Awaitable[tuple[Any, ...]]]


def layout(limits: Limits, say: Say, chat: Any, thread: Any, run: Any, box: Any) -> Any:
    """The box's components inside the caller's column, its events bound; returns the corpus dropdown (the page's
    load fills it). `say` is the chat's turn: "Explore this corpus" sends `/explore docs=NAME`, so the chat shows
    the command and every rule of the chat's runs applies."""
    import gradio as gr

    with gr.Accordion("Documents: ground a run in your own files", open=False, elem_id="documents"):
        corpus = gr.Dropdown(label="Corpus", choices=[], elem_id="corpus")
        uploads = gr.File(
            label="Upload documents (PDF, Markdown, HTML, text, DOCX)",
            file_count="multiple",
            type="filepath",
            elem_id="uploads",
        )
        add = gr.Button("Add them to my corpus", elem_id="ingest")
        explore = gr.Button("Explore this corpus", variant="primary", elem_id="explore-corpus")
        note = gr.Markdown(elem_id="corpus-note")

    async def added(files: list[str] | None, session: str) -> tuple[Any, str]:
        try:
            line = await asyncio.to_thread(ingest_uploads, limits, session, files)
        except Exception as e:
            return gr.skip(), names.hide(f"Error: {one_line(e)}", [limits.seeds, limits.root])
        listed = list_corpora(limits, session)
        return gr.Dropdown(choices=listed, value=listed[-1] if listed else None), line

    async def explored(name: str | None, history: list[Any], session: str, current: str | None) -> tuple[Any, ...]:
        if not name or name not in list_corpora(limits, session):
            note = {"role": "assistant", "content": "Pick a corpus (or upload documents) first."}
            return [*history, note], "", gr.skip()
        return await say(f'/explore docs="{name}"', history, session, current)

    add.click(added, [uploads, thread], [corpus, note])
    explore.click(explored, [corpus, chat, thread, run], [chat, box, run])
    return corpus


def refresh(limits: Limits, session: str) -> Any:
    import gradio as gr

    return gr.Dropdown(choices=list_corpora(limits, session))
