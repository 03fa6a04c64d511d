"""Synthetic but realistic instructions with known near-duplicate ground truth, for the dedup benchmark.

    from synth import generate
    rows = generate(5000, seed=0, dup_rate=0.15)   # [{"text", "dup_of", "group", "op", "template"}, ...]

Originals come from templates (rewriting, brainstorming, math word problems, summarising, creative and
business writing, explanation, editing, planning, classification, advice) filled from vocabulary lists,
with an optional constraint ("in under 80 words", "using bullet points"). Each group (a pseudo node id)
is one task: a domain and a handful of that domain's templates, so items within a node are topically
close, as in a real exploration tree.

A share `dup_rate` of the rows are near-duplicates of an earlier original of the same group, made by one
or two paraphrase operations (synonym swaps, moving the constraint to the front, added politeness,
punctuation/case change, one-word insertion or deletion); a share `exact_rate` are verbatim copies.
`dup_of` is the index of the original (None for originals), `op` names the operations. Originals are
unique after normalisation, but two originals may still be close (same template, one slot apart): those
are not marked, and they are what a dedup's false positives are made of. Deterministic for a seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

# ---- vocabulary -------------------------------------------------------------------------------------


def _words(block: str) -> list[str]:
    return [w.strip() for w in block.replace("\n", " ").split("|")]


TOPICS = _words("""climate change|remote work|the history of jazz|urban gardening|electric cars|the water cycle|
volcanoes|the French Revolution|honeybees|personal finance|sleep hygiene|the stock market|social media
addiction|recycling plastics|space exploration|the Roman Empire|healthy breakfasts|marathon training|
learning a second language|coral reefs|artificial lighting in offices|public libraries|street food in
Bangkok|the invention of the printing press|minimalist living|renewable energy|first aid basics|
photosynthesis|the Great Depression|antibiotic resistance|desert ecosystems|chess openings|
video game design|sourdough baking|the human immune system|time management|online privacy|
ancient Egyptian medicine|wind turbines|the Olympic Games|composting at home|black holes|
the Silk Road|bird migration|cybersecurity for small businesses|fast fashion|meditation|
public transport in cities|the life of Marie Curie|volunteering|mountain hiking safety|
the Industrial Revolution|food waste|smartphone photography|rainforest conservation|
the printing of banknotes|tea ceremonies in Japan|job interviews|the moon landing|
cloud computing|dinosaurs|inflation|board games|vaccines|the Amazon river|solar panels|
hybrid cars|wildfire prevention|the Renaissance|household budgeting|pet adoption|
microplastics|the Northern Lights|earthquakes|classical music|home insulation|
urban cycling|deep sea creatures|the Cold War|sustainable farming|podcasting|
the circulatory system|tidal energy|local elections|ocean tides|the Beatles|
nutrition labels|ancient Greek theatre|the metric system|cryptocurrency|coffee farming|
the polar ice caps|bee pollination|the gig economy|children's literature|
museum curation|supply chains|glaciers|handwriting|vertical farming""")

AUDIENCES = _words("""a ten-year-old|first-year university students|busy parents|retired engineers|small business
owners|non-native English speakers|high school teachers|new employees|a hiring manager|tourists visiting
for the first time|software testers|nurses on night shifts|a local newspaper|teenagers|a skeptical
investor|senior citizens|a book club|volunteers at a food bank|a city council|amateur astronomers|
people who have never cooked|a sports team|graduate students|online shoppers|a customer support team|
farmers|museum visitors|beginners|experts in the field|a general audience""")

DOCS = _words("""email|paragraph|cover letter|product description|press release|blog post|meeting summary|
text message|restaurant review|job advertisement|apology letter|news headline|speech introduction|
instruction manual section|social media post|complaint letter|thank-you note|newsletter intro|
school report|book blurb""")

TONES = _words("""formal|friendly|persuasive|polite|confident|concise|enthusiastic|neutral|humorous|professional|
empathetic|optimistic|respectful|casual|urgent""")

FORMATS = _words("""a bulleted list|a short table|a numbered checklist|a single tweet|a haiku|a FAQ section|
a two-line slogan|a one-paragraph abstract|a step-by-step guide|a dialogue""")

EVENTS = _words("""a company picnic|a child's birthday party|a charity fundraiser|a team-building day|a wedding
reception|a science fair|a retirement party|a neighbourhood festival|a book launch|a graduation
ceremony|a virtual conference|a holiday office party|a family reunion|a school reunion|a product
launch""")

BUSINESSES = _words("""a bakery|a bike repair shop|a vegan restaurant|a dog grooming service|a bookshop|a yoga
studio|a coffee truck|a tutoring agency|a flower shop|a podcast about history|a board game cafe|
a cleaning company|a language school|a craft brewery|a second-hand clothing store""")

GOALS = _words("""save money on groceries|sleep better|learn to play the guitar|reduce stress at work|get fit
without a gym|make new friends in a new city|read more books|waste less food|learn to code|improve public
speaking|eat more vegetables|keep houseplants alive|study for exams|spend less time on the phone|
prepare for a marathon|grow tomatoes on a balcony|write a novel|reduce the electricity bill|
organise a small kitchen|stay motivated while working from home""")

CONTEXTS = _words("""on a tight budget|in a small apartment|during the winter|with young children|in under an hour
a day|while travelling|as a beginner|in a rural area|for a group of ten people|without special
equipment|during exam season|after moving abroad""")

PEOPLE = _words("""a grandmother|a teenage nephew|a new colleague|a best friend|a teacher|a neighbour|a
father-in-law|a coworker who is leaving|a ten-year-old niece|a university roommate""")

HOBBIES = _words("""gardening|hiking|baking|astronomy|photography|jazz|knitting|board games|cycling|painting|
fishing|science fiction|camping|origami|birdwatching""")

FORMS = _words("""poem|limerick|short story|song chorus|fable|diary entry|sonnet|bedtime story|monologue|
letter from the future""")

STYLES = _words("""Shakespeare|a sports commentator|a noir detective|a children's picture book|a nature
documentary narrator|a pirate|a medieval chronicle|a weather forecast|a cooking show host|a
tabloid newspaper""")

CHARACTERS = _words("""a retired astronaut|a shy robot|a talking cat|a lighthouse keeper|a young inventor|
a lost tourist|an old fisherman|a time traveller|a village baker|a detective with no memory""")

PLOTS = _words("""finds a mysterious map|has to fix a broken bridge before sunset|meets their future self|
wins a cooking contest by accident|loses their voice on the day of a big speech|discovers a hidden
garden|must return a lost wallet|gets stuck in an elevator with a celebrity|learns to swim at
seventy|opens a shop on the moon""")

RECIPIENTS = _words("""a landlord|a professor|a client|the HR department|a supplier|a team manager|a
conference organiser|a potential mentor|a former colleague|the school principal""")

PURPOSES = _words("""asking for a deadline extension|requesting a refund for a late delivery|declining a
meeting invitation|following up after a job interview|reporting a broken heater|proposing a new project
timeline|asking for feedback on a draft|introducing a new team member|rescheduling a dentist
appointment|thanking them for their support""")

COMPLAINTS = _words("""received a damaged package|was charged twice|waited an hour on the phone|got the wrong
size|could not log in to their account|found a hair in their soup|missed a flight because of a
delay|was sent an invoice by mistake""")

JOBS = _words("""data analyst|nurse|marketing assistant|primary school teacher|graphic designer|warehouse
supervisor|barista|project manager|civil engineer|receptionist""")

CONCEPTS = _words("""compound interest|inflation|photosynthesis|gravity|supply and demand|natural selection|
the greenhouse effect|probability|democracy|opportunity cost|plate tectonics|the placebo effect|
machine learning|vaccination|electric circuits""")

PAIRS = _words("""a virus and a bacterium|weather and climate|a crocodile and an alligator|stocks and bonds|
speed and velocity|an essay and a report|a simile and a metaphor|a credit card and a debit card|
baking soda and baking powder|a lake and a pond|empathy and sympathy|a hurricane and a tornado""")

LANGUAGES = _words("Spanish|French|German|Italian|Portuguese|Japanese|Dutch|Swedish")

CITIES = _words("""Lisbon|Kyoto|Edinburgh|Mexico City|Cape Town|Vienna|Hanoi|Montreal|Istanbul|Reykjavik|
Buenos Aires|Marrakech""")

PRODUCTS = _words("""wireless headphones|a robot vacuum|a budget hotel|a science fiction novel|a pizza
delivery app|a pair of running shoes|a coffee grinder|an online course|a family car|a smartwatch""")

ISSUES = _words("""passive voice|repeated words|unclear pronouns|overly long sentences|inconsistent tenses|
jargon|missing commas""")

NAMES = _words("""Maria|Tom|Aisha|Kenji|Lucas|Priya|Olga|Sam|Fatima|Diego|Chen|Emma|Noah|Zara|Ivan""")

ITEMS = _words("""apples|notebooks|concert tickets|cupcakes|pencils|bus passes|plant pots|bottles of juice|
movie tickets|tennis balls""")

SHAPES = _words("rectangle|triangle|square|trapezoid")


def _pick(values: list[str]) -> Callable[[random.Random], str]:
    return lambda r: r.choice(values)


SLOTS: dict[str, Callable[[random.Random], str]] = {
    name: _pick(vals)
    for name, vals in {
        "topic": TOPICS,
        "audience": AUDIENCES,
        "doc": DOCS,
        "tone": TONES,
        "format": FORMATS,
        "event": EVENTS,
        "business": BUSINESSES,
        "goal": GOALS,
        "context": CONTEXTS,
        "person": PEOPLE,
        "hobby": HOBBIES,
        "form": FORMS,
        "style": STYLES,
        "character": CHARACTERS,
        "plot": PLOTS,
        "recipient": RECIPIENTS,
        "purpose": PURPOSES,
        "complaint": COMPLAINTS,
        "job": JOBS,
        "concept": CONCEPTS,
        "pair": PAIRS,
        "language": LANGUAGES,
        "city": CITIES,
        "product": PRODUCTS,
        "issue": ISSUES,
        "name": NAMES,
        "item": ITEMS,
        "shape": SHAPES,
    }.items()
}
SLOTS.update(
    {
        "num": lambda r: r.choice(["three", "five", "seven", "ten", "a dozen", "4", "6", "8", "12", "15"]),
        "a": lambda r: str(r.randint(2, 99)),
        "b": lambda r: str(r.randint(2, 99)),
        "c": lambda r: str(r.randint(100, 999)),
        "pct": lambda r: str(r.choice([5, 10, 12, 15, 20, 25, 30, 35, 40, 45, 60, 75, 80])),
        "price": lambda r: f"{r.randint(1, 40)}.{r.choice(['00', '25', '50', '75', '99'])}",
        "words": lambda r: str(r.choice([50, 80, 100, 120, 150, 200, 250, 300])),
        "k": lambda r: str(r.randint(3, 8)),
        "days": lambda r: r.choice(["three-day", "one-week", "two-week", "weekend", "five-day", "month-long"]),
    }
)

CONSTRAINTS = [
    "in under {words} words",
    "using bullet points",
    "in a {tone} tone",
    "in no more than {k} sentences",
    "without using technical jargon",
    "and explain your reasoning",
    "in plain English",
    "with one concrete example",
    "and keep it under {words} words",
    "using simple vocabulary",
]

ROLES = _words("""nurse|teacher|student|small business owner|retired engineer|volunteer coordinator|freelance
designer|parent of two|software tester|librarian|chef|bus driver|graduate student|startup founder|marketing
intern|museum guide|pharmacist|football coach|journalist|receptionist""")
SITUATIONS = _words("""I have very little time this week|my manager asked me for this|this is for a workshop next
Friday|I want to share it with my team|English is my second language|I am new to this topic|it is for a
community newsletter|I need it by tomorrow morning|my last attempt was too long|I will read it out loud|
it goes on our website|my students found the last version boring|I am preparing for an interview|
it is for a charity event|I want to print it on one page|my readers are mostly beginners""")
DETAILS = [
    "Assume the reader is {audience}.",
    "Include a title.",
    "End with a question for the reader.",
    "Avoid cliches.",
    "Use British spelling.",
    "Keep it suitable for {audience}.",
    "Add a short conclusion.",
    "Mention {city} if it fits.",
    "Do not use exclamation marks.",
    "Start with a surprising fact.",
]
MATH_CONSTRAINTS = ["and explain your reasoning", "and show each step", "without a calculator", "in one sentence"]

# domain -> templates; a template is (main text, whether a constraint may follow)
DOMAINS: dict[str, list[tuple[str, bool]]] = {
    "rewriting": [
        ("Rewrite the following {doc} so that it sounds more {tone}", True),
        ("Rewrite this {doc} about {topic} for {audience}", True),
        ("Turn the {doc} below into {format} for {audience}", False),
        ("Make this {doc} about {topic} more {tone} without changing its meaning", False),
        ("Simplify the language of the {doc} below so that {audience} can follow it", False),
        ("Paraphrase the opening sentence of this {doc} about {topic}", True),
    ],
    "brainstorming": [
        ("Brainstorm {num} ideas for {event} {context}", True),
        ("Suggest {num} creative names for {business} that {audience} would like", False),
        ("List {num} ways to {goal} {context}", True),
        ("Come up with {num} themes for {event} that {audience} would enjoy", False),
        ("Give me {num} gift ideas for {person} who loves {hobby}", True),
        ("Propose {num} slogans for {business} that mention {topic}", False),
    ],
    "math": [
        ("Solve for x: {a}x + {b} = {c}", True),
        ("A shop sells {item} for ${price} each. How much do {a} {item} cost in total?", False),
        ("{name} has {c} {item} and gives away {b}. How many {item} are left?", True),
        ("What is {pct}% of {c}?", True),
        ("Find the area of a {shape} with sides of {a} cm and {b} cm", True),
        ("A train travels {c} km in {k} hours. What is its average speed?", True),
        ("{name} saves ${a} every week. How many weeks until {name} has ${c}?", False),
        ("If {pct}% of {c} students passed the test, how many students failed?", True),
    ],
    "summarising": [
        ("Summarise the following article about {topic} in {k} sentences", False),
        ("Write a one-paragraph summary of the report below on {topic} for {audience}", False),
        ("Extract the {k} key points from this {doc} on {topic}", True),
        ("Give a short overview of {topic} for {audience}", True),
        ("Condense this lecture transcript about {topic} into {format}", False),
    ],
    "creative": [
        ("Write a {form} about {topic} in the style of {style}", True),
        ("Compose a {form} for {audience} that mentions {topic}", True),
        ("Write a short story in which {character} {plot}", True),
        ("Describe {city} at dawn from the point of view of {character}", True),
        ("Write a {form} in which {character} explains {concept}", False),
    ],
    "business": [
        ("Draft an email to {recipient} {purpose}", True),
        ("Write a {tone} reply to a customer who {complaint}", True),
        ("Write a cover letter for a {job} position at {business}", True),
        ("Prepare a short announcement for {audience} about {topic}", True),
        ("Write a job advertisement for a {job} at {business}", True),
    ],
    "explaining": [
        ("Explain {concept} to {audience} using an analogy about {hobby}", True),
        ("What are the main differences between {pair}?", True),
        ("Describe how {concept} affects everyday life", True),
        ("Explain why {topic} matters to {audience}", True),
        ("Give {num} common misconceptions about {concept} and correct them", False),
    ],
    "editing": [
        ("Correct the grammar and spelling mistakes in the following {doc}", False),
        ("Proofread this {doc} and point out any {issue}", False),
        ("Edit the {doc} below to remove {issue}", True),
        ("Shorten this {doc} about {topic} to {words} words", False),
        ("Check the following {doc} for {issue} and suggest fixes", True),
    ],
    "planning": [
        ("Create a {days} plan for someone who wants to {goal}", True),
        ("Plan a {days} trip to {city} for {audience}", True),
        ("Draw up a weekly schedule to help {audience} {goal}", True),
        ("Outline a {days} workshop on {topic} for {audience}", True),
        ("Prepare a packing list for a {days} trip to {city} {context}", False),
    ],
    "classifying": [
        ("Classify the sentiment of this review of {product} as positive, negative or neutral", False),
        ("Identify the main argument in the following opinion piece about {topic}", True),
        ("Decide whether this {doc} is written for {audience} or for experts", True),
        ("Sort these customer comments about {product} into praise, complaints and questions", False),
        ("Tag the following {doc} with the most relevant topic from a list that includes {topic}", False),
    ],
    "advice": [
        ("What are some tips to {goal} {context}?", True),
        ("How can I {goal} if I have very little free time?", True),
        ("Recommend {num} books about {topic} for {audience}", True),
        ("What should {audience} know before starting to learn about {topic}?", True),
        ("Translate this {doc} into {language} and keep the {tone} tone", False),
        ("Suggest a weekend itinerary in {city} for someone who loves {hobby}", True),
    ],
}

# ---- paraphrase operations ---------------------------------------------------------------------------

SYNONYMS: dict[str, list[str]] = {
    "write": ["compose", "draft", "produce"],
    "rewrite": ["rephrase", "reword", "redo"],
    "create": ["make", "design", "build"],
    "make": ["render", "get"],
    "give": ["provide", "offer", "share"],
    "list": ["name", "enumerate"],
    "suggest": ["recommend", "propose"],
    "explain": ["describe", "clarify"],
    "describe": ["portray", "depict"],
    "summarise": ["summarize", "sum up"],
    "short": ["brief", "quick"],
    "ideas": ["suggestions", "options"],
    "ways": ["methods", "approaches"],
    "tips": ["suggestions", "pointers"],
    "main": ["key", "principal"],
    "following": ["below", "next"],
    "below": ["that follows", "given here"],
    "find": ["work out", "calculate"],
    "total": ["all"],
    "mistakes": ["errors"],
    "check": ["review", "inspect"],
    "simplify": ["clarify", "make simpler"],
    "plan": ["itinerary", "programme"],
    "creative": ["original", "inventive"],
    "common": ["frequent", "typical"],
    "someone": ["somebody", "a person"],
    "help": ["assist", "support"],
    "key": ["main", "important"],
    "correct": ["fix"],
    "brainstorm": ["think of", "generate"],
    "compose": ["write", "craft"],
    "prepare": ["put together", "create"],
    "draft": ["write", "prepare"],
    "story": ["tale"],
    "identify": ["find", "pinpoint"],
    "recommend": ["suggest"],
    "outline": ["sketch", "lay out"],
    "condense": ["compress", "shorten"],
    "shorten": ["trim", "cut"],
}
POLITE_PREFIX = ["Please ", "Could you please ", "Can you ", "I'd like you to ", "Kindly ", "Would you "]
POLITE_SUFFIX = [" Thanks!", " Thank you.", " Thanks in advance.", ", please."]
INSERT_WORDS = ["also", "really", "quickly", "carefully", "simple", "short", "new", "just", "clear", "good"]
DROPPABLE = {"the", "a", "an", "this", "that", "some", "any", "short", "main", "very", "following", "below"}

WORD = re.compile(r"[A-Za-z']+")


def _synonym(text: str, r: random.Random) -> str | None:
    spots = [m for m in WORD.finditer(text) if m.group(0).lower() in SYNONYMS]
    if not spots:
        return None
    out = text
    for m in sorted(r.sample(spots, min(len(spots), r.choice([1, 1, 2]))), key=lambda m: -m.start()):
        word = m.group(0)
        rep = r.choice(SYNONYMS[word.lower()])
        if word[0].isupper():
            rep = rep[0].upper() + rep[1:]
        out = out[: m.start()] + rep + out[m.end() :]
    return out


def _reorder(parts: dict[str, str], r: random.Random) -> str | None:
    """Constraint first ("In under 80 words, write ..."), or a trailing clause moved to the front."""
    main, constraint, end = parts["main"], parts["constraint"], parts["end"]
    if constraint and end == ".":
        c = constraint.strip()
        return f"{c[0].upper()}{c[1:]}, {main[0].lower()}{main[1:]}."
    m = re.search(r" (for|in|during|while|without) ([^,.?]+)$", main)
    if m and end == "." and not main.startswith("What"):
        head = main[: m.start()]
        return f"{m.group(1).capitalize()} {m.group(2)}, {head[0].lower()}{head[1:]}{constraint}."
    return None


def _polite(text: str, r: random.Random) -> str | None:
    if text.startswith(("What", "How", "If", "A ")) or text[0].isdigit():
        return text + r.choice([" Thanks!", " Thank you."])
    if r.random() < 0.6:
        pre = r.choice(POLITE_PREFIX)
        body = text[0].lower() + text[1:]
        if pre.startswith(("Could", "Can", "Would")):
            body = body.rstrip(".!") + "?"
        return pre + body
    suffix = r.choice(POLITE_SUFFIX)
    return text.rstrip(".") + suffix if suffix.startswith(",") else text + suffix


def _punct_case(text: str, r: random.Random) -> str | None:
    choice = r.randrange(4)
    if choice == 0:
        return text.lower()
    if choice == 1:
        return text.rstrip(".?!")
    if choice == 2:
        return text[:-1] + "!" if text.endswith(".") else text + "?"
    return " ".join(w.capitalize() if len(w) > 3 else w for w in text.split(" "))


def _insert(text: str, r: random.Random) -> str | None:
    words = text.split(" ")
    if len(words) < 3:
        return None
    i = r.randrange(1, len(words))
    return " ".join([*words[:i], r.choice(INSERT_WORDS), *words[i:]])


def _delete(text: str, r: random.Random) -> str | None:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if i > 0 and w.lower() in DROPPABLE]
    if not spots:  # any other word, but not a number, a symbol or the end of the sentence
        spots = [i for i in range(1, len(words) - 2) if re.fullmatch(r"[A-Za-z'-]+", words[i])]
    if len(words) < 4 or not spots:
        return None
    i = r.choice(spots)
    return " ".join(words[:i] + words[i + 1 :])


OPS: dict[str, Callable[[str, random.Random], str | None]] = {
    "synonym": _synonym,
    "polite": _polite,
    "insert": _insert,
    "delete": _delete,
}
OP_NAMES = ["synonym", "reorder", "polite", "punct_case", "insert", "delete"]


def _fill(template: str, r: random.Random) -> str:
    values: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            values[key] = SLOTS[key](r)
        return values[key]

    return re.sub(r"\{(\w+)\}", sub, template)


def _an(text: str) -> str:
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])(?!one|uni|use|euro)", r"\1n ", text)


def _original(domain: str, templates: list[tuple[str, bool]], r: random.Random) -> tuple[dict[str, str], str]:
    """Parts of one instruction: [lead] main [constraint] end [detail]; lead and detail are optional sentences."""
    t = r.randrange(len(templates))
    text, constrainable = templates[t]
    main = _an(_fill(text, r))
    main = main[0].upper() + main[1:]
    constraint = ""
    end = "" if main.endswith("?") else "."
    if constrainable and r.random() < 0.5:
        constraint = _an(" " + _fill(r.choice(MATH_CONSTRAINTS if domain == "math" else CONSTRAINTS), r))
        if end == "":  # a question: the constraint goes before the question mark
            main, end = main[:-1], "?"
    lead = detail = ""
    if r.random() < 0.4:
        situation = r.choice(SITUATIONS)
        if r.random() < 0.5:
            lead = _an(f"I am a {r.choice(ROLES)} and {situation}. ")
        else:
            lead = f"{situation[0].upper()}{situation[1:]}. "
    if domain != "math" and r.random() < 0.3:
        detail = " " + _an(_fill(r.choice(DETAILS), r))
    parts = {"lead": lead, "main": main, "constraint": constraint, "end": end, "detail": detail}
    return parts, f"{domain}/{t}"


def _core(parts: dict[str, str]) -> str:
    return parts["main"] + parts["constraint"] + parts["end"]


def _render(parts: dict[str, str]) -> str:
    return parts["lead"] + _core(parts) + parts["detail"]


def _paraphrase(parts: dict[str, str], r: random.Random) -> tuple[str, str]:
    """One or two operations, distinct, that each changed the text.

    They work on the instruction proper (without the lead and detail sentences), except the
    punctuation/case change, which applies to the whole text last.
    """
    want = 1 if r.random() < 0.6 else 2
    names = OP_NAMES[:]
    r.shuffle(names)
    core, done = _core(parts), []
    for name in names:
        if len(done) == want:
            break
        if name == "reorder" and done:
            continue  # reorder works on the parts; it goes first or not at all
        if name == "punct_case":
            done.append(name)
            continue
        new = _reorder(parts, r) if name == "reorder" else OPS[name](core, r)
        if new and new != core:
            core, done = new, [*done, name]
    text = parts["lead"] + core + parts["detail"]
    if "punct_case" in done:
        text = _punct_case(text, r) or text
    return text, "+".join(done)


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def generate(
    n: int, seed: int = 0, dup_rate: float = 0.15, exact_rate: float = 0.02, groups: int = 50
) -> list[dict[str, Any]]:
    """n rows {text, dup_of, group, op, template}; dup_of is the index of an earlier original or None."""
    r = random.Random(seed)
    domains = list(DOMAINS)
    # a group is one task: a domain and 2-4 of its templates
    tasks = []
    for g in range(groups):
        domain = domains[g % len(domains)]
        templates = DOMAINS[domain]
        tasks.append((f"node-{g:03d}", domain, r.sample(templates, r.randint(2, min(4, len(templates))))))
    rows: list[dict[str, Any]] = []
    originals: dict[str, list[int]] = {}  # group -> indices of its originals
    parts_of: dict[int, dict[str, str]] = {}
    seen: set[str] = set()
    while len(rows) < n:
        roll = r.random()
        g = r.randrange(groups)
        gid, domain, templates = tasks[g]
        pool = originals.get(gid, [])
        if pool and roll < exact_rate + dup_rate:
            src = r.choice(pool[-200:])  # near-duplicates come back while the node is still being worked on
            if roll < exact_rate:
                rows.append({"text": rows[src]["text"], "dup_of": src, "group": gid, "op": "exact", "template": ""})
            else:
                text, op = _paraphrase(parts_of[src], r)
                rows.append({"text": text, "dup_of": src, "group": gid, "op": op, "template": rows[src]["template"]})
            continue
        for _ in range(50):
            parts, template = _original(domain, templates, r)
            text = _render(parts)
            if normalise(text) not in seen:
                break
        else:
            continue
        seen.add(normalise(text))
        idx = len(rows)
        parts_of[idx] = parts
        originals.setdefault(gid, []).append(idx)
        rows.append({"text": text, "dup_of": None, "group": gid, "op": "original", "template": template})
    return rows


if __name__ == "__main__":
    import sys
    from collections import Counter

    rows = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 40, seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    for i, row in enumerate(rows[:40]):
        src = f" <- {row['dup_of']} [{row['op']}]" if row["dup_of"] is not None else ""
        print(f"{i:4d} {row['group']} {row['text']}{src}")
    print(Counter(r["op"].split("+")[0] if r["dup_of"] is not None else "original" for r in rows))
