"""Adapter that puts a sacrebleu metric behind :class:`Metric`.

Scores are sacrebleu's own: statistics come from ``_extract_corpus_statistics`` and
scores from ``_compute_score_from_stats``, the same private pair sacrebleu's
``significance`` module uses, so corpus, sentence, bootstrap and paired-test numbers
equal what sacrebleu itself prints for the same options.

The references are processed once per metric and reused for every system, through
sacrebleu's own reference cache (what its CLI does when given several systems).
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
        # The references the cache was built from; held so their id() stays theirs.
        self._cached_references: References | None = None

    @property
    def name(self) -> str:
        return self._name

    def statistics(self, hypotheses: Sequence[str], references: References) -> np.ndarray:
        if references is not self._cached_references:
            streams = reference_streams(references)
            self._metric._check_corpus_score_args(hypotheses, streams)
            # Also sets num_refs, which the signature reads.
            self._metric._ref_cache = self._metric._cache_references(streams)
            self._cached_references = references
        else:
            self._metric._check_corpus_score_args(hypotheses, None)
        stats = self._metric._extract_corpus_statistics(hypotheses, None)
        # The sentence-level twin needs the reference count for its signature only.
        self._sentence_metric.num_refs = self._metric.num_refs
        return np.asarray(stats, dtype=np.float64)

    def score_from_totals(self, totals: np.ndarray, segments: int) -> float:
        return float(self._metric._compute_score_from_stats(_as_python(totals)).score)

    def resampled_score(self, totals: np.ndarray, segments: int) -> float | np.floating[Any]:
        # sacrebleu sums bootstrap resamples in float32 and scores those float32 totals;
        # doing the same keeps intervals equal to its own, not just close. The score keeps
        # its type (float32 for chrF and TER) so that means are taken as sacrebleu takes them.
        score = self._metric._compute_score_from_stats(totals.astype(np.float32)).score
        return score if isinstance(score, np.floating) else float(score)

    def corpus_score(self, stats: np.ndarray) -> CorpusScore:
        score = self._metric._compute_score_from_stats(_as_python(stats.sum(axis=0)))
        return CorpusScore(float(score.score), score.format(width=2), self._details(score))

    def segment_scores(self, stats: np.ndarray) -> list[float]:
        compute = self._sentence_metric._compute_score_from_stats
        return [float(compute(_as_python(row)).score) for row in stats]

    def signature(self, extra: dict[str, str], short: bool = False) -> str:
        sig = self._metric.get_signature()
        for key, value in extra.items():
            sig.update(key, value)
        return str(sig.format(short))

    def segment_signature(self, short: bool = False) -> str:
        # sacrebleu's own sentence-level signature (BLEU: eff:yes).
        return str(self._sentence_metric.get_signature().format(short))

    def _details(self, score: Any) -> dict[str, Any]:
        return {}


def _as_python(row: np.ndarray) -> list[Any]:
    """sacrebleu's formulas expect plain numbers; keep integers integral."""
    values: list[Any] = []
    for value in row.tolist():
        values.append(int(value) if float(value).is_integer() else value)
    return values
