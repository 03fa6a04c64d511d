"""Reading a dataset file back: any format we export (or a plain Alpaca, ShareGPT or `messages` file, or a saved
Hugging Face dataset), as Alpaca rows with their metadata kept.

`stats`, `coverage` and `judge` take any dataset file, not only a run; round-trip tests read exports back here.
A file that cannot be read is an `ExportError` in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from explore_instruct.tools.dataset.export import ExportError


def _from_chat(turns: Any, role_key: str, text_key: str, user: str, bot: str) -> tuple[str, str] | None:
    if not isinstance(turns, list):
        return None
    first_user = next((t.get(text_key) for t in turns if isinstance(t, dict) and t.get(role_key) == user), None)
    first_bot = next((t.get(text_key) for t in turns if isinstance(t, dict) and t.get(role_key) == bot), "")
    if not isinstance(first_user, str):
        return None
    return first_user, first_bot if isinstance(first_bot, str) else ""


def normalise_row(row: Any, where: str) -> dict[str, Any]:
    """Any of our formats (or a plain Alpaca/ShareGPT/messages row) as an Alpaca row plus whatever metadata it had."""
    if not isinstance(row, dict):
        raise ExportError(f"{where}: each example must be an object")
    # A conversation's turns ride along (diversity over all user turns: tools/dataset/turns.py).
    meta = {k: row[k] for k in ("id", "node_id", "depth", "task_path", "messages", "conversations") if k in row}
    if isinstance(row.get("instruction"), str):
        inp, output = row.get("input") or "", row.get("output") or ""
        return {"instruction": row["instruction"], "input": str(inp), "output": str(output), **meta}
    chat = _from_chat(row.get("messages"), "role", "content", "user", "assistant") or _from_chat(
        row.get("conversations"), "from", "value", "human", "gpt"
    )
    if chat is None:
        raise ExportError(f"{where}: no 'instruction', 'messages' or 'conversations' with a user turn")
    return {"instruction": chat[0], "input": "", "output": chat[1], **meta}


def read_dataset(path: Path) -> list[dict[str, Any]]:
    """Rows of a .json (list) / .jsonl file or a `datasets` directory, as Alpaca rows with metadata kept."""
    if path.is_dir():
        try:
            import datasets
        except ImportError:
            raise ExportError(f"{path}: reading a saved dataset needs `datasets`") from None
        try:
            ds = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as e:
            raise ExportError(f"{path}: not a saved Hugging Face dataset ({str(e).splitlines()[0]})") from None
        if isinstance(ds, datasets.DatasetDict):
            ds = ds["train"] if "train" in ds else next(iter(ds.values()))
        return [normalise_row(r, f"{path}: row {i}") for i, r in enumerate(ds)]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ExportError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ExportError(f"{path}: line {n}: not JSON ({e.msg})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ExportError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
        if not isinstance(data, list):
            raise ExportError(f"{path}: a .json dataset must be a list of examples")
        rows = data
    return [normalise_row(r, f"{path}: example {i}") for i, r in enumerate(rows)]
