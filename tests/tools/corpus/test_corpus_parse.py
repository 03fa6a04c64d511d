"""Parsing and chunking each format, with known answers: page numbers, heading paths, spans, one-line refusals."""

from __future__ import annotations

import codecs

import pytest
from support.corpus import make_docx, make_pdf

from explore_instruct.tools.corpus.chunk import chunk_document
from explore_instruct.tools.corpus.parse import ParseError, format_of, parse_bytes

MARKDOWN = """# Install

Get the tool first.

## From source

Run `make install` in a checkout.

### On Debian

apt-get install build-essential

## From PyPI

pip install the_tool

# Use

Call it with a file.
"""

HTML = """<!doctype html><html><head><title>Not content</title><style>p {color: red}</style>
<script>var secret = 1;</script></head><body>
<h1>Install</h1><p>Get the tool first.</p>
<h2>From source</h2><p>Run <code>make install</code> in a <a href="https://example.org">checkout</a>.</p>
<h2>From PyPI</h2><p>pip install the_tool *now*</p>
<h1>Use</h1><p>Call it with a file.</p>
</body></html>"""


def sections(data: bytes, fmt: str) -> list[tuple[tuple[str, ...], str]]:
    return [(s.headings, s.text) for s in parse_bytes(data, fmt).sections]  # type: ignore[arg-type]


def test_format_of_reads_suffixes_case_blind() -> None:
    assert format_of("a.PDF") == "pdf" and format_of("x.htm") == "html" and format_of("R.markdown") == "markdown"
    assert format_of("notes.txt") == "text" and format_of("f.docx") == "docx"
    assert format_of("archive.gz") is None and format_of("README") is None and format_of(".md") is None


def test_markdown_heading_paths() -> None:
    assert sections(MARKDOWN.encode(), "markdown") == [
        (("Install",), "Get the tool first."),
        (("Install", "From source"), "Run `make install` in a checkout."),
        (("Install", "From source", "On Debian"), "apt-get install build-essential"),
        (("Install", "From PyPI"), "pip install the_tool"),
        (("Use",), "Call it with a file."),
    ]


def test_html_heading_paths_without_head_scripts_or_link_markup() -> None:
    got = sections(HTML.encode(), "html")
    assert [h for h, _ in got] == [("Install",), ("Install", "From source"), ("Install", "From PyPI"), ("Use",)]
    text = " ".join(t for _, t in got)
    assert "Not content" not in text and "secret" not in text and "color" not in text
    assert "Run `make install` in a checkout." in text  # the link is its words; no URL
    assert "pip install the_tool *now*" in text  # nothing escaped: a quote must match the page


def test_html_in_its_declared_charset() -> None:
    page = '<html><head><meta charset="iso-8859-1"></head><body><h1>Café</h1><p>crème brûlée</p></body></html>'
    assert sections(page.encode("latin-1"), "html") == [(("Café",), "crème brûlée")]


def test_docx_heading_paths_from_paragraph_styles() -> None:
    data = make_docx(
        [
            ("", "Preface text."),
            ("Heading 1", "Install"),
            ("", "Get the tool first."),
            ("Heading 2", "From source"),
            ("", "Run make install."),
            ("table", "os|command;debian|apt-get install x"),
            ("Heading 1", "Use"),
            ("", "Call it."),
        ]
    )
    assert sections(data, "docx") == [
        ((), "Preface text."),
        (("Install",), "Get the tool first."),
        (("Install", "From source"), "Run make install.\nos | command\ndebian | apt-get install x"),
        (("Use",), "Call it."),
    ]


def test_pdf_one_section_per_page_numbered_from_one_with_outline_headings() -> None:
    data = make_pdf(
        [
            ("Introduction", "Alpha page text."),
            (None, "Beta page text."),
            ("Reference", "Gamma page text."),
            ("Reference/Functions", "Delta page text."),
        ]
    )
    doc = parse_bytes(data, "pdf")
    assert doc.pages == 4
    assert [(s.page, s.headings, s.text) for s in doc.sections] == [
        (1, ("Introduction",), "Alpha page text."),
        (2, ("Introduction",), "Beta page text."),  # no new entry here: the one in force
        (3, ("Reference",), "Gamma page text."),
        (4, ("Reference", "Functions"), "Delta page text."),
    ]


def test_pdf_blank_pages_keep_the_numbering() -> None:
    doc = parse_bytes(make_pdf([(None, "First."), (None, ""), (None, "Third.")]), "pdf")
    assert doc.pages == 3 and [s.page for s in doc.sections] == [1, 3]


def test_pdf_encrypted_with_an_empty_user_password_is_read() -> None:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([(None, "Open to all.")]))))
    writer.encrypt(user_password="", owner_password="owner")
    buf = io.BytesIO()
    writer.write(buf)
    assert [s.text for s in parse_bytes(buf.getvalue(), "pdf").sections] == ["Open to all."]


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"", "text", "empty file"),
        (b" \n\t\n", "markdown", "no text (only whitespace)"),
        (b"abc\x00\x01\x02def", "text", "binary content (NUL bytes), not text"),
        ("caf\u00e9 au lait".encode("latin-1"), "text", "not UTF-8 text (byte 0xe9 at offset 3)"),
        (codecs.BOM_UTF16_LE + b"\x01\x00\x02\x00" * 50, "text", "binary content (control characters), not UTF-16"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "pdf", "corrupt or unreadable PDF"),
        (b"<html>not a pdf</html>", "pdf", "not a PDF (no %PDF header)"),
        (b"PK\x03\x04 not really a zip", "docx", "corrupt or unreadable DOCX"),
        (b"<html><body><script>x()</script></body></html>", "html", "no extractable text"),
    ],
)
def test_unreadable_input_is_one_line(data: bytes, fmt: str, reason: str) -> None:
    with pytest.raises(ParseError) as e:
        parse_bytes(data, fmt)  # type: ignore[arg-type]
    assert str(e.value).startswith(reason) and "\n" not in str(e.value)


def test_encrypted_pdf_is_refused_in_one_line() -> None:
    with pytest.raises(ParseError, match=r"^encrypted PDF \(needs a password\)$"):
        parse_bytes(make_pdf([(None, "Secret text.")], password="s3cret"), "pdf")


def test_text_decoding_utf8_bom_and_utf16() -> None:
    assert sections(codecs.BOM_UTF8 + "naïve".encode(), "text") == [((), "naïve")]
    assert sections("naïve ☃".encode("utf-16"), "text") == [((), "naïve ☃")]  # with its BOM


@pytest.mark.parametrize("fmt", ["markdown", "html", "docx", "pdf", "text"])
def test_every_chunk_is_its_span_of_the_extracted_text(fmt: str) -> None:
    paragraphs = [f"Paragraph {i} says " + " ".join(f"word{i}x{j}" for j in range(40)) + "." for i in range(12)]
    if fmt == "markdown":
        data = ("# Top\n\n" + "\n\n".join(paragraphs[:6]) + "\n\n## Below\n\n" + "\n\n".join(paragraphs[6:])).encode()
    elif fmt == "html":
        body = (
            "".join(f"<p>{p}</p>" for p in paragraphs[:6])
            + "<h2>Below</h2>"
            + "".join(f"<p>{p}</p>" for p in paragraphs[6:])
        )
        data = f"<html><body><h1>Top</h1>{body}</body></html>".encode()
    elif fmt == "docx":
        data = make_docx(
            [("Heading 1", "Top"), *[("", p) for p in paragraphs[:6]], ("Heading 2", "Below")]
            + [("", p) for p in paragraphs[6:]]
        )
    elif fmt == "pdf":
        data = make_pdf([("Top", "\n".join(paragraphs[:6])), ("Top/Below", "\n".join(paragraphs[6:]))])
    else:
        data = "\n\n".join(paragraphs).encode()
    parsed = parse_bytes(data, fmt)  # type: ignore[arg-type]
    chunks = chunk_document(parsed, "/docs/x", "ab" * 32, size=400, overlap=40)
    assert len(chunks) > 4
    text = parsed.text
    for i, c in enumerate(chunks):
        assert text[c.start : c.end] == c.text
        assert len(c.text) <= 400
        assert c.chunk_id == f"{'ab' * 8}:{i}" and c.index == i and c.format == fmt and c.doc == "/docs/x"
    assert chunk_document(parsed, "/docs/x", "ab" * 32, size=400, overlap=40) == chunks  # stable
    if fmt != "text":
        assert {c.headings for c in chunks} == {("Top",), ("Top", "Below")}
    if fmt == "pdf":
        assert {c.page for c in chunks} == {1, 2}
    words = " ".join(paragraphs).split()
    joined = " ".join(c.text for c in chunks).split()
    assert set(words) <= set(joined)  # nothing lost between chunks


def test_xhtml_parses_as_html_without_a_warning_per_file() -> None:
    """asciidoc and Sphinx write XHTML (an XML declaration first); bs4 warned on every such file."""
    import warnings

    xhtml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body>'
        "<h1>Guide</h1><h2>Setup</h2><p>Run the daemon from inetd.</p></body></html>"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = sections(xhtml.encode(), "html")
    assert got == [(("Guide", "Setup"), "Run the daemon from inetd.")]
