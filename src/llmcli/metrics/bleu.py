"""BLEU, computed by sacrebleu."""

from __future__ import annotations

from typing import Any

from llmcli.errors import ModelUnavailableError
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
        corpus = _build(BLEU, options.tokenize, kwargs)
        super().__init__(
            "BLEU", corpus, _build(BLEU, options.tokenize, {**kwargs, "effective_order": True})
        )

    def _details(self, score: Any) -> dict[str, Any]:
        return {
            "counts": list(score.counts),
            "totals": list(score.totals),
            "precisions": [float(p) for p in score.precisions],
            "bp": float(score.bp),
            "sys_len": int(score.sys_len),
            "ref_len": int(score.ref_len),
        }


def _build(cls: Any, tokenize: str | None, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)``; a tokenizer that cannot start becomes a typed error.

    sacrebleu builds the tokenizer here: MeCab's (ja-mecab, ko-mecab) raises a bare
    RuntimeError when the package is missing, the SentencePiece ones (flores101, ...)
    download their model on first use and raise whatever urllib raises offline.
    """
    try:
        return cls(**kwargs)
    except (RuntimeError, ImportError) as exc:
        # sacrebleu's message says what to install ("pip install sacrebleu[ja]").
        lines = [line.strip() for line in str(exc).splitlines()]
        install = next((line for line in lines if line.startswith("pip install")), None)
        raise ModelUnavailableError(
            f"the {tokenize} tokenizer needs a package that is not installed",
            hint=f"run: {install}" if install else None,
        ) from None
    except OSError as exc:  # URLError, a refused connection, a read-only cache folder
        raise ModelUnavailableError(
            f"the {tokenize} tokenizer needs its SentencePiece model, and downloading it "
            f"{_spm_download(tokenize)} failed: {getattr(exc, 'reason', None) or exc}",
            hint="connect once (sacrebleu keeps it in $SACREBLEU, default ~/.sacrebleu) "
            "or put the file there yourself",
        ) from None


def _spm_download(tokenize: str | None) -> str:
    """Where sacrebleu fetches ``tokenize``'s model from and stores it, for a message."""
    import os

    from sacrebleu.tokenizers import tokenizer_spm

    model = tokenizer_spm.SPM_MODELS.get(tokenize or "", {})
    url = model.get("url")
    if url is None:
        return ""
    # The folder as the tokenizer module sees it (bound when sacrebleu was imported).
    folder = getattr(tokenizer_spm, "SACREBLEU_DIR", "~/.sacrebleu")
    path = os.path.join(folder, "models", os.path.basename(url))
    return f"from {url} to {path}"
