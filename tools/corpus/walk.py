"""Which files an ingest reads, and the name each gets in the corpus.

Documents are named relative to the folder they were ingested from, never by their absolute path: a file
argument by its name in its own folder (`guide.md`), a folder argument by the path below that folder
(`sub/guide.md`), a glob's matches by their path below the glob's literal folder (`docs/**/*.md` names
`docs/a/x.md` as `a/x.md`). That name is `doc` in the chunks, the manifest, every example's `sources`, the exports
and the card, so none of them shows the ingesting machine's layout and a moved corpus names what it holds. Two
files reaching the same name in one call keep the first (the other is a recorded skip); across calls a name is
one document (ingesting another folder with a file of that name replaces it). What happens to a stored document met
again under another name, and to corpora from before this rule, ingest.py says.

Folders are walked recursively, following symlinks to folders but never one that leads back to a folder
already walked (a loop is a recorded skip). Hidden files and folders (`.git`, `.venv`) inside a folder are not
walked, as git and most tools do not; a hidden file named on its own is read.
"""

from __future__ import annotations

import errno
import glob
import itertools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol


class Skips(Protocol):
    def skip(self, path: str, reason: str) -> None: ...


def collect(paths: Iterable[str | Path], report: Skips, exclude: Path | None = None) -> list[str]:
    """The files named by `paths` (files, folders walked recursively, glob patterns), absolute, in order, once."""
    return [path for path, _ in collect_named(paths, report, exclude)]


def collect_named(paths: Iterable[str | Path], report: Skips, exclude: Path | None = None) -> list[tuple[str, str]]:
    """(absolute path, corpus name) of each file `paths` names, in order, once; a second file reaching a name
    already taken in this call is a recorded skip (the corpus could hold only one of them)."""
    named: dict[str, str] = {}  # absolute path -> name
    taken: dict[str, str] = {}  # name -> absolute path
    for arg in map(str, paths):
        if os.path.lexists(arg):
            matches, base = [arg], None
        elif any(c in arg for c in "*?["):
            matches, base = sorted(glob.glob(arg, recursive=True)), _glob_base(arg)
            if not matches:
                report.skip(arg, "no file matches this pattern")
        else:
            report.skip(arg, "no such file or folder")
            continue
        for match in matches:
            if os.path.isdir(match):
                top = os.path.abspath(match)
                found = [(f, os.path.relpath(f, base or top)) for f in _walk(match, report, exclude)]
            else:
                full = os.path.abspath(match)
                found = [(full, os.path.relpath(full, base) if base else os.path.basename(full))]
            for full, name in found:
                name = name.replace(os.sep, "/")
                if full in named:
                    continue
                if name in taken:
                    report.skip(
                        full,
                        f"another document in this ingest is named {name} ({taken[name]}); ingest them "
                        "from a common parent folder or into separate corpora",
                    )
                    continue
                named[full], taken[name] = name, full
    return list(named.items())


def _glob_base(pattern: str) -> str:
    """The folder a glob's matches are named from: its components before the first wildcard, absolute."""
    parts = Path(pattern).parts
    fixed = [p for p in itertools.takewhile(lambda p: not any(c in p for c in "*?["), parts)]
    return os.path.abspath(os.path.join(*fixed)) if fixed else os.path.abspath(".")


def _walk(root: str, report: Skips, exclude: Path | None) -> list[str]:
    files: list[str] = []
    top = os.path.abspath(root)
    seen = {_identity(top)}
    skip_dir = _identity(str(exclude)) if exclude is not None and exclude.is_dir() else None

    def unreadable(e: OSError) -> None:
        report.skip(str(e.filename or top), f"cannot read folder ({e.strerror})")

    for dirpath, dirnames, filenames in os.walk(top, followlinks=True, onerror=unreadable):
        keep = []
        for name in sorted(dirnames):
            full = os.path.join(dirpath, name)
            if name.startswith("."):
                continue
            try:
                ident = _identity(full)
            except OSError as e:
                report.skip(full, os_reason(e))
                continue
            if ident == skip_dir:
                continue  # the corpus being written, inside a folder being ingested
            if ident in seen:
                target = os.path.realpath(full)
                loop = (os.path.realpath(dirpath) + os.sep).startswith(target + os.sep)
                why = "symlink loop: leads back to" if loop else "symlink to a folder already walked:"
                report.skip(full, f"{why} {target}")
                continue
            seen.add(ident)
            keep.append(name)
        dirnames[:] = keep
        files.extend(os.path.join(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
    return files


def _identity(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def os_reason(e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if e.errno == errno.ENOENT:
        return "broken symlink or vanished file"
    if e.errno == errno.EACCES:
        return "cannot read (permission denied)"
    return f"cannot read ({e.strerror or type(e).__name__})"
