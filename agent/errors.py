"""One way to tell a caller what went wrong: one line, the cause first, no stack and no docs link.

Every face uses it: the CLI (`error: ...`, exit code 2 or 1), the LangChain tool (`{"error": ...}`), MCP (a tool
error) and the chat (`Error: ...`). Bad input (any ValueError: seeds, caps, parameters, pydantic validation)
reads as its message; anything unexpected is prefixed with its type, because then the type is the clue.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_DOCS_LINK = "For further information visit"


class RunFailed(RuntimeError):
    """A run stopped by a fault (not a budget or review); its directory is kept and resumable."""


def flat(text: str) -> str:
    """The non-empty lines of `text` joined by spaces, without pydantic's docs link."""
    lines = (line.strip() for line in text.splitlines())
    return " ".join(line for line in lines if line and not line.startswith(_DOCS_LINK))


def is_bad_input(e: BaseException) -> bool:
    """Failures a caller can fix (exit code 2 in the CLI): every error class of ours is a ValueError."""
    return isinstance(e, ValueError)


def one_line(e: BaseException) -> str:
    """The caller-facing message of `e`, on one line."""
    if isinstance(e, ValidationError):
        return validation_message(e)
    if is_bad_input(e) or isinstance(e, RunFailed):
        return flat(str(e)) or type(e).__name__
    first = flat(str(e).splitlines()[0]) if str(e).strip() else ""
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def validation_message(e: ValidationError) -> str:
    """`field: message` for the first error; unknown arguments are all named: `unknown argument 'depht'`."""
    errors = e.errors()
    unknown = [_where(err) for err in errors if err.get("type") == "extra_forbidden"]
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        return f"unknown argument{'s' if len(unknown) > 1 else ''} {names}"
    if not errors:
        return flat(str(e))
    err = errors[0]
    msg = str(err.get("msg", "invalid")).replace("Value error, ", "")
    # The field path comes from the caller's keys, which may hold line breaks.
    return flat(f"{_where(err) or 'input'}: {msg}")


def _where(err: Any) -> str:
    return ".".join(str(p) for p in err.get("loc", ()))
