"""Ask: answer a question about a text, pointing at where the answer is.

- extractive QA models pick a span (start/end logits) in windows of the context;
- causal models decode under a constraint that keeps the answer a span of the context
  (:mod:`llmcli.tasks.grounded`), or, with ``grounding="locate"``, answer freely and
  the answer is then looked up in the context;
- seq2seq models (T5 style ``question: ... context: ...``) answer freely; the answer is
  looked up in the context.

Generative readers first retrieve: the context's sentences and the question are
embedded (:mod:`llmcli.models.embedding`), and the reader sees only the ``retrieve``
closest sentences with ``neighbours`` sentences on each side (:mod:`llmcli.tasks.retrieval`),
so a long document costs one embedding pass and one short read, and the answer can come
from anywhere in it rather than from the end of a window. The passages are the
``evidence`` of the JSON record. A causal reader ranks candidate answers listed from the
retrieved sentences (:func:`rank_score`); a question whose best candidate scores below
``min_score`` is reported ``answerable: false`` (the span found is still given).

Without retrieval (``retrieve=0``, and always for extractive QA models), long contexts
are read in overlapping token windows (``stride`` tokens shared), and the best-scoring
answer over all windows wins. With an empty context, generative models answer from what
they know (``"grounded": false``); extractive models need a context.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest, Generation
from llmcli.models.runtime.tokens import (
    context_length,
    counter,
    encode,
    newline_ids,
    special_tokens,
    stop_ids,
)
from llmcli.task_names import ASK
from llmcli.tasks import answers as answers_mod
from llmcli.tasks import chunking, detect, prompts, retrieval, spans
from llmcli.tasks.base import TaskContext, TaskInput, TaskResult, TaskSettings
from llmcli.tasks.common import check_positive, one_line, unsupported

FAMILIES = (Family.EXTRACTIVE_QA, Family.CAUSAL, Family.SEQ2SEQ)
GROUNDING = ("candidates", "constrained", "locate")
#: Weights of a candidate answer's features beside the reader's mean token log-probability
#: (chosen on the first four questions of each document of bench/data/longdocs.jsonl).
RETRIEVAL_WEIGHT = 2.0
DISTANCE_WEIGHT = 0.5
STOP_WEIGHT = 0.3  # the stop token's log-probability again: the answer is complete
LENGTH_WEIGHT = 0.05  # per token: shorter answers, other things equal
#: Most candidate answers the reader scores for one question.
MAX_CANDIDATES = 160


@dataclass(frozen=True)
class Candidate:
    """A candidate answer ``text[start:end]`` and its ranking features."""

    start: int
    end: int
    reader: float  # mean log-probability of its tokens and the stop token
    retrieval: float  # its sentence's retrieval score
    distance: int  # words to the nearest question word in its sentence
    typed: bool = True  # of the kind the question asks for (not a fallback span)
    logprobs: tuple[float, ...] = ()  # per token, the stop token last


def rank_score(candidate: Candidate) -> float:
    """How good an answer a candidate is: higher is better."""
    stop = candidate.logprobs[-1] if candidate.logprobs else 0.0
    return (
        candidate.reader
        + RETRIEVAL_WEIGHT * candidate.retrieval
        - DISTANCE_WEIGHT * math.log1p(candidate.distance)
        + STOP_WEIGHT * stop
        - LENGTH_WEIGHT * len(candidate.logprobs)
    )


_MARGIN = 8
#: Worked examples are dropped from the prompt until a context window this long fits.
MIN_WINDOW = 64


@dataclass(kw_only=True)
class AskSettings(DecodingSettings, TaskSettings):
    """Options of ``llmcli ask``."""

    max_answer_tokens: int = 32  # longest answer (span or generated)
    max_input_tokens: int | None = None  # context window; None: what the model allows
    stride: int = 128  # tokens shared by consecutive windows of a long context
    allow_no_answer: bool = True  # extractive: report no answer when [CLS] beats every span
    # causal: rank "candidates" (with retrieval), "constrained" spans, or "locate" a free answer
    grounding: str = "candidates"
    retrieve: int = 4  # generative: sentences retrieved for the reader; 0 reads everything
    neighbours: int = 1  # sentences on each side of a retrieved one that the reader sees
    # Ranked answers: below this best rank_score a question is answerable: false. Chosen
    # to flag half the unanswerable questions of bench/data/longdocs.jsonl.
    min_score: float = -2.2
    embedder: str | None = None  # sentence embedder; None: LLMCLI_MODEL_EMBED or minilm

    def chosen_embedder(self) -> str | None:
        """``--embedder``, when given."""
        return self.embedder


@dataclass
class _Evidence:
    """What the reader is given instead of a whole context, and how to map back."""

    text: str  # the passages, joined by line breaks
    pieces: list[tuple[int, int, int]]  # (offset in ``text``, start and end in the context)
    passages: list[retrieval.Passage]
    top: list[retrieval.Passage]  # the retrieved sentences alone, best first
    cosines: dict[int, float]  # each sentence's (by its start) embedding similarity

    def similarity(self, passage: retrieval.Passage) -> float:
        """The best embedding similarity of a sentence of ``passage`` to the question."""
        inside = [c for s, c in self.cosines.items() if passage.start <= s < passage.end]
        return max(inside, default=0.0)

    @property
    def best(self) -> float:
        return max(self.cosines.values(), default=0.0)

    def to_context(self, start: int, end: int) -> tuple[int, int]:
        """A span of ``text`` as a span of the context, cut at its passage's end."""
        for offset, begin, finish in reversed(self.pieces):
            if start >= offset:
                return begin + start - offset, min(finish, begin + end - offset)
        raise AssertionError("a span before the first passage")


@dataclass
class _Answer:
    text: str | None
    score: float
    method: str
    start: int | None = None
    end: int | None = None
    exact: bool | None = None
    windows: int = 0
    finished: bool = True
    rank: float | None = None  # a ranked candidate's rank_score


class AskTask:
    """Answers; JSON fields ``answer``, ``score``, ``grounded``, ``method``, and for
    a span of the context ``start``/``end`` (character offsets into the text) and
    ``location`` (``file:line:col``); ``windows`` and ``truncated`` (always false)."""

    name = ASK

    def __init__(
        self, loaded: LoadedModel, settings: AskSettings, context: TaskContext | None = None
    ) -> None:
        if loaded.family not in FAMILIES:
            raise unsupported("answer questions", loaded, FAMILIES)
        settings.check()
        check_positive("max_answer_tokens", settings.max_answer_tokens)
        check_positive("max_input_tokens", settings.max_input_tokens, 8)
        if settings.stride < 0:
            raise UsageError("stride cannot be negative")
        if settings.retrieve < 0 or settings.neighbours < 0:
            raise UsageError("retrieve and neighbours cannot be negative")
        if settings.grounding not in GROUNDING:
            raise UsageError(
                f"unknown grounding {settings.grounding!r}", hint=f"one of {', '.join(GROUNDING)}"
            )
        self.loaded = loaded
        self.context = context or TaskContext()
        self.options = settings
        self.limit = context_length(loaded)

    def settings(self) -> dict[str, Any]:
        """Settings for the run record."""
        record: dict[str, Any] = {
            "max_answer_tokens": self.options.max_answer_tokens,
            "max_input_tokens": self.options.max_input_tokens,
            "stride": self.options.stride,
        }
        if self.loaded.family is Family.EXTRACTIVE_QA:
            record["allow_no_answer"] = self.options.allow_no_answer
            record["batch_size"] = self.options.batch_size
        else:
            if self.loaded.family is Family.CAUSAL:
                record["grounding"] = self.options.grounding
            record.update(
                embedder=self.context.embedder_name if self._retrieves() else None,
                retrieve=self.options.retrieve,
                neighbours=self.options.neighbours,
                min_score=self.options.min_score,
            )
            record.update(self.options.record())
        return record

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Answer each input's question about its text."""
        for item in inputs:
            if item.question is None or not item.question.strip():
                raise UsageError("ask needs a question")
        grounded = [i for i, item in enumerate(inputs) if item.text.strip()]
        open_ = [i for i, item in enumerate(inputs) if not item.text.strip()]
        if open_ and self.loaded.family is Family.EXTRACTIVE_QA:
            raise UsageError(
                "an extractive question-answering model needs a context to answer from",
                hint="give a text, or use a generative model to answer without one",
            )
        answers: dict[int, _Answer] = {}
        evidence: dict[int, _Evidence] = {}
        with self.loaded.runtime.seeded(self.options):
            if grounded:
                chosen = [inputs[i] for i in grounded]
                if self._retrieves():
                    found = self._retrieve(chosen)
                    evidence.update(zip(grounded, found, strict=True))
                    chosen = [
                        dataclasses.replace(item, text=ev.text)
                        for item, ev in zip(chosen, found, strict=True)
                    ]
                if evidence and self._ranks():
                    ranked = self._ranked([inputs[i] for i in grounded], chosen, found)
                    answers.update(zip(grounded, ranked, strict=True))
                else:
                    answers.update(zip(grounded, self._grounded(chosen), strict=True))
                    for i, ev in evidence.items():
                        _back_to_context(answers[i], ev)
            if open_:
                chosen = [inputs[i] for i in open_]
                answers.update(zip(open_, self._open(chosen), strict=True))
        results = [self._result(inputs[i], answers[i]) for i in range(len(inputs))]
        for i, ev in evidence.items():
            self._add_evidence(inputs[i], results[i], ev, answers[i])
        for i in grounded:
            language = detect.detect(inputs[i].text)
            results[i].fields["language"] = language.to_json() if language is not None else None
            if detect.uncovered(self.loaded, language):
                assert language is not None
                self.context.say(
                    f"{inputs[i].source or 'input'}: the text is in {detect.name(language.code)}, "
                    f"which {self.loaded.name} was not trained on; the answer is a span of the "
                    "text, but may be the wrong one"
                )
        return results

    # --- retrieval --------------------------------------------------------------------

    def _retrieves(self) -> bool:
        return self.options.retrieve > 0 and self.loaded.family is not Family.EXTRACTIVE_QA

    def _retrieve(self, inputs: Sequence[TaskInput]) -> list[_Evidence]:
        """The passages of each context closest to its question."""
        embedder = self.context.embedder()
        found = [retrieval.units(item.text) for item in inputs]
        texts = [item.question or "" for item in inputs]
        for item, units in zip(inputs, found, strict=True):
            texts.extend(item.text[u.start : u.end] for u in units)
        # Without an embedder, word overlap alone ranks the sentences.
        vectors = embedder.encode(texts) if embedder is not None else None
        result = []
        row = len(inputs)
        for k, (item, units) in enumerate(zip(inputs, found, strict=True)):
            if vectors is not None:
                scores = (vectors[row : row + len(units)] @ vectors[k]).tolist()
            else:
                scores = [0.0] * len(units)
            row += len(units)
            lexical = retrieval.lexical_scores(
                item.question or "", [item.text[u.start : u.end] for u in units]
            )
            cosines = {u.start: c for u, c in zip(units, scores, strict=True)}
            weight = retrieval.lexical_weight(item.text)
            scores = [c + weight * w for c, w in zip(scores, lexical, strict=True)]
            chosen = retrieval.passages(
                item.text, units, scores, self.options.retrieve, self.options.neighbours
            )
            top = retrieval.passages(item.text, units, scores, self.options.retrieve, 0)
            pieces, parts, offset = [], [], 0
            for p in chosen:
                pieces.append((offset, p.start, p.end))
                parts.append(item.text[p.start : p.end])
                offset += p.end - p.start + 1
            top.sort(key=lambda p: -p.score)
            result.append(_Evidence("\n".join(parts), pieces, chosen, top, cosines))
        return result

    def _ranks(self) -> bool:
        return (
            self.loaded.family is Family.CAUSAL
            and self.options.grounding == "candidates"
            and self.options.num_beams == 1
            and not self.options.do_sample
        )

    def _ranked(
        self,
        inputs: Sequence[TaskInput],
        readable: Sequence[TaskInput],
        evidence: Sequence[_Evidence],
    ) -> list[_Answer]:
        """The best candidate span of the retrieved sentences (:mod:`llmcli.tasks.answers`).

        Candidates are ranked by :func:`rank_score` of their features (:meth:`_features`).
        """
        answers = []
        for item, reduced, ev in zip(inputs, readable, evidence, strict=True):
            table = self._features(item, reduced, ev)
            if not table:
                answers.append(_Answer(None, 0.0, "ranked", windows=1))
                continue
            best = max(table, key=rank_score)
            answers.append(
                _Answer(
                    item.text[best.start : best.end],
                    math.exp(best.reader),
                    "ranked",
                    best.start,
                    best.end,
                    True,
                    windows=1,
                    rank=rank_score(best),
                )
            )
        return answers

    def _features(self, item: TaskInput, reduced: TaskInput, ev: _Evidence) -> list[Candidate]:
        """Every candidate answer of ``item`` with what it is ranked by.

        - ``reader``: the reader's mean log-probability of the candidate's tokens and the
          stop token after the question and the passages (a length-fair likelihood of
          exactly that answer);
        - ``retrieval``: its sentence's retrieval score;
        - ``distance``: words between it and the nearest question word in its sentence.
        """
        question = item.question or ""
        kind = answers_mod.question_kind(question)
        avoid = answers_mod.question_words(question)
        found: list[tuple[int, int, bool, retrieval.Passage]] = []
        for wanted in (kind, answers_mod.Kind.OTHER):
            for p in ev.top:
                spans_ = answers_mod.candidates(item.text, p.start, p.end, wanted, avoid)
                found.extend((s, e, typed, p) for s, e, typed in spans_)
            if found or wanted is answers_mod.Kind.OTHER:
                break  # typed candidates if any, else every short span
        # Best-retrieved sentences first: a long sentence of short spans (CJK) must not
        # make one question cost hundreds of reader rows.
        found = found[:MAX_CANDIDATES]
        if not found:
            return []
        stop = self._answer_stop()
        ids_of, _ = self._free_prompt(question)
        tokens = [
            encode(self.loaded.tokenizer, [" " + item.text[s:e]])[0] + [stop]
            for s, e, _, _ in found
        ]
        logprobs = self.loaded.runtime.continuation_logprobs(
            ids_of(reduced.text), tokens, self.options.batch_size
        )
        return [
            Candidate(
                s,
                e,
                sum(lp) / len(lp),
                p.score,
                answers_mod.distance(item.text, p.start, p.end, s, e, avoid),
                typed,
                tuple(lp),
            )
            for (s, e, typed, p), lp in zip(found, logprobs, strict=True)
        ]

    def _answer_stop(self) -> int:
        """The token that ends an answer: end of turn in a chat prompt, else a line break."""
        tokenizer = self.loaded.tokenizer
        if prompts.has_chat_template(tokenizer):
            vocab = tokenizer.get_vocab()
            for marker in ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>"):
                if marker in vocab:
                    return int(vocab[marker])
            return stop_ids(self.loaded)[0]
        return encode(tokenizer, ["\n"])[0][-1]

    def _add_evidence(
        self, item: TaskInput, result: TaskResult, evidence: _Evidence, answer: _Answer
    ) -> None:
        result.fields["evidence"] = [
            {
                "text": item.text[p.start : p.end],
                "start": p.start,
                "end": p.end,
                "location": spans.location(item.source, item.text, p.start, item.first_line),
                "similarity": round(evidence.similarity(p), 4),
                "score": round(p.score, 4),
            }
            for p in evidence.passages
        ]
        rank = answer.rank
        answerable = result.fields["grounded"] and (rank is None or rank >= self.options.min_score)
        result.fields["answerable"] = bool(answerable)

    # --- backends ---------------------------------------------------------------------

    def _grounded(self, inputs: Sequence[TaskInput]) -> list[_Answer]:
        family = self.loaded.family
        if family is Family.EXTRACTIVE_QA:
            return self._extractive(inputs)
        if (
            family is Family.CAUSAL
            and self.options.grounding in ("candidates", "constrained")
            and getattr(self.loaded.tokenizer, "is_fast", False)
        ):
            return self._constrained(inputs)
        return self._located(inputs)

    def _extractive(self, inputs: Sequence[TaskInput]) -> list[_Answer]:
        from llmcli.tasks.extractive import answer_spans

        window = self.limit
        if self.options.max_input_tokens is not None:
            window = min(window, self.options.max_input_tokens)
        found = answer_spans(
            self.loaded,
            [item.question or "" for item in inputs],
            [item.text for item in inputs],
            window=window,
            stride=self.options.stride,
            max_answer_tokens=self.options.max_answer_tokens,
            allow_no_answer=self.options.allow_no_answer,
            batch_size=self.options.batch_size,
        )
        answers = []
        for item, span in zip(inputs, found, strict=True):
            if span.start is None or span.end is None:
                answers.append(
                    _Answer(None, span.no_answer_score, "extractive", windows=span.windows)
                )
                continue
            answers.append(
                _Answer(
                    item.text[span.start : span.end],
                    span.score,
                    "extractive",
                    span.start,
                    span.end,
                    True,
                    span.windows,
                )
            )
        return answers

    def _constrained(self, inputs: Sequence[TaskInput]) -> list[_Answer]:
        from llmcli.tasks.grounded import SpanConstraint, candidates, tokenize_context

        jobs: list[tuple[int, int, int, list[int]]] = []  # (item, window start, end, prompt)
        contexts = []
        stops: list[int] = []
        for i, item in enumerate(inputs):
            ctx = tokenize_context(self.loaded, item.text)
            contexts.append(ctx)
            template, chat, size = self._grounded_template(item.question or "")
            # Stop tokens: end-of-turn for chat prompts, a bare line break for plain ones.
            stops = stop_ids(self.loaded) if chat else _bare_newlines(self.loaded)
            for start, end in chunking.windows(len(ctx.ids), size, self._overlap(size)):
                prompt = prompts.assemble(
                    self.loaded, template, rendered_chat=chat, slot_ids=ctx.ids[start:end]
                )
                jobs.append((i, start, end, prompt.ids))
        windows = [contexts[i].ids[s:e] for i, s, e, _ in jobs]
        starts = [{p - s for p in contexts[i].starts if s <= p < e} for i, s, e, _ in jobs]
        ends = [{p - s for p in contexts[i].ends if s <= p < e} for i, s, e, _ in jobs]

        def make(rows: list[int], width: int) -> SpanConstraint:
            return SpanConstraint(
                [windows[r] for r in rows],
                [starts[r] for r in rows],
                [ends[r] for r in rows],
                stops,
                width,
                self.options.max_answer_tokens,
                self.options.num_beams,
            )

        outputs = self.loaded.runtime.generate(
            [job[3] for job in jobs],
            GenerateRequest(
                max_new_tokens=self.options.max_answer_tokens + 1,
                decoding=self.options,
                stop_at_newline=True,
                processor=make,
                want_logprobs=True,
                # Beams compare whole spans by total log-probability, stop token included, so
                # a short complete answer can beat a long copied sentence.
                length_penalty=0.0 if self.options.num_beams > 1 else None,
            ),
        )
        best: dict[int, _Answer] = {}
        counts: dict[int, int] = {}
        for k, ((i, s, _e, _), out) in enumerate(zip(jobs, outputs, strict=True)):
            counts[i] = counts.get(i, 0) + 1
            ctx = contexts[i]
            ends_at = candidates(windows[k], starts[k], out.token_ids)
            if not ends_at:
                continue
            last = ends_at[0]
            first = last - len(out.token_ids) + 1
            begin, finish = ctx.offsets[s + first][0], ctx.offsets[s + last][1]
            begin, finish = spans.trim_span(inputs[i].text, begin, finish)
            if finish <= begin:
                continue
            score = _span_score(out)
            if i not in best or score > best[i].score:
                text = inputs[i].text[begin:finish]
                best[i] = _Answer(text, score, "constrained", begin, finish, True, 0, out.finished)
        answers = []
        for i in range(len(inputs)):
            answer = best.get(i) or _Answer(None, 0.0, "constrained")
            answer.windows = counts.get(i, 0)
            answers.append(answer)
        return answers

    def _located(self, inputs: Sequence[TaskInput]) -> list[_Answer]:
        """Free answers per window, looked up in the context; best-scoring window wins."""
        jobs: list[tuple[int, list[int]]] = []
        count = counter(self.loaded.tokenizer)
        for i, item in enumerate(inputs):
            ids_of, _ = self._free_prompt(item.question or "")
            size = self._window_size(len(ids_of("")))
            # Windows here are whole sentences (no stride needed): a short answer is not
            # cut in two by a window edge.
            pieces = (
                chunking.pack(item.text, size, count)
                if count([item.text])[0] > size
                else [(0, len(item.text))]
            )
            jobs.extend((i, ids_of(item.text[s:e])) for s, e in pieces)
        outputs = self.loaded.runtime.generate(
            [ids for _, ids in jobs],
            GenerateRequest(
                max_new_tokens=self.options.max_answer_tokens,
                decoding=self.options,
                stop_at_newline=self.loaded.family is Family.CAUSAL,
                want_logprobs=True,
            ),
        )
        best: dict[int, _Answer] = {}
        counts: dict[int, int] = {}
        for (i, _), out in zip(jobs, outputs, strict=True):
            counts[i] = counts.get(i, 0) + 1
            text = one_line(out.text)
            score = _geometric_mean(out.logprobs)
            found = spans.locate(text, inputs[i].text) if text else None
            # Answers found in the context beat answers that are not; then the score.
            rank = (found is not None, score)
            current = best.get(i)
            if current is not None and (current.start is not None, current.score) >= rank:
                continue
            answer = _Answer(text or None, score, "located", finished=out.finished)
            if found is not None:
                answer.start, answer.end, answer.exact = found.start, found.end, found.exact
            best[i] = answer
        result = []
        for i in range(len(inputs)):
            answer = best.get(i) or _Answer(None, 0.0, "located")
            answer.windows = counts.get(i, 0)
            result.append(answer)
        return result

    def _open(self, inputs: Sequence[TaskInput]) -> list[_Answer]:
        prompts_ids = []
        for item in inputs:
            ids_of, _ = self._free_prompt(item.question or "", context=False)
            prompts_ids.append(ids_of(""))
        outputs = self.loaded.runtime.generate(
            prompts_ids,
            GenerateRequest(
                max_new_tokens=self.options.max_answer_tokens,
                decoding=self.options,
                stop_at_newline=self.loaded.family is Family.CAUSAL
                and not prompts.has_chat_template(self.loaded.tokenizer),
                want_logprobs=True,
            ),
        )
        return [_open_answer(out) for out in outputs]

    # --- prompts and sizes ------------------------------------------------------------

    def _free_prompt(self, question: str, context: bool = True) -> tuple[Any, bool]:
        """A function from context text to prompt ids, and whether it is a chat prompt."""
        loaded = self.loaded
        if loaded.family is Family.SEQ2SEQ:
            before, after = special_tokens(loaded.tokenizer)
            q = one_line(question)

            def seq2seq_ids(text: str) -> list[int]:
                body = f"question: {q} context: {text}" if context else f"question: {q}"
                return before + encode(loaded.tokenizer, [body])[0] + after

            return seq2seq_ids, False
        if context:
            template, chat, _ = self._grounded_template(question)
        else:
            template, chat = prompts.open_question_prompt(loaded, question)

        def causal_ids(text: str) -> list[int]:
            filled = template.replace(prompts.SLOT, text)
            return prompts.assemble(loaded, filled, rendered_chat=chat).ids

        return causal_ids, chat

    def _grounded_template(self, question: str) -> tuple[str, bool, int]:
        """The QA prompt (with its context slot), whether it is chat, and the window size.

        With a small context, worked examples are dropped until a window of
        :data:`MIN_WINDOW` tokens (or ``max_input_tokens``, if smaller) fits.
        """
        wanted = min(MIN_WINDOW, self.options.max_input_tokens or MIN_WINDOW)
        for shots in range(len(prompts.ASK_SHOTS), -1, -1):
            template, chat = prompts.grounded_question_prompt(self.loaded, question, shots)
            overhead = len(prompts.assemble(self.loaded, template, rendered_chat=chat).ids)
            if shots == 0 or self._room(overhead) >= wanted:
                return template, chat, self._window_size(overhead)
        raise AssertionError("unreachable")

    def _room(self, overhead: int) -> int:
        room = self.limit - overhead - self.options.max_answer_tokens - _MARGIN
        if self.options.max_input_tokens is not None:
            room = min(room, self.options.max_input_tokens)
        return room

    def _window_size(self, overhead: int) -> int:
        room = self._room(overhead)
        if room < 8:
            raise UsageError(
                f"the question leaves no room for the context in a {self.limit}-token window",
                hint="shorten the question, or lower --max-answer-tokens",
            )
        return room

    def _overlap(self, size: int) -> int:
        return max(0, min(self.options.stride, size // 2))

    # --- results ----------------------------------------------------------------------

    def _result(self, item: TaskInput, answer: _Answer) -> TaskResult:
        grounded = answer.start is not None and answer.end is not None
        fields: dict[str, Any] = {
            "answer": answer.text,
            "score": round(answer.score, 6),
            "grounded": grounded,
            "method": answer.method,
        }
        if answer.start is not None and answer.end is not None:
            # "location" rather than line/column fields: the JSON record's own "line" is
            # the input item's line.
            fields.update(
                start=answer.start,
                end=answer.end,
                location=spans.location(item.source, item.text, answer.start, item.first_line),
            )
            if answer.exact is not None and answer.method == "located":
                fields["exact"] = answer.exact
        if item.text.strip():
            fields["windows"] = answer.windows
            fields["truncated"] = False
        if answer.text is None and answer.method == "extractive":
            fields["answerable"] = False
        if not answer.finished:
            fields["max_length_reached"] = True
        return TaskResult(text=one_line(answer.text or ""), fields=fields)


def _back_to_context(answer: _Answer, evidence: _Evidence) -> None:
    """Turn an answer's offsets into the passages into offsets into the whole context."""
    if answer.start is not None and answer.end is not None:
        answer.start, answer.end = evidence.to_context(answer.start, answer.end)


def _open_answer(out: Generation) -> _Answer:
    return _Answer(
        one_line(out.text) or None,
        _geometric_mean(out.logprobs),
        "generated",
        finished=out.finished,
    )


def _span_score(out: Generation) -> float:
    """Confidence in a generated answer: per-token geometric mean probability."""
    total = out.extra.get("sequence_score")
    if total is not None:
        # Beam search: total log-probability over the answer and its stop token.
        return math.exp(float(total) / (len(out.token_ids) + 1))
    return _geometric_mean(out.logprobs)


def _geometric_mean(logprobs: list[float] | None) -> float:
    """The per-token geometric mean probability: a length-fair confidence in [0, 1]."""
    if not logprobs:
        return 0.0
    return math.exp(sum(logprobs) / len(logprobs))


def _bare_newlines(loaded: LoadedModel) -> list[int]:
    """End-of-sequence ids plus tokens that are nothing but line breaks."""
    tokenizer = loaded.tokenizer
    bare = [i for i in newline_ids(tokenizer) if not tokenizer.decode([i]).strip()]
    return sorted(set(bare) | set(stop_ids(loaded)))
