"""Grounded answers from a causal model: decoding constrained to spans of the context.

At every step the model may only pick a token that continues a contiguous run of the
context's own tokens (starting at a word), or stop once the run ends at a word
boundary. Whatever the model "wants" to say, the answer is therefore a span of the
context, with exact character offsets from the tokenizer's offset mapping. Among the
allowed tokens the model's own preferences decide, so the span is the one it finds
most likely as an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.models.base import LoadedModel


@dataclass
class ContextTokens:
    """A context tokenized once: ids and each token's character span."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    starts: set[int]  # token positions that begin a word
    ends: set[int]  # token positions after which the text is at a word boundary


def tokenize_context(loaded: LoadedModel, context: str) -> ContextTokens:
    """Tokenize ``context`` with offsets and mark word starts and ends."""
    enc = loaded.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    offsets = [(int(s), int(e)) for s, e in enc["offset_mapping"]]
    starts: set[int] = set()
    ends: set[int] = set()
    for k, (s, e) in enumerate(offsets):
        while s < e and context[s].isspace():
            s += 1  # byte-level BPE offsets may include the leading space
        if s < e and (s == 0 or not context[s - 1].isalnum() or not context[s].isalnum()):
            starts.add(k)
        if e > s and (
            e >= len(context) or not context[e].isalnum() or not context[e - 1].isalnum()
        ):
            ends.add(k)
    return ContextTokens(ids, offsets, starts, ends)


def candidates(window: Sequence[int], starts: set[int], tokens: Sequence[int]) -> list[int]:
    """Window positions where a contiguous run equal to ``tokens`` ends (runs start at a word)."""
    if not tokens:
        return []
    positions = [p for p in range(len(window)) if window[p] == tokens[0] and p in starts]
    for step, token in enumerate(tokens[1:], start=1):
        positions = [p for p in positions if p + step < len(window) and window[p + step] == token]
    return [p + len(tokens) - 1 for p in positions]


class SpanConstraint:
    """A logits processor that keeps generation inside spans of each row's context window.

    ``windows[i]`` are the context token ids shown to prompt ``i``; ``starts``/``ends``
    the window positions where an answer may begin and end; ``stops`` the tokens that
    end the answer. Rows are ``batch * num_beams`` wide; row ``r`` is prompt ``r // beams``.
    """

    def __init__(
        self,
        windows: Sequence[Sequence[int]],
        starts: Sequence[set[int]],
        ends: Sequence[set[int]],
        stops: Sequence[int],
        prompt_width: int,
        max_tokens: int,
        beams: int,
    ) -> None:
        self.windows = windows
        self.starts = starts
        self.ends = ends
        self.stops = list(stops)
        self.stop_set = set(stops)
        self.prompt_width = prompt_width
        self.max_tokens = max_tokens
        self.beams = beams

    def allowed(self, item: int, generated: Sequence[int]) -> list[int]:
        """Token ids allowed next for prompt ``item`` after ``generated``."""
        if generated and generated[-1] in self.stop_set:
            return self.stops  # finished row: any stop token keeps it finished
        window = self.windows[item]
        if not generated:
            return sorted({window[p] for p in self.starts[item]}) or self.stops
        ends = candidates(window, self.starts[item], generated)
        allowed: set[int] = set()
        if len(generated) < self.max_tokens:
            allowed = {window[p + 1] for p in ends if p + 1 < len(window)}
        if any(p in self.ends[item] for p in ends) or not allowed:
            allowed.update(self.stops)
        return sorted(allowed)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        mask = torch.full_like(scores, float("-inf"))
        generated = input_ids[:, self.prompt_width :].tolist()
        for row, tokens in enumerate(generated):
            allowed = self.allowed(row // self.beams, tokens)
            mask[row, allowed] = 0.0
        return scores + mask
