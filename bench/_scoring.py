"""Scoring helpers for bench/quality.py's long-document sections (no model, no llmcli).

- ``normalize``, ``exact_match`` and ``token_f1``: the SQuAD answer comparison (lowercase,
  punctuation and the articles a/an/the removed, whitespace collapsed), best over the gold
  answer and its ``accept`` spans. Chinese has no spaces between words, so every CJK
  character counts as one token (as in the CMRC evaluation); other text is split on spaces.
- ``words``: the same tokens, for lengths (a CJK character counts as one word).
- ``ends_mid_sentence`` and ``heading_lines``: two checks of an extractive summary.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
#: What a finished sentence may end with (a closing quote after the full stop included).
SENTENCE_END = tuple('.!?。！？”’"')


def normalize(text: str) -> str:
    """SQuAD's answer normalization, with any Unicode punctuation removed."""
    text = text.lower()
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Words of ``text``; every CJK character is a word of its own."""
    return _CJK.sub(r" \1 ", text).split()


def words(text: str | None) -> int:
    """Length in words (a CJK character counts as one)."""
    return len(tokens(text or ""))


def exact_match(answer: str | None, golds: Sequence[str]) -> bool:
    """Whether the normalized answer equals a normalized gold answer."""
    if answer is None:
        return False
    got = tokens(normalize(answer))
    return any(got == tokens(normalize(g)) for g in golds)


def token_f1(answer: str | None, golds: Sequence[str]) -> float:
    """The best token F1 of the answer against any gold answer (0 for no answer)."""
    if answer is None:
        return 0.0
    got = tokens(normalize(answer))
    best = 0.0
    for gold in golds:
        want = tokens(normalize(gold))
        common = sum((Counter(got) & Counter(want)).values())
        if not got or not want or not common:
            best = max(best, float(got == want))
            continue
        precision, recall = common / len(got), common / len(want)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def ends_mid_sentence(summary: str) -> bool:
    """Whether a summary stops without a sentence end (cut off, or ends on a heading)."""
    text = summary.rstrip()
    return bool(text) and not text.endswith(SENTENCE_END)


def heading_lines(sentence: str, title: str | None) -> list[str]:
    """Lines of a summary sentence that are the document's title or a Markdown heading."""
    found = []
    wanted = _bare(title) if title else None
    for line in sentence.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#") or (wanted and _bare(stripped) == wanted):
            found.append(stripped)
    return found


def _bare(text: str) -> str:
    """A line without Markdown heading marks or a final full stop, for comparison."""
    return text.strip().lstrip("#").strip().rstrip(".。").strip().lower()
