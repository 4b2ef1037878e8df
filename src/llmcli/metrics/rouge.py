"""ROUGE with rouge-score semantics.

Scores per segment are exactly ``rouge_score.rouge_scorer.RougeScorer``'s (multi-reference:
``score_multi``, the best F per type). The corpus figure is the plain mean of the
per-segment precision, recall and F over segments: deterministic, unlike the median of
an unseeded bootstrap that rouge-score's ``BootstrapAggregator`` reports. Intervals come
from the seeded bootstrap in :mod:`llmcli.evaluation.significance`, beside the mean.

The engine is ``rouge-score-rs`` (a Rust reimplementation that matches rouge-score bit
for bit) when it is installed, else rouge-score itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from llmcli import __version__
from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.metrics.base import CorpusScore, Metric, MetricOptions, References, format_signature

# Every type rouge-score offers: n-grams of 1 to 9 words, LCS, and LCS over sentences.
ROUGE_TYPES = (*(f"rouge{n}" for n in range(1, 10)), "rougeL", "rougeLsum")
DEFAULT_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")  # what ``-m rouge`` means
TOKENIZERS = ("default", "unicode", "character")
LSUM_SPLITS = ("newline", "sentence")
ENGINES = ("auto", "rust", "python")
_NOT_KEPT = bytes(b for b in range(256) if not (48 <= b <= 57 or 97 <= b <= 122))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _has_rust_engine() -> bool:
    try:
        import rouge_score_rs  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class _EngineKey:
    stemmer: bool
    tokenizer: str
    lsum_split: str
    engine: str


class RougeEngine:
    """One scorer for every ROUGE type asked for, so each pair is scored once."""

    def __init__(self, options: MetricOptions, rouge_types: Sequence[str]) -> None:
        for value, choices, what in (
            (options.rouge_tokenizer, TOKENIZERS, "ROUGE tokenizer"),
            (options.rouge_lsum_split, LSUM_SPLITS, "rougeLsum split"),
            (options.rouge_engine, ENGINES, "ROUGE engine"),
        ):
            if value not in choices:
                raise UsageError(
                    f"unknown {what} {value!r}", hint=f"choose from {', '.join(choices)}"
                )
        if options.rouge_sentence_sep == "":
            raise UsageError("--rouge-sentence-sep needs a non-empty separator, e.g. '<n>'")
        engine = options.rouge_engine
        if engine == "auto":
            engine = "rust" if _has_rust_engine() else "python"
        if engine == "rust" and not _has_rust_engine():
            raise ModelUnavailableError(
                "the rust ROUGE engine is not installed", hint="pip install rouge-score-rs"
            )
        if options.rouge_tokenizer != "default" and not _has_rust_engine():
            raise ModelUnavailableError(
                f"the {options.rouge_tokenizer} ROUGE tokenizer needs rouge-score-rs",
                hint="pip install rouge-score-rs",
            )
        if options.rouge_lsum_split == "sentence" and "rougeLsum" in rouge_types:
            _require_punkt()
        self.key = _EngineKey(
            options.rouge_stemmer, options.rouge_tokenizer, options.rouge_lsum_split, engine
        )
        self._sentence_sep = options.rouge_sentence_sep
        self.rouge_types = list(rouge_types)
        self._scorer = self._build()
        self._cache: tuple[int, int, dict[str, np.ndarray]] | None = None

    def _build(self) -> Any:
        split = self.key.lsum_split == "sentence"
        tokenizer: Any = None
        if self.key.tokenizer != "default":
            from rouge_score_rs import tokenizers

            tokenizer = (
                tokenizers.UnicodeTokenizer()
                if self.key.tokenizer == "unicode"
                else tokenizers.CharacterTokenizer()
            )
        if self.key.engine == "rust":
            from rouge_score_rs import rouge_scorer as rs_scorer

            return rs_scorer.RougeScorer(  # type: ignore[no-untyped-call]
                self.rouge_types,
                use_stemmer=self.key.stemmer,
                split_summaries=split,
                tokenizer=tokenizer,
            )
        from rouge_score import rouge_scorer as py_scorer

        return py_scorer.RougeScorer(
            self.rouge_types,
            use_stemmer=self.key.stemmer,
            split_summaries=split,
            tokenizer=tokenizer,
        )

    @property
    def engine_name(self) -> str:
        return "rouge-score-rs" if self.key.engine == "rust" else "rouge-score"

    def score(self, hypotheses: Sequence[str], references: References) -> dict[str, np.ndarray]:
        """``{rouge_type: array (segments, 3) of precision, recall, F}``, cached per system."""
        cache_key = (id(hypotheses), id(references))
        if self._cache is not None and self._cache[:2] == cache_key:
            return self._cache[2]
        per_type = {t: np.empty((len(hypotheses), 3), dtype=np.float64) for t in self.rouge_types}
        hypotheses, references = self._split_sentences(hypotheses, references)
        single = all(len(refs) == 1 for refs in references)
        if single and hasattr(self._scorer, "score_batch"):
            results = self._scorer.score_batch([r[0] for r in references], list(hypotheses))
        else:
            results = [
                self._scorer.score(refs[0], hyp)
                if len(refs) == 1
                else self._scorer.score_multi(list(refs), hyp)
                for hyp, refs in zip(hypotheses, references, strict=True)
            ]
        for i, result in enumerate(results):
            for rouge_type in self.rouge_types:
                s = result[rouge_type]
                per_type[rouge_type][i] = (s.precision, s.recall, s.fmeasure)
        self._cache = (cache_key[0], cache_key[1], per_type)
        return per_type

    def _split_sentences(
        self, hypotheses: Sequence[str], references: References
    ) -> tuple[Sequence[str], References]:
        # A plain file holds one segment per line, so a sentence break inside a segment
        # has to be spelled as a token (CNN/DailyMail's "<n>"); rouge-score splits
        # rougeLsum's sentences on newlines, and every other type reads them as spaces.
        sep = self._sentence_sep
        if sep is None:
            return hypotheses, references
        return (
            [h.replace(sep, "\n") for h in hypotheses],
            [[r.replace(sep, "\n") for r in refs] for refs in references],
        )


def _require_punkt() -> None:
    try:
        import nltk  # type: ignore[import-untyped]

        nltk.data.find("tokenizers/punkt_tab")
    except (ImportError, LookupError):
        raise ModelUnavailableError(
            "--lsum-split sentence needs NLTK's punkt_tab sentence model, which is not installed",
            hint="run: python -m nltk.downloader punkt_tab (or use --lsum-split newline)",
        ) from None


class Rouge(Metric):
    """One ROUGE type (``rouge1`` to ``rouge9``, ``rougeL``, ``rougeLsum``), reported as F."""

    perfect = 1.0

    def __init__(self, rouge_type: str, engine: RougeEngine, options: MetricOptions) -> None:
        self.rouge_type = rouge_type
        self.key = rouge_type.lower()
        self._engine = engine
        self._options = options
        self._n_refs: set[int] = set()

    @property
    def name(self) -> str:
        return self.rouge_type

    def statistics(self, hypotheses: Sequence[str], references: References) -> np.ndarray:
        self._n_refs = {len(r) for r in references}
        return self._engine.score(hypotheses, references)[self.rouge_type]

    def score_from_totals(self, totals: np.ndarray, segments: int) -> float:
        return float(totals[2]) / segments

    def corpus_score(self, stats: np.ndarray) -> CorpusScore:
        n = len(stats)
        precision, recall, fmeasure = (math.fsum(stats[:, j]) / n for j in range(3))
        text = f"{self.rouge_type} = {fmeasure:.4f} (P = {precision:.4f} R = {recall:.4f})"
        return CorpusScore(
            fmeasure, text, {"precision": precision, "recall": recall, "fmeasure": fmeasure}
        )

    def segment_scores(self, stats: np.ndarray) -> list[float]:
        return [float(f) for f in stats[:, 2]]

    def segment_details(self, stats: np.ndarray) -> dict[str, list[float]]:
        return {
            name: [float(v) for v in stats[:, j]]
            for j, name in enumerate(("precision", "recall", "fmeasure"))
        }

    def signature(self, extra: dict[str, str], short: bool = False) -> str:
        nrefs = next(iter(self._n_refs)) if len(self._n_refs) == 1 else "var"
        tok = {"default": "rouge-score", "unicode": "unicode-v1", "character": "character-v1"}[
            self._options.rouge_tokenizer
        ]
        fields: dict[str, str] = {
            "nrefs": str(nrefs),
            "tok": tok,
            "stem": "yes" if self._options.rouge_stemmer else "no",
        }
        if self.rouge_type == "rougeLsum":
            fields["lsum"] = self._options.rouge_lsum_split
        if self._options.rouge_sentence_sep is not None:
            fields["sep"] = self._options.rouge_sentence_sep
        fields["agg"] = "mean"
        if nrefs != 1:
            fields["multi"] = "best-f"
        fields.update(extra)
        if self._options.rouge_tokenizer != "default":
            fields["compat"] = "no"  # not comparable with rouge-score's own numbers
        fields["version"] = (
            f"llmcli-{__version__}+rouge-score-{_version('rouge-score')}+{self._engine.engine_name}"
        )
        return format_signature(fields, short)


def dropped_character_fraction(texts: Sequence[str]) -> float:
    """Share of non-space characters rouge-score's tokenizer throws away.

    rouge-score lowercases and keeps only ``[a-z0-9]``; anything else (including every
    letter of Cyrillic, Greek, CJK...) is dropped. Punctuation counts as dropped too,
    which in English text is a few percent.
    """
    joined = "\n".join(texts)
    total = sum(map(len, joined.split()))  # str.split() splits on the same space as \s
    if not total:
        return 0.0
    # Bytes-level filtering is ~7x faster than a regex over the text.
    kept = len(joined.lower().encode("ascii", "ignore").translate(None, _NOT_KEPT))
    return (total - kept) / total
