"""Dedup cost and quality: ROUGE-L against the reference's algorithm, embeddings against embedding alone.

    .venv/bin/python bench/dedup.py [--n-rouge 3000] [--rouge-nodes 50,6] [--n-embed 50000] [--skip-embed]
    .venv/bin/python bench/dedup.py --n-embed 5000          # quick mode

Input: bench/synth.py instructions (templated originals, 15% near-duplicates and 2% exact copies of an
earlier original of the same node, `dup_of` says which).

a) ROUGE: the same rows split into nodes (50 nodes of ~60 items, the reference's setting, then 6 nodes of
   ~500 to show the O(n^2)); `reference_greedy_rouge` per node (the reference's all-pairs greedy) against
   one `RougeIndex(0.7, scope="node")` over all rows in order. Kept sets must be identical; goal >= 20x.
b) Embeddings over N rows: embed-only (the offline all-MiniLM-L6-v2 over all texts in the product's
   batches) against the full dedup (`ChromaIndex` on a PersistentClient in a temp dir, scope tree,
   greedy over batches of 512 in order; it embeds each batch once itself, which is the product's cost).
   The two run interleaved batch by batch in ABBA order, so that load from other processes falls on
   both alike (--sequential: one after the other); wall and CPU time of each, and the embedding time
   inside the dedup, so the index's own cost is printed too. Goal: dedup <= 1.2x embed-only. Peak RSS
   (VmHWM reset before each call, and ru_maxrss; --tracemalloc adds the Python heap, slowly),
   precision/recall of "dropped" against `dup_of`, and a threshold sweep by an exact in-memory greedy
   on the embed-only vectors (top-32 earlier neighbours per row, exact fallback), checked against
   Chroma's decisions. --threads N sets torch's CPU threads for both phases (torch's default, one per
   core, collapses when other processes share the cores).
c) Exact / ROUGE-L / embedding precision and recall on the first rows (tree scope), and the
   hand-written task-name and instruction pairs (bench/pairs.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from synth import generate

from explore_instruct.tools.similarity.indexes import DEFAULT_THRESHOLDS, ExactIndex, Item
from explore_instruct.tools.similarity.rouge import RougeIndex, reference_greedy_rouge

SWEEP = [0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98]


# ---- helpers -----------------------------------------------------------------------------------------


def proc_kb(field: str) -> int:
    """VmRSS / VmHWM of this process, in kB (0 where /proc is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux), so each phase reports its own peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def mib(kb: float) -> str:
    return f"{kb / 1024:.0f} MiB"


def prf(dropped: np.ndarray, truth: np.ndarray) -> tuple[float, float, int]:
    """Precision and recall of `dropped` for the true near-duplicates, and the number dropped."""
    tp = int(np.sum(dropped & truth))
    nd = int(np.sum(dropped))
    return (tp / nd if nd else 1.0), (tp / int(np.sum(truth)) if truth.any() else 1.0), nd


def items_of(rows: Sequence[dict[str, Any]]) -> list[Item]:
    return [Item(id=f"i{i}", text=r["text"], seq=i, group=r["group"]) for i, r in enumerate(rows)]


# ---- a) ROUGE ----------------------------------------------------------------------------------------


def rouge_mode(n: int, nodes: Sequence[int], seed: int) -> None:
    thr = DEFAULT_THRESHOLDS["rouge"][1]
    for groups in nodes:
        rows = generate(n, seed=seed, groups=groups)
        by_group: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            by_group.setdefault(r["group"], []).append(i)
        t0, c0 = time.perf_counter(), time.process_time()
        ref = np.zeros(n, dtype=bool)
        for idxs in by_group.values():
            ref[idxs] = reference_greedy_rouge([rows[i]["text"] for i in idxs], thr)
        t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0
        items = items_of(rows)
        t0, c0 = time.perf_counter(), time.process_time()
        matches = RougeIndex(thr, scope="node").greedy(items)
        t_fast, c_fast = time.perf_counter() - t0, time.process_time() - c0
        fast = np.array([m.keep for m in matches])
        same = bool(np.array_equal(ref, fast))
        assert same, f"kept sets differ on {int(np.sum(ref != fast))} rows"
        truth = np.array([r["dup_of"] is not None for r in rows])
        p, rec, nd = prf(~fast, truth)
        sizes = [len(v) for v in by_group.values()]
        print(
            f"[rouge] {n} rows in {len(by_group)} nodes ({min(sizes)}-{max(sizes)} per node), threshold {thr}: "
            f"reference {t_ref:.2f} s, RougeIndex {t_fast:.3f} s, RATIO {t_ref / t_fast:.1f}x wall "
            f"({c_ref:.2f} s / {c_fast:.3f} s CPU: {c_ref / c_fast:.1f}x); "
            f"kept sets identical: {same} ({int(fast.sum())} kept)"
        )
        print(f"[rouge]   dropped {nd}: precision {p:.3f}, recall {rec:.3f} (true near-duplicates {int(truth.sum())})")


# ---- b) embeddings -----------------------------------------------------------------------------------


def earlier_neighbours(v: np.ndarray, k: int = 32, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """For each row, its k most similar earlier rows (indices, cosines; descending, -inf padded)."""
    n = len(v)
    idx = np.zeros((n, k), dtype=np.int64)
    sim = np.full((n, k), -np.inf, dtype=np.float32)
    for s in range(0, n, block):
        e = min(n, s + block)
        if e == 1:
            continue
        scores = v[s:e] @ v[:e].T
        rows = np.arange(e - s)
        scores[rows[:, None] + s <= np.arange(e)[None, :]] = -np.inf  # only strictly earlier rows
        kk = min(k, e)
        part = np.argpartition(scores, e - kk, axis=1)[:, e - kk :]
        psim = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-psim, axis=1)
        idx[s:e, :kk] = np.take_along_axis(part, order, axis=1)
        sim[s:e, :kk] = np.take_along_axis(psim, order, axis=1)
    return idx, sim


def greedy_exact(
    v: np.ndarray, nbr_idx: np.ndarray, nbr_sim: np.ndarray, t: float, want_score: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The greedy dedup over all rows (scope tree), exactly, from the earlier-neighbour lists.

    An item's max similarity to the kept items before it is its first kept neighbour's (neighbours are
    sorted); when all k neighbours were dropped, it is computed against every kept item.
    """
    n = len(v)
    keep = np.zeros(n, dtype=bool)
    score = np.zeros(n, dtype=np.float32)
    nearest = np.full(n, -1, dtype=np.int64)
    fallbacks = 0
    for i, (js, ss) in enumerate(zip(nbr_idx.tolist(), nbr_sim.tolist(), strict=True)):
        best = None
        last = 0.0
        for j, s in zip(js, ss, strict=True):
            if s == -np.inf:
                best = 0.0
                break
            if keep[j]:
                best, nearest[i] = s, j
                break
            last = s
        if best is None:
            if last <= t and not want_score:
                best = last  # not exact, but at most `last`: kept either way
            else:
                fallbacks += 1
                kept = np.flatnonzero(keep[:i])
                best = 0.0
                if kept.size:
                    sims = v[kept] @ v[i]
                    best, nearest[i] = float(sims.max()), int(kept[int(sims.argmax())])
        score[i] = best
        keep[i] = best <= t
    return keep, score, nearest, fallbacks


class Timed:
    """Wraps the embedder to count the time spent embedding inside the dedup path."""

    def __init__(self, fn: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.fn, self.seconds, self.texts = fn, 0.0, 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.fn(texts)
        self.seconds += time.perf_counter() - t0
        self.texts += len(texts)
        return out


def embed_mode(n: int, seed: int, batch: int, subset: int, trace: bool, sequential: bool, threads: int | None) -> None:
    from explore_instruct.tools.similarity.embeddings import BATCH, ChromaIndex, chroma_client, make_embedder

    thr = DEFAULT_THRESHOLDS["embedding"][1]
    rows = generate(n, seed=seed)
    texts = [r["text"] for r in rows]
    truth = np.array([r["dup_of"] is not None for r in rows])
    print(
        f"[embed] {n} rows: {int(truth.sum())} near/exact duplicates "
        f"({sum(r['op'] == 'exact' for r in rows)} exact), threshold {thr}, scope tree, greedy batches of {batch}, "
        f"torch threads {threads or 'default'}"
    )
    if threads:
        import torch

        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    embed = make_embedder("local:all-minilm-l6-v2")
    embed(texts[:BATCH])  # load + warm up, outside both timings
    rss_loaded = proc_kb("VmRSS")
    print(f"[embed] model load + warm-up {time.perf_counter() - t0:.1f} s, RSS {mib(rss_loaded)}; {load()}")

    # embed-only (the same embedder calls the dedup makes: chunks of BATCH within batches of `batch`) and
    # the full dedup as the product runs it. Interleaved batch by batch, in ABBA order, so that load from
    # other processes falls on both alike; --sequential runs them one after the other instead.
    tmp = tempfile.mkdtemp(prefix="dedup-bench-")
    timed = Timed(embed)
    items = items_of(rows)
    chunks: list[np.ndarray] = []
    matches: list[Any] = []
    index: Any = None
    wall = {"embed": 0.0, "dedup": 0.0}
    cpu = {"embed": 0.0, "dedup": 0.0}
    peak = {"embed": 0, "dedup": 0}
    heap = 0

    def embed_only(s: int) -> None:
        part = texts[s : s + batch]
        chunks.extend(embed(part[i : i + BATCH]) for i in range(0, len(part), BATCH))

    def dedup(s: int) -> None:
        nonlocal index
        if index is None:
            index = ChromaIndex(chroma_client(path=tmp), "bench", timed, thr, "tree")
        matches.extend(index.greedy(items[s : s + batch]))

    def step(name: str, s: int) -> None:
        nonlocal heap
        reset_peak()
        if trace and name == "dedup":
            tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        (embed_only if name == "embed" else dedup)(s)
        wall[name] += time.perf_counter() - t0
        cpu[name] += time.process_time() - c0
        peak[name] = max(peak[name], proc_kb("VmHWM"))
        if trace and name == "dedup":
            heap = max(heap, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    starts = list(range(0, n, batch))
    try:
        if sequential:
            for name in ("embed", "dedup"):
                for s in starts:
                    step(name, s)
        else:
            for b, s in enumerate(starts):
                for name in ("embed", "dedup") if b % 2 == 0 else ("dedup", "embed"):
                    step(name, s)
        kept_n = len(index)
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    finally:
        del index
        shutil.rmtree(tmp, ignore_errors=True)
    vecs = np.concatenate(chunks)
    t_embed, t_dedup = wall["embed"], wall["dedup"]
    how = "one after the other" if sequential else f"interleaved per batch of {batch} (ABBA)"
    print(
        f"[embed] embed-only: {t_embed:.1f} s ({n / t_embed:.0f} texts/s, CPU {cpu['embed']:.1f} s), "
        f"peak RSS {mib(peak['embed'])} (process-wide, during its calls); {how}"
    )
    py_heap = f", Python heap peak {heap / 2**20:.0f} MiB (tracemalloc)" if trace else ""
    print(
        f"[embed] dedup: {t_dedup:.1f} s (CPU {cpu['dedup']:.1f} s; of which embedding {timed.seconds:.1f} s "
        f"of {timed.texts} texts, index {t_dedup - timed.seconds:.1f} s = "
        f"{1000 * (t_dedup - timed.seconds) / n:.2f} ms/item), {kept_n} kept, peak RSS {mib(peak['dedup'])} "
        f"(process-wide, during its calls; RSS after model load {mib(rss_loaded)}, now {mib(proc_kb('VmRSS'))})"
        f"{py_heap}, Chroma on disk {disk / 2**20:.0f} MiB"
    )
    print(
        f"[embed] RATIO dedup / embed-only = {t_dedup / t_embed:.2f}x wall, {cpu['dedup'] / cpu['embed']:.2f}x CPU "
        f"(goal <= 1.2x); 1 + index / embed-only = {1 + (t_dedup - timed.seconds) / t_embed:.2f}x; "
        f"process peak RSS (ru_maxrss) {mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)}; {load()}"
    )

    keep = np.array([m.keep for m in matches])
    chroma_score = np.array([m.score for m in matches], dtype=np.float32)
    p, r, nd = prf(~keep, truth)
    print(f"[embed] Chroma greedy at {thr}: dropped {nd}: precision {p:.3f}, recall {r:.3f}")

    # exact in-memory greedy on the embed-only vectors: check Chroma, then sweep the threshold
    t0 = time.perf_counter()
    nbr_idx, nbr_sim = earlier_neighbours(vecs)
    t_nbr = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex_keep, ex_score, ex_near, fb = greedy_exact(vecs, nbr_idx, nbr_sim, thr, want_score=True)
    agree = int(np.sum(ex_keep == keep))
    diff = np.abs(ex_score - chroma_score)
    missed = int(np.sum(chroma_score < ex_score - 1e-3))
    print(
        f"[embed] exact numpy greedy at {thr} ({t_nbr:.1f} s neighbours + {time.perf_counter() - t0:.1f} s greedy, "
        f"{fb} fallbacks): same decision as Chroma on {agree}/{n}; nearest-kept score max |diff| "
        f"{float(diff.max()):.4f}, Chroma's nearest below the true nearest on {missed} rows (HNSW approximation)"
    )
    for t in SWEEP:
        k, _, _, _ = greedy_exact(vecs, nbr_idx, nbr_sim, t)
        p, r, nd = prf(~k, truth)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        orig_dropped = int(np.sum(~k & ~truth))
        print(
            f"[embed]   sweep t={t:.2f}: dropped {nd:6d} precision {p:.3f} recall {r:.3f} F1 {f1:.3f} "
            f"(originals dropped {orig_dropped}, {100 * orig_dropped / int(np.sum(~truth)):.1f}%)"
        )
    single = sorted({op for row in rows for op in row["op"].split("+")} - {"original"})
    parts = []
    for op in single:
        has = np.array([op in row["op"].split("+") for row in rows]) & truth
        parts.append(f"{op} {np.mean(~ex_keep[has]):.2f} (of {int(has.sum())})")
    print(f"[embed] recall at {thr} by paraphrase operation (alone or in a pair): " + ", ".join(parts))
    fps = [i for i in range(n) if not ex_keep[i] and not truth[i]]
    scorer = RougeIndex(DEFAULT_THRESHOLDS["rouge"][1])
    rouge_too = sum(scorer.score(texts[ex_near[i]], texts[i]) > scorer.threshold for i in fps)
    print(
        f"[embed] of the {len(fps)} false positives at {thr}, {rouge_too} ({100 * rouge_too / max(1, len(fps)):.0f}%) "
        f"are also over ROUGE-L {scorer.threshold} against their nearest kept item (templated originals a slot apart)"
    )
    for i in fps[:3]:
        print(f"[embed]   false positive {ex_score[i]:.3f}: {texts[i]!r} ~ {texts[ex_near[i]]!r}")
    fns = [i for i in range(n) if ex_keep[i] and truth[i]][:3]
    for i in fns:
        src = rows[i]["dup_of"]
        print(f"[embed]   missed [{rows[i]['op']}] {ex_score[i]:.3f}: {texts[i]!r} <- {texts[src]!r}")

    # c) the three modes on the same first rows (tree scope; greedy decisions of a prefix are the same)
    m = min(subset, n)
    sub_items = items_of(rows[:m])
    sub_truth = truth[:m]
    for name, make in [
        ("exact", lambda: ExactIndex(DEFAULT_THRESHOLDS["exact"][1], "tree")),
        ("rouge", lambda: RougeIndex(DEFAULT_THRESHOLDS["rouge"][1], "tree")),
    ]:
        t0 = time.perf_counter()
        k = np.array([x.keep for x in make().greedy(sub_items)])
        p, r, nd = prf(~k, sub_truth)
        print(
            f"[modes] first {m} rows, {name:9s} at {DEFAULT_THRESHOLDS[name][1]}: dropped {nd} precision {p:.3f} "
            f"recall {r:.3f} ({time.perf_counter() - t0:.1f} s)"
        )
    p, r, nd = prf(~keep[:m], sub_truth)
    print(f"[modes] first {m} rows, embedding at {thr}: dropped {nd} precision {p:.3f} recall {r:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-rouge", type=int, default=3000)
    ap.add_argument("--rouge-nodes", default="50,6", help="node counts to split the ROUGE rows into")
    ap.add_argument("--n-embed", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=512, help="items per ChromaIndex.greedy call")
    ap.add_argument("--subset", type=int, default=5000, help="rows for the exact/rouge/embedding comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-rouge", action="store_true")
    ap.add_argument("--skip-embed", action="store_true")
    ap.add_argument("--skip-pairs", action="store_true")
    ap.add_argument("--sequential", action="store_true", help="embed-only, then dedup (default: interleaved)")
    ap.add_argument(
        "--threads", type=int, help="torch CPU threads for the embedder in both phases (default: torch's, all cores)"
    )
    ap.add_argument("--tracemalloc", action="store_true", help="trace the Python heap during the dedup (slower)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"bench/dedup.py {' '.join(sys.argv[1:])}: {load()}")
    if not args.skip_rouge:
        rouge_mode(args.n_rouge, [int(x) for x in args.rouge_nodes.split(",")], args.seed)
    if not args.skip_embed:
        embed_mode(args.n_embed, args.seed, args.batch, args.subset, args.tracemalloc, args.sequential, args.threads)
        if not args.skip_pairs:
            import pairs

            pairs.main()
    print(f"total {time.perf_counter() - t0:.0f} s; {load()}")


if __name__ == "__main__":
    main()
