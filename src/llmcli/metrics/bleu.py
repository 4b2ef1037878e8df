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

        from llmcli.errors import UsageError

        if options.tokenize is not None and options.tokenize not in BLEU.TOKENIZERS:
            raise UsageError(
                f"unknown BLEU tokenizer {options.tokenize!r}",
                hint=f"choose from {', '.join(sorted(BLEU.TOKENIZERS))}",
            )
        if options.smooth_method not in BLEU.SMOOTH_DEFAULTS:
            raise UsageError(
                f"unknown smoothing method {options.smooth_method!r}",
                hint=f"choose from {', '.join(BLEU.SMOOTH_DEFAULTS)}",
            )

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
