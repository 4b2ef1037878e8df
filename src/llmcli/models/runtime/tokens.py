"""Token-level facts about a model and its tokenizer that every runtime and task uses.

Everything here works on token ids, not strings, so callers control exactly what the
model sees (special tokens, where a context starts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from llmcli.models.base import LoadedModel
from llmcli.models.runtime.base import Generation

#: Used when neither the tokenizer nor the config states a context length.
FALLBACK_CONTEXT = 512


class Weights(Protocol):
    """A tokenizer and the checkpoint's decoding defaults: a :class:`LoadedModel`, or
    a runtime."""

    @property
    def generation_config(self) -> Any: ...

    @property
    def tokenizer(self) -> Any: ...


def window_limit(tokenizer: Any, config: Any) -> int | None:
    """The tokens a tokenizer and config allow at once; None when neither says."""
    # Tokenizers without a limit report a huge sentinel (1e30); positions bound it too.
    limits = [
        value
        for value in (
            getattr(tokenizer, "model_max_length", None),
            getattr(config, "max_position_embeddings", None),
            getattr(config, "n_positions", None),
        )
        if isinstance(value, int) and 0 < value < 10_000_000
    ]
    return min(limits) if limits else None


def context_length(loaded: LoadedModel) -> int:
    """Tokens the model can take at once, from the loader, tokenizer or config."""
    value = loaded.extra.get("context_length")
    if isinstance(value, int) and value > 0:
        return value
    return window_limit(loaded.tokenizer, loaded.config) or FALLBACK_CONTEXT


def encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text, without special tokens, in one batched call."""
    if not texts:
        return []
    return [list(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def counter(tokenizer: Any) -> Callable[[Sequence[str]], list[int]]:
    """A token counter for :mod:`llmcli.tasks.chunking` (no special tokens)."""

    def count(texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in encode(tokenizer, texts)]

    return count


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a text (e.g. ``<bos>``, ``</s>``)."""
    key = id(tokenizer)
    cached = _SPECIALS.get(key)
    if cached is None:
        plain = tokenizer("a", add_special_tokens=False)["input_ids"]
        full = tokenizer("a", add_special_tokens=True)["input_ids"]
        at = next((i for i in range(len(full)) if full[i : i + len(plain)] == plain), len(full))
        cached = (list(full[:at]), list(full[at + len(plain) :]))
        _SPECIALS[key] = cached
    return cached


_SPECIALS: dict[int, tuple[list[int], list[int]]] = {}
_NEWLINES: dict[int, list[int]] = {}


def newline_ids(tokenizer: Any) -> list[int]:
    """Every token id whose text contains a line break (stops one-line answers)."""
    key = id(tokenizer)
    if key not in _NEWLINES:
        vocab: dict[str, int] = tokenizer.get_vocab()
        # Byte-level BPE writes "\n" as "Ċ", sentencepiece byte fallback as <0x0A>;
        # candidates are confirmed by decoding.
        candidates = [
            i for piece, i in vocab.items() if "\n" in piece or "Ċ" in piece or "<0x0A>" in piece
        ]
        _NEWLINES[key] = sorted(i for i in candidates if "\n" in tokenizer.decode([i]))
    return _NEWLINES[key]


def stop_ids(loaded: Weights) -> list[int]:
    """End-of-sequence ids: the generation config's, the tokenizer's, end-of-turn markers."""
    ids: set[int] = set()
    generation = loaded.generation_config
    eos = getattr(generation, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif isinstance(eos, list):
        ids.update(int(i) for i in eos)
    tokenizer = loaded.tokenizer
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    vocab = tokenizer.get_vocab()
    for marker in ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>"):
        if marker in vocab:
            ids.add(int(vocab[marker]))
    return sorted(ids)


def pad_id(loaded: Weights) -> int:
    """The padding id (eos when the tokenizer has no pad token)."""
    tokenizer = loaded.tokenizer
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if value is not None:
            return int(value)
    return 0


def generation_prefix_length(prompts: Sequence[Sequence[int]]) -> int:
    """Leading tokens :func:`generate` runs once for all ``prompts`` of a call (0: none).

    Unlike label scoring (:func:`shared_prefix_scores`), generation runs many steps per
    prompt after the prefix, so any prefix of MIN_SHARED_PREFIX tokens pays.
    """
    size = shared_prefix_length(prompts) if len(prompts) >= 2 else 0
    return size if size >= MIN_SHARED_PREFIX else 0


def finish(
    loaded: Weights,
    tokens: list[int],
    ends: list[int],
    newline: list[int],
    step_logprobs: Any,
    row: int,
) -> Generation:
    end_set = set(ends)
    cut = next((k for k, t in enumerate(tokens) if t in end_set), None)
    finished = cut is not None
    kept = tokens if cut is None else tokens[:cut]
    logprobs = None
    if step_logprobs is not None:
        logprobs = [float(step_logprobs[row, k]) for k in range(len(kept))]
    if cut is not None and tokens[cut] in set(newline):
        # A token like ".\n" carries text before its line break: keep that text.
        text = loaded.tokenizer.decode(tokens[: cut + 1], skip_special_tokens=True)
        text = text.split("\n", 1)[0]
    else:
        text = loaded.tokenizer.decode(kept, skip_special_tokens=True)
    return Generation(text=text.strip(), token_ids=kept, logprobs=logprobs, finished=finished)


#: A prefix every prompt shares is run once and its keys and values reused when it is at
#: least this many tokens and at least half the mean prompt: shorter ones save less than
#: the extra pass and the per-batch copy of their cache cost.
MIN_SHARED_PREFIX = 16


def shared_prefix_length(prompts: Sequence[Sequence[int]]) -> int:
    """Tokens at the start of every prompt, leaving each prompt at least one of its own."""
    if not prompts:
        return 0
    size = 0
    for column in zip(*prompts, strict=False):
        if any(t != column[0] for t in column):
            break
        size += 1
    # The last token's logits are what is scored: each prompt keeps one to run.
    return max(0, min(size, min(len(p) for p in prompts) - 1))


def normalise(logprobs: Sequence[float]) -> list[float]:
    """Probabilities from log-scores, normalised over the given options (softmax)."""
    top = max(logprobs)
    weights = [math.exp(v - top) for v in logprobs]
    total = sum(weights)
    return [w / total for w in weights]
