"""The runtime contract: what tasks ask of a loaded model, whatever runs it."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from llmcli.errors import UsageError


@dataclass(kw_only=True)
class DecodingSettings:
    """How tokens are chosen. Greedy (deterministic) unless ``do_sample`` is set."""

    num_beams: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 50
    seed: int | None = None  # used when sampling; None picks one and records it
    # Sequences per forward pass (chunks and sentences of all items); None: sized by tokens.
    batch_size: int | None = None

    def check(self) -> None:
        """Raise UsageError on values no model accepts."""
        if self.num_beams < 1:
            raise UsageError("num_beams must be at least 1")
        if self.batch_size is not None and self.batch_size < 1:
            raise UsageError("batch_size must be at least 1")
        if self.do_sample and self.temperature <= 0:
            raise UsageError("temperature must be positive when sampling")
        if not 0 < self.top_p <= 1:
            raise UsageError("top_p must be in (0, 1]")
        if self.do_sample and self.seed is None:
            # Sampling runs are reproducible from their record: pick and keep a seed.
            self.seed = random.randrange(2**31)

    def record(self) -> dict[str, Any]:
        """The decoding part of a task's settings record."""
        # Only the decoding fields: a task records its own (normalised) ones itself.
        data = {f.name: getattr(self, f.name) for f in fields(DecodingSettings)}
        if not self.do_sample:
            for key in ("temperature", "top_p", "top_k", "seed"):
                data.pop(key, None)
        return data


#: ``processor(rows, prompt_width)``: an extra logits processor for one batch (``rows``:
#: prompt indices), or None. Torch only: it constrains decoding step by step.
ProcessorFactory = Callable[[list[int], int], Any]


@dataclass(kw_only=True)
class GenerateRequest:
    """One :meth:`Runtime.generate` call's options, for every backend."""

    max_new_tokens: int
    decoding: DecodingSettings = field(default_factory=DecodingSettings)
    min_new_tokens: int = 0
    stop_at_newline: bool = False  # a line break ends a sequence (one-line answers)
    forced_bos_token_id: int | None = None  # M2M100/NLLB target language; not in the text
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    length_penalty: float | None = None
    #: Per-token log-probabilities (greedy), or the winner's score (beam search).
    want_logprobs: bool = False
    #: Each prompt's own cap below ``max_new_tokens``; a batch runs to its longest and
    #: each row is cut at its own, as a separate call per limit would give (beam search
    #: then stops a row at its first ``num_beams`` finished hypotheses, so the batch's
    #: longest limit does not change it; a row cut at its own limit is unfinished).
    limits: Sequence[int] | None = None
    processor: ProcessorFactory | None = None
    #: Decoding may end once the text holds one of these (the caller still cuts it).
    stop_strings: Sequence[str] = ()
    #: One prompt only: called with each step's new token ids as they are made.
    stream: Callable[[list[int]], None] | None = None


@dataclass
class Generation:
    """One generated continuation."""

    text: str
    token_ids: list[int]  # new tokens, stop token and padding removed
    logprobs: list[float] | None = None  # per new token, unconstrained model (greedy only)
    finished: bool = True  # False: stopped by max_new_tokens, not by the model
    extra: dict[str, Any] = field(default_factory=dict)


class Runtime(Protocol):
    """Runs a loaded model on token ids. Results always come back in prompt order."""

    name: str  # the backend: "torch" or "ctranslate2"

    @property
    def generation_config(self) -> Any:
        """The checkpoint's decoding defaults (transformers ``GenerationConfig``)."""
        ...

    def generate(
        self, prompts: Sequence[Sequence[int]], request: GenerateRequest
    ) -> list[Generation]:
        """A continuation per prompt (causal) or encoder input (seq2seq)."""
        ...

    def label_logprobs(
        self,
        prompts: Sequence[Sequence[int]],
        labels: Sequence[Sequence[int]],
        batch_size: int | None = None,
    ) -> list[list[float]]:
        """log P(label | prompt) for every prompt and label."""
        ...

    def continuation_logprobs(
        self,
        prompt: Sequence[int],
        continuations: Sequence[Sequence[int]],
        batch_size: int | None = None,
    ) -> list[list[float]]:
        """Per-token log P(continuation | prompt) for many continuations of one prompt."""
        ...

    def forward(self, tensors: dict[str, Any]) -> Any:
        """The model's plain forward pass on ``tensors`` (those it accepts), no gradients."""
        ...

    def seeded(self, decoding: DecodingSettings) -> AbstractContextManager[None]:
        """A context in which a sampling run draws from ``decoding.seed``."""
        ...


def refuse(why: str) -> UsageError:
    """The error for a request a backend other than torch cannot serve."""
    return UsageError(f"this task needs --backend torch ({why})")
