"""Checkable facts in a sentence: numbers and names, and whether a source holds them.

A small model that paraphrases invents numbers ("a capacity of 160 students") and
names; both are easy to check against the source word for word, unlike meaning. The
check is deliberately literal: a number must occur in the source as a number (commas
ignored, small number words read as digits), a name as a word (case ignored).
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PAIRS = re.compile(r"\b([A-Za-z]+) ([A-Za-z]+)\b")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
}  # fmt: skip
# Capitalized words that start sentences or are titles, never names on their own.
_NOT_NAMES = frozenset(
    {"The", "A", "An", "This", "That", "These", "Those", "It", "Its", "In", "On", "At", "By"}
    | {"For", "From", "With", "And", "But", "Or", "As", "If", "When", "While", "After"}
    | {"Before", "During", "He", "She", "They", "We", "I", "You", "His", "Her", "Their"}
    | {"Our", "My", "Your", "There", "Here", "However", "Also", "Mr", "Mrs", "Ms", "Dr"}
)


def numbers(text: str) -> set[str]:
    """Numbers in ``text``, normalized: ``2,000`` → ``2000``; ``three`` → ``3``."""
    found = {_normalize_number(m.group()) for m in _NUMBER.finditer(text)}
    found |= {n for n in (_word_number(w) for w in _WORD.findall(text)) if n is not None}
    found |= {n for n in (_word_number(f"{a}-{b}") for a, b in _PAIRS.findall(text)) if n}
    return found


def _word_number(word: str) -> str | None:
    """``three`` → ``3``, ``twenty-three`` → ``23``; None for any other word."""
    parts = word.lower().split("-")
    if not all(p in _NUMBER_WORDS for p in parts) or len(parts) > 2:
        return None
    return str(sum(int(_NUMBER_WORDS[p]) for p in parts))


def _normalize_number(raw: str) -> str:
    # "2,000" and "2.000" (thousands) vs "2.4": a group of exactly three digits after a
    # separator is a thousands group.
    parts = re.split(r"[.,]", raw)
    if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]):
        return "".join(parts)
    return raw.replace(",", ".")


def names(text: str) -> set[str]:
    """Capitalized words that may be names (sentence-initial function words left out)."""
    return {w for w in _WORD.findall(text) if w[:1].isupper() and w not in _NOT_NAMES}


def unsupported(sentence: str, source: str) -> list[str]:
    """Numbers and names of ``sentence`` that ``source`` does not contain, in order.

    The first word of a sentence is capitalized whatever it is ("Overall", "Researchers"),
    so it is not taken for a name; numbers are checked wherever they stand.
    """
    source_numbers = numbers(source)
    source_words = {w.lower() for w in _WORD.findall(source)}
    missing: list[str] = []
    for m in _NUMBER.finditer(sentence):
        if _normalize_number(m.group()) not in source_numbers and m.group() not in missing:
            missing.append(m.group())
    words = _WORD.findall(sentence)
    for k, w in enumerate(words):
        value = _word_number(w)
        if value is not None:
            if value not in source_numbers and w not in missing:
                missing.append(w)
            continue
        is_name = k > 0 and w[:1].isupper() and w not in _NOT_NAMES
        if is_name and w.lower() not in source_words and w not in missing:
            missing.append(w)
    return missing
