"""Cutting text that is too long for a model into pieces, instead of truncating it.

Pieces are character spans ``(start, end)`` into the original text, so results can
point back into it. Cuts fall between sentences where possible, then between words;
every piece is checked against the real token count, so none is ever cut short by
the tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Span = tuple[int, int]
TokenCounter = Callable[[Sequence[str]], list[int]]

# A sentence ends at . ! ? … (then optional closing quotes/brackets) followed by
# whitespace, or at CJK full stops, or at a blank line.
_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?…])[\"'”’»)\]]*\s+)|(?:(?<=[。！？])\s*)|(?:\n\s*\n\s*)",
)
# Tokens before a full stop that do not end a sentence.
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "cf", "fig"}
    | {"no", "vol", "approx", "inc", "ltd", "co", "corp", "dept", "u.s", "u.k", "a.m", "p.m"}
    | {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)
_WORD = re.compile(r"\S+\s*")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as spans, whitespace between them left out."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        cut = match.start()
        head = text[begin:cut].rstrip()
        last = head.rsplit(None, 1)[-1].rstrip(".") if head.strip() else ""
        # "Dr. Smith", "e.g. this", "J. R. R. Tolkien": not an end of sentence.
        initial = len(last) == 1 and last.isupper()
        if text[cut - 1 : cut] == "." and (last.lower() in _ABBREVIATIONS or initial):
            continue
        _append(spans, text, begin, cut)
        begin = match.end()
    _append(spans, text, begin, end)
    return spans


def _append(spans: list[Span], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def word_spans(text: str, start: int, end: int) -> list[Span]:
    """Words (with their trailing whitespace) of ``text[start:end]`` as spans."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]


def pack(
    text: str,
    max_tokens: int,
    count: TokenCounter,
    spans: Sequence[Span] | None = None,
) -> list[Span]:
    """Cut ``text`` into as few spans as possible of at most ``max_tokens`` tokens each.

    Sentences are packed greedily; a sentence longer than the budget is split between
    words, and a single "word" longer than it (a URL, a long number) between characters.
    Every returned span is verified with ``count``; the spans cover all non-blank text.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    units = list(spans) if spans is not None else sentence_spans(text)
    if not units:
        return []
    sizes = count([text[s:e] for s, e in units])
    pieces: list[Span] = []
    current: Span | None = None
    current_size = 0
    for (start, end), size in zip(units, sizes, strict=True):
        if size > max_tokens:
            if current is not None:
                pieces.append(current)
                current, current_size = None, 0
            pieces.extend(_split_long(text, start, end, max_tokens, count))
            continue
        # Sum of the parts is an estimate of the joined size; checked below.
        if current is not None and current_size + size <= max_tokens:
            current, current_size = (current[0], end), current_size + size
        else:
            if current is not None:
                pieces.append(current)
            current, current_size = (start, end), size
    if current is not None:
        pieces.append(current)
    return _verify(text, pieces, max_tokens, count)


def _split_long(
    text: str, start: int, end: int, max_tokens: int, count: TokenCounter
) -> list[Span]:
    words = word_spans(text, start, end)
    if len(words) <= 1:
        return _split_chars(text, start, end, max_tokens, count)
    return pack(text, max_tokens, count, [(s, _rstrip(text, s, e)) for s, e in words])


def _split_chars(
    text: str, start: int, end: int, max_tokens: int, count: TokenCounter
) -> list[Span]:
    # Halve until every piece fits: at worst one character per piece.
    if end - start <= 1 or count([text[start:end]])[0] <= max_tokens:
        return [(start, end)]
    middle = (start + end) // 2
    return _split_chars(text, start, middle, max_tokens, count) + _split_chars(
        text, middle, end, max_tokens, count
    )


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _verify(text: str, pieces: list[Span], max_tokens: int, count: TokenCounter) -> list[Span]:
    # Joined sentences can tokenize to a little more than the sum of their parts;
    # split any piece that overshoots at its middle sentence (or word) boundary.
    sizes = count([text[s:e] for s, e in pieces])
    verified: list[Span] = []
    for (start, end), size in zip(pieces, sizes, strict=True):
        if size <= max_tokens:
            verified.append((start, end))
            continue
        inner = sentence_spans(text, start, end)
        if len(inner) <= 1:
            inner = [(s, _rstrip(text, s, e)) for s, e in word_spans(text, start, end)]
        if len(inner) <= 1:
            verified.extend(_split_chars(text, start, end, max_tokens, count))
            continue
        half = len(inner) // 2
        left = (inner[0][0], inner[half - 1][1])
        right = (inner[half][0], inner[-1][1])
        verified.extend(_verify(text, [left, right], max_tokens, count))
    return verified


def windows(length: int, size: int, stride: int) -> list[Span]:
    """Overlapping windows ``(start, end)`` over ``length`` positions.

    Consecutive windows share ``stride`` positions, so an answer cut by one window's
    edge lies whole inside the next one.
    """
    if length <= size:
        return [(0, length)]
    step = max(1, size - stride)
    spans: list[Span] = []
    start = 0
    while True:
        end = min(start + size, length)
        spans.append((start, end))
        if end >= length:
            return spans
        start += step


def weighted_mean(rows: Sequence[Sequence[float]], weights: Sequence[float]) -> list[float]:
    """The weighted mean of equal-length rows (token-length-weighted chunk scores)."""
    total = float(sum(weights))
    if not rows:
        return []
    if total <= 0:
        weights = [1.0] * len(rows)
        total = float(len(rows))
    return [
        sum(w * row[i] for row, w in zip(rows, weights, strict=True)) / total
        for i in range(len(rows[0]))
    ]


def first_sentences(text: str, n: int) -> str:
    """The first ``n`` sentences of ``text`` (all of it when it has fewer)."""
    spans = sentence_spans(text)
    if len(spans) <= n:
        return text.strip()
    return text[spans[0][0] : spans[n - 1][1]]
