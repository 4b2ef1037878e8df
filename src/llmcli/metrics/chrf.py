"""chrF and chrF++ (``word_order`` 2), computed by sacrebleu."""

from __future__ import annotations

from llmcli.metrics.base import MetricOptions
from llmcli.metrics.sacrebleu_metric import SacrebleuMetric


class Chrf(SacrebleuMetric):
    """Character n-gram F-score."""

    key = "chrf"
    default_word_order = 0

    def __init__(self, options: MetricOptions) -> None:
        from sacrebleu.metrics.chrf import CHRF

        from llmcli.errors import UsageError

        if options.chrf_char_order < 1 or options.chrf_word_order < 0 or options.chrf_beta < 0:
            raise UsageError(
                "chrF needs --chrf-char-order of 1 or more, and a --chrf-word-order and "
                "--chrf-beta of 0 or more"
            )
        # chrF++ means word order 2, whatever --chrf-word-order says.
        word_order = self.default_word_order or options.chrf_word_order

        def build() -> CHRF:
            return CHRF(
                char_order=options.chrf_char_order,
                word_order=word_order,
                beta=options.chrf_beta,
                # -lc is BLEU's alone, as in sacrebleu; chrF has --chrf-lowercase.
                lowercase=options.chrf_lowercase,
                whitespace=options.chrf_whitespace,
                eps_smoothing=options.chrf_eps_smoothing,
            )

        name = f"chrF{options.chrf_beta}" + "+" * word_order
        super().__init__(name, build(), build())


class ChrfPlusPlus(Chrf):
    """chrF++: chrF with word bigrams."""

    key = "chrf++"
    default_word_order = 2
