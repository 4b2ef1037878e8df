"""Free text generation: a prompt in, the model's continuation out.

Chat models (a tokenizer with a chat template) get the prompt as a user turn, after an
optional system turn; base causal models get the raw prompt to continue; seq2seq models
get it as their encoder input. A prompt longer than the model's window (less the new
tokens) is an error naming both counts, unless ``truncate="left"`` keeps its end.

Decoding samples by default for this task (see :class:`GenerateSettings`); stop strings
cut the text at the first one found. With a stream (``TaskContext.stream``) and a single
prompt, text is handed out as it is made: never a piece the final text does not start
with, and never text a stop string may still claim (:class:`TextStream`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest, Generation
from llmcli.models.runtime.tokens import context_length, encode
from llmcli.task_names import GENERATE
from llmcli.tasks import prompts
from llmcli.tasks.base import TaskContext, TaskInput, TaskResult, TaskSettings
from llmcli.tasks.common import check_positive, unsupported

FAMILIES = (Family.CAUSAL, Family.SEQ2SEQ)
TRUNCATE = ("left",)
#: What separates the samples of ``-n N`` in plain output.
SAMPLE_SEPARATOR = "\n---\n"


@dataclass(kw_only=True)
class GenerateSettings(DecodingSettings, TaskSettings):
    """Options of ``llmcli generate``. Sampling is the default for this task."""

    do_sample: bool = True
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 200
    #: Text put before every item's text (the PROMPT argument); None: the item alone.
    prompt: str | None = None
    system: str | None = None  # a system turn, for chat models
    stop: tuple[str, ...] = ()  # the text ends before the first of these
    samples: int = 1  # continuations per prompt (-n)
    truncate: str | None = None  # None: a prompt too long is an error; "left": keep its end
    repetition_penalty: float = 1.0

    def check(self) -> None:
        """Raise UsageError on values no model accepts."""
        super().check()
        check_positive("max_new_tokens", self.max_new_tokens)
        check_positive("samples (-n)", self.samples)
        if self.truncate is not None and self.truncate not in TRUNCATE:
            raise UsageError(
                f"invalid --truncate {self.truncate!r}", hint=f"one of {', '.join(TRUNCATE)}"
            )
        if any(not s for s in self.stop):
            raise UsageError("--stop needs a non-empty string")
        if self.repetition_penalty <= 0:
            raise UsageError("repetition_penalty must be positive")


def prompt_text(settings: GenerateSettings, text: str) -> str:
    """The prompt for one item: the PROMPT argument, then the item's text after a blank
    line (``llm``'s habit with piped input); either alone when the other is empty."""
    head = settings.prompt or ""
    if head and text.strip():
        return f"{head}\n\n{text}"
    return head or text


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` before the first stop string in it, and whether one was found."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


class TextStream:
    """Turns one continuation's tokens, as they come, into pieces of its final text.

    The final text is the decoded tokens, stripped, cut before the first stop string.
    A piece is written only once no later token can change it: an incomplete UTF-8
    character (decoded as U+FFFD), trailing whitespace (the final text is stripped) and
    any end that could still become a stop string are held back until they resolve.
    """

    def __init__(self, tokenizer: Any, stops: Sequence[str], write: Callable[[str], None]):
        self._tokenizer = tokenizer
        self._stops = tuple(stops)
        self._write = write
        self._ids: list[int] = []
        self._written = ""
        self.stopped = False

    def add(self, ids: Sequence[int]) -> None:
        """New token ids of the continuation."""
        if self.stopped:
            return
        self._ids.extend(int(i) for i in ids)
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True).lstrip()
        text, self.stopped = cut_at_stop(text, self._stops)
        if self.stopped:
            self._emit(text.rstrip())
            return
        if text.endswith("\ufffd"):
            return
        hold = max((_overlap(text, s) for s in self._stops), default=0)
        safe = text[: len(text) - hold].rstrip()
        self._emit(safe)

    def finish(self, final: str) -> None:
        """Write what is left of ``final``, the text the task reports."""
        self._emit(final)

    def _emit(self, text: str) -> None:
        if len(text) > len(self._written) and text.startswith(self._written):
            self._write(text[len(self._written) :])
            self._written = text


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of ``text`` that begins ``stop``."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0


class GenerateTask:
    """Continuations; JSON fields ``text``, ``finish_reason`` (``stop`` or ``length``),
    ``prompt_tokens``, ``new_tokens``, ``truncated`` and, with ``samples`` > 1,
    ``samples`` (each with its text, finish reason and new tokens)."""

    name = GENERATE

    def __init__(
        self, loaded: LoadedModel, settings: GenerateSettings, context: TaskContext | None = None
    ) -> None:
        if loaded.family not in FAMILIES:
            raise unsupported(GENERATE, loaded, FAMILIES)
        settings.check()
        self.loaded = loaded
        self.context = context or TaskContext()
        self.options = settings
        self.chat = loaded.family is Family.CAUSAL and prompts.has_chat_template(loaded.tokenizer)
        self.limit = context_length(loaded)
        self.room = self.limit - settings.max_new_tokens
        if self.room < 1:
            raise UsageError(
                f"--max-new-tokens {settings.max_new_tokens} leaves no room for a prompt in "
                f"the model's {self.limit}-token window"
            )

    def settings(self) -> dict[str, Any]:
        """Settings for the run record."""
        o = self.options
        return {
            "prompt_format": "chat" if self.chat else "plain",
            "max_new_tokens": o.max_new_tokens,
            **({"system": o.system} if o.system is not None else {}),
            **({"stop": list(o.stop)} if o.stop else {}),
            "samples": o.samples,
            **({"truncate": o.truncate} if o.truncate else {}),
            **({"repetition_penalty": o.repetition_penalty} if o.repetition_penalty != 1 else {}),
            **o.record(),
        }

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """One result per input, every sample of every input in shared batches."""
        built = [self._prompt(item) for item in inputs]
        n = self.options.samples
        ids = [p for p, _ in built for _ in range(n)]
        stream = None
        if self.context.stream is not None and len(ids) == 1 and self.options.num_beams == 1:
            stream = TextStream(self.loaded.tokenizer, self.options.stop, self.context.stream)
        request = GenerateRequest(
            max_new_tokens=self.options.max_new_tokens,
            decoding=self.options,
            repetition_penalty=self.options.repetition_penalty,
            stop_strings=self.options.stop,
            stream=stream.add if stream is not None else None,
        )
        with self.loaded.runtime.seeded(self.options):
            outputs = self.loaded.runtime.generate(ids, request)
        results = []
        for k, (prompt_ids, truncated) in enumerate(built):
            made = [self._sample(out) for out in outputs[k * n : (k + 1) * n]]
            if stream is not None:
                stream.finish(made[0]["text"])
            fields: dict[str, Any] = {
                **made[0],
                "prompt_tokens": len(prompt_ids),
                "truncated": truncated,
            }
            if n > 1:
                fields["samples"] = made
            text = SAMPLE_SEPARATOR.join(m["text"] for m in made)
            results.append(TaskResult(text=text, fields=fields))
        return results

    def _sample(self, out: Generation) -> dict[str, Any]:
        text, stopped = cut_at_stop(out.text, self.options.stop)
        return {
            "text": text.strip(),
            "finish_reason": "stop" if stopped or out.finished else "length",
            "new_tokens": len(out.token_ids),
        }

    # --- prompts ----------------------------------------------------------------------

    def _prompt(self, item: TaskInput) -> tuple[list[int], bool]:
        """The prompt's token ids, and whether its start was cut to fit the window."""
        text = prompt_text(self.options, item.text)
        if not text.strip():
            raise UsageError("the prompt is empty")
        ids = self._ids(text)
        if len(ids) <= self.room:
            return ids, False
        if self.options.truncate != "left":
            raise UsageError(
                f"the prompt is {len(ids)} tokens; the model takes at most {self.room} "
                f"with --max-new-tokens {self.options.max_new_tokens} "
                f"({self.limit}-token window)",
                hint="shorten it, lower --max-new-tokens, or pass --truncate left",
            )
        # Keep the end of the text, and all of the prompt format around it.
        content = self._content(text)
        overhead = len(self._ids("")) if self.chat else len(ids) - len(content)
        keep = self.room - overhead
        while keep > 0:
            tail = self.loaded.tokenizer.decode(content[-keep:], skip_special_tokens=True)
            ids = self._ids(tail)
            if len(ids) <= self.room:
                return ids, True
            keep -= len(ids) - self.room  # re-tokenized text can come out longer
        raise UsageError(
            f"the prompt format alone takes {overhead} tokens; the model takes at most "
            f"{self.room} with --max-new-tokens {self.options.max_new_tokens}",
            hint="lower --max-new-tokens",
        )

    def _content(self, text: str) -> list[int]:
        return encode(self.loaded.tokenizer, [text])[0]

    def _ids(self, text: str) -> list[int]:
        loaded = self.loaded
        if self.chat:
            messages = []
            if self.options.system is not None:
                messages.append({"role": "system", "content": self.options.system})
            messages.append({"role": "user", "content": text})
            rendered = prompts.chat(loaded.tokenizer, messages)
            return prompts.assemble(loaded, rendered, rendered_chat=True).ids
        if loaded.family is Family.SEQ2SEQ:
            return list(loaded.tokenizer(text)["input_ids"])
        return prompts.assemble(loaded, text, rendered_chat=False).ids
