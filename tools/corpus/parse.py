"""One file's bytes into sections of text with where they came from: format, page, heading path, offset.

Parsing is done by maintained libraries, never by hand: pypdf (pages, outline), python-docx (paragraph styles),
markdownify (HTML to Markdown) and langchain-text-splitters' `MarkdownHeaderTextSplitter` (heading paths of
Markdown and of the Markdown made from HTML). None of them loads a model, so ingestion runs offline.

A document's *extracted text* is its sections' texts joined by a blank line, and every section knows where it
starts in it: a chunk's character span then points into text the corpus holds, whatever the format (the
splitter normalises Markdown lines, so the span cannot point into the source file itself).

Anything that makes a file unreadable raises `ParseError` with one line a person can act on; the ingester
records it as a skip. Text is decoded as UTF-8 (UTF-16/32 only with a byte-order mark, HTML with its declared
charset): a guessed code page could silently turn text into something its author never wrote.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import warnings
from dataclasses import dataclass
from typing import Any, Literal

Format = Literal["pdf", "html", "markdown", "text", "docx"]
SUFFIXES: dict[str, Format] = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".docx": "docx",
}
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
SEPARATOR = "\n\n"  # between sections in the extracted text
HEADINGS = [("#" * n, f"h{n}") for n in range(1, 7)]  # the splitter wants a space after the marks itself
# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class ParseError(ValueError):
    """This file cannot be read as a document; the message is the one-line reason recorded as its skip."""


@dataclass(frozen=True)
class Section:
    text: str
    start: int  # offset of `text` in the document's extracted text
    page: int | None = None  # PDF pages count from 1
    headings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedDoc:
    format: Format
    sections: list[Section]
    pages: int | None = None  # PDF only: formats without pages say None rather than guess

    @property
    def text(self) -> str:
        return SEPARATOR.join(s.text for s in self.sections)


def format_of(name: str) -> Format | None:
    """The format a file name's suffix says, or None when it is not one we read."""
    dot = name.rfind(".")
    return SUFFIXES.get(name[dot:].lower()) if dot > 0 else None


def parse_bytes(data: bytes, fmt: Format) -> ParsedDoc:
    """Sections of one document; ParseError with a one-line reason when it cannot be read."""
    if not data.strip():
        raise ParseError("empty file" if not data else "no text (only whitespace)")
    parts, pages = _PARSERS[fmt](data)
    sections: list[Section] = []
    offset = 0
    for text, page, headings in parts:
        text = text.strip()
        if not text:
            continue
        sections.append(Section(text, offset, page, tuple(headings)))
        offset += len(text) + len(SEPARATOR)
    if not sections:
        raise ParseError("no extractable text" + (" (a scanned PDF? no OCR here)" if fmt == "pdf" else ""))
    return ParsedDoc(fmt, sections, pages)


Part = tuple[str, int | None, list[str]]


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), or UTF-16/32 when a byte-order mark says so; ParseError otherwise."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as e:
                raise ParseError(f"not valid {codec.upper()} despite its byte-order mark ({e.reason})") from None
            # Almost any even number of bytes decodes as UTF-16: binary behind a lucky mark shows as controls.
            if len(_CONTROLS.findall(text)) > max(2, len(text) // 100):
                raise ParseError(f"binary content (control characters), not {codec.upper()} text")
            return text
    if b"\0" in data:
        raise ParseError("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(
            f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); convert it to UTF-8"
        ) from None


def _markdown_parts(markdown: str) -> list[Part]:
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    splitter = MarkdownHeaderTextSplitter(HEADINGS, strip_headers=True)
    parts: list[Part] = []
    for doc in splitter.split_text(markdown):
        path = [doc.metadata[key] for _, key in HEADINGS if key in doc.metadata]
        parts.append((doc.page_content, None, path))
    return parts


def _markdown(data: bytes) -> tuple[list[Part], int | None]:
    return _markdown_parts(decode_text(data)), None


def _text(data: bytes) -> tuple[list[Part], int | None]:
    return [(decode_text(data), None, [])], None


def _html(data: bytes) -> tuple[list[Part], int | None]:
    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning
    from bs4.dammit import EncodingDetector
    from markdownify import MarkdownConverter

    if b"\0" in data[:8192] and not any(data.startswith(bom) for bom, _ in _BOMS):
        raise ParseError("binary content (NUL bytes), not HTML")
    declared = EncodingDetector.find_declared_encoding(data, is_html=True)
    if declared and declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
        try:
            html = data.decode(declared)
        except (LookupError, UnicodeDecodeError) as e:
            raise ParseError(f"does not decode as its declared charset {declared!r} ({type(e).__name__})") from None
    else:
        html = decode_text(data)
    with warnings.catch_warnings():  # XHTML (asciidoc's, Sphinx's) parses fine as HTML; bs4 warns on every file
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    for tag in soup(["head", "script", "style", "noscript", "template"]):
        tag.decompose()
    # Links and images become their text: a URL in a chunk is noise to retrieval and to a quote. No escaping,
    # so `gnutls_init` stays as written (a quote must match the page's words).
    converter = MarkdownConverter(
        heading_style="ATX", strip=["a", "img"], escape_asterisks=False, escape_underscores=False
    )
    return _markdown_parts(converter.convert_soup(soup)), None


def _pdf(data: bytes) -> tuple[list[Part], int | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on odd but readable files are not ours
    if b"%PDF-" not in data[:1024]:  # the header may follow a little junk, as readers allow
        raise ParseError("not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens many "protected" PDFs
            raise ParseError("encrypted PDF (needs a password)")
        pages = reader.pages
        texts = [page.extract_text() or "" for page in pages]
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise ParseError(f"corrupt or unreadable PDF ({first})") from None
    except Exception as e:  # e.g. a missing crypto backend for AES: still one line, never a traceback
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise ParseError(f"unreadable PDF ({type(e).__name__}: {first})") from None
    by_page = _outline_by_page(reader)
    parts: list[Part] = []
    current: list[str] = []
    for number, text in enumerate(texts, start=1):
        starts = by_page.get(number)
        heading = starts[0] if starts else current
        if starts:
            current = starts[-1]
        parts.append((text, number, heading))
    return parts, len(texts)


def _outline_by_page(reader: Any) -> dict[int, list[list[str]]]:
    """Heading paths (from the PDF's outline, its bookmarks) that start on each page, in document order.

    A page's heading path is the first one that starts on it, else the one in force from earlier pages.
    Outlines are optional and often odd: any trouble reading one leaves the pages without headings.
    """
    found: dict[int, list[list[str]]] = {}

    def walk(items: list[Any], path: list[str]) -> None:
        last: list[str] = path
        for item in items:
            if isinstance(item, list):
                walk(item, last)
                continue
            title = re.sub(r"\s+", " ", str(item.get("/Title", ""))).strip()
            last = [*path, title] if title else path
            number = reader.get_destination_page_number(item)
            if number is not None and number >= 0:
                found.setdefault(number + 1, []).append(last)

    try:
        walk(reader.outline, [])
    except Exception:  # a broken outline costs the headings, not the document
        return {}
    return found


def _docx(data: bytes) -> tuple[list[Part], int | None]:
    import zipfile

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise ParseError(f"corrupt or unreadable DOCX ({first})") from None
    parts: list[Part] = []
    path: list[str] = []
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            lines.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
            continue
        level = _heading_level(block.style.name if block.style is not None else "")
        if level is None:
            lines.append(block.text)
            continue
        parts.append(("\n".join(lines), None, list(path)))
        lines = []
        path = [*path[: level - 1], block.text.strip()] if block.text.strip() else path
    parts.append(("\n".join(lines), None, list(path)))
    return parts, None


def _heading_level(style: str | None) -> int | None:
    """Word's built-in heading styles: "Title" is level 1's peer, "Heading 1".."Heading 9" nest."""
    if not style:
        return None
    if style == "Title":
        return 1
    match = re.fullmatch(r"Heading ([1-9])", style)
    return int(match.group(1)) if match else None


_PARSERS = {"pdf": _pdf, "html": _html, "markdown": _markdown, "text": _text, "docx": _docx}
