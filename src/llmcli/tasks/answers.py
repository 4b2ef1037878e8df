"""Candidate answers: the short spans of a passage that could answer a question.

A tiny reader copies whole sentences when it decodes freely, even under a span
constraint. Instead, the spans worth considering are listed first, by what the question
asks for (its wh-word and head noun):

- ``who`` → names (runs of capitalized words);
- ``how many/much/long``, ``what share/percentage/...`` → numbers with their unit;
- ``when``, ``what date``, ``which year`` → dates, months, years, clock times and
  recurring days ("the first Monday of every month");
- ``where`` → place phrases ("under the drip tray") and names of places;
- ``which <noun>`` → names of organisations and things;
- a question about a code, part, room, procedure or extension → identifiers too
  ("BM-DL200", "room C104");
- anything else → every short run of words that starts and ends on a content word.

Each candidate is a character span of the passage; the reader then scores them all
(:mod:`llmcli.tasks.ask`). Words the question itself uses are never an answer on their
own: a candidate made only of them is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum

Span = tuple[int, int]
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


class Kind(str, Enum):
    """What a question asks for."""

    PERSON = "person"
    NUMBER = "number"
    DATE = "date"
    NAME = "name"  # organisations, named things
    PLACE = "place"  # where: names and place phrases ("under the drip tray")
    OTHER = "other"


_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_SCALE = r"(?:\s(?:million|billion|thousand|hundred|m|bn|k)\b)?"
_COUNT_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|hundred"
)
_NUMBER = (
    r"(?:[£$€¥]\s?)?(?:\d+(?:[.,]\d+)*(?:\s\d{3,4}\b)*|"
    rf"(?i:{_COUNT_WORDS})(?:-(?i:{_COUNT_WORDS}))?\b)"
    r"(?:%|\s?(?:percent|per cent)\b)?" + _SCALE
)
# What follows a number: a CJK measure word, or up to three words (its unit and what it
# counts: "2.4 million euros", "14 teachers", "56 minutes 12 seconds").
_UNIT = r"(?:[\u4e00-\u9fff]{1,3}|(?:[\s-](?:[a-z][\w'-]*|[A-Z]{1,3}\b|\d+\b)){0,3})"
# A number and its unit, or a range or score ("312 to 97").
_NUMBER_PHRASE = re.compile(
    r"(?<![A-Za-z0-9_.])" + _NUMBER + r"(?:\s(?:to|of|out of)\s" + _NUMBER + r")?" + _UNIT,
    re.UNICODE,
)
# One number and its unit, without a range ("48.6 million" of "45.4 to 48.6 million").
_NUMBER_PHRASE_SINGLE = re.compile(r"(?<![A-Za-z0-9_.])" + _NUMBER + _UNIT, re.UNICODE)
_DATE = re.compile(
    rf"(?<!\w)(?:(?:the\s)?(?:first|second|third|fourth|last)\s(?:{_WEEKDAYS})"
    r"(?:\sof\s(?:every|each|the)\s(?:month|quarter|year))?(?!\w)|"
    rf"every\s(?:day|week|month|year|morning|evening|night|{_WEEKDAYS}|"
    r"(?:\d+|two|three|four|six|twelve)\s(?:days|weeks|months|years))(?!\w)|"
    # Clock times: "eight o'clock", "half past six", "8:30", "18:00".
    rf"(?:(?:half|quarter)\spast\s)?(?:\d{{1,2}}|(?i:{_COUNT_WORDS}))\so['’]clock(?!\w)|"
    r"(?<![\d.:])\d{1,2}:\d{2}(?![\d:])(?:\s?(?:am|pm|a\.m\.|p\.m\.))?|"
    r"(?:(?:the\s)?(?:end|start|beginning|middle|first|second|last)\s"
    r"(?:week\s|half\s)?of\s)?"
    rf"(?:(?:{_WEEKDAYS}),?\s)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?(?:{_MONTHS})"
    rf"(?:,?\s\d{{4}})?|(?:{_MONTHS})\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?"
    rf"|(?:{_MONTHS})(?:\s\d{{4}})?|\d{{4}}(?:s)?|\d{{1,2}}(?::\d{{2}})?\s?(?:am|pm|a\.m\.|p\.m\.)"
    rf"|(?:{_WEEKDAYS}))(?!\w))"
)
# Runs of capitalized words, with short lower-case joiners ("Bank of England", "van Dijk").
_CAPITALIZED = re.compile(
    r"(?<![\w'’])(?:[A-Z][\w'’.&-]*|[A-Z]{2,})(?:\s(?:(?:of|the|de|van|von|der|and|&|la|le|du|da)\s)?"
    r"(?:[A-Z][\w'’.&-]*|\d+))*",
    re.UNICODE,
)
_WORD = re.compile(r"[\w'’%£$€.,-]*\w[%]?|[£$€]\d[\d.,]*", re.UNICODE)
_FUNCTION = frozenset(
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
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "but",
        "if",
        "then",
        "than",
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
        "has",
        "have",
        "had",
        "will",
        "would",
        "could",
        "should",
        "can",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "their",
        "our",
        "your",
        "my",
        "me",
        "him",
        "them",
        "us",
        "who",
        "whom",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "also",
        "only",
        "just",
        "very",
        "more",
        "most",
        "such",
        "each",
        "every",
        "all",
        "any",
        "both",
        "some",
        "there",
        "here",
    ]
)
# Questions about these may have digits in their answer even when asking "which".
_CODE_WORDS = frozenset(
    {
        "code",
        "number",
        "part",
        "room",
        "version",
        "model",
        "extension",
        "procedure",
        "form",
        "reference",
        "policy",
        "serial",
    }
)
# Identifiers: letters and digits with a hyphen ("BM-DL200", "LS-09") or letters then
# digits ("C104"), alone or after the word that names them ("room C104", "extension 220").
_CODE_NAME = r"(?:[Rr]oom|[Ee]xtension|[Ff]orm|[Pp]art|[Mm]odel|[Vv]ersion|[Cc]ode)\s"
_CODE = re.compile(
    rf"(?<![\w-])(?:{_CODE_NAME})?(?:[A-Z0-9]+(?:-[A-Z0-9]+)+|[A-Z]{{1,4}}\d[A-Z0-9]*)(?![\w-])"
    rf"|(?<![\w-]){_CODE_NAME}\d+\b"
)
# Where something is: a place preposition and up to four words ("under the drip tray").
_PLACE_PREPOSITIONS = (
    "under|behind|beside|inside|outside|above|below|beneath|near|next to|opposite|"
    "in|on|at|by|from|between|along|across"
)
_PLACE_WORD = re.compile(rf"(?<![\w'’])(?:{_PLACE_PREPOSITIONS})(?=\s)", re.IGNORECASE)
_QUESTION_STOP = _FUNCTION | frozenset(
    [
        "many",
        "much",
        "long",
        "large",
        "big",
        "tall",
        "far",
        "old",
        "often",
        "year",
        "years",
        "date",
        "day",
        "time",
        "name",
        "called",
    ]
)

_PERSON_NOUNS = (
    "person|man|woman|people|director|chair|chairman|chairwoman|mayor|minister|president|"
    "leader|manager|officer|secretary|treasurer|principal|head|author|architect|engineer|"
    "founder|owner|spokesperson|spokesman|spokeswoman|chief|executive|ceo|captain|coach|"
    "teacher|doctor|scientist|member|winner|councillor|inspector|librarian|nurse"
)
_NUMBER_NOUNS = (
    "share|percentage|percent|proportion|number|amount|cost|price|fee|rate|total|sum|"
    "figure|budget|revenue|profit|loss|salary|wage|rise|increase|decrease|margin|score|"
    "result|weight|limit|length|height|width|distance|size|capacity|population|temperature|"
    "speed|duration|value|dividend|charge|number"
)


def question_kind(question: str) -> Kind:
    """What ``question`` asks for, from its wh-word and the noun after ``what``/``which``."""
    q = " ".join(question.lower().split())
    if _CJK.search(q):
        return _cjk_kind(q)
    if re.search(r"\bwho(m|se)?\b", q) or re.search(rf"\b(which|what) ({_PERSON_NOUNS})\b", q):
        return Kind.PERSON
    if re.search(r"\bwhen\b|\bwhat (date|day|month|year|time)\b", q) or re.search(
        r"\b(which|what) (date|day|month|year|time|decade|century)\b", q
    ):
        return Kind.DATE
    if re.search(r"\bhow (many|much|long|large|big|tall|high|far|old|often|heavy|fast)\b", q):
        return Kind.NUMBER
    if re.search(r"\b(what|which)\b", q) and re.search(rf"\b({_NUMBER_NOUNS})s?\b", q):
        return Kind.NUMBER
    if re.search(r"\bby (what|how much)\b", q):
        return Kind.NUMBER
    if re.search(r"\bwhere\b", q):
        return Kind.PLACE
    if re.search(r"\bwhich \w+", q):
        return Kind.NAME
    return Kind.OTHER


def _cjk_kind(q: str) -> Kind:
    if "谁" in q:
        return Kind.OTHER  # names have no capitals to find them by
    if re.search(r"何时|什么时候|哪一?年|几月|哪天|日期", q):
        return Kind.DATE
    if re.search(r"多少|几|多长|多大|多高|多远", q):
        return Kind.NUMBER
    return Kind.OTHER


def distance(
    text: str, start: int, end: int, span_start: int, span_end: int, words: set[str]
) -> int:
    """Words between a span and the nearest of ``words`` in ``text[start:end]``.

    Answers sit near what the question names ("director Margaret Okafor"); a sentence
    without any question word puts every candidate at its length.
    """
    tokens = list(re.finditer(r"\w+", text[start:end]))
    inside = [i for i, m in enumerate(tokens) if span_start <= start + m.start() < span_end]
    marks = [
        i
        for i, m in enumerate(tokens)
        if m.group().lower() in words and not span_start <= start + m.start() < span_end
    ]
    if not inside or not marks:
        return len(tokens)
    return min(
        abs(i - j) - 1 if j < i else abs(j - i) - 1 for i in (inside[0], inside[-1]) for j in marks
    )


def question_words(question: str) -> set[str]:
    """The question's content words, lower-cased (never an answer on their own)."""
    return {w.lower() for w in re.findall(r"\w+", question)} - _QUESTION_STOP


def candidates(
    text: str, start: int, end: int, kind: Kind, avoid: set[str], max_words: int = 6
) -> list[tuple[int, int, bool]]:
    """Candidate answers inside ``text[start:end]`` for a question of ``kind``.

    Each is ``(start, end, typed)``: ``typed`` is false for the plain word runs added
    where a kind's typed spans may miss (places and things that are no names).
    ``avoid`` holds the question's content words: spans made only of them (or of
    function words) are dropped.
    """
    found: dict[Span, bool] = {}
    codes = bool(avoid & _CODE_WORDS)
    named = kind in (Kind.PERSON, Kind.NAME, Kind.PLACE) and not codes
    if codes:  # "What is the part number ...?": identifiers first
        found.update(((m.start(), m.end()), True) for m in _CODE.finditer(text, start, end))
    for s, e, typed in _typed(text, start, end, kind, max_words):
        words = [w.lower() for w in re.findall(r"\w+", text[s:e])]
        if not words or all(w in avoid or w in _FUNCTION for w in words):
            continue
        place = kind is Kind.PLACE and _PLACE_WORD.match(text, s) is not None
        if (
            named
            and not place
            and (any(c.isdigit() for c in text[s:e]) or _DATE.fullmatch(text[s:e]))
        ):
            continue  # a person, place or thing is no date or amount ("in room C104" may be)
        found[(s, e)] = found.get((s, e), False) or typed
    return [(s, e, typed) for (s, e), typed in found.items()]


def _typed(
    text: str, start: int, end: int, kind: Kind, max_words: int
) -> Iterator[tuple[int, int, bool]]:
    if kind is Kind.NUMBER:
        for m in _NUMBER_PHRASE.finditer(text, start, end):
            yield from ((s, e, True) for s, e in _prefixes(text, m.start(), m.end(), max_words))
            # "from 45.4 to 48.6 million": each side of a range is an answer of its own.
            for part in _NUMBER_PHRASE_SINGLE.finditer(text, m.start() + 1, m.end()):
                pieces = _prefixes(text, part.start(), part.end(), max_words)
                yield from ((s, e, True) for s, e in pieces)
        return
    if kind is Kind.DATE:
        for m in _DATE.finditer(text, start, end):
            yield m.start(), m.end(), True
        return
    if kind in (Kind.PERSON, Kind.NAME, Kind.PLACE):
        if kind is Kind.PLACE:
            yield from ((s, e, True) for s, e in _place_phrases(text, start, end))
        for m in _CAPITALIZED.finditer(text, start, end):
            yield from ((s, e, True) for s, e in _trim_names(text, m.start(), m.end()))
        if kind is Kind.PERSON:
            return
        # Places and things are not always names ("under the drip tray", "vinegar").
        yield from ((s, e, False) for s, e in _ngrams(text, start, end, min(max_words, 4)))
        return
    spans_ = _cjk_ngrams(text, start, end) if _CJK.search(text, start, end) else None
    if spans_ is None:
        spans_ = _ngrams(text, start, end, max_words)
    yield from ((s, e, False) for s, e in spans_)


def _place_phrases(text: str, start: int, end: int, longest: int = 4) -> Iterator[Span]:
    """A place preposition and the 1..longest words after it that end on a content word,
    unless they say when rather than where ("on Friday, 14 June")."""
    for m in _PLACE_WORD.finditer(text, start, end):
        if _DATE.match(text, m.end() + 1) is not None:
            continue
        words = [
            (m.end() + w.start(), m.end() + w.end())
            for w in re.finditer(r"[^\s,;:()\"“”]+", text[m.end() : end])
        ][:longest]
        for _, e in words:
            ends_sentence = text[e - 1] in ".!?;:"
            e = _trim_end(text, m.start(), e)
            last = re.findall(r"\w+", text[m.start() : e])
            if len(last) > 1 and last[-1].lower() not in _FUNCTION:
                yield m.start(), e
            if ends_sentence:
                break


def _cjk_ngrams(text: str, start: int, end: int, longest: int = 8) -> Iterator[Span]:
    """Runs of 2..longest characters without punctuation (CJK has no spaces to cut at)."""
    for m in re.finditer(r"[^\s，。！？、；：（）“”《》,.;:!?()]+", text[start:end]):
        s0, e0 = start + m.start(), start + m.end()
        for i in range(s0, e0):
            for j in range(i + 2, min(e0, i + longest) + 1):
                yield i, j


def _prefixes(text: str, start: int, end: int, max_words: int) -> Iterator[Span]:
    """A number phrase and its shorter prefixes ("2.4 million euros", "2.4 million")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    for n in range(min(len(words), max_words), 0, -1):
        stop = start + words[n - 1].end()
        while stop > start and text[stop - 1] in ",.;:)":
            stop -= 1
        yield start, stop


def _trim_names(text: str, start: int, end: int) -> Iterator[Span]:
    """The run, and without a leading function word ("The Old Mill Inn" → "Old Mill Inn")."""
    while end > start and text[end - 1] in ".,'’":
        end -= 1
    if end <= start:
        return
    yield start, end
    first = re.match(r"\S+ ", text[start:end])
    if first is not None:  # a title or sentence-initial word before a name: "Mayor Ann Lee"
        yield start + first.end(), end
    # Each part between lower-case joiners, and each part with what follows it.
    joiners = [m for m in re.finditer(r" (?:[a-z]+|&) ", text[start:end])]
    cuts = [start] + [start + m.end() for m in joiners]
    for cut in cuts[1:]:
        yield cut, end
    for k, m in enumerate(joiners):
        yield cuts[k], start + m.start()


def _trim_end(text: str, start: int, end: int) -> int:
    """``end`` moved back past closing punctuation, quotes and spaces (not past ``start``)."""
    while end > start and (text[end - 1] in ".,;:!?'’\"”)" or text[end - 1].isspace()):
        end -= 1
    return end


def _ngrams(text: str, start: int, end: int, max_words: int) -> Iterator[Span]:
    """Runs of 1..max_words words that start and end on a content word."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[^\s,;:()\"“”]+", text[start:end])]
    words = [(start + s, start + e) for s, e in words]
    for i in range(len(words)):
        for j in range(i, min(len(words), i + max_words)):
            s = words[i][0]
            e = _trim_end(text, s, words[j][1])
            first = text[words[i][0] : words[i][1]].lower().strip("\"'“(")
            last = text[words[j][0] : e].lower()
            if first in _FUNCTION or last in _FUNCTION or e <= s:
                continue
            yield s, e
