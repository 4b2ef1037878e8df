"""Summarize: extract the sentences that cover a document, or write a summary with a model.

- ``extractive`` (the default on the built-in models): sentences of the source, chosen
  by sentence embeddings for coverage without redundancy (:mod:`llmcli.tasks.retrieval`)
  and given in the document's order. Nothing is claimed that the text does not say.
- ``abstractive`` (the default on any other model): seq2seq models (T5 prefixes, BART,
  Pegasus...) or prompted causal models write the summary. Input longer than one model
  window is map-reduced: cut into windows at sentence boundaries, each window
  summarized, the summaries joined and summarized again until the joined text fits one
  window; nothing is truncated. Each written sentence is then checked against the
  source: the source sentences it rests on (by embedding similarity), and its numbers
  and names (:mod:`llmcli.tasks.facts`); a sentence that fails is ``supported: false``.

Both methods give every summary sentence its support with offsets and ``file:line:col``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest, Generation
from llmcli.models.runtime.tokens import context_length, counter, encode, special_tokens
from llmcli.task_names import SUMMARIZE
from llmcli.tasks import chunking, detect, facts, prompts, retrieval, spans
from llmcli.tasks.base import TaskContext, TaskInput, TaskResult, TaskSettings
from llmcli.tasks.common import check_positive, model_type, one_line, unsupported

FAMILIES = (Family.SEQ2SEQ, Family.CAUSAL)
METHODS = ("extractive", "abstractive")
#: A written sentence whose closest source sentence is less similar than this (cosine of
#: all-MiniLM-L6-v2 embeddings) is not supported by the text.
SUPPORT_MIN = 0.6
#: Sentence ends: a summary sentence without one was cut off by the length limit.
_CLOSED = tuple(".!?。！？…\"'”’)»")
#: More reduce rounds than this means the summaries are not getting shorter.
MAX_ROUNDS = 6
# Tokens kept free in every window for joins that tokenize a little longer than parts.
_MARGIN = 8


@dataclass(kw_only=True)
class SummarizeSettings(DecodingSettings, TaskSettings):
    """Options of ``llmcli summarize``."""

    max_length: int = 128  # new tokens per summary (and per window summary)
    min_length: int = 0  # new tokens before the model may stop
    sentences: int | None = None  # ask for (causal) and keep at most this many sentences
    max_input_tokens: int | None = None  # window size; None: what the model's context allows
    # None: 3 for seq2seq models (greedy decoding loops without it), 0 for causal ones,
    # where transformers counts the prompt too and would forbid copying names from it.
    no_repeat_ngram_size: int | None = None
    repetition_penalty: float = 1.0
    method: str | None = None  # "extractive" or "abstractive"; None: by model (see module)
    ratio: float = 0.2  # extractive: summary words as a share of the document's
    strict: bool = False  # abstractive: drop sentences the source does not support
    embedder: str | None = None  # sentence embedder; None: LLMCLI_MODEL_EMBED or minilm

    def chosen_embedder(self) -> str | None:
        """``--embedder``, when given."""
        return self.embedder


class SummarizeTask:
    """Summaries; JSON fields ``summary``, ``chunks``, ``rounds``, ``input_tokens``,
    ``truncated`` (always false) and ``max_length_reached``."""

    name = SUMMARIZE

    def __init__(
        self, loaded: LoadedModel, settings: SummarizeSettings, context: TaskContext | None = None
    ) -> None:
        if loaded.family not in FAMILIES:
            raise unsupported(SUMMARIZE, loaded, FAMILIES)
        settings.check()
        check_positive("max_length", settings.max_length)
        check_positive("sentences", settings.sentences)
        check_positive("max_input_tokens", settings.max_input_tokens, 8)
        if settings.min_length > settings.max_length:
            raise UsageError("min_length cannot exceed max_length")
        if settings.method is not None and settings.method not in METHODS:
            raise UsageError(
                f"unknown summary method {settings.method!r}", hint=f"one of {', '.join(METHODS)}"
            )
        if not 0 < settings.ratio <= 1:
            raise UsageError(f"ratio must be in (0, 1] (got {settings.ratio})")
        self.loaded = loaded
        self.context = context or TaskContext()
        self.options = settings
        self.causal = loaded.family is Family.CAUSAL
        self.prefix = "" if self.causal else seq2seq_prefix(loaded)
        default_no_repeat = 0 if self.causal else 3
        self.no_repeat: int = (
            default_no_repeat
            if settings.no_repeat_ngram_size is None
            else settings.no_repeat_ngram_size
        )
        # The built-in models are too small to paraphrase faithfully (docs/quality.md).
        self.method = settings.method or (
            "extractive" if loaded.extra.get("builtin") else "abstractive"
        )
        # Extraction never runs the model: its window does not matter then.
        self.window = self._window() if self.method == "abstractive" else 0

    def settings(self) -> dict[str, Any]:
        """Settings for the run record."""
        record = {
            "method": self.method,
            "ratio": self.options.ratio,
            "strict": self.options.strict,
            "support_min": SUPPORT_MIN,
            "embedder": self.context.embedder_name,
            "max_length": self.options.max_length,
            "min_length": self.options.min_length,
            "sentences": self.options.sentences,
            "max_input_tokens": self.options.max_input_tokens,
            "window_tokens": self.window or None,
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
        return self.loaded.runtime.generate(
            self._prompts_ids(texts, final),
            GenerateRequest(
                max_new_tokens=self.options.max_length,
                min_new_tokens=self.options.min_length,
                decoding=self.options,
                no_repeat_ngram_size=self.no_repeat,
                repetition_penalty=self.options.repetition_penalty,
            ),
        )

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Summarize each input by its method; written summaries share model batches."""
        results: dict[int, TaskResult] = {}
        written: list[int] = []
        languages = [detect.detect(item.text) for item in inputs]
        for i, item in enumerate(inputs):
            method = self.method
            if method == "abstractive" and detect.uncovered(self.loaded, languages[i]):
                found = languages[i]
                assert found is not None
                self.context.say(
                    f"{item.source or 'input'}: the text is in {detect.name(found.code)}, which "
                    f"{self.loaded.name} was not trained to write; summarized extractively"
                )
                method = "extractive"
            if method == "extractive":
                results[i] = self._extract(item)
            else:
                written.append(i)
        if written:
            chosen = [inputs[i] for i in written]
            for i, result in zip(written, self._abstractive(chosen), strict=True):
                results[i] = self._attribute(inputs[i], result)
        for i, found in enumerate(languages):
            results[i].fields["language"] = found.to_json() if found is not None else None
        return [results[i] for i in range(len(inputs))]

    # --- extractive -------------------------------------------------------------------

    def _extract(self, item: TaskInput) -> TaskResult:
        """The sentences that best cover ``item``, in document order."""
        text = item.text
        found = retrieval.units(text)
        candidates = [u for u in found if retrieval.is_sentence(text, u)]
        if not candidates:
            # Only headings and fragments: they are all the text has to say.
            candidates = found
        if not candidates:
            raise UsageError(f"{item.source or 'input'}: no sentence to summarize")
        words = [max(1, len(text[u.start : u.end].split())) for u in candidates]
        if self.options.sentences is not None:
            count = self.options.sentences
        else:
            count = _count_for(words, self.options.ratio * sum(words))
        embedder = self.context.embedder()
        if embedder is not None:
            vectors = embedder.encode([text[u.start : u.end] for u in candidates])
            picked = [candidates[i] for i in retrieval.select(vectors, count)]
        else:  # no embedder to be had: the leading sentences, still the text's own
            picked = candidates[:count]
        sentences = [
            {
                "text": text[u.start : u.end],
                **self._place(item, u.start, u.end),
                "supported": True,
                "support": [{**self._place(item, u.start, u.end), "similarity": 1.0}],
            }
            for u in picked
        ]
        summary = one_line(retrieval.joiner(text).join(s["text"] for s in sentences))
        return TaskResult(
            text=summary,
            fields={
                "summary": summary,
                "method": "extractive",
                "sentences": sentences,
                "input_sentences": len(candidates),
                "truncated": False,
            },
        )

    @staticmethod
    def _place(item: TaskInput, start: int, end: int) -> dict[str, Any]:
        return {
            "start": start,
            "end": end,
            "location": spans.location(item.source, item.text, start, item.first_line),
        }

    # --- abstractive ------------------------------------------------------------------

    def _attribute(self, item: TaskInput, result: TaskResult) -> TaskResult:
        """Cut a sentence left unfinished, find each sentence's support, flag the rest."""
        summary = str(result.fields["summary"])
        parts = [summary[s:e] for s, e in chunking.sentence_spans(summary)]
        if len(parts) > 1 and not parts[-1].rstrip().endswith(_CLOSED):
            parts = parts[:-1]  # stopped mid-sentence by the length limit
        text = item.text
        found = [u for u in retrieval.units(text) if not u.heading] or retrieval.units(text)
        embedder = self.context.embedder()
        supports: list[list[tuple[int, float]]] = [[] for _ in parts]
        if embedder is not None and parts:
            written = embedder.encode(parts)
            source = embedder.encode([text[u.start : u.end] for u in found])
            supports = retrieval.support(written, source)
        sentences = []
        for part, best in zip(parts, supports, strict=True):
            missing = facts.unsupported(part, text)
            # Without an embedder only the numbers and names can be checked.
            similar = best[0][1] >= SUPPORT_MIN if best else embedder is None
            entry: dict[str, Any] = {
                "text": part,
                "supported": similar and not missing,
                "support": [
                    {
                        "text": text[found[r].start : found[r].end],
                        **self._place(item, found[r].start, found[r].end),
                        "similarity": round(sim, 4),
                    }
                    for r, sim in best
                ],
            }
            if missing:
                entry["unsupported"] = missing
            sentences.append(entry)
        weak = [s for s in sentences if not s["supported"]]
        if weak:
            verb = "dropped (--strict)" if self.options.strict else "not supported by the text"
            detail = "; ".join(_describe_weak(s) for s in weak)
            self.context.say(
                f"{item.source or 'input'}: {len(weak)} of {len(sentences)} summary "
                f"sentence(s) {verb}: {detail}"
            )
        if self.options.strict:
            sentences = [s for s in sentences if s["supported"]]
        summary = one_line(retrieval.joiner(text).join(s["text"] for s in sentences))
        fields = {**result.fields, "summary": summary, "method": "abstractive"}
        fields["sentences"] = sentences
        return TaskResult(text=summary, fields=fields)

    def _abstractive(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Summarize each input with the model; windows of all inputs share batches."""
        count = counter(self.loaded.tokenizer)
        current = {i: item.text for i, item in enumerate(inputs)}
        input_tokens = dict(enumerate(count([item.text for item in inputs])))
        first_chunks: dict[int, int] = {}
        rounds = dict.fromkeys(current, 0)
        done: dict[int, Generation] = {}
        hit_limit = dict.fromkeys(current, False)
        with self.loaded.runtime.seeded(self.options):
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


def _describe_weak(sentence: dict[str, Any]) -> str:
    missing = sentence.get("unsupported")
    return f"{sentence['text'][:60]!r}" + (
        f" (not in the text: {', '.join(missing)})" if missing else ""
    )


def _count_for(words: Sequence[int], budget: float) -> int:
    """How many sentences of typical length fill ``budget`` words: at least one."""
    if not words:
        return 0
    mean = sum(words) / len(words)
    return max(1, min(len(words), round(budget / mean)))


def seq2seq_prefix(loaded: LoadedModel) -> str:
    """The task prefix a seq2seq model was trained with (T5's ``summarize: ``)."""
    params = getattr(loaded.config, "task_specific_params", None) or {}
    prefix = (params.get("summarization") or {}).get("prefix")
    if isinstance(prefix, str):
        return prefix
    return "summarize: " if model_type(loaded) in ("t5", "mt5", "umt5", "longt5") else ""
