"""Candidate answers (llmcli.tasks.answers): what each kind of question is offered."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmcli.tasks import answers, retrieval
from llmcli.tasks.answers import Kind

TEXT = (
    "Revenue rose 7 percent to £48.6 million, up from £45.4 million. "
    "Use only BrewMate Descaling Liquid (part number BM-DL200) and follow procedure LS-09. "
    "The serial number is printed on a label under the drip tray. "
    "The mercury kit is kept in room C104; call extension 220 for help. "
    "Spill kits are checked on the first Monday of every month by Dr Nadia Petrova."
)


def offered(question: str, text: str = TEXT) -> list[str]:
    kind = answers.question_kind(question)
    avoid = answers.question_words(question)
    return [text[s:e] for s, e, _ in answers.candidates(text, 0, len(text), kind, avoid)]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who is the director?", Kind.PERSON),
        ("Which officer signed it?", Kind.PERSON),
        ("When are the kits checked?", Kind.DATE),
        ("How many visits were there?", Kind.NUMBER),
        ("What was the revenue for the year?", Kind.NUMBER),
        ("Where is the serial number printed?", Kind.PLACE),
        ("Which company was bought?", Kind.NAME),
        ("What does the board recommend?", Kind.OTHER),
        ("3号线一期共设多少座车站？", Kind.NUMBER),
    ],
)
def test_question_kind(question: str, kind: Kind) -> None:
    assert answers.question_kind(question) is kind


def test_each_side_of_a_range_is_a_candidate() -> None:
    found = offered("What was the revenue for the year?")
    assert "£48.6 million" in found and "7 percent" in found and "£45.4 million" in found


def test_identifiers_for_questions_about_codes() -> None:
    assert "BM-DL200" in offered("What is the part number of the descaling liquid?")
    assert "LS-09" in offered("Which procedure covers chemical spills?")
    assert "extension 220" in offered("What is the extension for help?")
    # Without a code word in the question, a name question is offered no identifiers.
    assert "BM-DL200" not in offered("Which company makes the liquid?")


def test_place_phrases_for_where_questions() -> None:
    found = offered("Where is the serial number printed?")
    assert "under the drip tray" in found
    assert "in room C104" in offered("Where is the mercury kit kept?")
    # A place phrase never runs past the end of its sentence.
    phrases = [TEXT[s:e] for s, e in answers._place_phrases(TEXT, 0, len(TEXT))]
    assert "under the drip tray" in phrases and all(". " not in p for p in phrases)


def test_recurring_dates() -> None:
    assert "the first Monday of every month" in offered("When are the spill kits checked?")


def test_a_person_is_no_amount() -> None:
    found = offered("Who checks the spill kits?")
    assert "Dr Nadia Petrova" in found and "Nadia Petrova" in found
    assert not any(c.isdigit() for f in found for c in f)


@given(st.text(max_size=200), st.sampled_from(["Who?", "Where is it?", "When?", "How many?"]))
def test_candidates_are_spans_of_the_text(text: str, question: str) -> None:
    kind = answers.question_kind(question)
    for s, e, _ in answers.candidates(text, 0, len(text), kind, set()):
        assert 0 <= s < e <= len(text) and text[s:e].strip() == text[s:e]


def test_cjk_text_leans_on_word_overlap() -> None:
    assert (
        retrieval.lexical_weight("开通首日，3号线客流达到12.3万人次。")
        == retrieval.CJK_LEXICAL_WEIGHT
    )
    assert retrieval.lexical_weight(TEXT) == retrieval.LEXICAL_WEIGHT
    assert retrieval.lexical_weight("") == retrieval.LEXICAL_WEIGHT


def test_clock_times_and_no_dates_as_places() -> None:
    text = "The bus leaves from the main gate on Friday, 14 June, at eight o'clock."
    assert "eight o'clock" in offered("What time does the bus leave?", text)
    places = offered("Where does the bus leave from?", text)
    assert "from the main gate" in places
    assert not any(p.startswith("on Friday") for p in places)
