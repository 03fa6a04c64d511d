"""A run's exports as MCP resources, so a remote client reads its dataset through the protocol, not the disk.

`export` writes under `<run>/export/<format>/` and answers the files' resource URIs beside their paths:

    explore-instruct://runs/{run}/export/{format}/{file}   one file of an export (data, README.md card, hf files)
    explore-instruct://runs/{run}/card                     the dataset card of the run's latest export

Confined exactly like `export`: the run is found under the output root by the same rule (`Limits.existing_run`:
no `..`, no symlink out), and a file is served only if it is a regular file (not a symlink, not hidden) directly
in an export folder of a known format, which only `export` writes. The run directory itself (checkpoints, query
log, run.json) is never served. A file that is missing and one that may not be read get the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from explore_instruct.agent.runs.data import EXPORT_DIR
from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.tools.dataset.export import CARD, FORMATS

SCHEME = "explore-instruct"
PREFIX = f"{SCHEME}://runs/"
FILE_TEMPLATE = PREFIX + "{run}/export/{format}/{file}"
CARD_TEMPLATE = PREFIX + "{run}/card"
MAX_BYTES = 64 * 2**20  # one resources/read answer holds the whole file
TEXT_TYPES = {".json": "application/json", ".jsonl": "application/jsonl", ".md": "text/markdown"}
BINARY_TYPES = {".arrow": "application/vnd.apache.arrow.file"}
LIST_RUNS = 50  # resources/list: exports of at most this many runs


class ResourceRefused(LimitError):
    """A resource URI that names nothing this server made; one answer for missing and forbidden alike."""


@dataclass(frozen=True)
class Content:
    data: str | bytes
    mime_type: str


def _segment(run_dir: Path, limits: Limits) -> str:
    return quote(run_dir.relative_to(limits.root).as_posix(), safe="")


def file_uri(limits: Limits, path: Path) -> str:
    """The URI of a file in an export folder (`<run>/export/<format>/<file>`)."""
    fmt_dir = path.parent
    return f"{PREFIX}{_segment(fmt_dir.parent.parent, limits)}/{EXPORT_DIR}/{fmt_dir.name}/{quote(path.name, safe='')}"


def export_uris(limits: Limits, files: list[str]) -> list[str]:
    """The resource URIs of what `export` wrote: each file, or each file of a written folder (hf)."""
    uris = []
    for name in files:
        path = Path(name)
        inside = sorted(p for p in path.iterdir() if _servable(p)) if path.is_dir() else [path]
        uris += [file_uri(limits, p) for p in inside]
    return uris


def _servable(path: Path) -> bool:
    return not path.name.startswith(".") and not path.is_symlink() and path.is_file()


def _export_dir(run_dir: Path, fmt: str) -> Path | None:
    """`<run>/export/<fmt>` when it is a real folder inside the run (no symlink on the way)."""
    base, folder = run_dir / EXPORT_DIR, run_dir / EXPORT_DIR / fmt
    if fmt not in FORMATS or base.is_symlink() or folder.is_symlink() or not folder.is_dir():
        return None
    return folder if folder.resolve().parent.parent == run_dir else None


def _read(path: Path, uri: str) -> Content:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ResourceRefused(f"resource: {uri} is {size} bytes, over the {MAX_BYTES} this server sends in one read")
    suffix = path.suffix.lower()
    if suffix in TEXT_TYPES:
        return Content(path.read_text(encoding="utf-8"), TEXT_TYPES[suffix])
    return Content(path.read_bytes(), BINARY_TYPES.get(suffix, "application/octet-stream"))


def read(limits: Limits, uri: str) -> Content:
    """The content of a resource URI (blocking: file reads); a one-line `LimitError` for anything else."""
    refused = ResourceRefused(f"resource: {uri} is not a file this server exported")
    if not uri.startswith(PREFIX):
        raise refused
    parts = [unquote(p) for p in uri[len(PREFIX) :].split("/")]
    if len(parts) not in (2, 4) or not parts[0]:
        raise refused
    run_dir = limits.existing_run(parts[0])
    if len(parts) == 2 and parts[1] == "card":
        cards = [f / CARD for fmt in FORMATS if (f := _export_dir(run_dir, fmt)) and _servable(f / CARD)]
        if not cards:
            raise ResourceRefused(f"resource: run {run_dir.name} has no dataset card yet; call export first")
        return _read(max(cards, key=lambda p: p.stat().st_mtime), uri)
    if len(parts) != 4 or parts[1] != EXPORT_DIR:
        raise refused
    folder, name = _export_dir(run_dir, parts[2]), parts[3]
    if folder is None or not name or "/" in name or "\\" in name or "\x00" in name or not _servable(folder / name):
        raise refused
    return _read(folder / name, uri)


def listing(limits: Limits) -> list[tuple[str, Path]]:
    """(URI, path) of every export file of the newest runs directly under the root (blocking)."""
    root = limits.root
    if not root.is_dir():
        return []
    runs = sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()), key=lambda p: p.stat().st_mtime)
    found = []
    for run_dir in reversed(runs[-LIST_RUNS:]):
        for fmt in FORMATS:
            folder = _export_dir(run_dir, fmt)
            if folder is not None:
                found += [(file_uri(limits, p), p) for p in sorted(folder.iterdir()) if _servable(p)]
    return found
