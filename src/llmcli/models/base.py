"""What a loaded model is, whatever its family or where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Family(str, Enum):
    """Backend families; chosen from the model's config, never from its name."""

    SEQ2SEQ = "seq2seq"  # AutoModelForSeq2SeqLM: T5, BART, Pegasus, Marian, M2M100, NLLB
    CAUSAL = "causal"  # AutoModelForCausalLM: Llama, SmolLM2, Gemma 3, ...
    EXTRACTIVE_QA = "extractive-qa"  # AutoModelForQuestionAnswering
    CLASSIFIER = "classifier"  # AutoModelForSequenceClassification
    EMBEDDING = "embedding"  # AutoModel, no head: sentence embeddings (BERT, MiniLM, MPNet)


@dataclass
class LoadedModel:
    """A model ready for inference: weights on a device, its tokenizer, its family."""

    model: Any  # transformers PreTrainedModel, in eval mode, on ``device``
    tokenizer: Any  # transformers tokenizer (PreTrainedTokenizerBase)
    family: Family
    name: str  # what the user asked for: alias, hub id or path
    source: str  # what it resolved to: hub id or local directory
    revision: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    extra: dict[str, Any] = field(default_factory=dict)

    def run_record(self) -> dict[str, Any]:
        """The model part of every JSON result's run record."""
        record: dict[str, Any] = {"model": self.name, "source": self.source}
        if self.revision:
            record["revision"] = self.revision
        record["family"] = self.family.value
        record["device"] = self.device
        record["dtype"] = self.dtype
        record["backend"] = self.backend
        if self.device == "cpu" and "threads" in self.extra:
            record["threads"] = self.extra["threads"]
        return record

    @property
    def backend(self) -> str:
        """``torch`` or ``ctranslate2`` (then ``dtype`` is CTranslate2's compute type)."""
        return str(self.extra.get("backend", "torch"))
