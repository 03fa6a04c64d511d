"""Start-up cost of the CLI, and `filter` as a whole process against the reference implementation's filter.

    .venv/bin/python bench/startup.py                                   # import times and --help wall times
    .venv/bin/python bench/startup.py --reference-repo PATH [--tree DIR] [--reference-pythonpath DIR]

a) `python -X importtime explore-instruct <cmd> --help` for every command, as a subprocess: self and cumulative
   ms of the top-level `explore_instruct.agent.cli.main` import, the process's whole import time (the sum of its
   top-level imports), and which heavy packages (langchain, langgraph, openai, chromadb, ...) were loaded.
   Then the light commands run for real (`tree`, `filter`, `sample`, `export`, `stats`, `drops`, `status`,
   `runs` on the tree and on a copy of a small stored run): wall time and heavy packages loaded.
b) Wall time of `explore-instruct --help` and `explore-instruct filter --help`: median of --runs (default 5),
   after one warm-up run. Goal: <= 0.35 s.
c) `explore-instruct filter TREE --out OUT --mode rouge --scope node` as a whole process (median of
   --filter-runs) against the reference's filter as a whole process on the same tree, once: the reference's
   own script (generate_instruction.py of github.com/fanqiwan/Explore-Instruct, `--action filter`), run from
   PATH (a checkout, or the bare git directory `fetch` makes: its files are extracted to a temp dir; nothing
   of it is copied into this repository). TREE defaults to the reference's en_data/demo_domain (4,433
   examples), extracted the same way. Goal: >= 25x.

   The reference needs packages this project does not: anytree (and fire, imported but unused). Install
   them anywhere (`pip install --target DIR anytree fire`) and pass --reference-pythonpath DIR. A tiny shim
   (written to the temp dir, not kept) runs the script unchanged with its own argv; it only (1) replaces
   `GPT2TokenizerFast.from_pretrained("gpt2")` by None, because that downloads a tokenizer the filter never
   uses and this machine is offline, (2) stubs `fire` when it is missing, and (3) with --reference-pool N
   sets the size of the process pool `test_filter` opens for every example (its default is 64: on a
   machine with few cores the reference then spends its time forking; the pool used is printed).
   When anytree is missing the bench says so and times `reference_greedy_rouge` (tools/similarity/rouge.py, a
   faithful reimplementation of the reference's greedy ROUGE-L) in a subprocess instead, labelled as such.
   The kept counts of both sides are printed: they should be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).parent / "explore-instruct")
HEAVY = ("langchain", "langchain_core", "langchain_openai", "langgraph", "langsmith", "openai", "chromadb", "mcp")
ALSO = ("numpy", "nltk", "rouge_score", "torch", "spacy")
COMMANDS = ["", "tree", "try", "run", "resume", "status", "filter", "prune", "drops"]
COMMANDS += ["sample", "export", "stats", "runs", "mcp"]
STORED_RUN = ROOT / "tests" / "fixtures" / "legacy_runs" / "explore-paused"
REFERENCE_SCRIPT = "generate_instruction.py"
REFERENCE_TREE = "en_data/demo_domain"
META = "tree_meta_info.json"


# ---- a) import times --------------------------------------------------------------------------------------


def parse_importtime(stderr: str) -> dict[str, Any]:
    """The `explore_instruct.agent.cli.main` line (self, cumulative, in ms), the sum of top-level imports, packages."""
    cli = (0.0, 0.0)
    total = 0.0
    packages: set[str] = set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, cumulative_us, name_field = (part for part in re.split(r"[:|]", line, maxsplit=3))
        name = name_field.strip()
        level = (len(name_field) - len(name_field.lstrip(" ")) - 1) // 2
        packages.add(name.split(".")[0])
        if level == 0:
            total += int(cumulative_us) / 1000
        if name == "explore_instruct.agent.cli.main":
            cli = (int(self_us) / 1000, int(cumulative_us) / 1000)
    return {"self_ms": cli[0], "cumulative_ms": cli[1], "all_ms": total, "packages": packages}


def import_times() -> None:
    print("a) python -X importtime explore-instruct <cmd> --help")
    print(f"   {'command':<10} {'cli self ms':>11} {'cli cum ms':>11} {'all imports ms':>15}  heavy packages loaded")
    for cmd in COMMANDS:
        args = [sys.executable, "-X", "importtime", EXE, *([cmd] if cmd else []), "--help"]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            print(f"   {cmd or '(top)':<10} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        t = parse_importtime(proc.stderr)
        heavy = sorted(t["packages"] & set(HEAVY)) or "none"
        print(
            f"   {cmd or '--help':<10} {t['self_ms']:>11.1f} {t['cumulative_ms']:>11.1f} {t['all_ms']:>15.1f}  {heavy}"
        )


def running_commands(tree: Path, work: Path) -> None:
    """The light commands for real: wall time and what they import."""
    run = work / "stored-run"
    shutil.copytree(STORED_RUN, run)  # status opens its checkpoint database: a copy, never the fixture
    cases = {
        "tree": ["tree", str(tree), "--json"],
        "filter": ["filter", str(tree), "--out", str(work / "f"), "--mode", "rouge", "--scope", "node"],
        "sample": ["sample", str(tree), "-n", "100", "--out", str(work / "sample" / "data.json")],
        "export": ["export", str(tree), "--out", str(work / "export")],
        "stats": ["stats", str(tree), "--no-verbs", "--json"],
        "drops": ["drops", str(run)],
        "status": ["status", str(run)],
        "runs": ["runs", str(work), "--json"],
    }
    print("   running them (wall s, one run each):")
    for name, args in cases.items():
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-X", "importtime", EXE, *args], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        t = parse_importtime(proc.stderr)
        loaded = sorted(t["packages"] & set(HEAVY + ALSO)) or "none"
        ok = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        print(f"   {name:<10} {wall:>6.2f} s  {ok:<7} imports {t['all_ms']:>7.1f} ms  loaded: {loaded}")


# ---- b) wall time of --help ------------------------------------------------------------------------------


def wall(args: list[str], runs: int) -> list[float]:
    subprocess.run(args, capture_output=True, check=True)  # warm-up: the OS's file cache, .pyc files
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return times


def help_walls(runs: int) -> None:
    print(f"b) wall time, median of {runs} (goal <= 0.35 s)")
    for args in ([EXE, "--help"], [EXE, "filter", "--help"]):
        times = wall(args, runs)
        shown = " ".join(f"{t:.3f}" for t in times)
        print(f"   {' '.join(['explore-instruct', *args[1:]]):<34} median {statistics.median(times):.3f} s  ({shown})")


# ---- c) filter against the reference ---------------------------------------------------------------------


def reference_files(repo: Path, into: Path) -> Path:
    """The reference's script, prompts and demo tree under `into` (a checkout is used as it is)."""
    if (repo / REFERENCE_SCRIPT).is_file():
        return repo
    if (into / REFERENCE_SCRIPT).is_file():  # extracted already
        return into
    git = ["git", f"--git-dir={repo}"]
    archive = subprocess.run(
        [*git, "archive", "HEAD", REFERENCE_SCRIPT, "prompt_bank", REFERENCE_TREE], capture_output=True
    )
    if archive.returncode != 0:
        raise SystemExit(f"{repo}: neither a checkout nor a git directory of the reference: {archive.stderr[:200]!r}")
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


SHIM = '''\
"""Runs the reference's generate_instruction.py unchanged (see bench/startup.py for what this changes)."""
import runpy, sys, types

sys.path[:0] = {paths!r}
try:
    import fire  # noqa: F401  (imported by the script, never used)
except ImportError:
    sys.modules["fire"] = types.ModuleType("fire")
import transformers

# Offline: the tokenizer is loaded in DomainTree.__init__ but the filter never tokenises with it.
transformers.GPT2TokenizerFast.from_pretrained = classmethod(lambda cls, *a, **k: None)
sys.argv = {argv!r}
module = runpy.run_path({script!r}, run_name="reference")
if {pool!r} is not None:
    module["test_filter"].__defaults__ = ({pool!r},)
module["main"]()
'''


def missing_modules(python: str, pythonpath: list[str], names: list[str]) -> list[str]:
    code = f"import importlib.util as u, sys; sys.path[:0] = {pythonpath!r}; "
    code += f"print(' '.join(n for n in {names!r} if not u.find_spec(n)))"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.split()


def count_examples(tree: Path) -> int:
    meta = json.loads((tree / META).read_text(encoding="utf-8"))
    files: list[str] = []
    stack = [meta]
    while stack:
        node = stack.pop()
        files.append(node["config_filename"])
        stack.extend(node.get("children", []))
    return sum(len(json.loads((tree / f).read_text(encoding="utf-8")).get("examples", [])) for f in files)


REIMPLEMENTATION = """\
import json, sys, time
from pathlib import Path
from explore_instruct.tools.similarity.rouge import reference_greedy_rouge

tree, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True)
meta = json.loads((tree / "tree_meta_info.json").read_text())
stack, kept = [meta], 0
while stack:
    node = stack.pop()
    stack.extend(node.get("children", []))
    data = json.loads((tree / node["config_filename"]).read_text())
    examples = data.get("examples", [])
    keep = reference_greedy_rouge([e["instruction"] for e in examples], 0.7)
    data["examples"] = [e for e, k in zip(examples, keep) if k]
    kept += len(data["examples"])
    (out / node["config_filename"]).write_text(json.dumps(data, ensure_ascii=False))
(out / "tree_meta_info.json").write_text(json.dumps(meta))
print(kept)
"""


def ours(tree: Path, work: Path, runs: int) -> tuple[list[float], int]:
    times = []
    for i in range(runs):
        out = work / f"ours-{i}"
        t0 = time.perf_counter()
        args = [EXE, "filter", str(tree), "--out", str(out), "--mode", "rouge", "--scope", "node"]
        subprocess.run(args, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return times, count_examples(work / "ours-0")


def reference(args: argparse.Namespace, tree: Path, work: Path) -> tuple[float | None, int | None, str]:
    """The reference's filter as a whole process: (seconds or None on a timeout, kept examples, label)."""
    python = args.reference_python or sys.executable
    paths = [str(Path(p).resolve()) for p in args.reference_pythonpath]
    files = reference_files(Path(args.reference_repo), work / "reference")
    missing = missing_modules(python, paths, ["anytree", "rouge_score", "tqdm", "numpy", "openai", "transformers"])
    if missing:
        print(f"   the reference's script cannot run here, missing: {' '.join(missing)}")
        print(f"   (pip install --target DIR {' '.join(missing)}, then --reference-pythonpath DIR);")
        print("   timing the reimplementation `reference_greedy_rouge` (tools/similarity/rouge.py) instead")
        out = work / "reimplementation"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", REIMPLEMENTATION, str(tree), str(out)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        return time.perf_counter() - t0, int(proc.stdout.strip()), "reimplementation (tools/similarity/indexes.py)"
    out = work / "reference-out"
    pruned = work / "pruned_subtasks_name.json"
    pruned.write_text("[]")  # run_filter copies the prune step's list next to its output
    argv = [REFERENCE_SCRIPT, "--action", "filter", "--save_dir", str(tree), "--out_dir", str(out)]
    argv += ["--pruned_file", str(pruned), "--filter_threshold", "0.7"]
    shim = work / "reference_shim.py"
    script = str((files / REFERENCE_SCRIPT).resolve())
    shim.write_text(SHIM.format(paths=paths, argv=argv, script=script, pool=args.reference_pool))
    pool = args.reference_pool if args.reference_pool is not None else "64 (its default)"
    print(f"   reference: {script} --action filter, process pool per example: {pool}")
    t0 = time.perf_counter()
    # cwd: the script opens ./prompt_bank/... relative to it; its log and progress bars go to a file. Its own
    # session, so that a timeout stops its pool's workers too.
    with (work / "reference.log").open("w") as log:
        proc = subprocess.Popen([python, str(shim)], cwd=files, stdout=log, stderr=log, start_new_session=True)
        try:
            proc.wait(timeout=args.reference_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None, None, "the reference's own script"
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (work / "reference.log").read_text(errors="replace")[-1500:]
        raise SystemExit(f"the reference's filter failed (exit {proc.returncode}):\n{tail}")
    return seconds, count_examples(out), "the reference's own script"


def filter_ratio(args: argparse.Namespace, work: Path) -> None:
    tree = (
        Path(args.tree)
        if args.tree
        else reference_files(Path(args.reference_repo), work / "reference") / REFERENCE_TREE
    )
    print(f"c) filter on {tree} ({count_examples(tree)} examples), whole processes (goal >= 25x)")
    times, kept = ours(tree, work, args.filter_runs)
    median = statistics.median(times)
    shown = " ".join(f"{t:.2f}" for t in times)
    print(f"   ours:      median {median:.2f} s of {args.filter_runs} ({shown}), kept {kept}")
    seconds, ref_kept, label = reference(args, tree, work)
    if seconds is None:
        bound = args.reference_timeout / median
        print(f"   reference: did not finish in {args.reference_timeout} s ({label}): ratio > {bound:.0f}x")
        return
    same = "same kept count" if ref_kept == kept else f"kept counts differ: {ref_kept} vs {kept}"
    print(f"   reference: {seconds:.2f} s ({label}), kept {ref_kept} ({same})")
    print(f"   ratio:     {seconds / median:.1f}x faster")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="runs for each --help median")
    ap.add_argument("--tree", help="Explore-Instruct tree directory (default: the reference's demo tree)")
    ap.add_argument("--reference-repo", help="the reference's checkout or git directory (skips c) when absent)")
    ap.add_argument("--reference-python", help="interpreter for the reference (default: this one)")
    ap.add_argument("--reference-pythonpath", action="append", default=[], help="where anytree/fire are installed")
    ap.add_argument("--reference-pool", type=int, default=None, help="the reference's pool size (default: its 64)")
    ap.add_argument("--reference-timeout", type=float, default=3600.0, help="seconds before the reference is stopped")
    ap.add_argument("--filter-runs", type=int, default=3, help="runs of our filter (median)")
    args = ap.parse_args()
    print(f"bench/startup.py {' '.join(sys.argv[1:])}  ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})")
    with tempfile.TemporaryDirectory(prefix="ei-startup-") as tmp:
        work = Path(tmp)
        import_times()
        tree = Path(args.tree) if args.tree else None
        if tree is None and args.reference_repo:
            tree = reference_files(Path(args.reference_repo), work / "reference") / REFERENCE_TREE
        running_commands(tree or ROOT / "tests" / "fixtures" / "ei_demo", work / "commands")
        help_walls(args.runs)
        if args.reference_repo:
            filter_ratio(args, work)
        else:
            print("c) skipped: give --reference-repo PATH (and --tree DIR) to compare filter with the reference")
    print(f"(load average after: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
