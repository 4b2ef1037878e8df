"""Extractive question answering: start/end logits over windows of a long context.

The context is cut into overlapping token windows (the tokenizer's overflow with a
stride), each window is scored, and the best span over all windows wins. Start and end
probabilities are a softmax over the window's context tokens plus the [CLS] position;
a span scores ``p_start * p_end``, "no answer" scores ``p_start[CLS] * p_end[CLS]``.
Offsets come from the tokenizer's offset mapping, so they index the original text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import LoadedModel
from llmcli.models.runtime.batching import plan


@dataclass
class SpanAnswer:
    """The best span of one context (character offsets), or no answer."""

    start: int | None
    end: int | None
    score: float
    no_answer_score: float
    windows: int

    @property
    def answerable(self) -> bool:
        return self.start is not None


def answer_spans(
    loaded: LoadedModel,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    window: int,
    stride: int,
    max_answer_tokens: int,
    allow_no_answer: bool,
    batch_size: int | None,
) -> list[SpanAnswer]:
    """The best answer span for each (question, context) pair."""
    import numpy as np
    import torch

    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise UsageError("extractive question answering needs a fast tokenizer (offsets)")
    question_first = getattr(tokenizer, "padding_side", "right") == "right"
    specials = int(tokenizer.num_special_tokens_to_add(pair=True))
    features: list[dict[str, Any]] = []
    for item, (question, context) in enumerate(zip(questions, contexts, strict=True)):
        q_len = len(tokenizer(question, add_special_tokens=False)["input_ids"])
        room = window - q_len - specials
        if room < 8:
            raise UsageError(
                f"the question is too long: {q_len} tokens leave no room for the context "
                f"in a {window}-token window",
                hint="shorten the question or raise --max-input-tokens",
            )
        # The overflow windows overlap by ``stride`` tokens; it must stay under the room.
        overlap = max(0, min(stride, room // 2))
        pair = (question, context) if question_first else (context, question)
        enc = tokenizer(
            *pair,
            truncation="only_second" if question_first else "only_first",
            max_length=window,
            stride=overlap,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        context_index = 1 if question_first else 0
        for k in range(len(enc["input_ids"])):
            features.append(
                {
                    "item": item,
                    "input_ids": enc["input_ids"][k],
                    "attention_mask": enc["attention_mask"][k],
                    **(
                        {"token_type_ids": enc["token_type_ids"][k]}
                        if "token_type_ids" in enc
                        else {}
                    ),
                    "offsets": enc["offset_mapping"][k],
                    "is_context": [s == context_index for s in enc.sequence_ids(k)],
                }
            )
    best: list[SpanAnswer] = [SpanAnswer(None, None, 0.0, 1.0, 0) for _ in questions]
    pad = tokenizer.pad_token_id or 0
    cls_id = tokenizer.cls_token_id
    lengths = [len(f["input_ids"]) for f in features]
    for rows in plan(lengths, batch_size, loaded.device):
        batch = [features[r] for r in rows]
        width = max(len(f["input_ids"]) for f in batch)
        tensors: dict[str, Any] = {}
        for key, fill in (("input_ids", pad), ("attention_mask", 0), ("token_type_ids", 0)):
            if key in batch[0]:
                rows = [f[key] + [fill] * (width - len(f[key])) for f in batch]
                tensors[key] = torch.tensor(rows, dtype=torch.long, device=loaded.device)
        out = loaded.runtime.forward(tensors)
        starts = out.start_logits.float().cpu().numpy()
        ends = out.end_logits.float().cpu().numpy()
        for j, feature in enumerate(batch):
            n = len(feature["input_ids"])
            is_context = np.array(feature["is_context"], dtype=bool)
            ids = feature["input_ids"]
            cls = ids.index(cls_id) if cls_id is not None and cls_id in ids else 0
            valid = is_context.copy()
            valid[cls] = True
            p_start = _softmax(starts[j, :n], valid)
            p_end = _softmax(ends[j, :n], valid)
            null = float(p_start[cls] * p_end[cls])
            scores = np.outer(p_start * is_context, p_end * is_context)
            # Spans end at or after their start and hold at most max_answer_tokens tokens.
            scores = np.triu(scores) - np.triu(scores, k=max_answer_tokens)
            flat = int(np.argmax(scores))
            s_tok, e_tok = divmod(flat, n)
            score = float(scores[s_tok, e_tok])
            answer = best[feature["item"]]
            answer.windows += 1
            answer.no_answer_score = min(answer.no_answer_score, null)
            if score > answer.score and is_context[s_tok]:
                offsets = feature["offsets"]
                answer.start, answer.end = int(offsets[s_tok][0]), int(offsets[e_tok][1])
                answer.score = score
    for item, answer in enumerate(best):
        if answer.start is not None and answer.end is not None:
            context = contexts[item]
            # Whitespace at the edges is not part of an answer (offsets stay exact).
            while answer.start < answer.end and context[answer.start].isspace():
                answer.start += 1
            while answer.end > answer.start and context[answer.end - 1].isspace():
                answer.end -= 1
        if answer.start is None or (allow_no_answer and answer.no_answer_score > answer.score):
            answer.start = answer.end = None
    return best


def _softmax(logits: Any, valid: Any) -> Any:
    import numpy as np

    masked = np.where(valid, logits, -np.inf)
    top = masked.max()
    weights = np.where(valid, np.exp(masked - top), 0.0)
    return weights / weights.sum()
