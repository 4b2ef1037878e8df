"""The torch runtime: transformers models run with torch, in length-sorted batches.

Padding (left for causal models), token budgets per batch
(:func:`llmcli.models.runtime.batching.plan`), and reuse of a prompt prefix's keys and
values (for label scoring, continuations and generation) live here. Heavy imports
(torch, transformers) happen inside functions.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family
from llmcli.models.runtime import tokens as _tokens
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest, Generation
from llmcli.models.runtime.batching import plan
from llmcli.models.runtime.tokens import (
    finish,
    generation_prefix_length,
    newline_ids,
    pad_id,
    shared_prefix_length,
    stop_ids,
)


class TorchRuntime:
    """A transformers model in eval mode on ``device``, with its tokenizer."""

    name = "torch"

    def __init__(self, model: Any, tokenizer: Any, family: Family, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.family = family
        self.device = device

    @property
    def generation_config(self) -> Any:
        """The checkpoint's decoding defaults, as transformers keeps them on the model."""
        return getattr(self.model, "generation_config", None)

    def generate(
        self, prompts: Sequence[Sequence[int]], request: GenerateRequest
    ) -> list[Generation]:
        """See :func:`generate`."""
        return generate(self, prompts, request)

    def label_logprobs(
        self,
        prompts: Sequence[Sequence[int]],
        labels: Sequence[Sequence[int]],
        batch_size: int | None = None,
    ) -> list[list[float]]:
        """log P(label | prompt): summed over a seq2seq label's tokens; for a causal
        model see :func:`causal_label_logprobs`."""
        if self.family is Family.CAUSAL:
            return causal_label_logprobs(self, prompts, labels, batch_size)
        return seq2seq_label_logprobs(self, prompts, labels, batch_size)

    def continuation_logprobs(
        self,
        prompt: Sequence[int],
        continuations: Sequence[Sequence[int]],
        batch_size: int | None = None,
    ) -> list[list[float]]:
        """See :func:`continuation_logprobs`."""
        return continuation_logprobs(self, prompt, continuations, batch_size)

    def forward(self, tensors: dict[str, Any]) -> Any:
        """``model(**tensors)`` with the inputs its forward accepts, no gradients."""
        import torch

        with torch.inference_mode():
            return self.model(**model_inputs(self.model, tensors))

    @contextlib.contextmanager
    def seeded(self, decoding: DecodingSettings) -> Iterator[None]:
        """Seed torch for a sampling run, restoring the global random state afterwards."""
        with seeded(self.device, decoding):
            yield


@contextlib.contextmanager
def seeded(device: str, decoding: DecodingSettings) -> Iterator[None]:
    """Seed torch for a sampling run, restoring the global random state afterwards."""
    if not decoding.do_sample or decoding.seed is None:
        yield
        return
    import torch

    devices: list[int] = []
    if str(device).startswith("cuda"):
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(decoding.seed)
        yield


def pad_rows(rows: Sequence[Sequence[int]], value: int, left: bool, device: str) -> tuple[Any, Any]:
    """Tensors ``(ids, attention_mask)`` of ``rows`` padded to the longest, on ``device``."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if not row:
            continue
        if left:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
        else:
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
    return ids.to(device), mask.to(device)


class _Streamer:
    """transformers' streamer protocol: the first ``put`` is the prompt (or the decoder's
    start token), each later one a step's new tokens."""

    def __init__(self, callback: Callable[[list[int]], None]) -> None:
        self._callback = callback
        self._started = False

    def put(self, value: Any) -> None:
        if not self._started:
            self._started = True
            return
        self._callback([int(i) for i in value.reshape(-1).tolist()])

    def end(self) -> None:
        pass


def generate(
    loaded: TorchRuntime, prompts: Sequence[Sequence[int]], request: GenerateRequest
) -> list[Generation]:
    """Generate a continuation for each prompt (causal) or encoder input (seq2seq).

    Prompts are batched longest first (:func:`llmcli.models.runtime.batching.plan`);
    causal batches are left-padded. Each sequence stops at its own end: an
    end-of-sequence token, or a line break with ``stop_at_newline``. A shared prompt
    prefix is run once (:func:`_generation_prefix`). Results come back in prompt order.
    """
    import torch

    decoding = request.decoding
    max_new_tokens = request.max_new_tokens
    min_new_tokens = request.min_new_tokens
    forced_bos_token_id = request.forced_bos_token_id
    no_repeat_ngram_size = request.no_repeat_ngram_size
    repetition_penalty = request.repetition_penalty
    length_penalty = request.length_penalty
    want_logprobs = request.want_logprobs
    limits = request.limits
    processor = request.processor
    stop_at_newline = request.stop_at_newline
    if not prompts:
        return []
    model = loaded.model
    causal = loaded.family is Family.CAUSAL
    eos = stop_ids(loaded)
    newline = newline_ids(loaded.tokenizer) if stop_at_newline else []
    ends = sorted(set(eos) | set(newline))
    pad = pad_id(loaded)
    results: list[Generation | None] = [None] * len(prompts)
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "num_beams": decoding.num_beams,
        "do_sample": decoding.do_sample,
        "eos_token_id": ends,
        "pad_token_id": pad,
        "use_cache": True,
    }
    if min_new_tokens:
        kwargs["min_new_tokens"] = min_new_tokens
    if decoding.do_sample:
        kwargs.update(temperature=decoding.temperature, top_p=decoding.top_p, top_k=decoding.top_k)
    else:
        # Greedy/beam: neutralise sampling knobs a checkpoint's generation config may set.
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if forced_bos_token_id is not None:
        kwargs["forced_bos_token_id"] = forced_bos_token_id
    if no_repeat_ngram_size:
        kwargs["no_repeat_ngram_size"] = no_repeat_ngram_size
    if repetition_penalty != 1.0:
        kwargs["repetition_penalty"] = repetition_penalty
    beam_scores = want_logprobs and decoding.num_beams > 1
    want_logprobs = want_logprobs and decoding.num_beams == 1
    if want_logprobs:
        kwargs.update(return_dict_in_generate=True, output_logits=True)
    if beam_scores:
        # Beam search reports each winner's total log-probability (over length**penalty).
        kwargs.update(return_dict_in_generate=True, output_scores=True)
    if length_penalty is not None:
        kwargs["length_penalty"] = length_penalty
    if limits is not None and decoding.num_beams > 1:
        # transformers' default stopping rule for beams looks at max_new_tokens, which a
        # batch with limits sets to its longest row's: stop each row on its own instead.
        kwargs["early_stopping"] = True
    if request.stop_strings:
        kwargs.update(stop_strings=list(request.stop_strings), tokenizer=loaded.tokenizer)
    if request.stream is not None:
        if len(prompts) != 1 or decoding.num_beams != 1:
            raise UsageError("streaming takes one prompt, without beam search")
        kwargs["streamer"] = _Streamer(request.stream)
    batches = plan(
        [len(p) for p in prompts], decoding.batch_size, loaded.device, new_tokens=max_new_tokens
    )
    # No n-gram bans over a prefixed layout: they would count the padding inside it.
    prefix = (
        _generation_prefix(loaded, prompts, max_new_tokens)
        if causal and not no_repeat_ngram_size
        else None
    )
    for rows in batches:
        batch = [list(prompts[i]) for i in rows]
        extra = dict(kwargs)
        if prefix is None:
            input_ids, mask = pad_rows(batch, pad, left=causal, device=loaded.device)
        else:
            input_ids, mask, extra["cache"] = _prefixed_batch(
                loaded, batch, prefix, pad, decoding.num_beams
            )
        if limits is not None:
            extra["max_new_tokens"] = max(limits[i] for i in rows)
        if processor is not None:
            constraint = processor(rows, input_ids.shape[1])
            if constraint is not None:
                from transformers import LogitsProcessorList

                extra["logits_processor"] = LogitsProcessorList([constraint])
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=mask, **extra)
        sequences = out.sequences if want_logprobs or beam_scores else out
        # Causal output repeats the prompt; seq2seq output starts with the decoder start.
        new = sequences[:, input_ids.shape[1] :] if causal else sequences[:, 1:]
        step_logprobs = None
        if want_logprobs:
            # log P(chosen token) per step under the raw (unconstrained) distribution;
            # gathered step by step so a big vocabulary is never held for all steps.
            chosen = sequences[:, input_ids.shape[1] :] if causal else sequences[:, 1:]
            step_logprobs = torch.stack(
                [
                    torch.log_softmax(s.float(), dim=-1).gather(1, chosen[:, k : k + 1])[:, 0]
                    for k, s in enumerate(out.logits)
                ],
                dim=1,
            )
        for j, index in enumerate(rows):
            tokens = new[j].tolist()
            skip = 0
            if forced_bos_token_id is not None and tokens[:1] == [forced_bos_token_id]:
                # The forced language token (M2M100, NLLB) is not part of the text.
                skip = 1
            if limits is not None:
                # As max_new_tokens counts them: a forced language token is one of them.
                tokens = tokens[: limits[index]]
            made = finish(
                loaded,
                tokens[skip:],
                ends,
                newline,
                None if step_logprobs is None else step_logprobs[:, skip:],
                j,
            )
            if beam_scores:
                made.extra["sequence_score"] = float(out.sequences_scores[j])
            results[index] = made
    return [r for r in results if r is not None]


def causal_label_logprobs(
    loaded: TorchRuntime,
    prompts: Sequence[Sequence[int]],
    labels: Sequence[Sequence[int]],
    batch_size: int | None = None,
) -> list[list[float]]:
    """log P(label | prompt) for every prompt and label, under a causal model.

    When the labels start with distinct tokens, one forward pass per batch of prompts
    scores them all (the first token decides); a long prefix every prompt shares (e.g.
    few-shot examples) is then run once and its keys and values reused for every batch
    (:func:`shared_prefix_scores`). Otherwise each prompt+label sequence is scored in full.
    """
    import torch

    if not prompts:
        return []
    firsts = [label[0] for label in labels]
    pad = pad_id(loaded)
    scores: list[list[float] | None] = [None] * len(prompts)
    if len(set(firsts)) == len(firsts):
        cached = shared_prefix_scores(loaded, prompts, firsts, batch_size)
        if cached is not None:
            return cached
        for rows in plan([len(p) for p in prompts], batch_size, loaded.device):
            ids, mask = pad_rows([prompts[i] for i in rows], pad, left=True, device=loaded.device)
            # Only the last position's logits are needed: ask for those alone where the
            # model allows it (a vocabulary-wide row per position costs time and memory).
            inputs = model_inputs(
                loaded.model, {"input_ids": ids, "attention_mask": mask, "logits_to_keep": 1}
            )
            with torch.inference_mode():
                logits = loaded.model(**inputs).logits[:, -1, :]
            logp = torch.log_softmax(logits.float(), dim=-1)
            for j, index in enumerate(rows):
                scores[index] = [float(logp[j, t]) for t in firsts]
        return [s for s in scores if s is not None]
    # Full scoring: one row per (prompt, label), right-padded so label positions line up
    # with their prompt's end.
    pairs = [(i, k) for i in range(len(prompts)) for k in range(len(labels))]
    totals = [[0.0] * len(labels) for _ in prompts]
    widths = [len(prompts[i]) + len(labels[k]) for i, k in pairs]
    for rows in plan(widths, batch_size, loaded.device):
        chunk = [pairs[r] for r in rows]
        sequences = [list(prompts[i]) + list(labels[k]) for i, k in chunk]
        ids, mask = pad_rows(sequences, pad, left=False, device=loaded.device)
        with torch.inference_mode():
            logp = torch.log_softmax(
                loaded.model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1
            )
        for j, (i, k) in enumerate(chunk):
            begin = len(prompts[i])
            totals[i][k] = sum(float(logp[j, begin + n - 1, t]) for n, t in enumerate(labels[k]))
    return totals


def shared_prefix_scores(
    loaded: TorchRuntime,
    prompts: Sequence[Sequence[int]],
    tokens: Sequence[int],
    batch_size: int | None = None,
) -> list[list[float]] | None:
    """log P(token | prompt) for each of ``tokens``, the shared prefix run only once.

    The prefix's keys and values are computed in one batch-1 pass, then each batch
    runs only the prompts' own tails, left-padded, attending to the prefix through a
    copy of that cache, with positions continuing from the prefix. Returns None (the
    caller scores plainly) when the prefix is too short to pay, or the model's cache
    is not one whose reuse gives the plain pass's results (see :func:`_prefix_cache`).
    """
    import torch

    model = loaded.model
    accepted = inspect.signature(model.forward).parameters
    # transformers 5 renamed past_key_values to cache; either is a reusable KV cache.
    cache_arg = next((n for n in ("cache", "past_key_values") if n in accepted), None)
    needed = {"input_ids", "attention_mask", "position_ids", "use_cache"}
    if len(prompts) < 2 or cache_arg is None or not needed <= set(accepted):
        return None
    size = shared_prefix_length(prompts)
    mean = sum(len(p) for p in prompts) / len(prompts)
    if size < _tokens.MIN_SHARED_PREFIX or 2 * size < mean:
        return None
    reach = max(len(p) for p in prompts)
    states = _prefix_cache(loaded, list(prompts[0][:size]), cache_arg, reach)
    if states is None:
        return None
    pad = pad_id(loaded)
    scores: list[list[float] | None] = [None] * len(prompts)
    # Batched as the plain pass is (by whole prompts): each row still holds its copy
    # of the prefix's keys and values, so memory grows with the whole prompt.
    for rows in plan([len(p) for p in prompts], batch_size, loaded.device):
        tails = [list(prompts[i][size:]) for i in rows]
        ids, mask = pad_rows(tails, pad, left=True, device=loaded.device)
        count = ids.shape[0]
        # Each row's first own token sits right after the prefix, whatever its padding
        # (the pads are masked out: their positions do not matter).
        positions = (mask.cumsum(-1) - 1).clamp(min=0) + size
        attention = torch.cat([mask.new_ones((count, size)), mask], dim=1)
        cache = _batch_cache(model, states, count)
        tensors = {
            "input_ids": ids,
            "attention_mask": attention,
            "position_ids": positions,
            "use_cache": True,
            cache_arg: cache,
            "logits_to_keep": 1,
        }
        with torch.inference_mode():
            logits = model(**model_inputs(model, tensors)).logits[:, -1, :]
        logp = torch.log_softmax(logits.float(), dim=-1)
        for j, index in enumerate(rows):
            scores[index] = [float(logp[j, t]) for t in tokens]
    return [s for s in scores if s is not None]


def _batch_cache(model: Any, states: Sequence[tuple[Any, Any]], count: int) -> Any:
    """A fresh cache holding the prefix ``states`` for ``count`` rows.

    Fresh per batch: the model appends the batch's own tokens to it, which must not reach
    the shared prefix's tensors (expand makes views, update copies them).
    """
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    for index, (keys, values) in enumerate(states):
        cache.update(keys.expand(count, -1, -1, -1), values.expand(count, -1, -1, -1), index)
    return cache


@dataclass(frozen=True)
class _SharedPrefix:
    """Leading prompt tokens that every prompt of a :func:`generate` call shares, run once."""

    ids: list[int]
    states: list[tuple[Any, Any]]  # per layer (keys, values), batch 1


def _generation_prefix(
    loaded: TorchRuntime, prompts: Sequence[Sequence[int]], max_new_tokens: int
) -> _SharedPrefix | None:
    """The shared prefix of ``prompts`` with its keys and values, if reusing it is exact.

    Each batch then holds ``[prefix][padding][own tokens]`` (the padding masked, so
    positions still run on from the prefix) and starts from a copy of the prefix's
    cache: ``generate`` runs only the columns after it. Greedy tokens equal the plain
    left-padded pass's up to float rounding (bench/throughput.py compares them). None
    when the prefix is too short to pay, the model's cache is not a plain reusable one
    (:func:`_prefix_cache`) or ``generate`` would build its own kind of cache.
    """
    model = loaded.model
    if "cache" not in inspect.signature(model.forward).parameters:
        return None
    if getattr(getattr(model, "generation_config", None), "cache_implementation", None):
        return None
    size = generation_prefix_length(prompts)
    if not size:
        return None
    ids = list(prompts[0][:size])
    reach = max(len(p) for p in prompts) + max_new_tokens
    states = _prefix_cache(loaded, ids, "cache", reach)
    return None if states is None else _SharedPrefix(ids, states)


def _prefixed_batch(
    loaded: TorchRuntime,
    batch: Sequence[Sequence[int]],
    prefix: _SharedPrefix,
    pad: int,
    beams: int = 1,
) -> tuple[Any, Any, Any]:
    """``input_ids``, ``attention_mask`` and cache of one batch laid out after ``prefix``.

    With beam search, ``generate`` repeats each row once per beam but leaves a given
    cache alone, so the cache holds ``beams`` rows per prompt from the start.
    """
    import torch

    size = len(prefix.ids)
    tails, tail_mask = pad_rows([row[size:] for row in batch], pad, left=True, device=loaded.device)
    count = tails.shape[0]
    head = torch.tensor([prefix.ids], dtype=tails.dtype, device=loaded.device).expand(count, -1)
    input_ids = torch.cat([head, tails], dim=1)
    mask = torch.cat([tail_mask.new_ones((count, size)), tail_mask], dim=1)
    return input_ids, mask, _batch_cache(loaded.model, prefix.states, count * beams)


def _prefix_cache(
    loaded: TorchRuntime, prefix: list[int], cache_arg: str, reach: int
) -> list[tuple[Any, Any]] | None:
    """Per-layer ``(keys, values)`` of ``prefix`` (batch 1), or None if unfit for reuse.

    Only a :class:`DynamicCache` of plain layers qualifies, or of sliding-window layers
    whose window covers ``reach`` tokens (then nothing ever leaves the window, and the
    padding between prefix and tail cannot shift what a token sees). Quantized, static,
    linear-attention or shared layers would need their own handling.
    """
    import torch
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    model = loaded.model
    config = getattr(model, "config", None)
    window = getattr(config, "sliding_window", None)
    kinds = getattr(config, "layer_types", None) or ["sliding_attention"]
    if isinstance(window, int) and window <= reach and "sliding_attention" in kinds:
        return None  # known before the pass: the window will not hold the prompts
    ids = torch.tensor([prefix], dtype=torch.long, device=loaded.device)
    tensors = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "use_cache": True,
        cache_arg: DynamicCache(config=model.config),
        "logits_to_keep": 1,
    }
    with torch.inference_mode():
        out = model(**model_inputs(model, tensors))
    cache = getattr(out, cache_arg, None)
    if type(cache) is not DynamicCache or not cache.layers:
        return None
    states: list[tuple[Any, Any]] = []
    for layer in cache.layers:
        # Exact types: a subclass (quantized, offloaded...) may store its states otherwise.
        kind = type(layer)
        if kind not in (DynamicLayer, DynamicSlidingWindowLayer):
            return None
        window = getattr(layer, "sliding_window", None)
        if kind is DynamicSlidingWindowLayer and not (isinstance(window, int) and window > reach):
            return None
        keys = getattr(layer, "keys", None)
        values = getattr(layer, "values", None)
        if keys is None or values is None or keys.ndim != 4 or keys.shape[-2] != len(prefix):
            return None
        states.append((keys, values))
    return states


#: Continuation tokens packed into one forward pass after a shared prompt.
PACK_TOKENS = 1024


def continuation_logprobs(
    loaded: TorchRuntime,
    prompt: Sequence[int],
    continuations: Sequence[Sequence[int]],
    batch_size: int | None = None,
) -> list[list[float]]:
    """Per-token log P(continuation | prompt) for many continuations of one causal prompt.

    The prompt is run once; then up to :data:`PACK_TOKENS` continuation tokens at a time
    run as one sequence after it, each continuation seeing the prompt and its own earlier
    tokens only (a 4D attention mask, positions restarting after the prompt), so no
    copy of the prompt's keys and values is made per continuation. Where the model's
    cache cannot be reused (:func:`_prefix_cache`) or it refuses such a mask, each
    prompt+continuation is run whole, in batches.
    """
    if not continuations:
        return []
    model = loaded.model
    accepted = inspect.signature(model.forward).parameters
    cache_arg = next((n for n in ("cache", "past_key_values") if n in accepted), None)
    head, last = list(prompt[:-1]), int(prompt[-1])
    reach = len(prompt) + sum(len(c) for c in continuations)
    states = _prefix_cache(loaded, head, cache_arg, reach) if cache_arg and head else None
    if states is not None and "position_ids" in accepted:
        assert cache_arg is not None
        packed = _packed_logprobs(loaded, states, cache_arg, last, continuations)
        if packed is not None:
            return packed
    return _whole_logprobs(loaded, list(prompt), continuations, batch_size)


def _packed_logprobs(
    loaded: TorchRuntime,
    states: Sequence[tuple[Any, Any]],
    cache_arg: str,
    last: int,
    continuations: Sequence[Sequence[int]],
) -> list[list[float]] | None:
    import torch

    model = loaded.model
    size = int(states[0][0].shape[-2])
    result: list[list[float]] = []
    groups: list[list[int]] = [[]]
    filled = 0
    for i, c in enumerate(continuations):
        if groups[-1] and filled + len(c) > PACK_TOKENS:
            groups.append([])
            filled = 0
        groups[-1].append(i)
        filled += len(c)
    for group in groups:
        tail = [last]
        positions = [size]
        bounds = []
        for i in group:
            bounds.append((len(tail), len(tail) + len(continuations[i])))
            tail.extend(continuations[i])
            positions.extend(range(size + 1, size + 1 + len(continuations[i])))
        width = len(tail)
        blocked = torch.finfo(torch.float32).min
        mask = torch.full((width, size + width), blocked, dtype=torch.float32)
        mask[:, : size + 1] = 0.0  # the prompt, and its last token
        for a, b in bounds:
            mask[a:b, size + a : size + b] = torch.triu(
                torch.full((b - a, b - a), blocked), diagonal=1
            )
        dtype = next(model.parameters()).dtype
        tensors = {
            "input_ids": torch.tensor([tail], device=loaded.device),
            "attention_mask": mask.to(dtype=dtype, device=loaded.device)[None, None],
            "position_ids": torch.tensor([positions], device=loaded.device),
            "use_cache": True,
            cache_arg: _batch_cache(model, states, 1),
        }
        try:
            with torch.inference_mode():
                logits = model(**model_inputs(model, tensors)).logits[0].float()
        except (RuntimeError, ValueError, TypeError):
            return None  # an attention implementation that takes no custom mask
        logp = torch.log_softmax(logits, dim=-1)
        for i, (a, b) in zip(group, bounds, strict=True):
            tokens = continuations[i]
            rows = [0, *range(a, b - 1)]  # each token is predicted by the one before it
            result.append([float(logp[r, t]) for r, t in zip(rows, tokens, strict=True)])
    return result


def _whole_logprobs(
    loaded: TorchRuntime,
    prompt: list[int],
    continuations: Sequence[Sequence[int]],
    batch_size: int | None,
) -> list[list[float]]:
    import torch

    model = loaded.model
    pad = pad_id(loaded)
    result: list[list[float]] = [[] for _ in continuations]
    widths = [len(prompt) + len(c) for c in continuations]
    for rows in plan(widths, batch_size, loaded.device):
        ids, mask = pad_rows(
            [prompt + list(continuations[i]) for i in rows], pad, left=False, device=loaded.device
        )
        with torch.inference_mode():
            logits = model(**model_inputs(model, {"input_ids": ids, "attention_mask": mask}))
        logp = torch.log_softmax(logits.logits.float(), dim=-1)
        for j, index in enumerate(rows):
            begin = len(prompt) - 1
            result[index] = [
                float(logp[j, begin + n, t]) for n, t in enumerate(continuations[index])
            ]
    return result


def seq2seq_label_logprobs(
    loaded: TorchRuntime,
    inputs: Sequence[Sequence[int]],
    labels: Sequence[Sequence[int]],
    batch_size: int | None = None,
) -> list[list[float]]:
    """log P(label | input) for every encoder input and decoder label sequence."""
    import torch

    pad = pad_id(loaded)
    start_id = loaded.model.config.decoder_start_token_id
    if start_id is None:
        start_id = pad
    pairs = [(i, k) for i in range(len(inputs)) for k in range(len(labels))]
    totals = [[0.0] * len(labels) for _ in inputs]
    for rows in plan([len(inputs[i]) for i, _ in pairs], batch_size, loaded.device):
        chunk = [pairs[r] for r in rows]
        enc_ids, enc_mask = pad_rows([inputs[i] for i, _ in chunk], pad, False, loaded.device)
        dec_rows = [[int(start_id), *labels[k]] for _, k in chunk]
        dec_ids, dec_mask = pad_rows(dec_rows, pad, False, loaded.device)
        with torch.inference_mode():
            logits = loaded.model(
                input_ids=enc_ids,
                attention_mask=enc_mask,
                decoder_input_ids=dec_ids,
                decoder_attention_mask=dec_mask,
            ).logits
        logp = torch.log_softmax(logits.float(), dim=-1)
        for j, (i, k) in enumerate(chunk):
            totals[i][k] = sum(float(logp[j, n, t]) for n, t in enumerate(labels[k]))
    return totals


def model_inputs(model: Any, tensors: dict[str, Any]) -> dict[str, Any]:
    """Keep only the inputs ``model.forward`` accepts (DistilBERT has no token types)."""
    # Named parameters only: forwards also take **kwargs, where an unused input would
    # be silently ignored at best.
    accepted = inspect.signature(model.forward).parameters
    return {k: v for k, v in tensors.items() if k in accepted}
