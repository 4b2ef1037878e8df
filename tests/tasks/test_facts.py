"""Numbers and names a written sentence claims, checked word for word against the source."""

from __future__ import annotations

import pytest

from llmcli.tasks import facts

SOURCE = (
    "The new library on Kings Road cost 6.2 million euros. It opened in March 2021 "
    "with 2000 books on three floors, and Anna Lindqvist is its first director."
)
CLAIM = "It cost 6.2 million euros and opened in March."


def test_a_faithful_sentence_has_nothing_unsupported() -> None:
    assert facts.unsupported(CLAIM, SOURCE) == []


def test_an_invented_number_is_named() -> None:
    assert facts.unsupported("It cost 160 million euros and opened in March.", SOURCE) == ["160"]


def test_an_invented_name_is_named() -> None:
    got = facts.unsupported("It cost 6.2 million euros and Berg opened it in March.", SOURCE)
    assert got == ["Berg"]


def test_both_are_named_in_order_once() -> None:
    got = facts.unsupported("Berg paid 160 euros, then Berg paid 160 more.", SOURCE)
    assert got == ["160", "Berg"]


def test_a_source_without_the_month_flags_it() -> None:
    assert facts.unsupported(CLAIM, "It cost 6.2 million euros.") == ["March"]


@pytest.mark.parametrize(
    ("sentence", "source"),
    [
        ("It holds 2,000 books.", "It holds 2000 books."),
        ("It holds 2000 books.", "It holds 2,000 books."),
        ("It holds 2.000 books.", "It holds 2000 books."),
        ("It has three floors.", "It has 3 floors."),
        ("It has 3 floors.", "It has three floors."),
        ("It has Three floors.", "It has 3 floors."),
        ("It cost 6,2 million.", "It cost 6.2 million."),
    ],
)
def test_numbers_match_in_any_spelling(sentence: str, source: str) -> None:
    assert facts.unsupported(sentence, source) == []


def test_different_numbers_do_not_match() -> None:
    assert facts.unsupported("It holds 2,500 books.", "It holds 2000 books.") == ["2,500"]
    assert facts.unsupported("It has four floors.", "It has 3 floors.") == ["four"]
    assert facts.unsupported("It cost 6.3 million.", SOURCE) == ["6.3"]


@pytest.mark.parametrize(
    "sentence",
    [
        "The library opened.",
        "The library has books.",
        "It opened. The books came later.",
        "This is a library. They built it. However, it opened.",
    ],
)
def test_sentence_initial_function_words_are_never_names(sentence: str) -> None:
    assert facts.unsupported(sentence, "a library opened with books later; it was built") == []


def test_names_match_whatever_their_case() -> None:
    assert facts.unsupported("ANNA LINDQVIST runs the library.", SOURCE) == []
    assert facts.unsupported("The director is Anna Lindqvist.", SOURCE) == []
    assert facts.unsupported("The director is Anna Lind.", SOURCE) == ["Lind"]


def test_numbers_and_names_helpers() -> None:
    assert facts.numbers("2,000 and 2.4 and three") == {"2000", "2.4", "3"}
    assert facts.names("The cat met Anna in Paris.") == {"Anna", "Paris"}


def test_empty_inputs() -> None:
    assert facts.unsupported("", SOURCE) == []
    assert facts.unsupported("It opened in 1999 in Oslo.", "") == ["1999", "Oslo"]
