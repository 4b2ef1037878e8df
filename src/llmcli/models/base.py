"""What a loaded model is, whatever its family or where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from llmcli.errors import UsageError
from llmcli.models.runtime.base import Runtime

DEVICES = ("auto", "cpu", "cuda", "mps")  # and "cuda:N"
DTYPES = ("auto", "float32", "float16", "bfloat16")
BACKENDS = ("torch", "ctranslate2")
#: CTranslate2's precisions (``--compute-type``); the torch backend takes ``--dtype``.
COMPUTE_TYPES = (
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "float32",
    "float16",
    "bfloat16",
)


class Family(str, Enum):
    """Backend families; chosen from the model's config, never from its name."""

    SEQ2SEQ = "seq2seq"  # AutoModelForSeq2SeqLM: T5, BART, Pegasus, Marian, M2M100, NLLB
    CAUSAL = "causal"  # AutoModelForCausalLM: Llama, SmolLM2, Gemma 3, ...
    EXTRACTIVE_QA = "extractive-qa"  # AutoModelForQuestionAnswering
    CLASSIFIER = "classifier"  # AutoModelForSequenceClassification
    EMBEDDING = "embedding"  # AutoModel, no head: sentence embeddings (BERT, MiniLM, MPNet)


@dataclass(frozen=True)
class ModelChoice:
    """Which model to load and how: everything that decides the loaded weights.

    One value travels from the CLI options through the run options, the Ray worker spec
    and :func:`llmcli.models.loading.load_model`, so a new loading option is a field
    here and an option in the CLI, and nothing in between forwards it by hand.
    """

    model: str | None = None  # alias, hub id or local folder; None: the task's default
    device: str = "auto"
    dtype: str = "auto"
    threads: int | None = None  # None: OMP_NUM_THREADS, else the physical cores
    backend: str = "torch"
    compute_type: str = "auto"  # CTranslate2's precision
    #: Dynamic int8 Linear layers on the CPU: auto (where measured safe), none, int8.
    quantize: str = "auto"
    #: (source, target) for translation: picks a default model that covers the pair.
    languages: tuple[str, str] | None = None

    def check(self) -> None:
        """Raise UsageError for option values no load could accept (before anything slow).

        Whether a device or backend is present is checked where the model is loaded.
        """
        if self.dtype not in DTYPES:
            raise UsageError(f"invalid dtype {self.dtype!r}", hint=f"one of {', '.join(DTYPES)}")
        if self.backend not in BACKENDS:
            raise UsageError(
                f"invalid backend {self.backend!r}", hint=f"one of {', '.join(BACKENDS)}"
            )
        if self.compute_type not in COMPUTE_TYPES:
            raise UsageError(
                f"invalid compute type {self.compute_type!r}",
                hint=f"one of {', '.join(COMPUTE_TYPES)}",
            )
        if self.backend == "torch" and self.compute_type != "auto":
            raise UsageError("--compute-type needs --backend ctranslate2")
        if self.threads is not None and self.threads < 1:
            raise UsageError("threads must be at least 1")
        from llmcli.models.precision import check_options

        check_options(self.dtype, self.quantize, self.backend)


@dataclass
class LoadedModel:
    """A model ready for inference: weights on a device, its tokenizer, its family."""

    model: Any  # transformers PreTrainedModel in eval mode on ``device`` (torch), or CT2Model
    tokenizer: Any  # transformers tokenizer (PreTrainedTokenizerBase)
    family: Family
    name: str  # what the user asked for: alias, hub id or path
    source: str  # what it resolved to: hub id or local directory
    revision: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    extra: dict[str, Any] = field(default_factory=dict)
    #: The transformers config, whatever the backend (model type, context, task params).
    config: Any = field(kw_only=True, repr=False)
    #: What runs it: tasks generate and score through this, never through ``model``.
    runtime: Runtime = field(kw_only=True, repr=False)

    def run_record(self) -> dict[str, Any]:
        """The model part of every JSON result's run record."""
        record: dict[str, Any] = {"model": self.name, "source": self.source}
        if self.revision:
            record["revision"] = self.revision
        record["family"] = self.family.value
        record["device"] = self.device
        record["dtype"] = self.dtype
        if "quantize" in self.extra:
            record["quantize"] = self.extra["quantize"]
        if "precision" in self.extra:
            record["precision"] = self.extra["precision"]
        record["backend"] = self.backend
        if self.device == "cpu" and "threads" in self.extra:
            record["threads"] = self.extra["threads"]
        return record

    @property
    def generation_config(self) -> Any:
        """The checkpoint's decoding defaults (end ids, forced tokens)."""
        return self.runtime.generation_config

    @property
    def backend(self) -> str:
        """``torch`` or ``ctranslate2`` (then ``dtype`` is CTranslate2's compute type)."""
        return self.runtime.name
