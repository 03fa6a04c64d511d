"""The workbench's tables as plain HTML, rendered here and shown by `gr.HTML`.

Gradio's Dataframe rebuilds a table model per cell on the browser's main thread: in Chromium, 25 rows of example
text took 6-10 s of CPU after their data had arrived (the 12-21 s a deep-linked task took to open on a
10,000-example run; the server's handlers took about 1 s). A server-rendered table of one page is drawn in
milliseconds. Every cell is escaped here (examples are model output: never markup), and so are the characters
Gradio's HTML template reads (`${` and `{{`), so no text can inject markup or script. A click on a row hands
its first cell (the example id) to Python through the component's own `trigger` (`ROW_CLICK_JS`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

ROW_CLICK_JS = """element.addEventListener('click', (event) => {
  const row = event.target.closest('tr[data-id]');
  if (row) trigger('click', {row_id: row.dataset.id});
});"""
CSS = """
.wb-table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
.wb-table th, .wb-table td { border: 1px solid var(--border-color-primary); padding: 4px 6px; vertical-align: top;
  text-align: left; white-space: pre-wrap; overflow-wrap: anywhere; }
.wb-table th { background: var(--background-fill-secondary); position: sticky; top: 0; }
.wb-table tr[data-id] { cursor: pointer; }
.wb-table tr[data-id]:hover td { background: var(--background-fill-secondary); }
.wb-table mark { background: #fde68a; color: inherit; }
.wb-empty { color: var(--body-text-color-subdued); font-style: italic; }
"""


def text(value: Any) -> str:
    """A value as safe HTML text: escaped, and with the template's `$`, `{`, `}` as character references."""
    if value is None:
        return ""
    out = html.escape(str(value), quote=True)
    return out.replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, ids: bool = False, empty: str = "None.") -> str:
    """An HTML table; with `ids`, each row carries its first cell as `data-id` (a click opens it)."""
    if not rows:
        return f'<p class="wb-empty">{text(empty)}</p>'
    head = "".join(f"<th>{text(c)}</th>" for c in columns)
    body = []
    for row in rows:
        key = f' data-id="{text(row[0])}"' if ids and row else ""
        body.append(f"<tr{key}>" + "".join(f"<td>{text(cell)}</td>" for cell in row) + "</tr>")
    return f'<table class="wb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def marked(body: str, quote: str) -> str:
    """`body` as safe HTML with the first occurrence of `quote` (whitespace and case aside) in <mark>."""
    span = find_span(body, quote)
    if span is None:
        return text(body)
    start, end = span
    return f"{text(body[:start])}<mark>{text(body[start:end])}</mark>{text(body[end:])}"


def find_span(body: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` sits in `body`, comparing case-folded words so line breaks and double spaces do not matter."""
    words = quote.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    found = re.search(pattern, body, flags=re.IGNORECASE)
    return (found.start(), found.end()) if found else None
