"""The CTranslate2 runtime (``--backend ctranslate2``): generation only.

Tasks build their prompts with the transformers tokenizer and hand token ids here; the
ids come back as token ids, so chunking, prompts and decoding of the text are shared
with the torch runtime. What needs the torch model (constrained decoding, per-token
log-probabilities, label scoring, plain forward passes) is refused with a UsageError.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.models.base import Family
from llmcli.models.ct2 import CT2Model, require
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest, Generation, refuse
from llmcli.models.runtime.batching import plan
from llmcli.models.runtime.tokens import finish, generation_prefix_length, newline_ids, stop_ids

_NEEDS_TORCH = "it constrains decoding"

#: Distinct shared prefixes whose decoder state one loaded model keeps. A run usually has
#: one (its prompt template's); a prefix beyond these is still shared, but run per batch.
MAX_CACHED_PREFIXES = 8


class CT2Runtime:
    """A converted model on a CTranslate2 Translator (seq2seq) or Generator (causal)."""

    name = "ctranslate2"

    def __init__(
        self,
        model: CT2Model,
        tokenizer: Any,
        family: Family,
        device: str,
        generation_config: Any,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.family = family
        self.device = device
        self.generation_config = generation_config

    def generate(
        self, prompts: Sequence[Sequence[int]], request: GenerateRequest
    ) -> list[Generation]:
        """A continuation per prompt, batched as the torch runtime batches them."""
        if not prompts:
            return []
        if request.processor is not None or (
            request.want_logprobs and request.decoding.num_beams == 1
        ):
            raise refuse(_NEEDS_TORCH)
        decoding = request.decoding
        newline = newline_ids(self.tokenizer) if request.stop_at_newline else []
        ends = sorted(set(stop_ids(self)) | set(newline))
        generation = self.generation_config
        options = _Request(
            request=request,
            max_new_tokens=request.max_new_tokens,
            end_ids=ends,
            want_scores=request.want_logprobs and decoding.num_beams > 1,
            forced_eos_token_id=getattr(generation, "forced_eos_token_id", None),
            suppressed=getattr(generation, "bad_words_ids", None) or (),
            shared_prefix=(
                generation_prefix_length(prompts) if self.family is Family.CAUSAL else 0
            ),
        )
        forced_bos = request.forced_bos_token_id
        limits = request.limits
        results: list[Generation | None] = [None] * len(prompts)
        batches = plan(
            [len(p) for p in prompts],
            decoding.batch_size,
            self.device,
            new_tokens=request.max_new_tokens,
        )
        for rows in batches:
            if limits is not None:
                options.max_new_tokens = max(limits[i] for i in rows)
            outputs = _generate_tokens(
                self.model, self.tokenizer, [prompts[i] for i in rows], options
            )
            for index, (tokens, score) in zip(rows, outputs, strict=True):
                if forced_bos is not None and tokens[:1] == [forced_bos]:
                    tokens = tokens[1:]
                if limits is not None:
                    tokens = tokens[: limits[index]]
                made = finish(self, tokens, ends, newline, None, 0)
                if score is not None:
                    made.extra["sequence_score"] = score
                results[index] = made
        generations = [r for r in results if r is not None]
        if request.stream is not None and generations:
            # CTranslate2 returns whole sequences: the stream gets them in one piece.
            request.stream(generations[0].token_ids)
        return generations

    def label_logprobs(
        self,
        prompts: Sequence[Sequence[int]],
        labels: Sequence[Sequence[int]],
        batch_size: int | None = None,
    ) -> list[list[float]]:
        """Refused: scoring labels needs the torch model."""
        raise refuse("it scores label words")

    def continuation_logprobs(
        self,
        prompt: Sequence[int],
        continuations: Sequence[Sequence[int]],
        batch_size: int | None = None,
    ) -> list[list[float]]:
        """Refused: scoring continuations needs the torch model."""
        raise refuse("it scores candidate answers")

    def forward(self, tensors: dict[str, Any]) -> Any:
        """Refused: CTranslate2 generates, it runs no plain forward pass."""
        raise refuse("it needs the model's forward pass")

    @contextlib.contextmanager
    def seeded(self, decoding: DecodingSettings) -> Iterator[None]:
        """Nothing to do here: each sampling call seeds CTranslate2 itself."""
        yield


@dataclass(kw_only=True)
class _Request:
    """One batch's decoding options: the request, and what follows from it and the model."""

    request: GenerateRequest
    max_new_tokens: int  # this batch's: the longest of its rows' limits
    end_ids: Sequence[int] = ()
    want_scores: bool = False
    # From the model's generation config, which transformers applies by itself:
    forced_eos_token_id: int | None = None  # the last token allowed is forced to be eos
    suppressed: Sequence[Sequence[int]] = ()  # ``bad_words_ids``: never generated
    # Causal models: this many leading tokens are the same in every prompt; CTranslate2
    # runs them once as a "static prompt" and reuses their state for every batch.
    shared_prefix: int = 0


def _generate_tokens(
    model: CT2Model, tokenizer: Any, prompts: Sequence[Sequence[int]], batch: _Request
) -> list[tuple[list[int], float | None]]:
    """New token ids (end token kept, so callers cut as with torch) and optional scores."""
    if not prompts:
        return []
    ct2 = require()
    request, decoding = batch.request, batch.request.decoding
    if decoding.do_sample and decoding.seed is not None:
        ct2.set_random_seed(decoding.seed)
    tokens = [tokenizer.convert_ids_to_tokens(list(p)) for p in prompts]
    common: dict[str, Any] = {
        "beam_size": decoding.num_beams,
        "end_token": list(batch.end_ids) or None,
        "return_end_token": True,
        "return_scores": batch.want_scores,
        "repetition_penalty": request.repetition_penalty,
        "no_repeat_ngram_size": request.no_repeat_ngram_size,
        "length_penalty": 1.0 if request.length_penalty is None else request.length_penalty,
        "max_batch_size": len(prompts),
    }
    if batch.suppressed:
        common["suppress_sequences"] = [
            tokenizer.convert_ids_to_tokens(list(seq)) for seq in batch.suppressed
        ]
    # transformers forces eos as the last allowed token: one fewer free token, then eos.
    forced = batch.forced_eos_token_id
    budget = batch.max_new_tokens - (1 if forced is not None else 0)
    if forced is not None and budget <= 0:
        return [([forced], None) for _ in prompts]
    if decoding.do_sample:
        common.update(
            sampling_topk=decoding.top_k if decoding.top_k > 0 else 0,
            sampling_topp=decoding.top_p,
            sampling_temperature=decoding.temperature,
        )
    if model.seq2seq:
        prefix = None
        extra_len = 0
        if request.forced_bos_token_id is not None:
            # M2M100/NLLB: the target language token starts every output.
            first = tokenizer.convert_ids_to_tokens([request.forced_bos_token_id])
            prefix = [first for _ in prompts]
            extra_len = 1
        results = model.engine.translate_batch(
            tokens,
            target_prefix=prefix,
            max_decoding_length=budget + extra_len,
            min_decoding_length=min(request.min_new_tokens, budget) + extra_len,
            max_input_length=0,  # tasks chunk inputs to the model's context themselves
            **common,
        )
        hypotheses = [[int(i) for i in _hypothesis_ids(tokenizer, r)] for r in results]
        limit = budget + extra_len
    else:
        start, static = _static_prompt(model, prompts, tokens, batch.shared_prefix)
        results = model.engine.generate_batch(
            start,
            max_length=budget,
            min_length=min(request.min_new_tokens, budget),
            include_prompt_in_result=False,
            **static,
            **common,
        )
        hypotheses = [[int(i) for i in r.sequences_ids[0]] for r in results]
        limit = budget
    out: list[tuple[list[int], float | None]] = []
    ends = set(batch.end_ids)
    for ids, result in zip(hypotheses, results, strict=True):
        if forced is not None and len(ids) >= limit and not ends.intersection(ids):
            ids.append(forced)
        score = float(result.scores[0]) if batch.want_scores and result.scores else None
        out.append((ids, score))
    return out


def _static_prompt(
    model: CT2Model, prompts: Sequence[Sequence[int]], tokens: list[list[str]], shared: int
) -> tuple[list[list[str]], dict[str, Any]]:
    """``generate_batch``'s start tokens, and its static-prompt options for ``shared`` tokens.

    The prompts' own tokens must stay non-empty, and every prompt must really start with
    the same ``shared`` ids; otherwise the prompts are passed whole.
    """
    head = tuple(prompts[0][:shared])
    if shared <= 0 or any(len(p) <= shared or tuple(p[:shared]) != head for p in prompts):
        return tokens, {}
    keep = head in model.cached_prefixes or len(model.cached_prefixes) < MAX_CACHED_PREFIXES
    if keep:
        model.cached_prefixes.add(head)
    options = {"static_prompt": tokens[0][:shared], "cache_static_prompt": keep}
    return [t[shared:] for t in tokens], options


def _hypothesis_ids(tokenizer: Any, result: Any) -> list[int]:
    # Translator results carry tokens; map them back to ids with the same vocabulary.
    ids = getattr(result, "sequences_ids", None)
    if ids:
        return list(ids[0])
    return list(tokenizer.convert_tokens_to_ids(result.hypotheses[0]))
