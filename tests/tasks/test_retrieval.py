"""Sentences of a document with offsets, and choosing among them by vectors.

Pure functions: no model. ``select`` and ``support`` take unit vectors built by hand
here, so the expected choices can be worked out on paper.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmcli.tasks import retrieval
from llmcli.tasks.retrieval import Unit


def texts_of(text: str, found: list[Unit]) -> list[tuple[str, bool]]:
    return [(text[u.start : u.end], u.heading) for u in found]


def summary_sentences(text: str) -> list[str]:
    return [text[u.start : u.end] for u in retrieval.units(text) if retrieval.is_sentence(text, u)]


# --- units ----------------------------------------------------------------------------------


def test_title_line_is_a_heading_not_a_sentence() -> None:
    text = (
        "Annual Report 2023\n"
        "\n"
        "The company grew in every market last year. Sales rose by ten percent.\n"
        "\n"
        "The board met twice. It approved a new plan for the next year.\n"
    )
    assert texts_of(text, retrieval.units(text)) == [
        ("Annual Report 2023", True),
        ("The company grew in every market last year.", False),
        ("Sales rose by ten percent.", False),
        ("The board met twice.", False),
        ("It approved a new plan for the next year.", False),
    ]
    assert "Annual Report 2023" not in summary_sentences(text)
    # "The board met twice." has four words: a sentence; shorter fragments are not.
    assert "The board met twice." in summary_sentences(text)


def test_markdown_headings_lose_their_hashes() -> None:
    text = (
        "# Plan\n\n"
        "The school will build a new library next year.\n\n"
        "## Budget\n"
        "The budget is 6.2 million euros this year.\n"
    )
    assert texts_of(text, retrieval.units(text)) == [
        ("Plan", True),
        ("The school will build a new library next year.", False),
        ("Budget", True),
        ("The budget is 6.2 million euros this year.", False),
    ]


def test_list_items_are_sentences_without_their_marker() -> None:
    text = (
        "Repairs before winter:\n\n"
        "- The boiler is older than the house itself.\n"
        "- The roof leaks when it rains hard.\n"
        "* Windows are drafty in the winter.\n"
        "1. Paint the fence this spring please.\n"
        "2) Clean the gutters in the autumn.\n"
    )
    got = texts_of(text, retrieval.units(text))
    assert got[1:] == [
        ("The boiler is older than the house itself.", False),
        ("The roof leaks when it rains hard.", False),
        ("Windows are drafty in the winter.", False),
        ("Paint the fence this spring please.", False),
        ("Clean the gutters in the autumn.", False),
    ]
    assert not any(t.startswith(("-", "*", "1", "2")) for t, _ in got[1:])


def test_a_list_item_without_a_full_stop_stays_one_unit() -> None:
    text = "- The boiler is older than the house\n- The roof leaks when it rains\n"
    assert [t for t, _ in texts_of(text, retrieval.units(text))] == [
        "The boiler is older than the house",
        "The roof leaks when it rains",
    ]


def test_hard_wrapped_prose_is_not_taken_for_headings() -> None:
    text = (
        "The committee met on Monday to discuss the new\n"
        "budget for the coming year and agreed that the\n"
        "school should get a new library building soon.\n"
        "Nobody objected to the plan at the meeting.\n"
    )
    found = retrieval.units(text)
    assert not any(u.heading for u in found)
    assert [t for t, _ in texts_of(text, found)] == [
        "The committee met on Monday to discuss the new\nbudget for the coming year and "
        "agreed that the\nschool should get a new library building soon.",
        "Nobody objected to the plan at the meeting.",
    ]


def test_a_long_unpunctuated_line_is_prose() -> None:
    line = "this line has many more words than any title would ever have in a document"
    text = f"{line}\n\nA second paragraph follows it here.\n"
    assert not retrieval.units(text)[0].heading


def test_chinese_sentences() -> None:
    text = "今天天气很好，我们去公园散步了。公园里有很多人在跑步！你想和我们一起去吗？\n"
    found = retrieval.units(text)
    assert [t for t, _ in texts_of(text, found)] == [
        "今天天气很好，我们去公园散步了。",
        "公园里有很多人在跑步！",
        "你想和我们一起去吗？",
    ]
    for u in found:
        piece = text[u.start : u.end]
        assert text.find(piece, u.start) == u.start
        assert not u.heading
    assert retrieval.joiner(text) == ""
    assert retrieval.joiner("Plain English text.") == " "


def test_chinese_title() -> None:
    text = "年度报告\n\n图书馆在三月开放，经过两年的建设工作。\n"
    assert texts_of(text, retrieval.units(text)) == [
        ("年度报告", True),
        ("图书馆在三月开放，经过两年的建设工作。", False),
    ]


def test_offsets_survive_crlf_and_indentation() -> None:
    text = "Title Here\r\n\r\n   The first sentence is right here.  Second one follows it.\r\n"
    for u in retrieval.units(text):
        piece = text[u.start : u.end]
        assert piece == piece.strip() and "\r" not in piece
    assert texts_of(text, retrieval.units(text))[0] == ("Title Here", True)


@pytest.mark.parametrize("text", ["", " ", "\n\n", "  \t\n \r\n  "])
def test_no_units_in_blank_text(text: str) -> None:
    assert retrieval.units(text) == []


_PIECES = st.sampled_from(
    [
        *"aB \n\t\r#-*1.)!?。！？今天:,…",
        *["Dr. ", "## ", "- ", "\n\n", "1. ", "\u00a0", "The cat sat. ", "Heading\n", "word "],
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=50).map("".join))
def test_units_are_ordered_trimmed_spans(text: str) -> None:
    found = retrieval.units(text)
    for u in found:
        assert 0 <= u.start < u.end <= len(text)
        piece = text[u.start : u.end]
        assert piece == piece.strip()
    for a, b in itertools.pairwise(found):
        assert a.end <= b.start


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_units_on_any_text(text: str) -> None:
    found = retrieval.units(text)
    assert all(0 <= u.start < u.end <= len(text) for u in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    if not text.strip():
        assert found == []


def test_is_sentence() -> None:
    text = "Too short. This one has enough words to count. 短句。这是一个足够长的中文句子啊。"
    found = retrieval.units(text)
    assert [retrieval.is_sentence(text, u) for u in found] == [False, True, False, True]


# --- passages -------------------------------------------------------------------------------


def ten_sentences() -> tuple[str, list[Unit]]:
    text = " ".join(f"Sentence number {i} is here." for i in range(10))
    found = retrieval.units(text)
    assert len(found) == 10
    return text, found


def test_passages_take_neighbours_and_merge() -> None:
    text, found = ten_sentences()
    scores = [0.0] * 10
    scores[2], scores[3], scores[8] = 0.9, 0.8, 0.5
    got = retrieval.passages(text, found, scores, top_k=3, window=1)
    # 2 and 3 with neighbours 1..4 merge; 8 with 7..9; in document order.
    assert [(p.start, p.end) for p in got] == [
        (found[1].start, found[4].end),
        (found[7].start, found[9].end),
    ]
    assert [p.score for p in got] == [0.9, 0.5]
    assert text[got[1].start : got[1].end] == (
        "Sentence number 7 is here. Sentence number 8 is here. Sentence number 9 is here."
    )


def test_passages_without_neighbours() -> None:
    text, found = ten_sentences()
    scores = [i / 10 for i in range(10)]
    got = retrieval.passages(text, found, scores, top_k=2, window=0)
    assert [(p.start, p.end) for p in got] == [(found[8].start, found[9].end)]
    got = retrieval.passages(text, found, [-s for s in scores], top_k=2, window=0)
    assert [(p.start, p.end) for p in got] == [(found[0].start, found[1].end)]
    assert got[0].score == pytest.approx(0.0)


def test_passages_keep_document_order_whatever_the_scores() -> None:
    text, found = ten_sentences()
    scores = [0.0] * 10
    scores[9], scores[0], scores[5] = 0.9, 0.8, 0.7
    got = retrieval.passages(text, found, scores, top_k=3, window=0)
    assert [p.start for p in got] == sorted(p.start for p in got)
    assert [p.start for p in got] == [found[0].start, found[5].start, found[9].start]


def test_passages_edge_cases() -> None:
    text, found = ten_sentences()
    assert retrieval.passages(text, [], [], top_k=3, window=1) == []
    everything = retrieval.passages(text, found, [0.1] * 10, top_k=50, window=2)
    assert [(p.start, p.end) for p in everything] == [(found[0].start, found[-1].end)]


# --- select and support ---------------------------------------------------------------------


def unit_rows(*rows: tuple[float, ...]) -> Any:
    import torch

    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)


def test_select_prefers_the_centroid() -> None:
    vectors = unit_rows((1, 0, 0), (0, 1, 0), (1, 1, 0))
    assert retrieval.select(vectors, 1) == [2]


def test_select_avoids_repeating_itself() -> None:
    # Rows 0 and 1 are the same sentence twice; row 2 says something else.
    vectors = unit_rows((1, 0.2), (1, 0.2), (0.3, 1))
    # The duplicate is closer to the centroid than row 2, but says nothing new.
    assert retrieval.select(vectors, 2) == [0, 2]
    assert retrieval.select(vectors, 2, diversity=0.0) == [0, 1]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 9])
def test_select_gives_count_distinct_rows_in_order(count: int) -> None:
    import torch

    torch.manual_seed(1)
    vectors = torch.nn.functional.normalize(torch.randn(5, 8), dim=1)
    chosen = retrieval.select(vectors, count)
    assert len(chosen) == min(count, 5)
    assert chosen == sorted(set(chosen))
    assert all(0 <= i < 5 for i in chosen)


def test_select_of_nothing() -> None:
    import torch

    assert retrieval.select(torch.zeros((0, 4)), 3) == []
    assert retrieval.select(unit_rows((1, 0), (0, 1)), 0) == []


def test_support_returns_the_closest_source_rows() -> None:
    source = unit_rows((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0))
    written = unit_rows((1, 0, 0), (0, 0.2, 1))
    got = retrieval.support(written, source, top=2)
    assert [r for r, _ in got[0]] == [0, 3]
    assert got[0][0][1] == pytest.approx(1.0)
    assert got[0][1][1] == pytest.approx(1 / math.sqrt(2))
    assert [r for r, _ in got[1]] == [2, 1]
    assert got[1][0][1] >= got[1][1][1]


def test_support_with_few_or_no_source_rows() -> None:
    import torch

    written = unit_rows((1, 0), (0, 1))
    assert retrieval.support(written, torch.zeros((0, 2))) == [[], []]
    one = retrieval.support(written, unit_rows((1, 0)), top=3)
    assert [[r for r, _ in rows] for rows in one] == [[0], [0]]
