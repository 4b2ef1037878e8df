"""Answer spans: trimming them, finding a generated answer in its context, and
turning a character offset into ``file:line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_TRAILING = ",;:"
_QUOTES = "\"'“”‘’«»"
_ABBREV_END = re.compile(r"(?:\b[A-Za-z]\.|\b(?:etc|Inc|Ltd|Co|Jr|Sr|St)\.)$")
_WORD = re.compile(r"\w+", re.UNICODE)
# English function words: they do not make a fuzzy match (an answer sharing only "the"
# with a sentence is not found in it).
_FUNCTION_WORDS = frozenset(
    {"a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "and"}
    | {"or", "is", "are", "was", "were", "it", "its", "this", "that", "as", "be", "been"}
)


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``text[start:end]`` to the answer proper.

    Drops surrounding whitespace, trailing ``,;:``, a sentence-final full stop (not
    one closing an abbreviation like ``U.S.``) and quotes left unbalanced by the cut.
    """
    while True:
        before = (start, end)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start and text[end - 1] in _TRAILING:
            end -= 1
        if end > start and text[end - 1] == "." and not _ABBREV_END.search(text[start:end]):
            end -= 1
        piece = text[start:end]
        if piece and piece[0] in _QUOTES and not any(q in piece[1:] for q in _QUOTES):
            start += 1
        elif piece and piece[-1] in _QUOTES and not any(q in piece[:-1] for q in _QUOTES):
            end -= 1
        if (start, end) == before:
            return start, end


@dataclass(frozen=True)
class Located:
    """Where a generated answer sits in its context."""

    start: int
    end: int
    exact: bool  # the answer occurs verbatim (ignoring case and outer punctuation)


def locate(answer: str, context: str) -> Located | None:
    """Find ``answer`` in ``context``: verbatim first, then the best-matching word run.

    A verbatim match ignores case and outer punctuation but must start and end at word
    boundaries ("Sunday" is not found in "Sundays"). The fuzzy match is the contiguous
    run of context words most similar to the answer's words; it is accepted when it
    holds more than half of the answer's content words (function words like "the" or
    "from" do not count). None when nothing matches.
    """
    needle = answer.strip().strip(_QUOTES).strip()
    if not needle:
        return None
    for candidate in (needle, needle.rstrip(".!?").strip()):
        if not candidate:
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(candidate) + r"(?!\w)", re.IGNORECASE)
        match = pattern.search(context)
        if match is not None:
            start, end = trim_span(context, match.start(), match.end())
            if end > start:
                return Located(start, end, True)
    words = list(_WORD.finditer(context))
    target = [w.lower() for w in _WORD.findall(needle)]
    content = {w for w in target if w not in _FUNCTION_WORDS} or set(target)
    if not words or not target:
        return None
    lowered = [m.group().lower() for m in words]
    best: tuple[float, int, int] | None = None
    limit = min(len(words), 3 * len(target) + 5)
    target_set = set(target)
    for i in range(len(words)):
        if lowered[i] not in target_set:
            continue  # a best run starts on an answer word
        for j in range(i + 1, min(len(words), i + limit) + 1):
            if lowered[j - 1] not in target_set:
                continue  # ... and ends on one
            ratio = SequenceMatcher(None, lowered[i:j], target, autojunk=False).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, i, j)
    if best is None:
        return None
    _, i, j = best
    covered = len(content & set(lowered[i:j]))
    if covered * 2 <= len(content):
        return None
    return Located(words[i].start(), words[j - 1].end(), False)


def line_col(text: str, offset: int, first_line: int = 1) -> tuple[int, int]:
    """1-based (line, column) of character ``offset`` in ``text``; columns count characters."""
    line = first_line + text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    return line, offset - line_start + 1


def location(source: str | None, text: str, offset: int, first_line: int = 1) -> str:
    """``file:line:col`` for an offset into ``text`` (``line:col`` without a source)."""
    line, col = line_col(text, offset, first_line)
    return f"{source}:{line}:{col}" if source else f"{line}:{col}"
