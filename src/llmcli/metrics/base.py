"""The small contract every metric implements.

A metric turns a system's hypotheses and the references into per-segment *sufficient
statistics* (one row per segment). The corpus score is a function of the column sums,
which is what makes bootstrap resampling and paired significance tests generic: they
resample rows, sum, and ask the metric for a score (the scheme sacrebleu uses).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

# refs[i] holds every reference of segment i (one or more).
References = Sequence[Sequence[str]]


@dataclass(frozen=True)
class MetricOptions:
    """Every metric option the CLI exposes; each metric reads the ones it knows."""

    tokenize: str | None = None  # sacrebleu BLEU tokenizer; None: its default (13a)
    lowercase: bool = False  # BLEU only, as sacrebleu's -lc; chrF has chrf_lowercase
    smooth_method: str = "exp"
    smooth_value: float | None = None
    force: bool = False
    chrf_char_order: int = 6
    chrf_word_order: int = 0
    chrf_beta: int = 2
    chrf_whitespace: bool = False
    chrf_lowercase: bool = False
    chrf_eps_smoothing: bool = False
    ter_case_sensitive: bool = False
    ter_no_punct: bool = False
    ter_normalized: bool = False
    ter_asian_support: bool = False
    rouge_stemmer: bool = False
    rouge_tokenizer: str = "default"  # default | unicode | character
    rouge_lsum_split: str = "newline"  # newline | sentence
    rouge_engine: str = "auto"  # auto | rust | python
    rouge_sentence_sep: str | None = None  # e.g. "<n>": splits a line into sentences


@dataclass
class CorpusScore:
    """A corpus-level result: the headline number plus metric-specific detail."""

    score: float
    text: str  # one human line, e.g. sacrebleu's "BLEU = 34.2 65.1/40.2/... (BP = ...)"
    details: dict[str, Any] = field(default_factory=dict)


class Metric(ABC):
    """One metric, configured; stateless between calls except for caches."""

    #: registry key, lower case ("bleu", "rouge1", ...)
    key: str
    #: what a score of a perfect match reads (100 for sacrebleu metrics, 1 for ROUGE)
    perfect: ClassVar[float]
    #: True where lower is better (TER)
    lower_is_better: ClassVar[bool] = False

    @property
    @abstractmethod
    def name(self) -> str:
        """Display name (``BLEU``, ``chrF2++``, ``rougeL``)."""

    @abstractmethod
    def statistics(self, hypotheses: Sequence[str], references: References) -> np.ndarray:
        """Per-segment sufficient statistics, shape ``(segments, k)``."""

    @abstractmethod
    def score_from_totals(self, totals: np.ndarray, segments: int) -> float:
        """The corpus score from column sums over ``segments`` rows."""

    def resampled_score(self, totals: np.ndarray, segments: int) -> float | np.floating[Any]:
        """The score of a bootstrap resample (may mimic a reference's arithmetic).

        A numpy scalar keeps its precision: sacrebleu averages float32 chrF and TER
        resamples in float32, and the interval's mean must do the same to equal its own.
        """
        return self.score_from_totals(totals, segments)

    @abstractmethod
    def corpus_score(self, stats: np.ndarray) -> CorpusScore:
        """The corpus result from all rows."""

    @abstractmethod
    def segment_scores(self, stats: np.ndarray) -> list[float]:
        """One sentence-level score per row."""

    def segment_details(self, stats: np.ndarray) -> dict[str, list[float]]:
        """Per-segment components beside :meth:`segment_scores` (ROUGE: P, R, F)."""
        return {}

    @abstractmethod
    def signature(self, extra: dict[str, str], short: bool = False) -> str:
        """How the score was computed, as ``key:value|...`` (after :meth:`statistics`).

        ``extra`` adds resampling settings (``bs``, ``ar``, ``seed``) when they apply;
        ``short`` abbreviates the keys as sacrebleu's ``--short`` does.
        """

    def segment_signature(self, short: bool = False) -> str:
        """How :meth:`segment_scores` were computed (sentence-level settings)."""
        return self.signature({}, short)


#: sacrebleu's ``--short`` abbreviations of the keys every signature shares.
SHORT_KEYS = {"version": "v", "nrefs": "#", "bs": "bs", "ar": "ar", "seed": "rs"}


def format_signature(fields: dict[str, str], short: bool = False) -> str:
    """sacrebleu's signature layout: ``key:value|key:value``, version last."""
    version = fields.get("version")
    items = [(k, v) for k, v in fields.items() if k != "version"]
    if version is not None:
        items.append(("version", version))
    return "|".join(f"{SHORT_KEYS.get(k, k) if short else k}:{v}" for k, v in items)


def reference_streams(references: References) -> list[list[str | None]]:
    """Per-segment reference lists as sacrebleu's parallel streams (None pads a gap)."""
    width = max((len(r) for r in references), default=0)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]
