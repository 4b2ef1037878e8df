"""Sentence embeddings from a bare encoder (all-MiniLM-L6-v2 and its kind).

The sentence-transformers recipe, without sentence-transformers: run the encoder, pool
its last hidden states as the folder's ``1_Pooling/config.json`` says (mean over the
attention mask unless it names CLS), and L2-normalize, so a dot product is a cosine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel

#: all-MiniLM-L6-v2 was trained on inputs of at most 256 word pieces (its
#: ``sentence_bert_config.json``); a longer sentence is embedded from its start.
DEFAULT_MAX_TOKENS = 256
#: Tokens per forward pass: sentences are sorted by length and packed up to this.
_BATCH_TOKENS = 8192

EmbedderLoader = Callable[[], "Embedder"]


class Embedder:
    """Unit-length sentence vectors from a loaded embedding model."""

    def __init__(self, loaded: LoadedModel) -> None:
        if loaded.family is not Family.EMBEDDING:
            raise UsageError(
                f"model {loaded.name!r} ({loaded.family.value}) is not a sentence embedder",
                hint="use an embedding model such as minilm (a folder with a bare encoder)",
            )
        self.loaded = loaded
        folder = Path(str(loaded.extra.get("path") or loaded.source))
        self.pooling = _pooling_mode(folder)
        self.max_tokens = _max_tokens(folder, loaded)

    def run_record(self) -> dict[str, Any]:
        """What produced the vectors, for the run record."""
        return {"model": self.loaded.name, "source": self.loaded.source, "pooling": self.pooling}

    def encode(self, texts: Sequence[str]) -> Any:
        """A float32 tensor ``[len(texts), dim]`` of unit vectors, in the order given."""
        import torch

        model, tokenizer = self.loaded.model, self.loaded.tokenizer
        dim = int(model.config.hidden_size)
        out = torch.zeros((len(texts), dim), dtype=torch.float32)
        if not texts:
            return out
        encoded = tokenizer(
            list(texts), add_special_tokens=True, truncation=True, max_length=self.max_tokens
        )["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        start = 0
        while start < len(order):
            # Sorted by length, so the batch's last row is its longest.
            end = start + 1
            while end < len(order) and (end - start + 1) * len(encoded[order[end]]) <= (
                _BATCH_TOKENS
            ):
                end += 1
            rows = order[start:end]
            width = len(encoded[rows[-1]])
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                ids[r, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[r, : len(encoded[i])] = 1
            with torch.inference_mode():
                hidden = model(
                    input_ids=ids.to(model.device), attention_mask=mask.to(model.device)
                ).last_hidden_state.float()
            mask_f = mask.to(hidden.device).unsqueeze(-1).float()
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                pooled = (hidden * mask_f).sum(1) / mask_f.sum(1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[torch.tensor(rows)] = pooled.cpu()
            start = end
        return out


def _pooling_mode(folder: Path) -> str:
    """``mean`` or ``cls``, from sentence-transformers' pooling config (mean if none)."""
    try:
        config = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mean"
    if config.get("pooling_mode_cls_token") and not config.get("pooling_mode_mean_tokens"):
        return "cls"
    return "mean"


def _max_tokens(folder: Path, loaded: LoadedModel) -> int:
    """The longest input: the folder's ``max_seq_length``, bounded by the positions."""
    limit = DEFAULT_MAX_TOKENS
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        limit = int(config.get("max_seq_length", limit))
    except (OSError, ValueError, TypeError):
        pass
    positions = getattr(loaded.config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limit = min(limit, positions)
    return max(8, limit)
