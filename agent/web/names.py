"""What the web page shows of a server path: a name relative to the root it lies under, never the path itself.

A server serves only what it made for its caller and does not tell it how its disks are laid out, so every line
the page shows (chat replies, run status, notes, errors, the Sources tab's documents) goes through `hide`: an
absolute path under one of the server's roots (the seed root, the output root) becomes its name relative to that
root, the names a person types back (`docs=web-uploads/<session>/corpus`, `run=web`); any other absolute path
becomes its bare file name. Only text is rewritten here; nothing reads the disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath, PurePosixPath

# Two or more `/name` components not glued to a word, a URL or a relative path ("http://h/v1", "a/b" and a slash
# command such as "/approve" stay as they are); a sentence's final dot or colon is not part of the path.
ABSOLUTE = re.compile(r"(?<![\w:/.~-])(?:/[^\s/`'\"()<>\[\]{},;|*]+){2,}/?")
TRAILING = ".:"


def relative(path: str, bases: Iterable[str | PurePath | None]) -> str:
    """`path` relative to the first of `bases` it lies under (the base's own name where it is the base), else its
    bare name. A relative `path` is shown as it is: it names nothing of the server's layout."""
    pure = PurePosixPath(path)
    if not pure.is_absolute():
        return path
    for base in bases:
        if base is None:
            continue
        root = PurePosixPath(base)
        if pure == root:
            return root.name or "."
        if pure.is_relative_to(root):
            return str(pure.relative_to(root))
    return pure.name or "."


def hide(text: str, bases: Iterable[str | PurePath | None]) -> str:
    """`text` with every absolute path in it replaced by `relative` (the same bases for each)."""
    roots = [b for b in bases if b is not None]

    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        path = found.rstrip(TRAILING)
        return relative(path.rstrip("/") or path, roots) + found[len(path) :]

    return ABSOLUTE.sub(one, text)


def doc_name(doc: str, corpus: str | None) -> str:
    """A cited document as the Sources tab shows it: relative to the folder holding its corpus (an upload's
    `files/guide.md`), or to the corpus itself, else its bare name."""
    if not corpus:
        return relative(doc, [])
    folder = PurePosixPath(corpus)
    return relative(doc, [folder, folder.parent])
