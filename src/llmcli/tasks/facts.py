"""Checkable facts in a sentence: numbers and names, and whether a source holds them.

A small model that paraphrases invents numbers ("a capacity of 160 students") and
names; both are easy to check against the source word for word, unlike meaning. The
check is deliberately literal: a number must occur in the source as a number (commas
ignored, small number words read as digits), a name as a word (case ignored).
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100",
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
    found |= {_NUMBER_WORDS[w.lower()] for w in _WORD.findall(text) if w.lower() in _NUMBER_WORDS}
    return found


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
    """Numbers and names of ``sentence`` that ``source`` does not contain, in order."""
    source_numbers = numbers(source)
    source_words = {w.lower() for w in _WORD.findall(source)}
    missing: list[str] = []
    for m in _NUMBER.finditer(sentence):
        if _normalize_number(m.group()) not in source_numbers and m.group() not in missing:
            missing.append(m.group())
    for w in _WORD.findall(sentence):
        lowered = w.lower()
        if lowered in _NUMBER_WORDS:
            if _NUMBER_WORDS[lowered] not in source_numbers and w not in missing:
                missing.append(w)
            continue
        is_name = w[:1].isupper() and w not in _NOT_NAMES
        if is_name and lowered not in source_words and w not in missing:
            missing.append(w)
    return missing
