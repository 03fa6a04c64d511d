"""The run directory: everything a run writes and everything a resume needs, in one place.

Examples are appended to `examples.jsonl` only through `commit_examples`, which first truncates the file
to the offset the caller last committed (held in the graph's checkpoint). A step that was killed after
writing but before its checkpoint landed therefore rewrites the same bytes instead of duplicating them.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explore_instruct.tools.fileio import read_jsonl, write_text_atomic
from explore_instruct.tools.tree.ei_dir import write_ei_dir
from explore_instruct.tools.tree.model import DomainTree, Example

EXAMPLES = "examples.jsonl"
QUERY_LOG = "query_log.jsonl"
JUDGE_PURPOSES = frozenset({"judge", "solve"})  # query-log rows of the judge, counted apart from generation
BAD_COMPLETIONS = "bad_completions.jsonl"
DROPPED = "dropped.jsonl"
JUDGEMENTS = "judgements.jsonl"  # one row per judged example: score, reason, kept; a ledger like examples.jsonl
CHECKPOINTS = "checkpoints.sqlite"
CHROMA_DIR = "chroma"
RUN_META = "run.json"
TREE_DIR = "tree"


class RunDirError(ValueError):
    """The run directory cannot be used (not writable, not a run, ...)."""


@dataclass(frozen=True)
class ExampleRecord:
    """One kept example with where it belongs; the line format of examples.jsonl."""

    id: str
    node_id: str
    example: Example
    depth: int = 0
    seq: int = 0  # position among every candidate the run has seen (kept or not)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_id": self.node_id,
            "depth": self.depth,
            "seq": self.seq,
            **self.example.model_dump(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExampleRecord:
        data = dict(data)
        rid, node_id, depth = data.pop("id"), data.pop("node_id"), int(data.pop("depth", 0))
        seq = int(data.pop("seq", 0))
        return cls(id=rid, node_id=node_id, depth=depth, seq=seq, example=Example.model_validate(data))


class RunStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def ensure(self) -> RunStore:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write_probe"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise RunDirError(f"{self.root}: run directory is not writable ({e.strerror})") from None
        return self

    def path(self, name: str) -> Path:
        return self.root / name

    # ---- run parameters -------------------------------------------------------------------------

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Merge into run.json (the CLI writes the run id, the graph the parameters)."""
        current = self.read_meta() if self.path(RUN_META).is_file() else {}
        write_text_atomic(self.path(RUN_META), json.dumps(current | meta, ensure_ascii=False, indent=2))

    def read_meta(self) -> dict[str, Any]:
        path = self.path(RUN_META)
        if not path.is_file():
            raise RunDirError(f"{self.root}: not a run directory (no {RUN_META})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RunDirError(f"{path}: unreadable ({e})") from None
        if not isinstance(data, dict):
            raise RunDirError(f"{path}: must hold an object")
        return data

    # ---- examples -------------------------------------------------------------------------------

    def commit_jsonl(self, name: str, rows: Iterable[dict[str, Any]], committed_offset: int) -> int:
        """Append rows after `committed_offset` (dropping anything an interrupted step left); return the new end."""
        with open(self.path(name), "a+b") as f:
            f.truncate(committed_offset)
            f.seek(committed_offset)
            for row in rows:
                f.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
            return f.tell()

    def commit_examples(self, records: Iterable[ExampleRecord], committed_offset: int) -> int:
        return self.commit_jsonl(EXAMPLES, (rec.to_json() for rec in records), committed_offset)

    def iter_jsonl(self, name: str, upto_offset: int | None = None, start_offset: int = 0) -> Iterator[dict[str, Any]]:
        """The rows of a ledger between two committed offsets (a tail past the last commit is not read)."""
        path = self.path(name)
        if not path.exists():
            return
        with open(path, "rb") as f:
            f.seek(start_offset)
            data = f.read() if upto_offset is None else f.read(max(0, upto_offset - start_offset))
        for line in data.splitlines():
            if line.strip():
                yield json.loads(line)

    def iter_jsonl_tolerant(self, name: str) -> Iterator[dict[str, Any]]:
        """The rows of an append-only log; a line a kill cut short is skipped."""
        yield from read_jsonl(self.path(name))

    def iter_examples(self, upto_offset: int | None = None, start_offset: int = 0) -> Iterator[ExampleRecord]:
        for row in self.iter_jsonl(EXAMPLES, upto_offset, start_offset):
            yield ExampleRecord.from_json(row)

    def judgements(self, upto_offset: int | None = None) -> dict[str, dict[str, Any]]:
        """Judged example id -> its verdict row, as of a committed offset of judgements.jsonl."""
        return {row["id"]: row for row in self.iter_jsonl(JUDGEMENTS, upto_offset)}

    # ---- logs (append-only; a resumed step may log a call twice, which is the truth) -------------

    def append_jsonl(self, name: str, rows: Iterable[dict[str, Any]]) -> None:
        lines = [json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows]
        if lines:
            with open(self.path(name), "a", encoding="utf-8") as f:
                f.writelines(lines)

    # ---- the tree, in the Explore-Instruct layout ------------------------------------------------

    def write_tree(
        self, tree: DomainTree, upto_offset: int | None = None, judged_upto: int | None = None
    ) -> list[Path]:
        """Snapshot the tree with all committed examples, so a person can look at a run in progress.

        With a judge (`judged_upto`: the committed end of judgements.jsonl), examples it rejected are left out and
        the others carry their verdict as `quality` (score, reason, judge model, answer check). The run rewrites
        its snapshot at every step, so what was read and written before is kept per process (`_Snapshot`): only
        the examples committed since, and only the node files whose text changed, cost anything.
        """
        snap = _snapshot(self)
        records = snap.examples(self, upto_offset)
        verdicts = snap.verdicts(self, judged_upto) if judged_upto else {}
        full = tree.model_copy(deep=True)
        for node in full.nodes.values():
            node.examples = []
        for rec in records:
            if rec.node_id not in full.nodes:
                continue
            verdict = verdicts.get(rec.id)
            if verdict is not None and not verdict.get("kept", True):
                continue
            example = rec.example
            if verdict is not None:
                example = example.model_copy(update={"quality": quality_of(verdict)})
            full.nodes[rec.node_id].examples.append(example)
        return write_ei_dir(full, self.path(TREE_DIR), unchanged=snap.written)


class _Snapshot:
    """What one process last read of a run's ledgers (to an offset) and wrote of its tree.

    The ledgers only grow past a committed offset; a read to an offset before the cached one (a replayed step
    truncated the file) starts over."""

    def __init__(self) -> None:
        self.offset, self.records = 0, []  # type: tuple[int, list[ExampleRecord]]
        self.judged, self.rows = 0, {}  # type: tuple[int, dict[str, dict[str, Any]]]
        self.written: dict[Path, str] = {}

    def examples(self, store: RunStore, upto: int | None) -> list[ExampleRecord]:
        end = store.path(EXAMPLES).stat().st_size if upto is None and store.path(EXAMPLES).exists() else (upto or 0)
        if end < self.offset:
            self.offset, self.records = 0, []
        self.records += list(store.iter_examples(end, self.offset))
        self.offset = end
        return self.records

    def verdicts(self, store: RunStore, upto: int) -> dict[str, dict[str, Any]]:
        if upto < self.judged:
            self.judged, self.rows = 0, {}
        self.rows |= {row["id"]: row for row in store.iter_jsonl(JUDGEMENTS, upto, self.judged)}
        self.judged = upto
        return self.rows


# Per process, per run directory; a server drives many runs, so the cache keeps the most recently used few and
# each run's drive forgets its own when it ends (`forget_snapshot`): a dropped snapshot only costs one re-read.
_SNAPSHOTS: OrderedDict[Path, tuple[tuple[int, int], _Snapshot]] = OrderedDict()
MAX_SNAPSHOTS = 16
_SNAPSHOTS_LOCK = threading.Lock()


def forget_snapshot(run_dir: str | Path) -> None:
    """Drop what this process keeps of a run's ledgers and tree (its drive ended)."""
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS.pop(Path(run_dir).resolve(), None)


def _snapshot(store: RunStore) -> _Snapshot:
    """This process's snapshot cache of the run; a new run in the same directory (run.json or examples.jsonl
    made anew) gets a fresh one."""

    def stamp(name: str) -> int:
        try:
            st = store.path(name).stat()
        except OSError:
            return -1
        return st.st_mtime_ns if name == RUN_META else st.st_ino

    key = (stamp(RUN_META), stamp(EXAMPLES))
    root = store.root.resolve()
    with _SNAPSHOTS_LOCK:
        cached = _SNAPSHOTS.get(root)
        if cached is None or cached[0] != key:
            cached = (key, _Snapshot())
            _SNAPSHOTS[root] = cached
        _SNAPSHOTS.move_to_end(root)
        while len(_SNAPSHOTS) > MAX_SNAPSHOTS:
            _SNAPSHOTS.popitem(last=False)
    return cached[1]


def quality_of(verdict: dict[str, Any]) -> dict[str, Any]:
    """What an example carries of its verdict into the tree and the exports."""
    keys = ("score", "reason", "judge_model", "answer_check", "judge_failed")
    return {k: verdict[k] for k in keys if verdict.get(k) not in (None, "", False)}
