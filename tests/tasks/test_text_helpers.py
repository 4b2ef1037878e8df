"""Pure text helpers: sentence splitting, packing into windows, spans, locations, Markdown."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmcli.errors import UsageError
from llmcli.tasks import chunking, languages, markdown, spans


def word_count(texts: Sequence[str]) -> list[int]:
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return [len(t.split()) for t in texts]


def char_count(texts: Sequence[str]) -> list[int]:
    """A stand-in tokenizer: one token per character (long words need splitting)."""
    return [len(t) for t in texts]


# --- sentences and packing ----------------------------------------------------------------


def test_sentence_spans_keep_abbreviations_and_offsets() -> None:
    text = "Dr. Smith arrived at 5 p.m. on Monday. He left!  Did he?\n\nYes."
    got = [text[s:e] for s, e in chunking.sentence_spans(text)]
    assert got == ["Dr. Smith arrived at 5 p.m. on Monday.", "He left!", "Did he?", "Yes."]


def test_sentence_spans_cjk() -> None:
    text = "今天天气很好。我们去公园吧！"
    assert [text[s:e] for s, e in chunking.sentence_spans(text)] == [
        "今天天气很好。",
        "我们去公园吧！",
    ]


def test_pack_respects_budget_and_sentence_boundaries() -> None:
    text = "One two three. Four five six. Seven eight nine. Ten."
    pieces = [text[s:e] for s, e in chunking.pack(text, 6, word_count)]
    assert pieces == ["One two three. Four five six.", "Seven eight nine. Ten."]


def test_pack_splits_a_long_sentence_between_words_then_characters() -> None:
    text = "alpha beta gamma delta epsilon " + "x" * 25
    pieces = chunking.pack(text, 10, char_count)
    assert all(e - s <= 10 for s, e in pieces)
    assert "".join(text[s:e] for s, e in pieces).replace(" ", "") == text.replace(" ", "")


def test_pack_rejects_a_zero_budget() -> None:
    with pytest.raises(ValueError):
        chunking.pack("text", 0, word_count)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.text(alphabet="abcdefg.!? ", min_size=1, max_size=12), max_size=40),
    budget=st.integers(min_value=1, max_value=30),
)
def test_pack_covers_everything_in_order_within_budget(words: list[str], budget: int) -> None:
    text = " ".join(words)
    pieces = chunking.pack(text, budget, char_count)
    assert all(char_count([text[s:e]])[0] <= budget for s, e in pieces)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(pieces))
    kept = "".join(text[s:e] for s, e in pieces)
    assert kept.replace(" ", "") == text.replace(" ", "")


def test_windows_overlap_by_stride_and_reach_the_end() -> None:
    assert chunking.windows(5, 10, 3) == [(0, 5)]
    got = chunking.windows(25, 10, 4)
    assert got[0] == (0, 10) and got[-1][1] == 25
    assert all(b[0] == a[1] - 4 for a, b in itertools.pairwise(got))


def test_weighted_mean_and_first_sentences() -> None:
    assert chunking.weighted_mean([[1.0, 0.0], [0.0, 1.0]], [3, 1]) == [0.75, 0.25]
    assert chunking.first_sentences("A b. C d. E f.", 2) == "A b. C d."
    assert chunking.first_sentences("Only one", 3) == "Only one"


# --- spans and locations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("piece", "expected"),
    [
        (" Gustave Eiffel, ", "Gustave Eiffel"),
        ("in 1889.", "in 1889"),
        ("the U.S.", "the U.S."),
        ('"Paris', "Paris"),
    ],
)
def test_trim_span(piece: str, expected: str) -> None:
    text = f"xx{piece}yy"
    start, end = spans.trim_span(text, 2, 2 + len(piece))
    assert text[start:end] == expected


def test_locate_exact_case_insensitive_and_fuzzy() -> None:
    context = "The tower was built by Gustave Eiffel's company between 1887 and 1889."
    exact = spans.locate("gustave eiffel", context)
    assert exact is not None and exact.exact
    assert context[exact.start : exact.end] == "Gustave Eiffel"
    fuzzy = spans.locate("from 1887 to 1889", context)
    assert fuzzy is not None and not fuzzy.exact
    assert context[fuzzy.start : fuzzy.end] == "1887 and 1889"
    assert spans.locate("the moon", context) is None


def test_line_col_and_location() -> None:
    text = "first line\nsecond líne with answer\nthird"
    offset = text.index("answer")
    assert spans.line_col(text, offset, first_line=10) == (11, 18)
    assert spans.location("doc.md", text, offset, 10) == "doc.md:11:18"
    assert spans.location(None, text, 0) == "1:1"


# --- languages ----------------------------------------------------------------------------


def test_language_check_lists_supported_codes() -> None:
    assert languages.check(" FR ", ("fr", "de"), "target") == "fr"
    assert languages.check("pt-BR", ("pt",), "target") == "pt"
    with pytest.raises(UsageError) as info:
        languages.check("xx", ("fr", "de"), "target")
    assert "de, fr" in str(info.value)


def test_few_shot_examples_exist_for_every_prompt_language() -> None:
    for code in languages.PROMPT_LANGUAGES:
        pairs = languages.few_shot_pairs("en", code)
        more = 7 if code in ("en", "fr", "es", "de", "it", "pt", "nl") else 0
        assert len(pairs) == 5 + more and all(src and tgt for src, tgt in pairs)
        # The five shared pairs come last, nearest the text: the inline-code example
        # keeps its code, the title stays a title.
        assert "`make test`" in pairs[-3][1]
        assert not pairs[-2][1].rstrip().endswith((".", "?", "。"))
        assert code in languages.NAMES
    # Pairs between two languages without the extra sentences are the five shared ones.
    assert len(languages.few_shot_pairs("fr", "zh")) == 5


# --- Markdown -----------------------------------------------------------------------------

DOC = """---
title: Guide
---
# Install the tool #

Run the installer. Then restart
the computer.

- First item with `code here`
- [ ] Second item, see [the docs](https://example.com/a_b)
  continued here

1. Numbered

```python
print("not translated")
```

    indented code block

> A quote
> on two lines

| Name | Value |
|------|-------|
| Size | 3 |

---
"""


def test_markdown_units_and_structure() -> None:
    doc = markdown.parse(DOC)
    assert doc.units == [
        "Install the tool",
        "Run the installer. Then restart the computer.",
        "First item with `code here`",
        "Second item, see [the docs](https://example.com/a_b) continued here",
        "Numbered",
        "A quote on two lines",
        "Name",
        "Value",
        "Size",
    ]
    out = doc.render([u.upper() for u in doc.units])
    lines = out.split("\n")
    assert lines[:4] == ["---", "title: Guide", "---", "# INSTALL THE TOOL #"]
    assert "RUN THE INSTALLER. THEN RESTART THE COMPUTER." in lines
    assert "- FIRST ITEM WITH `CODE HERE`" in lines
    assert lines[lines.index("1. NUMBERED") - 1] == ""  # blank lines kept
    assert '```python\nprint("not translated")\n```' in out
    assert "    indented code block" in lines
    assert "> A QUOTE ON TWO LINES" in lines
    assert "|------|-------|" in lines and "| NAME | VALUE |" in lines
    assert out.endswith("---\n")


def test_markdown_identity_render_keeps_every_structural_line() -> None:
    doc = markdown.parse(DOC)
    out = doc.render(doc.units)
    for line in DOC.split("\n"):
        if line.startswith(("```", "    ", "#", "- ", "|", "---", "1.")) or not line:
            assert line.rstrip() in out


def test_plain_mode_keeps_markdown_characters_as_text() -> None:
    doc = markdown.parse("# not a heading\nsame paragraph\n\nnext", markdown=False)
    assert doc.units == ["# not a heading same paragraph", "next"]
    assert doc.render(["A", "B"]) == "A\n\nB"


def test_protected_spans_and_words() -> None:
    text = "Use `pip install x` or see <https://a.b> and [docs](http://c.d/e) <br>"
    kept = [text[s:e] for s, e in markdown.protected_spans(text)]
    assert kept == ["`pip install x`", "<https://a.b>", "](http://c.d/e)", "<br>"]
    assert markdown.has_words(text)
    assert not markdown.has_words("`only code` 42 https://x.y")
