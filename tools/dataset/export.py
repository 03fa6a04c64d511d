"""Write sampled examples as training data (Alpaca, JSONL, ShareGPT, chat `messages`, OpenAI fine-tuning JSONL, HF
`datasets`). What each format makes of a shape (reasoning, conversations, tool calls) is
tools/dataset/export_chat.py's; reading a file back is tools/dataset/read_back.py's.

Every file lands whole or not at all (temp file + rename), nothing is overwritten without `force`, and
every path written is checked to stay inside the chosen output directory, so neither `..` nor a planted
symlink can send a write elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from explore_instruct.tools.dataset.export_chat import ShapeExportError, alpaca_fields, chat_rows
from explore_instruct.tools.dataset.sampling import SampledExample
from explore_instruct.tools.fileio import _umask_mode, write_text_atomic

Format = Literal["alpaca", "jsonl", "sharegpt", "messages", "openai", "hf"]
FORMATS: tuple[str, ...] = get_args(Format)
DEFAULT_NAMES: dict[str, str] = {
    "alpaca": "data.json",
    "jsonl": "data.jsonl",
    "sharegpt": "sharegpt.json",
    "messages": "messages.jsonl",
    "openai": "openai.jsonl",
    "hf": "hf",
}
CARD = "README.md"
HF_TOKEN_ENVS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


class ExportError(ValueError):
    """An export that cannot be written as asked; the message is one line."""


def check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise ExportError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return cast(Format, fmt)


# ---- rows -------------------------------------------------------------------------------------


def metadata(s: SampledExample) -> dict[str, Any]:
    """Where the example sits in the tree, its shape when not single, the judge's verdict (`quality`) when it was
    judged, and its provenance (`sources`: document, chunk, page and verified quote) when it came from a grounded
    run."""
    meta = {"id": s.id, "node_id": s.node_id, "depth": s.depth, "task_path": list(s.path)}
    extra = s.example.model_extra or {}
    quality, sources, shape = extra.get("quality"), extra.get("sources"), extra.get("shape")
    meta |= {"shape": shape} if shape and shape != "single" else {}
    return meta | ({"quality": quality} if quality else {}) | ({"sources": sources} if sources else {})


def alpaca_row(
    s: SampledExample, *, with_meta: bool = True, include_reasoning: bool = False, fmt: str = "alpaca"
) -> dict[str, Any]:
    row = alpaca_fields(s, include_reasoning=include_reasoning, fmt=fmt)
    return row | metadata(s) if with_meta else row


def sharegpt_row(s: SampledExample) -> dict[str, Any]:
    """LLaMA-Factory's ShareGPT (human / gpt / function_call / observation turns)."""
    return chat_rows("sharegpt", s, include_reasoning=False) | metadata(s)


def messages_row(s: SampledExample) -> dict[str, Any]:
    """OpenAI-style chat, the conversational format TRL's SFTTrainer reads from a `messages` column."""
    return chat_rows("messages", s, include_reasoning=False) | metadata(s)


def rows_for(
    fmt: Format, examples: list[SampledExample], *, with_meta: bool = True, include_reasoning: bool = False
) -> list[dict[str, Any]]:
    """`include_reasoning`: a reasoning goes into formats that have no field for it (alpaca, jsonl, openai) as a
    `<think>` block before the answer; the others always carry it (tools/dataset/export_chat.py)."""
    try:
        if fmt in ("alpaca", "jsonl"):
            meta = with_meta or fmt == "jsonl"
            rows = [alpaca_row(s, with_meta=meta, include_reasoning=include_reasoning, fmt=fmt) for s in examples]
        elif fmt == "openai":  # OpenAI's uploader takes messages and tools only: no metadata
            rows = [chat_rows(fmt, s, include_reasoning=include_reasoning) for s in examples]
        else:  # sharegpt, messages; hf: the Alpaca columns and `messages`, for both kinds of trainer
            rows = [chat_rows(fmt, s, include_reasoning=include_reasoning) | metadata(s) for s in examples]
    except ShapeExportError as e:
        raise ExportError(str(e)) from None
    if fmt != "openai" and any("quality" in r for r in rows):  # one set of columns: unjudged examples get None
        for r in rows:
            r.setdefault("quality", None)
    if fmt == "hf":  # one set of columns: a tools or reasoning column is there (empty) for every row
        for key in ("tools", "reasoning", "history", "shape"):
            if any(key in r for r in rows):
                for r in rows:
                    r.setdefault(key, None)
    return rows


# ---- where to write ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputPlan:
    directory: Path  # everything written stays inside this
    data: Path  # a file, or the dataset directory for hf
    card: Path


def plan_output(out: Path, fmt: Format) -> OutputPlan:
    """`out` is a data file (ends in .json/.jsonl) or a directory to put the default file name in; hf: a directory."""
    if ".." in out.parts:
        raise ExportError(f"{out}: '..' is not allowed in an output path; give the directory itself")
    if fmt == "hf":
        return OutputPlan(directory=out, data=out, card=out / CARD)
    if out.suffix.lower() in (".json", ".jsonl"):
        return OutputPlan(directory=out.parent, data=out, card=out.parent / CARD)
    return OutputPlan(directory=out, data=out / DEFAULT_NAMES[fmt], card=out / CARD)


def confined(directory: Path, path: Path) -> Path:
    """`path` if it resolves inside `directory` and is not itself a symlink; a one-line error otherwise."""
    base = directory.resolve()
    if path.is_symlink():
        raise ExportError(f"{path}: is a symlink; refusing to write through it")
    resolved = path.resolve()
    if resolved != base and not resolved.is_relative_to(base):
        raise ExportError(f"{path}: resolves outside the output directory {directory}")
    return path


def check_writable(plan: OutputPlan, *, force: bool) -> None:
    """Refuse an existing target without `force`, and any target outside the output directory."""
    if plan.directory.exists() and not plan.directory.is_dir():
        raise ExportError(f"{plan.directory}: exists and is not a directory")
    for path in (plan.data, plan.card):
        confined(plan.directory, path)
        if path.exists() and not force:
            raise ExportError(f"{path}: already exists; pass --force to overwrite")
        if path.exists() and path != plan.data and path.is_dir():
            raise ExportError(f"{path}: is a directory")


# ---- atomic writes ----------------------------------------------------------------------------


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move a finished directory into place; an old target is moved aside first and removed after."""
    old: Path | None = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
        os.replace(target, old / "data")
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _dumps_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def _dumps_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _hf_dataset(rows: list[dict[str, Any]]) -> Any:
    try:
        import datasets
    except ImportError:
        raise ExportError("--format hf needs the `datasets` package: pip install 'explore-instruct[dataset]'") from None
    datasets.disable_progress_bars()
    return datasets.Dataset.from_list(rows)


def write_dataset(
    fmt: Format,
    examples: list[SampledExample],
    out: Path,
    *,
    card: str | None = None,
    force: bool = False,
    with_meta: bool = True,
    include_reasoning: bool = False,
) -> list[Path]:
    """Write the data (and its card) under `out`; returns the paths written."""
    plan = plan_output(out, fmt)
    check_writable(plan, force=force)
    rows = rows_for(fmt, examples, with_meta=with_meta, include_reasoning=include_reasoning)
    plan.directory.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "hf":
        ds = _hf_dataset(rows)
        tmp = Path(tempfile.mkdtemp(dir=plan.directory.parent, prefix=f".{plan.directory.name}.", suffix=".tmp"))
        try:
            ds.save_to_disk(str(tmp / "data"))
            if card is not None:
                (tmp / "data" / CARD).write_text(card, encoding="utf-8")
            os.chmod(tmp / "data", _umask_mode(0o777))
            _replace_dir(tmp / "data", plan.data)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return [plan.data]
    plan.directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(plan.data, _dumps_json(rows) if fmt in ("alpaca", "sharegpt") else _dumps_jsonl(rows))
    written = [plan.data]
    if card is not None:
        write_text_atomic(plan.card, card)
        written.append(plan.card)
    return written


def hub_token() -> str | None:
    return next((os.environ[k] for k in HF_TOKEN_ENVS if os.environ.get(k)), None)


def push_to_hub(examples: list[SampledExample], repo_id: str, *, card: str | None, private: bool = True) -> str:
    """Upload as a Hugging Face dataset (private unless asked); the token comes from the environment only."""
    token = hub_token()
    if token is None:
        raise ExportError(f"--push-to-hub: set {HF_TOKEN_ENVS[0]} in the environment to push to the Hub")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ExportError(f"--push-to-hub: {repo_id!r} is not an owner/name repository id")
    ds = _hf_dataset(rows_for("hf", examples))
    ds.push_to_hub(repo_id, token=token, private=private)
    if card is not None:
        from huggingface_hub import HfApi

        HfApi(token=token).upload_file(
            path_or_fileobj=card.encode("utf-8"), path_in_repo=CARD, repo_id=repo_id, repo_type="dataset"
        )
    return f"https://huggingface.co/datasets/{repo_id}"
