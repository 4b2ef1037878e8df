"""Sentiment: classifier heads, or label likelihoods under a generative model.

- classifier models: labels from ``config.id2label``; softmax over the logits, or an
  independent sigmoid per label for ``multi_label_classification`` models;
- causal models: the probability of each label word right after a plain few-shot
  prompt (one forward pass; nothing is generated), normalised over the labels;
- seq2seq models: the probability of each label as the decoder output (T5's
  ``sst2 sentence:`` task, or a yes/no style question), normalised over the labels.

Text longer than one model window is cut into windows at sentence boundaries; each
window is scored and the label probabilities are averaged, weighted by each window's
length in tokens (so every token counts equally). ``chunks`` in the JSON says how many
windows there were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel
from llmcli.models.runtime.batching import plan
from llmcli.models.runtime.tokens import (
    context_length,
    counter,
    encode,
    normalise,
    pad_id,
    special_tokens,
)
from llmcli.task_names import SENTIMENT
from llmcli.tasks import chunking, prompts
from llmcli.tasks.base import TaskContext, TaskInput, TaskResult, TaskSettings
from llmcli.tasks.common import check_positive, model_type, unsupported

FAMILIES = (Family.CLASSIFIER, Family.CAUSAL, Family.SEQ2SEQ)
_MARGIN = 4
#: Prompt examples are dropped until a window of this many tokens fits the context.
MIN_WINDOW = 64


@dataclass(kw_only=True)
class SentimentSettings(TaskSettings):
    """Options of ``llmcli sentiment``."""

    # Labels scored by generative models; a classifier's labels come from its config.
    labels: tuple[str, ...] = ("negative", "positive")
    max_input_tokens: int | None = None  # window size; None: what the model allows
    threshold: float = 0.5  # multi-label classifiers: labels at or above it are reported
    batch_size: int | None = None  # None: sized by tokens (see llmcli.models.runtime.batching)


@dataclass
class _Scores:
    probs: list[float]
    tokens: int


class SentimentTask:
    """Labels with probabilities; JSON fields ``label``, ``score``, ``scores``,
    ``chunks``, ``truncated`` (and ``labels`` for multi-label classifiers)."""

    name = SENTIMENT

    def __init__(
        self, loaded: LoadedModel, settings: SentimentSettings, context: TaskContext | None = None
    ) -> None:
        if loaded.family not in FAMILIES:
            raise unsupported("classify sentiment", loaded, FAMILIES)
        check_positive("max_input_tokens", settings.max_input_tokens, 8)
        check_positive("batch_size", settings.batch_size)
        self.loaded = loaded
        self.context = context or TaskContext()
        self.options = settings
        self.multi_label = False
        if loaded.family is Family.CLASSIFIER:
            config = loaded.config
            id2label = getattr(config, "id2label", None) or {}
            n = int(getattr(config, "num_labels", len(id2label)) or len(id2label))
            self.labels = [str(id2label.get(i, f"LABEL_{i}")) for i in range(n)]
            self.multi_label = getattr(config, "problem_type", None) == (
                "multi_label_classification"
            )
        else:
            labels = [label.strip() for label in settings.labels if label.strip()]
            if len(labels) < 2 or len(set(labels)) != len(labels):
                raise UsageError("sentiment needs at least two distinct labels")
            self.labels = labels
        self.prompt_style = self._prompt_style()
        self.shots: int | None = None
        self.window = self._window()

    def settings(self) -> dict[str, Any]:
        """Settings for the run record."""
        record: dict[str, Any] = {
            "labels": self.labels,
            "max_input_tokens": self.options.max_input_tokens,
            "window_tokens": self.window,
            "method": self._method(),
            "aggregation": "token-weighted mean over windows",
        }
        if self.prompt_style == "few-shot":
            record["examples"] = self.shots
        if self.multi_label:
            record["threshold"] = self.options.threshold
        return record

    def _method(self) -> str:
        if self.loaded.family is Family.CLASSIFIER:
            return "sigmoid" if self.multi_label else "softmax"
        return f"label likelihood ({self.prompt_style})"

    def _prompt_style(self) -> str:
        if self.loaded.family is Family.CAUSAL:
            return "few-shot"
        if self.loaded.family is Family.SEQ2SEQ:
            params = getattr(self.loaded.config, "task_specific_params", None)
            # Original T5 checkpoints carry task_specific_params and know "sst2 sentence:".
            if model_type(self.loaded) == "t5" and params:
                return "sst2"
            return "question"
        return "classifier"

    def _wrap(self, text: str) -> str:
        if self.prompt_style == "few-shot":
            return prompts.sentiment_prompt(text, self.labels, self.shots)
        if self.prompt_style == "sst2":
            return f"sst2 sentence: {text}"
        if self.prompt_style == "question":
            options = " or ".join(self.labels)
            return f"{text}\n\nIs the sentiment of this text {options}?"
        return text

    def _input_ids(self, text: str) -> list[int]:
        return self._inputs_ids([text])[0]

    def _inputs_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Model inputs for many texts, tokenized in one batched call."""
        wrapped = [self._wrap(text) for text in texts]
        if self.loaded.family is Family.CAUSAL:
            return prompts.assemble_many(self.loaded, wrapped, rendered_chat=False)
        before, after = special_tokens(self.loaded.tokenizer)
        return [before + ids + after for ids in encode(self.loaded.tokenizer, wrapped)]

    def _window(self) -> int:
        """Tokens of text per window; with a small context, examples are dropped first."""
        limit = context_length(self.loaded)
        wanted = min(MIN_WINDOW, self.options.max_input_tokens or MIN_WINDOW)
        room = 0
        for shots in range(len(prompts.sentiment_shots(self.labels)), -1, -1):
            self.shots = shots
            room = limit - len(self._input_ids("")) - _MARGIN
            if room >= wanted or self.prompt_style != "few-shot":
                break
        if room < 8:
            raise UsageError(f"the model's {limit}-token context is too small for this task")
        if self.options.max_input_tokens is None:
            return room
        return min(room, self.options.max_input_tokens)

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Score each input (in windows when long) and report the most likely label."""
        count = counter(self.loaded.tokenizer)
        pieces: list[tuple[int, str]] = []
        for i, item in enumerate(inputs):
            spans = chunking.pack(item.text, self.window, count) or [(0, len(item.text))]
            pieces.extend((i, item.text[s:e]) for s, e in spans)
        sizes = count([text for _, text in pieces])
        probs = self._score([text for _, text in pieces])
        per_item: dict[int, list[_Scores]] = {}
        for (i, _), p, size in zip(pieces, probs, sizes, strict=True):
            per_item.setdefault(i, []).append(_Scores(p, size))
        return [self._result(per_item[i]) for i in range(len(inputs))]

    def _result(self, windows: list[_Scores]) -> TaskResult:
        mean = chunking.weighted_mean([w.probs for w in windows], [w.tokens for w in windows])
        best = max(range(len(mean)), key=lambda k: mean[k])
        label = self.labels[best]
        scores = {lab: round(p, 6) for lab, p in zip(self.labels, mean, strict=True)}
        fields: dict[str, Any] = {
            "label": label,
            "score": round(mean[best], 6),
            "scores": scores,
            "chunks": len(windows),
            "truncated": False,
        }
        if self.multi_label:
            fields["labels"] = [
                lab for lab, p in zip(self.labels, mean, strict=True) if p >= self.options.threshold
            ]
        return TaskResult(text=f"{label}\t{mean[best]:.3f}", fields=fields)

    def _score(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        family = self.loaded.family
        if family is Family.CLASSIFIER:
            return self._classify(texts)
        ids = self._inputs_ids(texts)
        tokenizer = self.loaded.tokenizer
        if family is Family.CAUSAL:
            # The label follows "Sentiment:" as a new word, so it carries a leading space.
            label_ids = encode(tokenizer, [f" {label}" for label in self.labels])
            logprobs = self.loaded.runtime.label_logprobs(ids, label_ids, self.options.batch_size)
        else:
            after = special_tokens(tokenizer)[1]
            label_ids = [lab + after for lab in encode(tokenizer, self.labels)]
            logprobs = self.loaded.runtime.label_logprobs(ids, label_ids, self.options.batch_size)
        return [normalise(row) for row in logprobs]

    def _classify(self, texts: list[str]) -> list[list[float]]:
        import torch

        from llmcli.models.runtime.torch_runtime import pad_rows

        tokenizer = self.loaded.tokenizer
        # One tokenizer call for every window; then length-sorted batches, each padded
        # only to its own longest row. No truncation: every text already fits the model.
        ids = [list(row) for row in tokenizer(texts)["input_ids"]]
        pad = pad_id(self.loaded)
        results: list[list[float]] = [[] for _ in texts]
        for rows in plan([len(r) for r in ids], self.options.batch_size, self.loaded.device):
            input_ids, mask = pad_rows([ids[i] for i in rows], pad, False, self.loaded.device)
            tensors = {"input_ids": input_ids, "attention_mask": mask}
            logits = self.loaded.runtime.forward(tensors).logits.float()
            # Multi-label heads score each label on its own; others share one softmax.
            probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, -1)
            for index, row in zip(rows, probs.cpu().tolist(), strict=True):
                results[index] = [0.0 if math.isnan(v) else float(v) for v in row]
        return results
