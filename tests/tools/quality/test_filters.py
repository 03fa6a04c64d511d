from __future__ import annotations

import pytest

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.quality.filters import MAX_WORDS, MIN_WORDS, Verdict, check, normalise
from explore_instruct.tools.tree.model import Example

OK_INSTRUCTION = "Rewrite this sentence in a friendlier tone."


def ex(instruction: str = OK_INSTRUCTION, input: str = "", output: str = "Sure, here it is.") -> Example:
    return Example(instruction=instruction, input=input, output=output)


def rule(example: Example, flavour: Flavour = Flavour.GENERIC) -> str | None:
    return check(example, flavour).rule


def test_a_good_example_is_kept() -> None:
    verdict = check(ex(input="Send me the report now."))
    assert verdict.kept and verdict.rule is None
    assert verdict.example == ex(input="Send me the report now.")


def test_verdict_kept_property() -> None:
    assert Verdict(None, "x").kept is False
    assert Verdict(ex()).kept is True


# ---- empties and length ---------------------------------------------------------------------------


def test_empty_instruction_and_output() -> None:
    assert rule(ex(instruction="   \n ")) == "empty_instruction"
    assert rule(ex(output="  ")) == "empty_output"


def test_instruction_length_bounds() -> None:
    assert (MIN_WORDS, MAX_WORDS) == (3, 150)
    assert rule(ex(instruction="Summarise this.")) == "instruction_length"  # 2 words
    assert check(ex(instruction="Summarise this.")).detail.startswith("2 words")
    assert rule(ex(instruction="Summarise this paragraph.")) is None  # 3 words
    assert rule(ex(instruction=" ".join(["word"] * 150))) is None
    long = " ".join(["word"] * 151)
    assert rule(ex(instruction=long)) == "instruction_length"
    assert "151 words" in check(ex(instruction=long)).detail


def test_instruction_length_counts_words_after_whitespace_normalisation() -> None:
    assert rule(ex(instruction="  Summarise \n\n this   paragraph  ")) is None
    assert check(ex(instruction="  Summarise \n\n this   paragraph  ")).example.instruction == (  # type: ignore[union-attr]
        "Summarise this paragraph"
    )


def test_instruction_length_not_applied_for_math() -> None:
    short = ex(instruction="Solve $x^2=4$.", output="x = \\pm 2, so \\boxed{\\pm 2}")
    assert rule(short, Flavour.MATH) is None
    long = ex(instruction=" ".join(["term"] * 151), output="\\boxed{1}")
    assert rule(long, Flavour.MATH) is None
    assert rule(short, Flavour.GENERIC) == "instruction_length"


# ---- blacklist ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "word"),
    [
        ("Describe the image in a few words.", "image"),
        ("Describe the IMAGES of this gallery.", "images"),
        ("Draw a cat wearing a hat.", "draw"),
        ("Please go to the store and buy milk.", "go to"),
        ("Open the attached file and fix it.", "file"),
        ("List the files in this folder please.", "files"),
        ("Make a flowchart of the hiring process.", "flowchart"),
        ("Compose music for a rainy day.", "music"),
        ("Summarise this video about cooking.", "video"),
    ],
)
def test_blacklist(instruction: str, word: str) -> None:
    verdict = check(ex(instruction=instruction))
    assert verdict.rule == "blacklist"
    assert verdict.detail == word


@pytest.mark.parametrize(
    "instruction",
    [
        "Summarise the complaint filed by the tenant.",  # "filed" is not "file"
        "Explain what a profile summary should contain.",  # "profile"
        "Suggest a good algorithm for sorting names.",
        "Describe how imagery works in poetry.",  # "imagery" is not "image"
        "Tell me where to go tomorrow for lunch.",  # "go" without "to" right after
        "Explain the withdrawal policy in plain words.",  # "draw" inside a word
    ],
)
def test_blacklist_matches_whole_words_only(instruction: str) -> None:
    assert rule(ex(instruction=instruction)) is None


def test_blacklist_looks_at_the_instruction_only() -> None:
    assert rule(ex(input="See the image below.", output="An image of a file.")) is None


@pytest.mark.parametrize("word", ["map", "maps", "graph", "graphs"])
def test_rewriting_bans_map_and_graph(word: str) -> None:
    example = ex(instruction=f"Rewrite the caption of this {word} more clearly.")
    assert check(example, Flavour.REWRITING).rule == "blacklist"
    assert check(example, Flavour.REWRITING).detail == word
    assert check(example, Flavour.GENERIC).rule is None


def test_brainstorming_bans_graph_but_not_map() -> None:
    assert rule(ex(instruction="Brainstorm ideas for a graph of sales."), Flavour.BRAINSTORMING) == "blacklist"
    assert rule(ex(instruction="Brainstorm ideas to map out a trip."), Flavour.BRAINSTORMING) is None


# ---- shape of the instruction ---------------------------------------------------------------------


def test_write_a_program() -> None:
    assert rule(ex(instruction="Write a program that sorts a list.")) == "write_a_program"
    assert rule(ex(instruction="write  A   Program to add two numbers")) == "write_a_program"
    assert rule(ex(instruction="Write a poem about programs and their bugs.")) is None


def test_non_ascii_start() -> None:
    verdict = check(ex(instruction="¿Cómo se dice hello en inglés?"))
    assert verdict.rule == "non_ascii_start"
    assert rule(ex(instruction="“Quote” this sentence in a formal way.")) == "non_ascii_start"
    assert rule(ex(instruction="Résumé tips: list five of them.")) is None  # 'R' is ASCII


@pytest.mark.parametrize("start", ["-", "*", "#", "1)", ".", ":", "("])
def test_punctuation_start(start: str) -> None:
    instruction = f"{start} List three fruits that are red."
    if start == "1)":
        assert rule(ex(instruction=instruction)) is None  # a digit is alphanumeric
    else:
        assert rule(ex(instruction=instruction)) == "punctuation_start"


@pytest.mark.parametrize("start", ['"', "'", "`", "$", "\\"])
def test_allowed_leading_symbols(start: str) -> None:
    assert rule(ex(instruction=f"{start}x{start} appears in this line, explain it.")) is None


# ---- input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("placeholder", ["<insert text>", "(your text)", "  <paste the email here>  ", "(insert here)"])
def test_placeholder_input(placeholder: str) -> None:
    verdict = check(ex(input=placeholder))
    assert verdict.rule == "placeholder_input"


@pytest.mark.parametrize(
    "real_input",
    [
        "<p>Hello <b>world</b></p>",  # markup is material, not a placeholder
        "(555) 123-4567 is my number (call after 5)",
        "Dear <name>, thanks for your order.",
        "Text with (a parenthesis) inside.",
    ],
)
def test_real_input_is_not_a_placeholder(real_input: str) -> None:
    assert rule(ex(input=real_input)) is None


@pytest.mark.parametrize("empty", ["<noinput>", "<No Input>", " < noinput > ", "N/A", "none", "(empty)", "Empty."])
def test_no_input_markers_become_empty_and_are_kept(empty: str) -> None:
    verdict = check(ex(input=empty))
    assert verdict.kept
    assert verdict.example is not None and verdict.example.input == ""


def test_normalise_strips_and_keeps_extra_keys() -> None:
    example = Example(instruction=" a  b\tc ", input="  x  ", output=" y ", source="seed")  # type: ignore[call-arg]
    out = normalise(example, Flavour.GENERIC)
    assert (out.instruction, out.input, out.output) == ("a b c", "x", "y")
    assert out.model_extra == {"source": "seed"}
    assert example.instruction == " a  b\tc "  # the original is untouched


# ---- math -----------------------------------------------------------------------------------------


MATH_Q = "What is six times seven?"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("6 times 7 is 42.\nAnswer: 42", "6 times 7 is 42.\nAnswer: \\boxed{42}"),
        ("Multiply. The answer is $42$.", "Multiply. The answer is \\boxed{42}"),
        ("So the final answer is 42", "So the final answer is \\boxed{42}"),
        # Only the last "answer" counts: earlier prose must not end up inside the box.
        (
            "The answer is found by multiplying. 6*7=42. Answer: 42",
            "The answer is found by multiplying. 6*7=42. Answer: \\boxed{42}",
        ),
    ],
)
def test_math_boxes_the_stated_answer(output: str, expected: str) -> None:
    verdict = check(ex(instruction=MATH_Q, output=output), Flavour.MATH)
    assert verdict.kept
    assert verdict.example is not None and verdict.example.output == expected


def test_math_keeps_an_existing_box() -> None:
    output = "6*7 = \\boxed{42}. Answer: 42"
    verdict = check(ex(instruction=MATH_Q, output=output), Flavour.MATH)
    assert verdict.example is not None and verdict.example.output == output


def test_math_without_an_answer_is_dropped() -> None:
    assert rule(ex(instruction=MATH_Q, output="It is forty-two."), Flavour.MATH) == "no_boxed_answer"
    assert rule(ex(instruction=MATH_Q, output="Answer: "), Flavour.MATH) == "no_boxed_answer"


def test_boxing_is_math_only() -> None:
    verdict = check(ex(instruction=MATH_Q, output="Answer: 42"), Flavour.GENERIC)
    assert verdict.example is not None and verdict.example.output == "Answer: 42"
