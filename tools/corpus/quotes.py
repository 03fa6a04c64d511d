"""The quote gate: an example's quote must be a (near-)verbatim span of the chunk it cites.

A grounded example is only as good as its evidence, and a model that paraphrases or invents a "quote" gives a
reader nothing to check. So the quote is compared with its chunk after folding case and whitespace (PDF text
and model output differ in both) and dropping backticks and double quote marks (markup around names); a quote not
found exactly may still pass when rapidfuzz's `partial_ratio` (the best alignment of the quote against any window
of the chunk) is at least `MIN_RATIO`, which forgives a dropped comma or a straightened apostrophe but not a
sentence of the model's own.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

MIN_CHARS = 20  # "a short sentence at least": a few words copied from anywhere prove nothing
MIN_RATIO = 92.0
_EDGES = "'‘’«».…-–— \t\n"  # backticks and double quotes are gone by then


def normalise(text: str) -> str:
    """Case, Unicode compatibility forms and runs of whitespace folded; backticks and double quote marks dropped
    (markup around a name: "run `git daemon`" quoted as "run git daemon" is the same words; the compact profile's
    grammar cannot write either mark); surrounding quote marks and dots cut."""
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = folded.replace("’", "'").replace("‘", "'")
    folded = re.sub(r"[`\"“”]", "", folded)
    return re.sub(r"\s+", " ", folded).strip(_EDGES)


def supported(quote: str, chunk_text: str, *, min_chars: int = MIN_CHARS, min_ratio: float = MIN_RATIO) -> bool:
    """Whether `quote` is a span of `chunk_text` (exactly, or near-verbatim) and long enough to mean something."""
    q, c = normalise(quote), normalise(chunk_text)
    if len(q) < min_chars or not c:
        return False
    if q in c:
        return True
    return len(q) <= len(c) and fuzz.partial_ratio(q, c) >= min_ratio
