"""The jobs of a batch: a domains file read into runs, and the one function that drives a job to its end.

A domains file is text (one domain sentence a line; blank lines and `#` comments ignored) or YAML: a list whose
items are a domain sentence, or a mapping with `domain` or `seed` (a seed file, relative to the domains file),
an optional `name` and any run parameters for that run alone (`Context` field names). Each job's run directory
is `ROOT/<name>`, its name made from the domain (a slug and a hash), so running the same batch again finds the
same directories and resumes what is unfinished instead of starting it twice.

`run_job` is what a Ray task (or the in-process pool) executes. It starts the run when its directory holds none,
else resumes it, through the same `Runner` as every face (agent/runs/runner.py): the path `explore-instruct
resume` takes. So a worker killed mid-run, whose task Ray retries,
continues from the run's last checkpoint; examples.jsonl's offsets (tools/dataset/runstore.py) make sure nothing is lost
or written twice. Each attempt notes its process and host in `ROOT/_batch/attempts.jsonl`: what ran where.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from explore_instruct.agent.runs.limits import slug
from explore_instruct.tools.dataset.runstore import EXAMPLES, QUERY_LOG, RUN_META
from explore_instruct.tools.fileio import read_jsonl

BATCH_DIR = "_batch"  # under the batch root: the manifest, the attempts log, the summary
ATTEMPTS = "attempts.jsonl"


class BatchError(ValueError):
    """A domains file or batch option that cannot work; one line."""


@dataclass
class Job:
    """One run of a batch: where it lives, what it explores, and its own parameters (`Context` fields)."""

    name: str
    run_dir: str
    domain: str | None = None
    seed: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    max_cost_usd: float | None = None  # this run's share of the batch budget, set when it is dispatched
    batch_root: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_name(source: str) -> str:
    """A stable directory name: readable, and unique through a hash of the whole source."""
    return f"{slug(source)}-{hashlib.sha1(source.encode('utf-8')).hexdigest()[:8]}"


def read_domains(path: Path) -> list[dict[str, Any]]:
    """The entries of a domains file, each {domain|seed, name?, params}; one-line errors for a bad file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BatchError(f"{path}: cannot read the domains file ({type(e).__name__})") from None
    entries: list[dict[str, Any]]
    if path.suffix.lower() not in {".yaml", ".yml", ".json"}:
        lines = [line.strip() for line in text.splitlines()]
        entries = [{"domain": line, "params": {}} for line in lines if line and not line.startswith("#")]
    else:
        entries = _yaml_entries(path, text)
    if not entries:
        raise BatchError(f"{path}: no domains in the file")
    names: list[str] = [e.get("name") or job_name(e.get("domain") or e["seed"]) for e in entries]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise BatchError(f"{path}: two entries would share the run directory {doubled[0]!r}; give one a name")
    return [{**e, "name": n} for e, n in zip(entries, names, strict=True)]


def _yaml_entries(path: Path, text: str) -> list[dict[str, Any]]:
    import yaml

    from explore_instruct.agent.config import check_names

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise BatchError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if loaded is None:
        return []
    if isinstance(loaded, dict) and "domains" in loaded:
        loaded = loaded["domains"]
    if not isinstance(loaded, list):
        raise BatchError(f"{path}: give a list of domains (sentences or mappings with domain or seed)")
    entries: list[dict[str, Any]] = []
    for i, item in enumerate(loaded, 1):
        where = f"{path}: entry {i}"
        if isinstance(item, str) and item.strip():
            entries.append({"domain": item.strip(), "params": {}})
            continue
        if not isinstance(item, dict):
            raise BatchError(f"{where}: a domain sentence or a mapping with domain or seed")
        item = dict(item)
        domain, seed, name = item.pop("domain", None), item.pop("seed", None), item.pop("name", None)
        if bool(domain) == bool(seed) or not isinstance(domain or seed, str):
            raise BatchError(f"{where}: give exactly one of domain or seed, as text")
        if name is not None and (not isinstance(name, str) or slug(name) != name):
            raise BatchError(f"{where}: name {name!r} must be lower-case letters, digits and dashes")
        try:
            check_names(item, where=where, exclude=("run_dir", "runs_root"))
        except ValueError as e:
            raise BatchError(str(e)) from None
        if seed:
            seed = str((path.parent / seed).resolve()) if not Path(seed).is_absolute() else seed
        entries.append({"domain": domain, "seed": seed, "name": name, "params": item})
    return entries


# ---- one job, start or resume ------------------------------------------------------------------------------


def note_attempt(job: Job, event: str, **extra: Any) -> None:
    """One line in ROOT/_batch/attempts.jsonl (small appends to one file: atomic on a local or NFS disk)."""
    if not job.batch_root:
        return
    row = {"run": job.name, "event": event, "pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}
    path = Path(job.batch_root) / BATCH_DIR / ATTEMPTS
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({**row, **extra}) + "\n")


async def drive_job(job: Job) -> dict[str, Any]:
    """Start the job's run, or resume it where it stopped: a retried job continues, it never starts twice."""
    from explore_instruct.agent.runs.runner import Runner
    from explore_instruct.graphs.context import Context

    note_attempt(job, "start")
    budget: dict[str, Any] = {"max_cost_usd": job.max_cost_usd} if job.max_cost_usd is not None else {}
    if (Path(job.run_dir) / RUN_META).exists():
        outcome = await Runner().resume(job.run_dir, **budget)
    else:
        ctx = Context(**{**job.params, **budget, "run_dir": job.run_dir})
        outcome = await Runner().start(ctx, domain=job.domain, seed=job.seed)
    result = {"name": job.name, "run_dir": job.run_dir, "status": outcome.status, **run_totals(Path(job.run_dir))}
    if outcome.interrupt:
        result["reason"] = str(outcome.interrupt.get("reason", outcome.interrupt.get("kind", "")))
    note_attempt(job, "end", status=outcome.status)
    return result


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """The unit of work of a Ray task: drive one job in an event loop of its own."""
    return asyncio.run(drive_job(Job(**job)))


def run_totals(run_dir: Path) -> dict[str, Any]:
    """Examples kept, calls and cost so far, from the run's files (readable while it runs, on any node)."""
    examples = 0
    path = run_dir / EXAMPLES
    if path.exists():
        with open(path, "rb") as f:
            examples = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))
    calls, cost, unknown = 0, 0.0, 0
    for row in read_jsonl(run_dir / QUERY_LOG):  # a line being written, or cut by a kill, is skipped
        calls += 1
        if row.get("cost_usd") is None:
            unknown += 1
        else:
            cost += float(row["cost_usd"])
    return {"examples": examples, "calls": calls, "cost_usd": round(cost, 6), "cost_unknown_calls": unknown}
