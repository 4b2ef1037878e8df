"""Seeded bootstrap intervals and paired significance tests for any :class:`Metric`.

The algorithms, random draws and formulas are sacrebleu's (``sacrebleu.significance``):
with the same seed and sample counts, BLEU/chrF/TER numbers equal sacrebleu's. The
difference is memory: sacrebleu materialises every resample at once (``samples x
segments x stats``, gigabytes on a 100k-line corpus); here resamples are drawn and
summed in chunks, from the same random stream, so the results are the same.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from llmcli.metrics.base import Metric

DEFAULT_SEED = 12345  # sacrebleu's default, so intervals match its CLI
DEFAULT_BOOTSTRAP = 1000
DEFAULT_AR_TRIALS = 10000
_CHUNK_ELEMENTS = 4_000_000  # index entries per chunk: ~32 MB of int64


@dataclass(frozen=True)
class Interval:
    """Bootstrap estimate: mean of resampled scores, half-width and bounds of the 95% CI."""

    mean: float
    ci: float
    low: float
    high: float


@dataclass(frozen=True)
class PairedResult:
    """A system against the baseline: p-value, plus the system's bootstrap interval."""

    p_value: float
    interval: Interval | None


def _rows_per_chunk(segments: int, multiple: int = 32) -> int:
    # Boolean draws are buffered 32 bits at a time within one call, so chunks of a
    # multiple of 32 rows keep the random stream identical to a single big draw.
    rows = max(1, _CHUNK_ELEMENTS // max(1, segments))
    return max(multiple, rows - rows % multiple)


def _resample_indices(
    rng: np.random.Generator, segments: int, samples: int
) -> Iterator[np.ndarray]:
    step = _rows_per_chunk(segments)
    for start in range(0, samples, step):
        yield rng.choice(segments, size=(min(step, samples - start), segments), replace=True)


def _resampled_totals(stats: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Column sums of ``stats`` for each row of resample indices."""
    segments = stats.shape[0]
    # counts[i, j] = how often segment j is drawn in resample i; counts @ stats sums them.
    offsets = (np.arange(len(indices)) * segments)[:, None]
    counts = np.bincount((indices + offsets).ravel(), minlength=len(indices) * segments)
    totals: np.ndarray = counts.reshape(len(indices), segments).astype(np.float64) @ stats
    return totals


def estimate_ci(scores: np.ndarray, exact_mean: bool = False) -> Interval:
    """sacrebleu's estimate: mean, and half the distance between the 2.5/97.5% order stats.

    sacrebleu takes the mean two ways, both in the scores' own type (float32 for chrF
    and TER): numpy's mean in its paired tests, ``statistics.mean`` (the exact mean,
    rounded once) for one system's ``--confidence``; ``exact_mean`` picks the latter.
    """
    ordered = np.sort(scores)
    n = len(ordered)
    lower_idx = n // 40
    upper_idx = n - lower_idx - 1
    low, high = ordered[lower_idx], ordered[upper_idx]
    mean = statistics.mean(list(ordered)) if exact_mean else ordered.mean()
    return Interval(float(mean), float(0.5 * (high - low)), float(low), float(high))


def _scores(metric: Metric, totals: np.ndarray, segments: int) -> np.ndarray:
    return np.array([metric.score_from_totals(t, segments) for t in totals])


def _resampled_scores(metric: Metric, totals: np.ndarray, segments: int) -> np.ndarray:
    return np.array([metric.resampled_score(t, segments) for t in totals])


def bootstrap_scores(
    metric: Metric, stats: np.ndarray, samples: int, seed: int | None
) -> np.ndarray:
    """Scores of ``samples`` bootstrap resamples (sacrebleu's ``_bootstrap_resample``)."""
    rng = np.random.default_rng(seed)
    segments = stats.shape[0]
    parts = [
        _resampled_scores(metric, _resampled_totals(stats, idx), segments)
        for idx in _resample_indices(rng, segments, samples)
    ]
    return np.concatenate(parts)


def bootstrap_interval(
    metric: Metric, stats: np.ndarray, samples: int = DEFAULT_BOOTSTRAP, seed: int | None = None
) -> Interval:
    """95% bootstrap interval of one system's score."""
    return estimate_ci(bootstrap_scores(metric, stats, samples, seed), exact_mean=True)


def _p_value(sample_stats: np.ndarray, real_difference: float) -> float:
    # Strict '>' and the +1s follow multeval / sacrebleu; a system tested against itself
    # gets 1/(N+1), as in sacrebleu.
    count = int(np.sum(sample_stats > real_difference))
    return (count + 1) / (len(sample_stats) + 1)


def _real_difference(metric: Metric, baseline: np.ndarray, system: np.ndarray) -> float:
    """The observed test statistic: the absolute difference of the corpus scores."""
    segments = baseline.shape[0]
    return abs(
        metric.score_from_totals(baseline.sum(axis=0), segments)
        - metric.score_from_totals(system.sum(axis=0), segments)
    )


def paired_bootstrap(
    metric: Metric,
    baseline: np.ndarray,
    system: np.ndarray,
    samples: int = DEFAULT_BOOTSTRAP,
    seed: int | None = None,
) -> PairedResult:
    """Paired bootstrap resampling (Koehn 2004; Moses' script, as in sacrebleu)."""
    segments = baseline.shape[0]
    real = _real_difference(metric, baseline, system)
    bl_parts: list[np.ndarray] = []
    sys_parts: list[np.ndarray] = []
    for idx in _resample_indices(np.random.default_rng(seed), segments, samples):
        bl_parts.append(_resampled_scores(metric, _resampled_totals(baseline, idx), segments))
        sys_parts.append(_resampled_scores(metric, _resampled_totals(system, idx), segments))
    scores_bl, scores_sys = np.concatenate(bl_parts), np.concatenate(sys_parts)
    diffs = np.abs(scores_sys - scores_bl)
    return PairedResult(_p_value(diffs - diffs.mean(), real), estimate_ci(scores_sys))


def paired_approximate_randomization(
    metric: Metric,
    baseline: np.ndarray,
    system: np.ndarray,
    trials: int = DEFAULT_AR_TRIALS,
    seed: int | None = None,
    confidence_samples: int = DEFAULT_BOOTSTRAP,
) -> PairedResult:
    """Paired approximate randomization (Riezler & Maxwell 2005, as in sacrebleu/multeval)."""
    segments = baseline.shape[0]
    real = _real_difference(metric, baseline, system)
    rng = np.random.default_rng(seed)
    step = _rows_per_chunk(segments)
    diffs: list[np.ndarray] = []
    for start in range(0, trials, step):
        pos = rng.integers(2, size=(min(step, trials - start), segments), dtype=bool)
        neg = ~pos
        # Each trial swaps a random half of the segments between the two systems.
        shuf_a = pos @ baseline + neg @ system
        shuf_b = neg @ baseline + pos @ system
        diffs.append(np.abs(_scores(metric, shuf_a, segments) - _scores(metric, shuf_b, segments)))
    p = _p_value(np.concatenate(diffs), real)
    interval = None
    if confidence_samples > 0:
        parts = [
            _resampled_scores(metric, _resampled_totals(system, idx), segments)
            for idx in _resample_indices(rng, segments, confidence_samples)
        ]
        interval = estimate_ci(np.concatenate(parts))
    return PairedResult(p, interval)


def describe_seed(seed: int | None) -> str:
    """How the seed reads in a signature."""
    return "none" if seed is None else str(seed)
