"""Which language a text is in (py3langid, offline, its model inside the package).

py3langid was chosen over lingua-language-detector after measuring both here: both
named English, German, French, Spanish, Chinese and Japanese sample sentences right;
py3langid is 4.5 MB and loads in 0.7 s, lingua is 96 MB and took 9 s to load its
models on first use, which a command-line tool pays on every run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from llmcli.models.base import LoadedModel

#: Fewer letters than this say too little about a language to act on.
MIN_LETTERS = 20
#: Detections below this (py3langid's normalized probability) are not acted on.
MIN_CONFIDENCE = 0.5
#: The start of a long text is enough, and bounds the cost.
_SAMPLE_CHARS = 20_000

_lock = threading.Lock()
_identifier: Any = None


@dataclass(frozen=True)
class Detected:
    """A detected language: ISO 639-1 code and confidence in [0, 1]."""

    code: str
    confidence: float

    def to_json(self) -> dict[str, Any]:
        """The JSON record's ``language`` field."""
        return {"code": self.code, "confidence": round(self.confidence, 4)}


def detect(text: str) -> Detected | None:
    """The language of ``text``; None for too little text, or without py3langid."""
    sample = text[:_SAMPLE_CHARS]
    if sum(1 for c in sample if c.isalpha()) < MIN_LETTERS:
        return None
    identifier = _load()
    if identifier is None:
        return None
    code, confidence = identifier.classify(sample)
    return Detected(str(code), float(confidence))


def _load() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            try:
                from py3langid.langid import _load_identifier
            except ImportError:
                return None
            _identifier = _load_identifier(norm_probs=True)
        return _identifier


def uncovered(loaded: LoadedModel, found: Detected | None) -> bool:
    """Whether ``found`` is confidently a language ``loaded`` was not trained to write."""
    languages = loaded.extra.get("languages")
    return (
        found is not None
        and languages is not None
        and found.confidence >= MIN_CONFIDENCE
        and found.code not in languages
    )


def name(code: str) -> str:
    """``Chinese (zh)`` for messages."""
    from llmcli.tasks.languages import NAMES

    return f"{NAMES[code]} ({code})" if code in NAMES else code
