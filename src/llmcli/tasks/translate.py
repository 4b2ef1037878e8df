"""Translate: seq2seq translation models, or few-shot prompted causal models.

Languages are ISO 639-1 codes; each backend maps them to its own convention:

- M2M100: ``tokenizer.src_lang`` and a forced first token ``__de__``;
- NLLB-200 / mBART-50: source code token and forced first token (``deu_Latn``, ``de_DE``);
- Marian (opus-mt): multi-target models get a ``>>deu<<`` token; bilingual ones are
  checked against the languages their tokenizer declares;
- T5: ``translate English to German: `` prefixes (pairs from ``task_specific_params``);
- causal models: ``English: ... / German: ...`` example pairs (:mod:`.languages`).

Whole documents keep their Markdown structure (:mod:`.markdown`): code blocks and inline
code stay untranslated; prose is translated block by block, long paragraphs sentence by
sentence, never truncated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest
from llmcli.models.runtime.tokens import context_length, counter, encode, special_tokens
from llmcli.task_names import TRANSLATE
from llmcli.tasks import chunking, languages, markdown, prompts
from llmcli.tasks.base import TaskContext, TaskInput, TaskResult, TaskSettings
from llmcli.tasks.common import check_positive, model_type, unsupported

FAMILIES = (Family.SEQ2SEQ, Family.CAUSAL)
#: Scripts written without spaces between sentences.
_NO_SPACE = ("zh", "ja", "th")
_MARGIN = 4


#: ``llmcli translate``'s beam width when neither --num-beams nor --sample is given.
DEFAULT_BEAMS = 2


@dataclass(kw_only=True)
class TranslateSettings(DecodingSettings, TaskSettings):
    """Options of ``llmcli translate``."""

    target: str  # ISO 639-1
    source: str = "en"  # ISO 639-1
    #: Beam search by default: 2 beams gave +3.9 to +5.5 chrF over greedy on Gemma 3 at
    #: 1.5-2.2x its time (docs/quality.md); 3 beams cost up to 3x.
    num_beams: int = DEFAULT_BEAMS
    max_length: int | None = None  # new tokens per segment; None: 2 x input + 16
    max_input_tokens: int | None = None  # longest segment; None: model-dependent
    markdown: bool = True  # keep Markdown structure; False: plain paragraphs
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0


#: Default longest segment of a prompted model: it saw one sentence per example.
CAUSAL_SEGMENT_TOKENS = 64
#: Default longest segment of a translation model (they are trained on sentences).
SEQ2SEQ_SEGMENT_TOKENS = 200
#: A prompted model drops examples until a segment this long fits in its context.
MIN_SEGMENT_TOKENS = 32


@dataclass
class _Convention:
    """How one model is told the languages."""

    kind: str
    prefix: str = ""  # text before the source (T5 prefix, Marian >>xx<< token)
    forced_bos: int | None = None
    src_lang: str | None = None  # tokenizer.src_lang to set before encoding
    supported: tuple[str, ...] = ()


class TranslateTask:
    """Translations; JSON fields ``translation``, ``source_lang``, ``target_lang``,
    ``segments``, ``truncated`` (always false) and ``max_length_reached``."""

    name = TRANSLATE

    def __init__(
        self, loaded: LoadedModel, settings: TranslateSettings, context: TaskContext | None = None
    ) -> None:
        if loaded.family not in FAMILIES:
            raise unsupported(TRANSLATE, loaded, FAMILIES)
        settings.check()
        check_positive("max_length", settings.max_length)
        check_positive("max_input_tokens", settings.max_input_tokens, 8)
        self.loaded = loaded
        self.context = context or TaskContext()
        self.options = settings
        self.causal = loaded.family is Family.CAUSAL
        if self.causal:
            supported = languages.PROMPT_LANGUAGES
            self.source = languages.check(settings.source, supported, "source")
            self.target = languages.check(settings.target, supported, "target")
            if self.source == self.target:
                raise UsageError("source and target languages are the same")
            self.convention = _Convention("few-shot prompt", supported=supported)
        else:
            self.source = languages.normalize(settings.source)
            self.target = languages.normalize(settings.target)
            self.convention = _seq2seq_convention(loaded, self.source, self.target)
        self.shots = len(languages.few_shot_pairs(self.source, self.target)) if self.causal else 0
        self.segment_tokens = self._segment_tokens()

    def settings(self) -> dict[str, Any]:
        """Settings for the run record."""
        return {
            "source": self.source,
            "target": self.target,
            "convention": self.convention.kind,
            "max_length": self.options.max_length,
            "max_input_tokens": self.options.max_input_tokens,
            "segment_tokens": self.segment_tokens,
            **({"examples": self.shots} if self.causal else {}),
            "markdown": self.options.markdown,
            **self.options.record(),
        }

    def _segment_tokens(self) -> int:
        """Longest segment in tokens: the setting, within what the context allows.

        A causal prompt also holds its examples and the output (up to 2 x segment + 16
        new tokens); with a small context, examples are dropped (fewest first) until a
        segment of at least :data:`MIN_SEGMENT_TOKENS` fits.
        """
        limit = context_length(self.loaded)
        default = CAUSAL_SEGMENT_TOKENS if self.causal else SEQ2SEQ_SEGMENT_TOKENS
        wanted = self.options.max_input_tokens or default
        room = 0
        for shots in range(self.shots, -1, -1):
            self.shots = shots
            room = limit - len(self._ids("")) - _MARGIN
            if self.causal:
                extra = self.options.max_length
                room = (room - 16) // 3 if extra is None else room - extra
            if room >= min(wanted, MIN_SEGMENT_TOKENS) or not self.causal:
                break
        if room < 8:
            raise UsageError(f"the model's {limit}-token context is too small to translate")
        return min(wanted, room)

    def _ids(self, text: str) -> list[int]:
        return self._ids_many([text])[0]

    def _ids_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Model inputs for many segments, tokenized in one batched call."""
        loaded = self.loaded
        if self.causal:
            chat = prompts.has_chat_template(loaded.tokenizer)
            # Keep the pairs nearest the text (the shared five: inline code, a title).
            pairs = languages.few_shot_pairs(self.source, self.target)
            pairs = pairs[len(pairs) - self.shots :]
            strings = [
                prompts.translate_prompt(
                    loaded, text, languages.name(self.source), languages.name(self.target), pairs
                )[0]
                for text in texts
            ]
            return prompts.assemble_many(loaded, strings, rendered_chat=chat)
        tokenizer = loaded.tokenizer
        if self.convention.src_lang is not None:
            tokenizer.src_lang = self.convention.src_lang  # sets the source language token
        before, after = special_tokens_now(tokenizer)
        encoded = encode(tokenizer, [self.convention.prefix + text for text in texts])
        return [before + ids + after for ids in encoded]

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Translate each input; segments of all inputs share batches."""
        count = counter(self.loaded.tokenizer)
        documents = [markdown.parse(item.text, self.options.markdown) for item in inputs]
        # Every unit is cut into segments (sentences, packed up to the segment size).
        segments: list[str] = []
        layout: list[list[list[int]]] = []  # document -> unit -> segment indices
        for doc in documents:
            per_unit = []
            for unit in doc.units:
                pieces = self._segments(unit, count)
                per_unit.append(list(range(len(segments), len(segments) + len(pieces))))
                segments.extend(pieces)
            layout.append(per_unit)
        with self.loaded.runtime.seeded(self.options):
            translated, unfinished = self._translate_protected(segments)
        joiner = "" if self.target in _NO_SPACE else " "
        results = []
        for doc, per_unit in zip(documents, layout, strict=True):
            units = [joiner.join(translated[k] for k in idx).strip() for idx in per_unit]
            text = doc.render(units)
            n = sum(len(idx) for idx in per_unit)
            results.append(
                TaskResult(
                    text=text,
                    fields={
                        "translation": text,
                        "source_lang": self.source,
                        "target_lang": self.target,
                        "segments": n,
                        "truncated": False,
                        "max_length_reached": any(unfinished[k] for idx in per_unit for k in idx),
                    },
                )
            )
        return results

    def _segments(self, unit: str, count: Callable[[Sequence[str]], list[int]]) -> list[str]:
        if count([unit])[0] <= self.segment_tokens:
            return [unit]
        return [unit[s:e] for s, e in chunking.pack(unit, self.segment_tokens, count)]

    def _translate_protected(self, segments: list[str]) -> tuple[list[str], list[bool]]:
        """Translate segments; inline code and URLs must come back verbatim.

        A segment whose protected spans the model altered is translated again piece by
        piece between those spans, which are then put back as they were.
        """
        todo = [i for i, s in enumerate(segments) if markdown.has_words(s)]
        out = list(segments)  # segments without words (numbers, code only) stay as they are
        unfinished = [False] * len(segments)
        first = self._translate([segments[i] for i in todo])
        retry: list[int] = []
        for i, (text, done) in zip(todo, first, strict=True):
            out[i], unfinished[i] = text, not done
            kept = [segments[i][s:e] for s, e in markdown.protected_spans(segments[i])]
            if any(text.count(span) < segments[i].count(span) for span in kept):
                retry.append(i)
        if not retry:
            return out, unfinished
        plans: list[list[str | int]] = []  # verbatim spans, or indices into pieces
        pieces: list[str] = []
        for i in retry:
            plan: list[str | int] = []
            cursor = 0
            text = segments[i]
            for s, e in [*markdown.protected_spans(text), (len(text), len(text))]:
                gap = text[cursor:s]
                if markdown.has_words(gap):
                    lead = gap[: len(gap) - len(gap.lstrip())]
                    trail = gap[len(gap.rstrip()) :]
                    plan += [lead, len(pieces), trail]
                    pieces.append(gap.strip())
                elif gap:
                    plan.append(gap)
                plan.append(text[s:e])
                cursor = e
            plans.append(plan)
        second = self._translate(pieces)
        for i, plan in zip(retry, plans, strict=True):
            out[i] = "".join(p if isinstance(p, str) else second[p][0] for p in plan)
            unfinished[i] = any(not second[p][1] for p in plan if isinstance(p, int))
        return out, unfinished

    def _translate(self, texts: list[str]) -> list[tuple[str, bool]]:
        if not texts:
            return []
        ids = self._ids_many(texts)
        count = counter(self.loaded.tokenizer)
        sizes = count(texts)
        limit = context_length(self.loaded)
        results: list[tuple[str, bool]] = [("", True)] * len(texts)
        budgets = []
        for i, size in enumerate(sizes):
            budget = self.options.max_length or 2 * size + 16
            if self.causal:
                budget = max(1, min(budget, limit - len(ids[i]) - 1))
            budgets.append(budget)
        generation = self.loaded.generation_config
        groups: dict[int, list[int]] = {}
        if getattr(generation, "forced_eos_token_id", None) is None:
            # Every segment goes in one call (full batches), each cut at its own budget. A
            # greedy row's tokens do not depend on how far it may run; a beam search's
            # may (its stopping rule looks at the limit), but one call per budget split a
            # window into batches of a few rows and cost 4-5x the time (docs/quality.md).
            groups[max(budgets)] = list(range(len(texts)))
        else:
            # A forced end token lands at the limit: one call per budget.
            for i, budget in enumerate(budgets):
                groups.setdefault(budget, []).append(i)
        for budget, rows in sorted(groups.items()):
            outputs = self.loaded.runtime.generate(
                [ids[i] for i in rows],
                GenerateRequest(
                    max_new_tokens=budget,
                    decoding=self.options,
                    stop_at_newline=self.causal,
                    forced_bos_token_id=self.convention.forced_bos,
                    no_repeat_ngram_size=self.options.no_repeat_ngram_size,
                    repetition_penalty=self.options.repetition_penalty,
                    limits=[budgets[i] for i in rows],
                ),
            )
            for i, out in zip(rows, outputs, strict=True):
                results[i] = (out.text, out.finished)
        return results


def special_tokens_now(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Leading/trailing special ids as the tokenizer is set *now* (src_lang changes them)."""
    if getattr(tokenizer, "src_lang", None) is None:
        return special_tokens(tokenizer)
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    at = next((i for i in range(len(full)) if full[i : i + len(plain)] == plain), len(full))
    return list(full[:at]), list(full[at + len(plain) :])


def check_languages_early(
    model: str | None, env: Mapping[str, str], source: str, target: str
) -> None:
    """Refuse languages a known prompted model cannot do, before it is prepared or loaded.

    Preparing the built-in Gemma takes over a minute the first time; a typo in ``--to``
    should not cost that. Models of unknown family are checked once loaded.
    """
    from llmcli.models.registry import resolve

    ref = resolve(model, TRANSLATE, env, (source, target))
    if ref.spec is not None and ref.spec.family is Family.CAUSAL:
        languages.check(source, languages.PROMPT_LANGUAGES, "source")
        languages.check(target, languages.PROMPT_LANGUAGES, "target")


def _seq2seq_convention(loaded: LoadedModel, source: str, target: str) -> _Convention:
    """Work out how this seq2seq model is told the languages; validate them."""
    tokenizer = loaded.tokenizer
    vocab = tokenizer.get_vocab()
    kind = model_type(loaded)
    if hasattr(tokenizer, "get_lang_id") and hasattr(tokenizer, "lang_code_to_id"):
        supported = tuple(sorted(c for c in tokenizer.lang_code_to_id if len(c) == 2))
        languages.check(source, supported, "source")
        languages.check(target, supported, "target")
        return _Convention(
            "m2m100 language tokens",
            forced_bos=int(tokenizer.get_lang_id(target)),
            src_lang=source,
            supported=supported,
        )
    for table, name in ((languages.NLLB_CODES, "nllb"), (languages.MBART_REGIONS, "mbart-50")):
        if table["en"] in vocab:
            supported = tuple(sorted(iso for iso, code in table.items() if code in vocab))
            languages.check(source, supported, "source")
            languages.check(target, supported, "target")
            return _Convention(
                f"{name} language codes",
                forced_bos=int(vocab[table[target]]),
                src_lang=table[source],
                supported=supported,
            )
    # Whatever the model, a code must at least be an ISO 639-1 code we know.
    known = tuple(languages.NAMES)
    languages.check(source, known, "source")
    languages.check(target, known, "target")
    marian_codes = list(getattr(tokenizer, "supported_language_codes", None) or [])
    if kind == "marian" and marian_codes:
        by_iso = _marian_targets(marian_codes)
        target = languages.check(target, tuple(by_iso), "target")
        return _Convention(
            "marian target token", prefix=by_iso[target] + " ", supported=tuple(by_iso)
        )
    if kind == "marian":
        declared = {
            "source": _iso1(getattr(tokenizer, "source_lang", None)),
            "target": _iso1(getattr(tokenizer, "target_lang", None)),
        }
        for what, code in (("source", source), ("target", target)):
            fixed = declared[what]
            if fixed is not None and code != fixed:
                raise UsageError(
                    f"this model translates {languages.name(declared['source'] or '?')} to "
                    f"{languages.name(declared['target'] or '?')} only; {what} {code!r} is not it",
                    hint=f"supported {what}: {fixed}",
                )
        return _Convention("bilingual marian")
    params = getattr(loaded.config, "task_specific_params", None) or {}
    if kind in ("t5", "mt5", "umt5", "longt5"):
        pairs = {
            key.removeprefix("translation_"): value.get("prefix", "")
            for key, value in params.items()
            if key.startswith("translation_")
        }
        if pairs:
            targets = tuple(sorted({p.split("_to_")[1] for p in pairs if p.startswith(source)}))
            languages.check(target, targets or ("en",), "target")
            prefix = pairs.get(f"{source}_to_{target}")
            if prefix is None:
                raise UsageError(
                    f"this model does not translate {source} to {target}",
                    hint="supported pairs: " + ", ".join(sorted(pairs)),
                )
            return _Convention("t5 prefix", prefix=prefix, supported=targets)
        supported = tuple(languages.NAMES)
        languages.check(source, supported, "source")
        languages.check(target, supported, "target")
        prefix = f"translate {languages.name(source)} to {languages.name(target)}: "
        return _Convention("t5 prefix", prefix=prefix, supported=supported)
    # Other seq2seq models (BART, Pegasus...) have no way to be told a language.
    return _Convention("none (the model's own language pair)")


def _marian_targets(codes: list[str]) -> dict[str, str]:
    """ISO 639-1 → ``>>code<<`` token for a multi-target Marian model."""
    reverse = {v: k for k, v in languages.ISO3.items()}
    targets: dict[str, str] = {}
    for token in codes:
        code = token[2:-2]
        iso = code if len(code) == 2 else reverse.get(code.split("_")[0])
        if iso is not None:
            targets.setdefault(iso, token)
    return targets


def _iso1(code: str | None) -> str | None:
    if not code:
        return None
    code = code.lower()
    if len(code) == 2:
        return code
    reverse = {v: k for k, v in languages.ISO3.items()}
    return reverse.get(code)
