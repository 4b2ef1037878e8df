"""The CTranslate2 backend (``--backend ctranslate2``): faster generation on CPU and CUDA.

A model folder is converted once, with CTranslate2's own Transformers converter, into
``<models>/ctranslate2/`` in llmcli's cache, under the same lock, temporary folder,
rename and marker as prepared models. The weights keep the folder's own precision and
are quantized when loaded, so one conversion serves every ``--compute-type``.

Only generation runs here. Tasks still build their prompts with the transformers
tokenizer, and hand token ids to :func:`generate_tokens`, which returns token ids, so
chunking, prompts and decoding of the text are shared with the torch backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmcli.errors import ModelUnavailableError, UsageError, first_line
from llmcli.models import cache
from llmcli.models.base import Family
from llmcli.models.quiet import quiet_transformers

Notice = Callable[[str], None]

INSTALL_HINT = "pip install 'llmcli[fast]' (or: pip install ctranslate2)"
_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")


def require() -> Any:
    """The ``ctranslate2`` module, or exit 3 with the install command."""
    try:
        import ctranslate2
    except ImportError as exc:
        raise ModelUnavailableError(
            "--backend ctranslate2 needs the ctranslate2 package, which is not installed",
            hint=INSTALL_HINT,
        ) from exc
    return ctranslate2


def resolve_compute_type(compute_type: str, device: str) -> str:
    """``auto`` → int8 on CPU, int8_float16 on CUDA; refuse what the device cannot run."""
    ct2 = require()
    kind = "cuda" if device.startswith("cuda") else "cpu"
    if device != "cpu" and kind != "cuda":
        raise UsageError(f"--backend ctranslate2 runs on cpu or cuda, not {device}")
    chosen = compute_type
    if chosen == "auto":
        chosen = "int8_float16" if kind == "cuda" else "int8"
    supported = set(ct2.get_supported_compute_types(kind))
    if chosen not in supported:
        raise UsageError(
            f"compute type {chosen} is not supported on {kind} here",
            hint=f"one of {', '.join(sorted(supported))}",
        )
    return chosen


def _fingerprint(folder: Path, version: str) -> str:
    # A new conversion when the weights change (size or mtime) or CTranslate2 does.
    digest = hashlib.sha256(f"{folder.resolve()}\0{version}".encode())
    for pattern in _WEIGHTS:
        for path in sorted(folder.glob(pattern)):
            stat = path.stat()
            digest.update(f"\0{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def converted_dir(folder: Path, env: Mapping[str, str], notice: Notice | None) -> Path:
    """The CTranslate2 conversion of ``folder`` in the cache, converting it the first time."""
    ct2 = require()
    key = _fingerprint(folder, ct2.__version__)
    target = cache.models_dir(env) / "ctranslate2" / f"{folder.name}-{key}"
    expect = {"name": folder.name, "fingerprint": key, "ctranslate2": ct2.__version__}
    if cache.is_complete(target, expect):
        return target
    with cache.model_lock(target, notice):
        if cache.is_complete(target, expect):  # another process converted it meanwhile
            return target
        cache.remove_leftovers(target)
        if notice is not None:
            notice(f"converting {folder} for CTranslate2 (once) into {target.parent}")

        def build(tmp: Path) -> Mapping[str, Any]:
            converter = _converter_class(ct2)(str(folder))
            try:
                with quiet_transformers():
                    converter.convert(str(tmp), force=True)
            except Exception as exc:  # an architecture CTranslate2 does not know, ...
                raise ModelUnavailableError(
                    f"CTranslate2 cannot convert {folder}: {first_line(exc)}",
                    hint="use --backend torch for this model",
                ) from exc
            return {**expect, "source": str(folder.resolve())}

        return cache.build_into(target, build)


def _converter_class(ct2: Any) -> Any:
    class Converter(ct2.converters.TransformersConverter):  # type: ignore[misc]
        def load_model(self, model_class: Any, path: str, **kwargs: Any) -> Any:
            model = super().load_model(model_class, path, **kwargs)
            config = model.config
            # transformers 5 dropped BART's layer-norm placement flags, which CTranslate2's
            # BART loader still reads; BART is post-norm with a norm after the embeddings.
            kind = getattr(config, "model_type", "")
            if kind == "bart":
                for name, value in (("normalize_before", False), ("normalize_embedding", True)):
                    if not hasattr(config, name):
                        setattr(config, name, value)
            # transformers 5 scales T5's decoder output by ``scale_decoder_outputs``, where
            # CTranslate2 (like transformers 4) goes by ``tie_word_embeddings``.
            if kind in ("t5", "mt5", "umt5") and hasattr(config, "scale_decoder_outputs"):
                config.tie_word_embeddings = bool(config.scale_decoder_outputs)
            return model

    return Converter


@dataclass
class CT2Model:
    """A converted model on a CTranslate2 engine (what ``ct2_runtime.CT2Runtime`` runs)."""

    engine: Any  # ctranslate2.Translator (seq2seq) or ctranslate2.Generator (causal)
    seq2seq: bool
    compute_type: str
    path: str
    # Shared prompt prefixes whose state CTranslate2 keeps (``cache_static_prompt``); it
    # never drops one, so their number is bounded (``ct2_runtime.MAX_CACHED_PREFIXES``).
    cached_prefixes: set[tuple[int, ...]] = field(default_factory=set)


def load(
    folder: Path,
    config: Any,
    family: Family,
    *,
    device: str,
    compute_type: str,
    threads: int,
    env: Mapping[str, str],
    notice: Notice | None,
) -> CT2Model:
    """Convert (once) and load ``folder`` on ``device`` with the resolved compute type."""
    if family not in (Family.SEQ2SEQ, Family.CAUSAL):
        raise UsageError(
            f"--backend ctranslate2 runs generative models, not {family.value} models",
            hint="use --backend torch",
        )
    ct2 = require()
    path = converted_dir(folder, env, notice)
    kind, index = "cpu", 0
    if device.startswith("cuda"):
        kind = "cuda"
        index = int(device.split(":", 1)[1]) if ":" in device else 0
    engine_class = ct2.Translator if family is Family.SEQ2SEQ else ct2.Generator
    try:
        engine = engine_class(
            str(path),
            device=kind,
            device_index=index,
            compute_type=compute_type,
            intra_threads=threads if kind == "cpu" else 0,
            inter_threads=1,
        )
    except Exception as exc:
        raise ModelUnavailableError(
            f"CTranslate2 cannot load {path}: {first_line(exc)}",
            hint=f"delete {path} to convert it again",
        ) from exc
    return CT2Model(
        engine=engine,
        seq2seq=family is Family.SEQ2SEQ,
        compute_type=compute_type,
        path=str(path),
    )


def generation_config(folder: Path, config: Any) -> Any:
    """The checkpoint's decoding defaults (end ids, forced tokens), which transformers
    applies by itself and CTranslate2 is told explicitly."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError):
        return GenerationConfig.from_model_config(config)
