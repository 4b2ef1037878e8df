"""Translation Edit Rate, computed by sacrebleu (lower is better)."""

from __future__ import annotations

from llmcli.metrics.base import MetricOptions
from llmcli.metrics.sacrebleu_metric import SacrebleuMetric


class Ter(SacrebleuMetric):
    """TER."""

    key = "ter"
    lower_is_better = True

    def __init__(self, options: MetricOptions) -> None:
        from sacrebleu.metrics.ter import TER

        def build() -> TER:
            return TER(
                case_sensitive=options.ter_case_sensitive,
                normalized=options.ter_normalized,
                no_punct=options.ter_no_punct,
                asian_support=options.ter_asian_support,
            )

        super().__init__("TER", build(), build())
