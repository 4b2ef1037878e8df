"""Summarize: seq2seq models (T5 prefixes, BART, Pegasus...) or prompted causal models.

Input longer than one model window is map-reduced: cut into windows at sentence
boundaries, each window summarized, the summaries joined and summarized again until
the joined text fits one window; nothing is truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel
from llmcli.tasks import chunking, prompts
from llmcli.tasks.base import TaskInput, TaskResult
from llmcli.tasks.common import check_positive, model_type, one_line, unsupported
from llmcli.tasks.generation import (
    DecodingSettings,
    Generation,
    context_length,
    counter,
    encode,
    generate,
    special_tokens,
)

FAMILIES = (Family.SEQ2SEQ, Family.CAUSAL)
#: More reduce rounds than this means the summaries are not getting shorter.
MAX_ROUNDS = 6
# Tokens kept free in every window for joins that tokenize a little longer than parts.
_MARGIN = 8


@dataclass(kw_only=True)
class SummarizeSettings(DecodingSettings):
    """Options of ``llmcli summarize``."""

    max_length: int = 128  # new tokens per summary (and per window summary)
    min_length: int = 0  # new tokens before the model may stop
    sentences: int | None = None  # ask for (causal) and keep at most this many sentences
    max_input_tokens: int | None = None  # window size; None: what the model's context allows
    # None: 3 for seq2seq models (greedy decoding loops without it), 0 for causal ones,
    # where transformers counts the prompt too and would forbid copying names from it.
    no_repeat_ngram_size: int | None = None
    repetition_penalty: float = 1.0


class SummarizeTask:
    """Summaries; JSON fields ``summary``, ``chunks``, ``rounds``, ``input_tokens``,
    ``truncated`` (always false) and ``max_length_reached``."""

    name = "summarize"

    def __init__(self, loaded: LoadedModel, settings: SummarizeSettings) -> None:
        if loaded.family not in FAMILIES:
            raise unsupported("summarize", loaded, FAMILIES)
        settings.check()
        check_positive("max_length", settings.max_length)
        check_positive("sentences", settings.sentences)
        check_positive("max_input_tokens", settings.max_input_tokens, 8)
        if settings.min_length > settings.max_length:
            raise UsageError("min_length cannot exceed max_length")
        self.loaded = loaded
        self.options = settings
        self.causal = loaded.family is Family.CAUSAL
        self.prefix = "" if self.causal else _seq2seq_prefix(loaded)
        default_no_repeat = 0 if self.causal else 3
        self.no_repeat: int = (
            default_no_repeat
            if settings.no_repeat_ngram_size is None
            else settings.no_repeat_ngram_size
        )
        self.window = self._window()

    def settings(self) -> dict[str, Any]:
        """Settings for the run record."""
        record = {
            "max_length": self.options.max_length,
            "min_length": self.options.min_length,
            "sentences": self.options.sentences,
            "max_input_tokens": self.options.max_input_tokens,
            "window_tokens": self.window,
            "no_repeat_ngram_size": self.no_repeat,
            **self.options.record(),
        }
        if self.prefix:
            record["prefix"] = self.prefix
        return record

    def _window(self) -> int:
        """Tokens of text per model call, after room for the prompt and the output."""
        limit = context_length(self.loaded)
        if self.causal:
            overhead = len(self._prompt_ids("", final=True)) + self.options.max_length
        else:
            before, after = special_tokens(self.loaded.tokenizer)
            overhead = (
                len(before) + len(after) + len(encode(self.loaded.tokenizer, [self.prefix])[0])
            )
        room = limit - overhead - _MARGIN
        window = (
            room
            if self.options.max_input_tokens is None
            else min(room, self.options.max_input_tokens)
        )
        # A window must hold clearly more than one summary, or reducing never converges.
        if window <= self.options.max_length + 8 or window < 16:
            raise UsageError(
                f"a {limit}-token context leaves {room} tokens of input per window, "
                f"too few for summaries of up to {self.options.max_length} tokens",
                hint="lower --max-length or raise --max-input-tokens",
            )
        return window

    def _prompt_ids(self, text: str, final: bool) -> list[int]:
        return self._prompts_ids([text], [final])[0]

    def _prompts_ids(self, texts: Sequence[str], final: Sequence[bool]) -> list[list[int]]:
        """Model inputs for many texts, tokenized in one batched call."""
        if self.causal:
            chat = prompts.has_chat_template(self.loaded.tokenizer)
            strings = [
                prompts.summarize_prompt(
                    self.loaded, text, self.options.sentences if last else None
                )
                for text, last in zip(texts, final, strict=True)
            ]
            return prompts.assemble_many(self.loaded, strings, rendered_chat=chat)
        before, after = special_tokens(self.loaded.tokenizer)
        encoded = encode(self.loaded.tokenizer, [self.prefix + text for text in texts])
        return [before + ids + after for ids in encoded]

    def _summarize(self, texts: Sequence[str], final: Sequence[bool]) -> list[Generation]:
        return generate(
            self.loaded,
            self._prompts_ids(texts, final),
            max_new_tokens=self.options.max_length,
            min_new_tokens=self.options.min_length,
            decoding=self.options,
            no_repeat_ngram_size=self.no_repeat,
            repetition_penalty=self.options.repetition_penalty,
        )

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Summarize each input; windows of all inputs share batches."""
        from llmcli.tasks.generation import seeded

        count = counter(self.loaded.tokenizer)
        current = {i: item.text for i, item in enumerate(inputs)}
        input_tokens = dict(enumerate(count([item.text for item in inputs])))
        first_chunks: dict[int, int] = {}
        rounds = dict.fromkeys(current, 0)
        done: dict[int, Generation] = {}
        hit_limit = dict.fromkeys(current, False)
        with seeded(self.loaded, self.options):
            while current:
                jobs: list[tuple[int, str, bool]] = []  # (item, text, is final summary)
                sizes = dict(zip(current, count(list(current.values())), strict=True))
                for i, text in current.items():
                    if sizes[i] <= self.window:
                        jobs.append((i, text, True))
                        first_chunks.setdefault(i, 1)
                        continue
                    spans = chunking.pack(text, self.window, count)
                    first_chunks.setdefault(i, len(spans))
                    jobs.extend((i, text[s:e], False) for s, e in spans)
                outputs = self._summarize([j[1] for j in jobs], [j[2] for j in jobs])
                pieces: dict[int, list[str]] = {}
                for (i, _, final), out in zip(jobs, outputs, strict=True):
                    hit_limit[i] = hit_limit[i] or not out.finished
                    if final:
                        done[i] = out
                    else:
                        pieces.setdefault(i, []).append(out.text)
                current = {}
                for i, parts in pieces.items():
                    rounds[i] += 1
                    if rounds[i] >= MAX_ROUNDS:
                        raise UsageError(
                            "summaries are not getting shorter than the input",
                            hint="lower --max-length",
                        )
                    current[i] = "\n".join(p for p in parts if p)
        results = []
        for i in range(len(inputs)):
            summary = one_line(done[i].text)
            if self.options.sentences is not None:
                summary = chunking.first_sentences(summary, self.options.sentences)
            results.append(
                TaskResult(
                    text=summary,
                    fields={
                        "summary": summary,
                        "chunks": first_chunks[i],
                        "rounds": rounds[i] + 1,
                        "input_tokens": input_tokens[i],
                        "truncated": False,
                        "max_length_reached": hit_limit[i],
                    },
                )
            )
        return results


def _seq2seq_prefix(loaded: LoadedModel) -> str:
    """The task prefix a seq2seq model was trained with (T5's ``summarize: ``)."""
    params = getattr(loaded.model.config, "task_specific_params", None) or {}
    prefix = (params.get("summarization") or {}).get("prefix")
    if isinstance(prefix, str):
        return prefix
    return "summarize: " if model_type(loaded) in ("t5", "mt5", "umt5", "longt5") else ""
