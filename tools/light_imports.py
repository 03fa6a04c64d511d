"""Third-party imports made lighter: rouge-score without what nltk would drag in for features ROUGE-L never uses.

Every ROUGE-L use in tools/ imports rouge-score through `import_rouge_score`, so the CLI's `filter`, `prune` and
`stats` start fast and a run in ROUGE mode does not pay a second of imports in the middle of its first step."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# rouge-score imports all of nltk, and nltk imports these when they are installed, each behind an ImportError
# fallback, for features ROUGE-L never touches (collocation statistics, scikit-learn classifiers): about 1 s of
# a 2 s `filter` here. Imported through `import_rouge_score` they are hidden; a later `import scipy` in the same
# process works as usual.
NLTK_OPTIONAL = ("scipy", "sklearn", "pandas")


@contextmanager
def _hidden(packages: tuple[str, ...]) -> Iterator[None]:
    """`import X` raises ImportError for these packages inside the block (those not imported already)."""
    hide = [p for p in packages if p not in sys.modules]
    for name in hide:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hide:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


def import_rouge_score() -> None:
    """Import rouge-score without nltk's optional heavy packages; on any surprise, leave it to a plain import.

    The ROUGE-L scores are the same: rouge-score's tokenizer is a regex and its LCS is plain Python; neither
    reaches what nltk leaves out (tests/agent/cli/test_cli_tree.py compares the filter's output both ways).
    """
    if "rouge_score.rouge_scorer" in sys.modules:
        return
    try:
        with _hidden(NLTK_OPTIONAL):
            import rouge_score.rouge_scorer  # noqa: F401
    except ImportError:  # an nltk that needs one of them: forget the half-made modules, import them plainly later
        for name in [m for m in sys.modules if m.split(".")[0] in ("nltk", "rouge_score")]:
            del sys.modules[name]
