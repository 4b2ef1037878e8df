"""BLEU, computed by sacrebleu."""

from __future__ import annotations

from typing import Any

from llmcli.metrics.base import MetricOptions
from llmcli.metrics.sacrebleu_metric import SacrebleuMetric


class Bleu(SacrebleuMetric):
    """Corpus BLEU; segment scores are sacrebleu's ``sentence_bleu`` (effective order)."""

    key = "bleu"

    def __init__(self, options: MetricOptions) -> None:
        from sacrebleu.metrics.bleu import BLEU

        kwargs: dict[str, Any] = {
            "lowercase": options.lowercase,
            "force": options.force,
            "tokenize": options.tokenize,
            "smooth_method": options.smooth_method,
            "smooth_value": options.smooth_value,
        }
        super().__init__("BLEU", BLEU(**kwargs), BLEU(effective_order=True, **kwargs))

    def _details(self, score: Any) -> dict[str, Any]:
        return {
            "counts": list(score.counts),
            "totals": list(score.totals),
            "precisions": [float(p) for p in score.precisions],
            "bp": float(score.bp),
            "sys_len": int(score.sys_len),
            "ref_len": int(score.ref_len),
        }
