"""Metric names to classes: a plain mapping, as in sacrebleu."""

from __future__ import annotations

from collections.abc import Sequence

from llmcli.errors import UsageError
from llmcli.metrics.base import Metric, MetricOptions
from llmcli.metrics.bleu import Bleu
from llmcli.metrics.chrf import Chrf, ChrfPlusPlus
from llmcli.metrics.rouge import DEFAULT_ROUGE_TYPES, ROUGE_TYPES, Rouge, RougeEngine
from llmcli.metrics.ter import Ter

SACREBLEU_METRICS: dict[str, type[Bleu] | type[Chrf] | type[Ter]] = {
    "bleu": Bleu,
    "chrf": Chrf,
    "chrf++": ChrfPlusPlus,
    "ter": Ter,
}
ROUGE_NAMES = {t.lower(): t for t in ROUGE_TYPES}
ALIASES = {"rouge": list(DEFAULT_ROUGE_TYPES), "chrfpp": ["chrf++"]}
METRIC_NAMES = [*SACREBLEU_METRICS, *ROUGE_TYPES, "rouge"]


def resolve_names(names: Sequence[str]) -> list[str]:
    """Expand aliases, validate, drop repeats; order as given."""
    resolved: list[str] = []
    for raw in names:
        for part in raw.split(","):
            key = part.strip().lower()
            if not key:
                continue
            expanded = ALIASES.get(key, [key])
            for name in expanded:
                canonical = ROUGE_NAMES.get(name.lower(), name)
                if canonical not in SACREBLEU_METRICS and canonical not in ROUGE_TYPES:
                    raise UsageError(
                        f"unknown metric {part.strip()!r}",
                        hint=f"choose from {', '.join(METRIC_NAMES)}",
                    )
                if canonical not in resolved:
                    resolved.append(canonical)
    if not resolved:
        raise UsageError("no metric given", hint=f"choose from {', '.join(METRIC_NAMES)}")
    return resolved


def build_metrics(names: Sequence[str], options: MetricOptions) -> list[Metric]:
    """Instantiate the named metrics; ROUGE types share one engine."""
    canonical = resolve_names(names)
    rouge_types = [n for n in canonical if n in ROUGE_TYPES]
    engine = RougeEngine(options, rouge_types) if rouge_types else None
    metrics: list[Metric] = []
    for name in canonical:
        if name in SACREBLEU_METRICS:
            metrics.append(SACREBLEU_METRICS[name](options))
        else:
            assert engine is not None
            metrics.append(Rouge(name, engine, options))
    names = [m.name for m in metrics]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(
                f"metric {name} asked for twice",
                hint="e.g. chrf with --chrf-word-order 2 is chrf++",
            )
    return metrics
