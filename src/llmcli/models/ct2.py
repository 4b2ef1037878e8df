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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmcli.errors import ModelUnavailableError, UsageError, first_line
from llmcli.models import cache
from llmcli.models.base import Family
from llmcli.models.quiet import quiet_transformers

Notice = Callable[[str], None]

BACKENDS = ("torch", "ctranslate2")
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
INSTALL_HINT = "pip install 'llmcli[fast]' (or: pip install ctranslate2)"
_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")


def check_backend(backend: str, compute_type: str) -> None:
    """Raise UsageError for an unknown backend or compute type."""
    if backend not in BACKENDS:
        raise UsageError(f"invalid backend {backend!r}", hint=f"one of {', '.join(BACKENDS)}")
    if compute_type not in COMPUTE_TYPES:
        raise UsageError(
            f"invalid compute type {compute_type!r}", hint=f"one of {', '.join(COMPUTE_TYPES)}"
        )
    if backend == "torch" and compute_type != "auto":
        raise UsageError("--compute-type needs --backend ctranslate2")


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
    """Stands in for the transformers model: its config, and a CTranslate2 engine."""

    engine: Any  # ctranslate2.Translator (seq2seq) or ctranslate2.Generator (causal)
    config: Any  # the transformers config, for context lengths and model type
    generation_config: Any
    seq2seq: bool
    compute_type: str
    path: str
    # Shared prompt prefixes whose state CTranslate2 keeps (``cache_static_prompt``); it
    # never drops one, so their number is bounded (MAX_CACHED_PREFIXES).
    cached_prefixes: set[tuple[int, ...]] = field(default_factory=set)


#: Distinct shared prefixes whose decoder state one loaded model keeps. A run usually has
#: one (its prompt template's); a prefix beyond these is still shared, but run per batch.
MAX_CACHED_PREFIXES = 8


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
    from transformers import GenerationConfig

    try:
        generation = GenerationConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError):
        generation = GenerationConfig.from_model_config(config)
    return CT2Model(
        engine=engine,
        config=config,
        generation_config=generation,
        seq2seq=family is Family.SEQ2SEQ,
        compute_type=compute_type,
        path=str(path),
    )


@dataclass(kw_only=True)
class Request:
    """One batch's decoding options, in CTranslate2's terms."""

    max_new_tokens: int
    min_new_tokens: int = 0
    num_beams: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 50
    seed: int | None = None
    end_ids: Sequence[int] = ()
    forced_bos_token_id: int | None = None
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    length_penalty: float | None = None
    want_scores: bool = False
    # From the model's generation config, which transformers applies by itself:
    forced_eos_token_id: int | None = None  # the last token allowed is forced to be eos
    suppressed: Sequence[Sequence[int]] = ()  # ``bad_words_ids``: never generated
    # Causal models: this many leading tokens are the same in every prompt; CTranslate2
    # runs them once as a "static prompt" and reuses their state for every batch.
    shared_prefix: int = 0


def generate_tokens(
    model: CT2Model, tokenizer: Any, prompts: Sequence[Sequence[int]], request: Request
) -> list[tuple[list[int], float | None]]:
    """New token ids (end token kept, so callers cut as with torch) and optional scores."""
    if not prompts:
        return []
    ct2 = require()
    if request.do_sample and request.seed is not None:
        ct2.set_random_seed(request.seed)
    tokens = [tokenizer.convert_ids_to_tokens(list(p)) for p in prompts]
    common: dict[str, Any] = {
        "beam_size": request.num_beams,
        "end_token": list(request.end_ids) or None,
        "return_end_token": True,
        "return_scores": request.want_scores,
        "repetition_penalty": request.repetition_penalty,
        "no_repeat_ngram_size": request.no_repeat_ngram_size,
        "length_penalty": 1.0 if request.length_penalty is None else request.length_penalty,
        "max_batch_size": len(prompts),
    }
    if request.suppressed:
        common["suppress_sequences"] = [
            tokenizer.convert_ids_to_tokens(list(seq)) for seq in request.suppressed
        ]
    # transformers forces eos as the last allowed token: one fewer free token, then eos.
    forced = request.forced_eos_token_id
    budget = request.max_new_tokens - (1 if forced is not None else 0)
    if forced is not None and budget <= 0:
        return [([forced], None) for _ in prompts]
    if request.do_sample:
        common.update(
            sampling_topk=request.top_k if request.top_k > 0 else 0,
            sampling_topp=request.top_p,
            sampling_temperature=request.temperature,
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
        start, static = _static_prompt(model, prompts, tokens, request.shared_prefix)
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
    ends = set(request.end_ids)
    for ids, result in zip(hypotheses, results, strict=True):
        if forced is not None and len(ids) >= limit and not ends.intersection(ids):
            ids.append(forced)
        score = float(result.scores[0]) if request.want_scores and result.scores else None
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
