"""Hand-written pairs for the similarity thresholds: task names and instructions, each pair marked as
the same task (a paraphrase: pruning or dedup should fire) or a different one (it should not).

    .venv/bin/python bench/pairs.py

Prints, for the real all-MiniLM-L6-v2 cosine and for ROUGE-L F, the score range of each kind, the
pairs that overlap, and precision/recall/F1 of "score > threshold" over a range of thresholds.
The different-task pairs are mostly hard: siblings in one domain ("Solving linear equations" /
"Solving quadratic equations"), which a tree is supposed to keep apart.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

import numpy as np

# (a, b): the same task, worded differently
SAME_TASKS = [
    ("Paraphrasing", "Rephrasing text"),
    ("Grammar correction", "Fixing grammar mistakes"),
    ("Summarising news articles", "News article summarization"),
    ("Translating English to French", "English-French translation"),
    ("Sentiment analysis", "Classifying the sentiment of reviews"),
    ("Writing product descriptions", "Product description writing"),
    ("Solving linear equations", "Linear equation solving"),
    ("Brainstorming gift ideas", "Generating gift suggestions"),
    ("Email rewriting for tone", "Adjusting the tone of emails"),
    ("Spelling correction", "Correcting spelling errors"),
    ("Text simplification", "Simplifying complex sentences"),
    ("Writing haiku", "Haiku composition"),
    ("Question answering about history", "Answering history questions"),
    ("Explaining scientific concepts", "Science concept explanation"),
    ("Keyword extraction", "Extracting key terms from text"),
    ("Meeting summarisation", "Summarizing meeting notes"),
    ("Recipe generation", "Creating cooking recipes"),
    ("Travel itinerary planning", "Planning travel itineraries"),
    ("Arithmetic word problems", "Solving math word problems"),
    ("Writing cover letters", "Cover letter drafting"),
    ("Formal-to-informal style transfer", "Converting formal text to casual language"),
    ("Named entity recognition", "Identifying names of people, places and organisations"),
    ("Headline generation", "Writing news headlines"),
    ("Poem writing", "Composing poetry"),
    ("Brainstorming business names", "Coming up with company names"),
    ("Proofreading", "Checking text for errors"),
    ("Fact checking", "Verifying factual claims"),
    ("Writing short stories", "Short story writing"),
    ("Customer complaint responses", "Replying to customer complaints"),
    ("Explaining idioms", "Idiom explanation"),
    ("Vocabulary definitions", "Defining words"),
    ("Creating essay outlines", "Essay outlining"),
    ("Percentage calculations", "Calculating percentages"),
    ("Unit conversion", "Converting between units of measurement"),
    ("Writing thank-you notes", "Composing thank-you letters"),
    ("Generating quiz questions", "Creating quiz questions"),
    ("Debate argument generation", "Writing arguments for a debate"),
    ("Text classification by topic", "Topic classification"),
    ("Social media post writing", "Writing posts for social media"),
    ("Converting active voice to passive voice", "Rewriting sentences in the passive voice"),
    ("Making text more concise", "Shortening wordy text"),
    ("Persuasive essay writing", "Writing persuasive essays"),
    ("Geometry problems", "Solving geometry questions"),
    ("Job interview preparation", "Preparing answers to interview questions"),
]

# (a, b): different tasks; most are siblings a tree should keep apart
DIFFERENT_TASKS = [
    ("Paraphrasing", "Summarising"),
    ("Grammar correction", "Translation"),
    ("Summarising news articles", "Writing news headlines"),
    ("Translating English to French", "Translating English to German"),
    ("Sentiment analysis", "Topic classification"),
    ("Writing product descriptions", "Writing product reviews"),
    ("Solving linear equations", "Solving quadratic equations"),
    ("Brainstorming gift ideas", "Brainstorming party themes"),
    ("Email rewriting for tone", "Email subject line generation"),
    ("Spelling correction", "Punctuation correction"),
    ("Text simplification", "Text expansion"),
    ("Writing haiku", "Writing limericks"),
    ("Question answering about history", "Question answering about geography"),
    ("Explaining scientific concepts", "Writing science fiction stories"),
    ("Keyword extraction", "Named entity recognition"),
    ("Meeting summarisation", "Meeting agenda creation"),
    ("Recipe generation", "Restaurant review writing"),
    ("Travel itinerary planning", "Packing list creation"),
    ("Arithmetic word problems", "Probability problems"),
    ("Writing cover letters", "Writing resignation letters"),
    ("Formal-to-informal style transfer", "Informal-to-formal style transfer"),
    ("Poem writing", "Song lyric writing"),
    ("Brainstorming business names", "Writing business plans"),
    ("Proofreading", "Fact checking"),
    ("Writing short stories", "Writing movie plot summaries"),
    ("Customer complaint responses", "Customer satisfaction survey design"),
    ("Explaining idioms", "Translating idioms"),
    ("Vocabulary definitions", "Antonym generation"),
    ("Percentage calculations", "Fraction simplification"),
    ("Unit conversion", "Currency exchange calculations"),
    ("Writing thank-you notes", "Writing apology letters"),
    ("Generating quiz questions", "Answering quiz questions"),
    ("Debate argument generation", "Rebutting counterarguments"),
    ("Social media post writing", "Social media comment moderation"),
    ("Converting active voice to passive voice", "Identifying passive voice in sentences"),
    ("Making text more concise", "Making text more formal"),
    ("Persuasive essay writing", "Narrative essay writing"),
    ("Geometry problems", "Algebra problems"),
    ("Job interview preparation", "Resume writing"),
    ("Summarising", "Brainstorming"),
    ("Arithmetic word problems", "Writing bedtime stories"),
    ("Grammar correction", "Sentiment analysis"),
    ("Planning a wedding", "Planning a birthday party"),
    ("Writing formal emails", "Writing informal emails"),
]

SAME_INSTRUCTIONS = [
    ("Rewrite this email to sound more professional.", "Can you make this email sound more professional?"),
    ("Give me five tips for sleeping better.", "What are five ways I can improve my sleep?"),
    ("Summarise the following article in three sentences.", "Write a three-sentence summary of this article."),
    ("Translate this paragraph into Spanish.", "Please translate the paragraph below to Spanish."),
    ("List ten ideas for a child's birthday party.", "Brainstorm 10 birthday party ideas for a kid."),
    ("Explain photosynthesis to a ten-year-old.", "How would you explain photosynthesis to a 10-year-old child?"),
    (
        "Correct the grammar in this sentence: 'She go to school every day.'",
        "Fix the grammar: She go to school every day.",
    ),
    ("Write a haiku about autumn leaves.", "Compose a haiku on the topic of falling autumn leaves."),
    ("What is 15% of 80?", "Calculate 15 percent of 80."),
    ("Suggest a name for a vegan bakery.", "Can you come up with a name for a bakery that sells vegan food?"),
    (
        "Write a polite reply to a customer whose order arrived late.",
        "Draft a courteous response to a customer who got their order late.",
    ),
    ("Describe the water cycle in simple terms.", "Explain the water cycle simply."),
    ("Give three arguments for remote work.", "What are three reasons in favour of working remotely?"),
    (
        "Write a short story about a robot who learns to paint.",
        "Tell a brief story in which a robot discovers painting.",
    ),
    ("Create a one-week meal plan for a vegetarian.", "Plan seven days of vegetarian meals."),
    (
        "Classify the sentiment of this review: 'The food was cold and bland.'",
        "Is this review positive or negative? 'The food was cold and bland.'",
    ),
    ("Make this paragraph shorter without losing meaning.", "Condense this paragraph while keeping its meaning."),
    (
        "Write a cover letter for a junior data analyst job.",
        "Draft a cover letter applying for a junior data analyst position.",
    ),
    ("What are the main causes of the French Revolution?", "Explain the main reasons the French Revolution happened."),
    ("Recommend three books about habit building.", "Which three books would you suggest on building habits?"),
]

DIFFERENT_INSTRUCTIONS = [
    ("Rewrite this email to sound more professional.", "Rewrite this email to sound more casual."),
    ("Give me five tips for sleeping better.", "Give me five tips for waking up earlier."),
    ("Summarise the following article in three sentences.", "Write a headline for the following article."),
    ("Translate this paragraph into Spanish.", "Translate this paragraph into German."),
    ("List ten ideas for a child's birthday party.", "List ten ideas for a retirement party."),
    ("Explain photosynthesis to a ten-year-old.", "Explain cellular respiration to a ten-year-old."),
    (
        "Correct the grammar in this sentence: 'She go to school every day.'",
        "Correct the spelling in this sentence: 'He recieved the pacage.'",
    ),
    ("Write a haiku about autumn leaves.", "Write a limerick about autumn leaves."),
    ("What is 15% of 80?", "What is 25% of 60?"),
    ("Suggest a name for a vegan bakery.", "Suggest a slogan for a vegan bakery."),
    (
        "Write a polite reply to a customer whose order arrived late.",
        "Write a polite reply to a customer who was charged twice.",
    ),
    ("Describe the water cycle in simple terms.", "Describe the carbon cycle in simple terms."),
    ("Give three arguments for remote work.", "Give three arguments against remote work."),
    (
        "Write a short story about a robot who learns to paint.",
        "Write a short story about a dragon who learns to cook.",
    ),
    ("Create a one-week meal plan for a vegetarian.", "Create a one-week workout plan for a beginner."),
    (
        "Classify the sentiment of this review: 'The food was cold and bland.'",
        "Classify the topic of this review: 'The food was cold and bland.'",
    ),
    ("Make this paragraph shorter without losing meaning.", "Make this paragraph longer with more detail."),
    (
        "Write a cover letter for a junior data analyst job.",
        "Write a resignation letter for a junior data analyst job.",
    ),
    ("What are the main causes of the French Revolution?", "What were the main consequences of the French Revolution?"),
    ("Recommend three books about habit building.", "Recommend three podcasts about habit building."),
]

THRESHOLDS = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def scores(
    embed: Callable[[Sequence[str]], np.ndarray], pairs: Sequence[tuple[str, str]]
) -> tuple[list[float], list[float]]:
    """(cosine, ROUGE-L F) per pair."""
    from rouge_score import rouge_scorer

    a = embed([p[0] for p in pairs])
    b = embed([p[1] for p in pairs])
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rouge = [scorer.score(x, y)["rougeL"].fmeasure for x, y in pairs]
    return [float(v) for v in np.sum(a * b, axis=1)], rouge


def prf(pos: Sequence[float], neg: Sequence[float], t: float) -> tuple[float, float, float]:
    tp = sum(s > t for s in pos)
    fp = sum(s > t for s in neg)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / len(pos)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def report(name: str, pos: Sequence[float], neg: Sequence[float], pairs: tuple[Sequence, Sequence]) -> None:
    print(
        f"  {name}: same-task pairs ({len(pos)}) min {min(pos):.3f} median {statistics.median(pos):.3f} "
        f"max {max(pos):.3f}; different-task pairs ({len(neg)}) min {min(neg):.3f} "
        f"median {statistics.median(neg):.3f} max {max(neg):.3f}"
    )
    line = "  ".join(f"{t:.2f}: P {p:.2f} R {r:.2f} F1 {f:.2f}" for t in THRESHOLDS for p, r, f in [prf(pos, neg, t)])
    print(f"    score > t  {line}")
    best = max((prf(pos, neg, t / 100)[2], t / 100) for t in range(50, 100))
    print(f"    best F1 {best[0]:.2f} at t = {best[1]:.2f} (grid 0.50..0.99)")
    hard_neg = sorted(zip(neg, pairs[1], strict=True), reverse=True)[:5]
    hard_pos = sorted(zip(pos, pairs[0], strict=True))[:5]
    print("    highest different-task pairs: " + "; ".join(f"{s:.2f} {a!r}/{b!r}" for s, (a, b) in hard_neg))
    print("    lowest same-task pairs:       " + "; ".join(f"{s:.2f} {a!r}/{b!r}" for s, (a, b) in hard_pos))


def tree_level(embed: Callable[[Sequence[str]], np.ndarray], same: Sequence[tuple[str, str]], diff: Sequence) -> None:
    """Every distinct text against all the others that are not its paraphrase, as if proposed into a tree
    holding them: the share whose max cosine is above t would be pruned (or dropped) wrongly."""
    names = sorted({x for pair in [*same, *diff] for x in pair})
    root = {x: x for x in names}

    def find(x: str) -> str:
        while root[x] != x:
            x = root[x]
        return x

    for a, b in same:
        root[find(a)] = find(b)
    v = embed(names)
    sims = v @ v.T
    cls = np.array([find(x) for x in names])
    sims[cls[:, None] == cls[None, :]] = -1.0  # itself and its paraphrases
    best = sims.max(axis=1)
    line = "  ".join(f"{t:.2f}: {np.mean(best > t):.2f}" for t in THRESHOLDS)
    print(f"  against all {len(names)} others (tree-level false-prune share): {line}")


def main(embed: Callable[[Sequence[str]], np.ndarray] | None = None) -> None:
    if embed is None:
        from explore_instruct.tools.similarity.embeddings import make_embedder

        embed = make_embedder("local:all-minilm-l6-v2")
    for title, same, diff in [
        ("task names (pruning)", SAME_TASKS, DIFFERENT_TASKS),
        ("instructions (dedup)", SAME_INSTRUCTIONS, DIFFERENT_INSTRUCTIONS),
    ]:
        pos_cos, pos_rouge = scores(embed, same)
        neg_cos, neg_rouge = scores(embed, diff)
        print(f"hand-written pairs, {title}:")
        report("MiniLM cosine", pos_cos, neg_cos, (same, diff))
        report("ROUGE-L F    ", pos_rouge, neg_rouge, (same, diff))
        tree_level(embed, same, diff)


if __name__ == "__main__":
    main()
