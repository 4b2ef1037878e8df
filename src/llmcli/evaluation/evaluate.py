"""The ``eval`` core: score systems, add intervals and significance, pick worst segments."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from llmcli.errors import UsageError
from llmcli.evaluation.data import EvalData
from llmcli.evaluation.report import EvalReport, MetricResult, SystemResult, WorstSegment
from llmcli.evaluation.significance import (
    DEFAULT_AR_TRIALS,
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    Interval,
    bootstrap_interval,
    describe_seed,
    paired_approximate_randomization,
    paired_bootstrap,
)
from llmcli.metrics.base import Metric, MetricOptions
from llmcli.metrics.registry import build_metrics, resolve_names
from llmcli.metrics.rouge import Rouge, dropped_character_fraction

DROPPED_WARNING_THRESHOLD = 0.5


@dataclass(frozen=True)
class EvalRequest:
    """What to compute."""

    metrics: tuple[str, ...] = ("bleu", "chrf", "ter")
    options: MetricOptions = field(default_factory=MetricOptions)
    confidence: bool = False
    bootstrap_samples: int = DEFAULT_BOOTSTRAP
    seed: int | None = DEFAULT_SEED
    paired: str | None = None  # "bs" | "ar"
    ar_trials: int = DEFAULT_AR_TRIALS
    segments: bool = False
    worst: int = 0
    short_signatures: bool = False  # sacrebleu's --short


Step = Callable[[], None]


def _noop() -> None:
    return None


def step_count(data: EvalData, request: EvalRequest) -> int:
    """How often :func:`evaluate` ticks: once per system and metric that runs.

    Counted on the expanded metric names (``rouge`` is four), not the arguments.
    """
    return len(data.systems) * len(resolve_names(request.metrics))


def evaluate(data: EvalData, request: EvalRequest, step: Step = _noop) -> EvalReport:
    """Compute every requested metric for every system; ``step`` ticks once per pair."""
    if request.paired and len(data.systems) < 2:
        raise UsageError(
            "a paired test needs at least two hypothesis files",
            hint="the first is the baseline",
        )
    if request.paired:
        _check_no_repeated_system(data)
    if request.bootstrap_samples < 1 or request.ar_trials < 1:
        raise UsageError("--bootstrap-samples and --ar-trials must be positive")
    if request.worst < 0:
        raise UsageError("--worst must be zero or more")
    if request.seed is not None and request.seed < 0:
        raise UsageError("--seed must be zero or more")
    metrics = build_metrics(request.metrics, request.options)
    warnings = _warnings(data, metrics, request.options)
    n = len(data.references)
    n_refs = {len(r) for r in data.references}
    references: int | str = next(iter(n_refs)) if len(n_refs) == 1 else "var"

    baseline_stats: dict[str, np.ndarray] = {}
    systems: list[SystemResult] = []
    worst: list[WorstSegment] = []
    for position, system in enumerate(data.systems):
        results: list[MetricResult] = []
        segment_scores: dict[str, list[float]] = {}
        segment_details: dict[str, dict[str, list[float]]] = {}
        for metric in metrics:
            stats = metric.statistics(system.hypotheses, data.references)
            corpus = metric.corpus_score(stats)
            interval, p_value = _resampling(metric, stats, baseline_stats, position, request)
            short = request.short_signatures
            results.append(
                MetricResult(
                    metric.name,
                    corpus.score,
                    corpus.text,
                    metric.signature(_signature_extra(request), short),
                    corpus.details,
                    interval,
                    p_value,
                    metric.segment_signature(short) if request.segments else None,
                )
            )
            if position == 0:
                baseline_stats[metric.name] = stats
            if request.segments or (request.worst and metric is metrics[0]):
                segment_scores[metric.name] = metric.segment_scores(stats)
            if request.segments and (details := metric.segment_details(stats)):
                segment_details[metric.name] = details
            step()
        systems.append(
            SystemResult(system.name, position == 0, results, segment_scores, segment_details)
        )
        if request.worst:
            worst += _worst(
                system.name, system.hypotheses, data, metrics[0], segment_scores, request.worst
            )
    return EvalReport(
        segments=n,
        references=references,
        metric_names=[m.name for m in metrics],
        systems=systems,
        test=request.paired,
        worst_metric=metrics[0].name if request.worst else None,
        worst=worst,
        warnings=warnings,
        include_segments=request.segments,
    )


def _check_no_repeated_system(data: EvalData) -> None:
    # A system tested against itself gets the smallest p-value the test can give
    # (1/(N+1)), which reads as "significant"; sacrebleu refuses it too.
    seen: dict[str, str] = {}
    for system in data.systems:
        key = os.path.realpath(system.name) if os.path.exists(system.name) else system.name
        if key in seen:
            same = "" if seen[key] == system.name else f" (as {seen[key]})"
            raise UsageError(
                f"{system.name} is given twice{same}: a paired test would compare it with itself",
                hint="pass each system once",
            )
        seen[key] = system.name


def _resampling(
    metric: Metric,
    stats: np.ndarray,
    baseline_stats: dict[str, np.ndarray],
    position: int,
    request: EvalRequest,
) -> tuple[Interval | None, float | None]:
    if request.paired and position > 0:
        base = baseline_stats[metric.name]
        if request.paired == "bs":
            r = paired_bootstrap(metric, base, stats, request.bootstrap_samples, request.seed)
            return r.interval, r.p_value
        r = paired_approximate_randomization(
            metric,
            base,
            stats,
            request.ar_trials,
            request.seed,
            request.bootstrap_samples if request.confidence else 0,
        )
        return r.interval, r.p_value
    if request.confidence or request.paired == "bs":
        return bootstrap_interval(metric, stats, request.bootstrap_samples, request.seed), None
    return None, None


def _signature_extra(request: EvalRequest) -> dict[str, str]:
    extra: dict[str, str] = {}
    # The order is sacrebleu's (bs, ar, seed); its own signatures keep theirs regardless.
    if request.paired == "bs":
        extra = {"bs": str(request.bootstrap_samples), "seed": describe_seed(request.seed)}
    elif request.paired == "ar":
        extra = {"ar": str(request.ar_trials)}
        if request.confidence:
            extra["bs"] = str(request.bootstrap_samples)
        extra["seed"] = describe_seed(request.seed)
    elif request.confidence:
        extra = {"bs": str(request.bootstrap_samples), "seed": describe_seed(request.seed)}
    return extra


def _worst(
    name: str,
    hypotheses: list[str],
    data: EvalData,
    metric: Metric,
    segment_scores: dict[str, list[float]],
    count: int,
) -> list[WorstSegment]:
    scores = segment_scores[metric.name]
    # Stable sort: ties keep file order. For TER higher is worse.
    order = sorted(
        range(len(scores)), key=lambda i: -scores[i] if metric.lower_is_better else scores[i]
    )
    return [
        WorstSegment(name, i + 1, scores[i], hypotheses[i], data.references[i])
        for i in order[:count]
    ]


def _warnings(data: EvalData, metrics: list[Metric], options: MetricOptions) -> list[str]:
    if options.rouge_tokenizer != "default" or not any(isinstance(m, Rouge) for m in metrics):
        return []
    texts = [r for refs in data.references for r in refs]
    for system in data.systems:
        texts += system.hypotheses
    dropped = dropped_character_fraction(texts)
    if dropped <= DROPPED_WARNING_THRESHOLD:
        return []
    return [
        f"rouge-score's tokenizer keeps only a-z and 0-9 and drops {dropped:.0%} of these "
        "characters, so ROUGE here is near meaningless; pass --rouge-tokenizer unicode "
        "(or character for Chinese/Japanese)"
    ]
