"""The workbench's HTML tables: every cell is text (model output never becomes markup or a template), a row carries
its example id for the click, and a quote is found across case and line breaks."""

from __future__ import annotations

from explore_instruct.agent.web import tables


def test_cells_are_escaped_and_template_characters_are_inert() -> None:
    hostile = '<script>alert(1)</script> ${document.cookie} {{value}} <img src=x onerror=alert(2)> "q"'
    out = tables.table(["id", "text"], [["a:x:1", hostile]], ids=True)
    assert "<script>" not in out and "<img" not in out and "${" not in out and "{{" not in out
    assert "&lt;script&gt;" in out and "&#36;&#123;document.cookie&#125;" in out and "&quot;q&quot;" in out
    assert '<tr data-id="a:x:1"><td>a:x:1</td>' in out
    assert 'data-id="x&quot; onclick=&quot;y"' in tables.table(["id"], [['x" onclick="y']], ids=True)
    assert "data-id" not in tables.table(["id"], [["a"]])
    assert tables.table(["id"], [], empty="Nothing dropped.") == '<p class="wb-empty">Nothing dropped.</p>'


def test_a_quote_is_marked_across_case_and_whitespace() -> None:
    body = "Intro.  The Rule says:\nkeep it <short>. Outro."
    assert tables.find_span(body, "the rule says: keep it <short>.") == (8, 39)
    assert tables.marked(body, "the rule says: keep it <short>.") == (
        "Intro.  <mark>The Rule says:\nkeep it &lt;short&gt;.</mark> Outro."
    )
    assert tables.marked(body, "not in it") == tables.text(body)
    assert tables.find_span(body, "   ") is None
