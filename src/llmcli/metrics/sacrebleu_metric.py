"""Adapter that puts a sacrebleu metric behind :class:`Metric`.

Scores are sacrebleu's own: statistics come from ``_extract_corpus_statistics`` and
scores from ``_compute_score_from_stats``, the same private pair sacrebleu's
``significance`` module uses, so corpus, sentence, bootstrap and paired-test numbers
equal what sacrebleu itself prints for the same options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llmcli.metrics.base import CorpusScore, Metric, References, reference_streams


class SacrebleuMetric(Metric):
    """Shared plumbing; subclasses build the corpus and sentence-level sacrebleu objects."""

    perfect = 100.0

    def __init__(self, name: str, corpus_metric: Any, sentence_metric: Any) -> None:
        self._name = name
        self._metric = corpus_metric
        # Sentence-level scoring may differ in configuration (BLEU's effective order).
        self._sentence_metric = sentence_metric

    @property
    def name(self) -> str:
        return self._name

    def statistics(self, hypotheses: Sequence[str], references: References) -> np.ndarray:
        streams = reference_streams(references)
        self._metric._check_corpus_score_args(hypotheses, streams)
        stats = self._metric._extract_corpus_statistics(hypotheses, streams)
        # The sentence-level twin needs the reference count for its signature only.
        self._sentence_metric.num_refs = self._metric.num_refs
        return np.asarray(stats, dtype=np.float64)

    def score_from_totals(self, totals: np.ndarray, segments: int) -> float:
        return float(self._metric._compute_score_from_stats(_as_python(totals)).score)

    def resampled_score(self, totals: np.ndarray, segments: int) -> float:
        # sacrebleu sums bootstrap resamples in float32 and scores those float32 totals;
        # doing the same keeps intervals equal to its own, not just close.
        return float(self._metric._compute_score_from_stats(totals.astype(np.float32)).score)

    def corpus_score(self, stats: np.ndarray) -> CorpusScore:
        score = self._metric._compute_score_from_stats(_as_python(stats.sum(axis=0)))
        return CorpusScore(float(score.score), score.format(width=2), self._details(score))

    def segment_scores(self, stats: np.ndarray) -> list[float]:
        compute = self._sentence_metric._compute_score_from_stats
        return [float(compute(_as_python(row)).score) for row in stats]

    def signature(self, extra: dict[str, str]) -> str:
        sig = self._metric.get_signature()
        for key, value in extra.items():
            sig.update(key, value)
        return str(sig.format())

    def _details(self, score: Any) -> dict[str, Any]:
        return {}


def _as_python(row: np.ndarray) -> list[Any]:
    """sacrebleu's formulas expect plain numbers; keep integers integral."""
    values: list[Any] = []
    for value in row.tolist():
        values.append(int(value) if float(value).is_integer() else value)
    return values
