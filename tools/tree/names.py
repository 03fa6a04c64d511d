"""Task-name quality rules, applied to every proposed subtask from any model.

Small models fill a name slot with what the prompt's shape suggests (`task1`, `copy`, `example2`), repeat the
task they were asked to split, or write a sentence. Such names would become tasks and be enriched, so each
is dropped with the rule that caught it (recorded in dropped.jsonl), before the similarity check.
"""

from __future__ import annotations

import re

from explore_instruct.tools.tree.model import slugify

MIN_WORDS, MAX_WORDS = 2, 8
# Words a model writes when it fills a name slot without naming anything.
_FILLER = (
    "task|subtask|sub task|sub_task|new task|new subtask|example|sample|item|entry|name|option|copy|"
    "placeholder|untitled|todo|tbd|none|null|n a|na|test|foo|bar|subtask name|task name|new"
)
_PLACEHOLDER = re.compile(rf"^(?:(?:{_FILLER})[\s_-]*\d*|\d+|[a-z]\d*|\W*)$", re.I)
_LETTER = re.compile(r"[^\W\d_]")
# A name that ends on one of these was cut off mid-phrase ("help people with writing skills improve their").
_DANGLING = frozenset(
    {
        "a", "an", "the", "of", "to", "for", "with", "and", "or", "in", "on", "at", "by", "from", "into", "onto",
        "about", "as", "than", "that", "this", "these", "those", "which", "who", "whose", "their", "your", "his",
        "her", "its", "our", "my", "is", "are", "was", "be",
    }
)  # fmt: skip


_DANGLING_TAIL = re.compile(rf"(?:[\s_-]+(?:{'|'.join(sorted(_DANGLING))}))+\W*$", re.I)


def trim_cut_off(name: str) -> str:
    """A name the word cap cut off mid-phrase, without the words it was cut on ("send a response to customer
    support tickets for" -> "send a response to customer support tickets"); any other name as it is.

    The embedded model's grammar ends a name at `MAX_WORDS` words, and SmolLM2 often reaches that mid-phrase: in
    the bare-sentence runs of issue 23 every name cut off there read well without its last word or two. A shorter
    name that ends on "to" or "on" was written so ("choosing what to focus on"): it is not trimmed, and the
    `name_cut_off` rule judges it. The caller checks the trimmed name against every rule again and records the
    name as proposed.
    """
    if len([w for w in re.split(r"[\s_-]+", name) if w]) != MAX_WORDS:
        return name
    return _DANGLING_TAIL.sub("", name).strip().rstrip(",;:")


def name_rule(name: str, *, target: str = "", root: str = "") -> str | None:
    """The rule a proposed name breaks, or None when it may become a task."""
    words = [w for w in re.split(r"[\s_-]+", name) if w]  # "grammar-fixes" and "text_simplification": two words
    if not _LETTER.search(name):
        return "name_without_letters"
    if _PLACEHOLDER.match(" ".join(words)) or _PLACEHOLDER.match(name.strip()):
        return "placeholder_name"
    key = slugify(name)
    if target and key == slugify(target):
        return "repeats_target"
    if root and key == slugify(root):
        return "repeats_root"
    if len(words) < MIN_WORDS:
        return "name_too_short"
    if len(words) > MAX_WORDS:
        return "name_too_long"
    if words[-1].lower() in _DANGLING:
        return "name_cut_off"
    return None
