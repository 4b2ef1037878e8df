"""Sentences of a document, and choosing among them by sentence embeddings.

- :func:`units` cuts a document into sentences with character offsets, and marks
  headings and titles (a line with no closing punctuation) so they are never taken as
  sentences of a summary;
- :func:`passages` picks the sentences closest to a question, with their neighbours,
  for ``ask`` to read;
- :func:`select` picks summary sentences that cover the document without repeating
  each other (maximal marginal relevance around the document's centroid);
- :func:`support` finds the source sentences a written sentence rests on.

Everything returns offsets into the original text, so results point back into it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.tasks.chunking import sentence_spans

_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
#: A line ending in one of these closes a sentence (or a clause), so it is no heading.
_CLOSING = tuple(".!?。！？…:;,，；：")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
#: Titles are short: a line of more words than this is prose, punctuated or not.
HEADING_WORDS = 12
#: Fewer words than this (CJK: characters) make a fragment, not a summary sentence.
MIN_SENTENCE_WORDS = 4
_MIN_CJK_CHARS = 8


@dataclass(frozen=True)
class Unit:
    """A sentence (or heading) of a document: ``text[start:end]``."""

    start: int
    end: int
    heading: bool = False


def units(text: str) -> list[Unit]:
    """The document's sentences and headings, in order, with offsets into ``text``.

    Headings: Markdown ``#`` lines, and short lines (at most :data:`HEADING_WORDS` words)
    that end without punctuation and stand alone (a blank line or the text's start before
    them, and a blank line, the end, or mostly capitalized words). List items are
    sentences of their own, without their marker.
    """
    found: list[Unit] = []
    region: int | None = None  # where the current run of prose lines started
    lines = _lines(text)

    def close(at: int) -> None:
        nonlocal region
        if region is not None:
            found.extend(Unit(s, e) for s, e in sentence_spans(text, region, at))
            region = None

    for k, (start, end) in enumerate(lines):
        line = text[start:end]
        if not line.strip():
            close(start)
            continue
        before_blank = k == 0 or not text[lines[k - 1][0] : lines[k - 1][1]].strip()
        after_blank = k + 1 >= len(lines) or not text[lines[k + 1][0] : lines[k + 1][1]].strip()
        if _is_heading(line, before_blank, after_blank):
            close(start)
            lead = _MARKDOWN_HEADING.match(line)
            s = start + (lead.end() if lead else len(line) - len(line.lstrip()))
            e = start + len(line.rstrip())
            if e > s:
                found.append(Unit(s, e, heading=True))
            continue
        marker = _LIST_MARKER.match(line)
        if marker is not None:
            close(start)
            region = start + marker.end()
            continue
        if region is None:
            region = start
    close(len(text))
    return found


def _lines(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for match in re.finditer(r"\n", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _is_heading(line: str, before_blank: bool, after_blank: bool) -> bool:
    stripped = line.strip()
    if _MARKDOWN_HEADING.match(line):
        return True
    if not before_blank or stripped.endswith(_CLOSING) or _LIST_MARKER.match(line):
        return False
    words = stripped.split()
    if _CJK.search(stripped):
        return after_blank and len(stripped) <= 40
    if len(words) > HEADING_WORDS:
        return False
    if after_blank:
        return True
    # Followed by more text: only a title-cased line is a title ("Annual Report 2025"),
    # not the first line of a hard-wrapped paragraph that happens to hold names.
    long_words = [w for w in words if len(w) >= 4]
    titled = all(w[:1].isupper() or w[:1].isdigit() for w in long_words)
    return titled and words[-1].lower() not in _STOP


def is_sentence(text: str, unit: Unit) -> bool:
    """Whether ``unit`` can stand in a summary: not a heading, not a fragment."""
    if unit.heading:
        return False
    piece = text[unit.start : unit.end]
    if _CJK.search(piece):
        return len(_CJK.findall(piece)) >= _MIN_CJK_CHARS
    return len(piece.split()) >= MIN_SENTENCE_WORDS


def joiner(text: str) -> str:
    """How sentences of ``text`` are joined on one line: nothing between CJK sentences."""
    return "" if _CJK.search(text[:2000]) else " "


@dataclass(frozen=True)
class Passage:
    """A run of consecutive sentences chosen for a question, and its best similarity."""

    start: int
    end: int
    score: float


#: Weight of word overlap beside embedding similarity when ranking sentences for a
#: question: 0.3 lifted recall@3 on the long-document set from 83% to 91% (docs/quality.md).
LEXICAL_WEIGHT = 0.3
#: For a text mostly in CJK script: the built-in embedder (all-MiniLM-L6-v2) was trained
#: on English, so character-pair overlap must carry the ranking. On the Chinese long
#: document, 1.0 puts the sentence holding each answer in the top 4 for 9 of 9
#: answerable questions (0.3: 6 of 9).
CJK_LEXICAL_WEIGHT = 1.0


def lexical_weight(text: str) -> float:
    """How much word overlap counts beside embedding similarity for ``text``."""
    letters = sum(1 for c in text if c.isalpha())
    cjk = len(_CJK.findall(text))
    return CJK_LEXICAL_WEIGHT if letters and cjk / letters > 0.5 else LEXICAL_WEIGHT


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "it",
        "its",
        "this",
        "that",
        "as",
        "be",
        "been",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "how",
        "much",
        "many",
        "did",
        "does",
        "do",
        "has",
        "have",
        "had",
        "will",
        "would",
        "could",
        "should",
        "can",
        "there",
        "their",
        "they",
        "he",
        "she",
        "his",
        "her",
        "our",
        "we",
        "you",
        "your",
        "than",
        "then",
        "so",
        "not",
        "no",
        "into",
        "about",
        "after",
        "before",
        "over",
        "under",
        "per",
    ]
)


def _stems(text: str) -> set[str]:
    # A five-letter prefix is a cheap stem: "recommends"/"recommendation" meet. CJK text
    # has no spaces: its character pairs stand for words.
    stems = {w[:5] for w in re.findall(r"[^\W\d_]+|\d+", text.lower()) if w not in _STOP}
    for run in _CJK_RUN.findall(text):
        stems.discard(run.lower()[:5])
        stems.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return stems


def lexical_scores(question: str, sentences: Sequence[str]) -> list[float]:
    """Share of the question's words (weighted by rarity in ``sentences``) each sentence has."""
    import math

    sets = [_stems(s) for s in sentences]
    frequency: dict[str, int] = {}
    for words in sets:
        for w in words:
            frequency[w] = frequency.get(w, 0) + 1
    n = len(sentences)
    wanted = _stems(question)
    weight = {w: math.log(1 + n / frequency.get(w, 1)) for w in wanted}
    total = sum(weight.values()) or 1.0
    return [sum(weight[w] for w in wanted & words) / total for words in sets]


def passages(
    text: str, found: Sequence[Unit], scores: Sequence[float], top_k: int, window: int
) -> list[Passage]:
    """The ``top_k`` best-scoring sentences, each with ``window`` neighbours on each side,
    merged where they touch, in document order."""
    order = sorted(range(len(found)), key=lambda i: -scores[i])[:top_k]
    chosen: dict[int, float] = {}
    for i in order:
        for j in range(max(0, i - window), min(len(found), i + window + 1)):
            chosen[j] = max(chosen.get(j, float("-inf")), scores[i])
    result: list[Passage] = []
    run: list[int] = []
    for j in sorted(chosen):
        if run and j != run[-1] + 1:
            result.append(_passage(found, run, chosen))
            run = []
        run.append(j)
    if run:
        result.append(_passage(found, run, chosen))
    return result


def _passage(found: Sequence[Unit], run: list[int], scores: dict[int, float]) -> Passage:
    return Passage(found[run[0]].start, found[run[-1]].end, max(scores[j] for j in run))


def select(vectors: Any, count: int, diversity: float = 0.3) -> list[int]:
    """``count`` rows of unit ``vectors`` that cover their centroid without redundancy.

    Maximal marginal relevance: each step takes the row maximizing
    ``(1 - diversity) * sim(row, centroid) - diversity * max sim(row, chosen)``.
    Returned in row order (the document's order).
    """
    import torch

    n = int(vectors.shape[0])
    if n == 0 or count <= 0:
        return []
    centroid = torch.nn.functional.normalize(vectors.mean(0), dim=0)
    relevance = vectors @ centroid
    similarity = vectors @ vectors.T
    chosen: list[int] = []
    redundancy = torch.full((n,), float("-inf"))
    for _ in range(min(count, n)):
        penalty = torch.where(torch.isinf(redundancy), torch.zeros(n), redundancy)
        score = (1 - diversity) * relevance - diversity * penalty
        if chosen:
            score[chosen] = float("-inf")
        best = int(score.argmax())
        chosen.append(best)
        redundancy = torch.maximum(
            torch.where(torch.isinf(redundancy), similarity[best], redundancy), similarity[best]
        )
    return sorted(chosen)


def support(written: Any, source: Any, top: int = 2) -> list[list[tuple[int, float]]]:
    """For each row of ``written`` (unit vectors), the ``top`` most similar rows of
    ``source`` as ``(row, cosine)``, best first."""
    if int(source.shape[0]) == 0:
        return [[] for _ in range(int(written.shape[0]))]
    sims = written @ source.T
    k = min(top, int(source.shape[0]))
    values, rows = sims.topk(k, dim=1)
    return [
        [(int(r), float(v)) for r, v in zip(rows[i].tolist(), values[i].tolist(), strict=True)]
        for i in range(int(written.shape[0]))
    ]
