"""Load any supported model, whatever its family or source, into a :class:`LoadedModel`.

The family comes from the model's config (never its name); weights go to the chosen
device and dtype; hub models are read from the local Hugging Face cache first, so a
cached model loads offline and a missing one fails fast with exit status 3.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from llmcli.errors import ModelUnavailableError, UsageError, first_line
from llmcli.models import builtin, cache, ct2, tokenizer_cache
from llmcli.models.base import Family, LoadedModel, ModelChoice
from llmcli.models.precision import Precision, check_device, cpu_units, quantize_int8
from llmcli.models.precision import resolve as resolve_precision
from llmcli.models.quiet import quiet_transformers
from llmcli.models.registry import SPECS, ModelRef, SourceKind, resolve
from llmcli.models.runtime.base import Runtime
from llmcli.models.runtime.tokens import window_limit
from llmcli.models.threads import apply_threads

Notice = Callable[[str], None]


_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "source.spm",
    "vocab.json",
    "vocab.txt",
)
_SNAPSHOT = re.compile(r"^[0-9a-f]{40}$")
_TRUE = ("1", "true", "yes", "on")

_cache: dict[tuple[str, ...], LoadedModel] = {}


@dataclasses.dataclass(frozen=True)
class Engine:
    """How weights run: the backend, its precision (dtype or compute type), CPU threads."""

    backend: str
    dtype: str  # the torch dtype, possibly "auto"; CTranslate2's compute type
    threads: int
    quantize: str = "none"  # torch: auto, none or int8
    task: str = ""  # what the model is loaded for (automatic precision is per task)


_cache_lock = threading.Lock()


def load_model(
    choice: ModelChoice,
    task: str,
    *,
    env: Mapping[str, str] | None = None,
    notice: Notice | None = None,
) -> LoadedModel:
    """Resolve ``choice.model`` for ``task`` and load it, in eval mode, on its device.

    A model of None means the configured (``LLMCLI_MODEL_<TASK>``) or built-in default;
    threads None means ``OMP_NUM_THREADS`` or the physical cores. Backend
    ``ctranslate2`` converts the model once and generates with CTranslate2 at the
    choice's compute type. Loaded models are kept per process: the same model, device,
    dtype and backend give the same object. Raises UsageError for bad options,
    ModelUnavailableError for a model that cannot be found or read.
    """
    env = os.environ if env is None else env
    choice.check()
    require_model_extra()
    torch_device = resolve_device(choice.device)
    thread_count = apply_threads(choice.threads, env)
    if choice.backend == "ctranslate2":
        dtype_name = ct2.resolve_compute_type(choice.compute_type, torch_device)
        quantize = "none"
    else:
        # Resolved once the model's family is known (its config): see models/precision.
        # What the device cannot run is refused now, before a model is looked for.
        dtype_name, quantize = choice.dtype, choice.quantize
        check_device(dtype_name, quantize, torch_device, env)
    ref = resolve(choice.model, task, env, choice.languages)
    engine = Engine(choice.backend, dtype_name, thread_count, quantize, task)
    # An automatic precision depends on the task (each task has its own quality gate)
    # and on what the CPU computes natively.
    auto = choice.backend == "torch" and "auto" in (dtype_name, quantize)
    key = (
        ref.kind.value,
        ref.target,
        torch_device,
        dtype_name,
        quantize,
        f"{task} {cpu_units(env)}" if auto else "",
        choice.backend,
        str(thread_count),
    )
    with _cache_lock:
        loaded = _cache.get(key)
        if loaded is None:
            loaded = _load(ref, torch_device, engine, env, notice)
            _cache[key] = loaded
    if loaded.name != ref.requested:
        # Same weights, asked for under another name: share them, report the new name.
        return dataclasses.replace(loaded, name=ref.requested)
    return loaded


MODEL_PACKAGES = ("torch", "transformers", "safetensors", "gguf", "accelerate")


def require_model_extra() -> None:
    """Fail with the install command when the ``models`` extra is not installed."""
    import importlib.util

    missing = [pkg for pkg in MODEL_PACKAGES if importlib.util.find_spec(pkg) is None]
    if missing:
        raise ModelUnavailableError(
            f"the model commands need {', '.join(missing)}, which are not installed",
            hint="pip install 'llmcli[models]' (pin torch first, e.g. pip install torch==2.13.0)",
        )


def clear_cache() -> None:
    """Forget the models loaded in this process (tests; freeing memory)."""
    with _cache_lock:
        _cache.clear()


# --- device and dtype -------------------------------------------------------------------


def resolve_device(device: str) -> str:
    """``auto`` → cuda, else mps, else cpu; an explicit device must be available."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cpu":
        return device
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match:
        if not torch.cuda.is_available():
            raise UsageError("device 'cuda' is not available here", hint="use --device cpu")
        if match.group(1) is not None and int(match.group(1)) >= torch.cuda.device_count():
            raise UsageError(f"no device {device}: {torch.cuda.device_count()} CUDA device(s)")
        return device
    if device == "mps":
        if not torch.backends.mps.is_available():
            raise UsageError("device 'mps' is not available here", hint="use --device cpu")
        return device
    raise UsageError(f"invalid device {device!r}", hint="one of auto, cpu, cuda, cuda:N, mps")


# --- loading ----------------------------------------------------------------------------


def _load(
    ref: ModelRef, device: str, engine: Engine, env: Mapping[str, str], notice: Notice | None
) -> LoadedModel:
    extra: dict[str, Any] = {}
    revision: str | None = None
    if ref.kind is SourceKind.BUILTIN:
        folder = builtin.prepare(ref.target, env, notice)
        assert ref.spec is not None and ref.spec.builtin is not None
        source_info = ref.spec.builtin
        package = ", ".join(sorted({wf.requirement for wf in source_info.chunks}))
        source = f"{package} ({source_info.gguf_name})"
        revision = f"sha256:{source_info.sha256}"
        extra["path"] = str(folder)
        extra["builtin"] = ref.target
    elif ref.kind is SourceKind.HUB:
        folder, revision = _hub_folder(ref, env, notice)
        source = ref.target
        extra["path"] = str(folder)
    else:
        folder = Path(ref.target)
        check_model_dir(folder)
        source = str(folder)
        revision = _snapshot_revision(folder)
    if ref.spec is not None:
        extra["license"] = ref.spec.license
        if ref.spec.languages is not None:
            extra["languages"] = ref.spec.languages
    with quiet_transformers():
        return _load_folder(ref, folder, source, revision, device, engine, extra, env, notice)


def _load_folder(
    ref: ModelRef,
    folder: Path,
    source: str,
    revision: str | None,
    device: str,
    engine: Engine,
    extra: dict[str, Any],
    env: Mapping[str, str],
    notice: Notice | None,
) -> LoadedModel:
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForCausalLM,
        AutoModelForQuestionAnswering,
        AutoModelForSeq2SeqLM,
        AutoModelForSequenceClassification,
    )

    what = ref.describe()
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except Exception as exc:  # unknown model_type, bad JSON...: one line, no traceback
        raise ModelUnavailableError(
            f"cannot read the config of {what}: {first_line(exc)}",
            hint="a newer transformers may be needed" if "model_type" in str(exc) else None,
        ) from exc
    family = family_of(config, what)
    auto_class = {
        Family.SEQ2SEQ: AutoModelForSeq2SeqLM,
        Family.CAUSAL: AutoModelForCausalLM,
        Family.EXTRACTIVE_QA: AutoModelForQuestionAnswering,
        Family.CLASSIFIER: AutoModelForSequenceClassification,
        Family.EMBEDDING: AutoModel,
    }[family]
    try:
        tokenizer = tokenizer_cache.load_tokenizer(folder, tokenizer_cache_dir(env))
    except Exception as exc:
        raise ModelUnavailableError(
            f"cannot read the tokenizer of {what}: {first_line(exc)}"
        ) from exc
    extra["threads"] = engine.threads
    runtime: Runtime
    dtype = engine.dtype
    if engine.backend == "ctranslate2":
        from llmcli.models.runtime.ct2_runtime import CT2Runtime

        model: Any = ct2.load(
            folder,
            config,
            family,
            device=device,
            compute_type=engine.dtype,
            threads=engine.threads,
            env=env,
            notice=notice,
        )
        runtime = CT2Runtime(
            model, tokenizer, family, device, ct2.generation_config(folder, config)
        )
    else:
        from llmcli.models.runtime.torch_runtime import TorchRuntime

        chosen = resolve_precision(engine.dtype, engine.quantize, device, engine.task, family, env)
        model = _torch_weights(auto_class, folder, what, device, chosen, notice)
        runtime = TorchRuntime(model, tokenizer, family, device)
        dtype = chosen.dtype
        extra["precision"] = chosen.reason
        if chosen.quantize:
            extra["quantize"] = chosen.quantize

    # Tasks chunk inputs to the model's window themselves, after counting tokens of whole
    # texts; transformers' "sequence length is longer than the maximum" warning about
    # those counts would only reach the user's terminal. Mark it as already given.
    warned = getattr(tokenizer, "deprecation_warnings", None)
    if isinstance(warned, dict):
        warned["sequence-length-is-longer-than-the-specified-maximum"] = True
    if family is Family.CAUSAL:
        _prepare_causal_tokenizer(tokenizer, runtime)
    context = window_limit(tokenizer, config)
    if context is not None:
        extra["context_length"] = context
    extra["architecture"] = (config.architectures or [type(model).__name__])[0]
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        family=family,
        name=ref.requested,
        source=source,
        revision=revision,
        device=device,
        dtype=dtype,
        extra=extra,
        config=config,
        runtime=runtime,
    )


def tokenizer_cache_dir(env: Mapping[str, str]) -> Path:
    """Where compact copies of large ``tokenizer.json`` files are kept (see tokenizer_cache)."""
    return cache.models_dir(env) / "tokenizers"


def _torch_weights(
    auto_class: Any,
    folder: Path,
    what: str,
    device: str,
    chosen: Precision,
    notice: Notice | None,
) -> Any:
    import torch

    try:
        model, info = auto_class.from_pretrained(
            folder,
            local_files_only=True,
            dtype=getattr(torch, chosen.dtype),
            output_loading_info=True,
        )
    except Exception as exc:
        raise ModelUnavailableError(
            f"cannot load the weights of {what}: {first_line(exc)}",
            hint="the files may be corrupted or incomplete; download them again",
        ) from exc
    missing = list(info.get("missing_keys") or [])
    if missing and notice is not None:
        notice(
            f"{what}: {len(missing)} weight tensors are missing from its checkpoint and were "
            "initialized randomly; its output will be meaningless"
        )
    try:
        model.to(device)
    except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
        raise ModelUnavailableError(
            f"cannot move {what} to {device}: {first_line(exc)}",
            hint="try --device cpu or a smaller --dtype",
        ) from exc
    model.eval()
    if chosen.quantize == "int8":
        model = quantize_int8(model)
    return model


def family_of(config: Any, what: str = "the model") -> Family:
    """The backend family, from the config's task head and encoder-decoder flag.

    The head is checked first: an encoder-decoder classifier (bart-large-mnli) is a
    classifier, not a generator.
    """
    from transformers import MODEL_FOR_CAUSAL_LM_MAPPING, MODEL_MAPPING

    architectures = list(getattr(config, "architectures", None) or [])
    if any(arch.endswith("ForQuestionAnswering") for arch in architectures):
        return Family.EXTRACTIVE_QA
    if any(arch.endswith("ForSequenceClassification") for arch in architectures):
        return Family.CLASSIFIER
    # A bare encoder with no head (BertModel, MPNetModel): a sentence embedder. BERT's
    # config also maps to a causal LM head, so this is decided before that check.
    base: Any = MODEL_MAPPING.get(type(config), None)
    if base is not None and base.__name__ in architectures and not config.is_encoder_decoder:
        return Family.EMBEDDING
    if getattr(config, "is_encoder_decoder", False):
        return Family.SEQ2SEQ
    if type(config) in MODEL_FOR_CAUSAL_LM_MAPPING:
        return Family.CAUSAL
    kind = ", ".join(architectures) or getattr(config, "model_type", "unknown")
    raise ModelUnavailableError(
        f"{what} ({kind}) is not a kind of model llmcli can use",
        hint="use a seq2seq, causal LM, question-answering, classification or embedding model",
    )


def _prepare_causal_tokenizer(tokenizer: Any, runtime: Runtime) -> None:
    # Batched generation needs left padding (new tokens follow the prompt directly)
    # and a pad token; many chat models ship none, and eos is the usual stand-in.
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        elif tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
    generation = runtime.generation_config
    if generation is not None and generation.pad_token_id is None:
        generation.pad_token_id = tokenizer.pad_token_id


# --- local directories ------------------------------------------------------------------


def check_model_dir(folder: Path, what: str | None = None) -> None:
    """Raise ModelUnavailableError unless ``folder`` looks like a complete model.

    Catches the usual broken folders before transformers does, with one clear line:
    no config.json, no weights, missing shards, truncated safetensors, no tokenizer.
    """
    what = what or str(folder)
    if not folder.is_dir():
        raise ModelUnavailableError(f"model directory {what} does not exist")
    config = folder / "config.json"
    if not config.is_file():
        raise ModelUnavailableError(
            f"{what} is not a model directory: it has no config.json",
            hint="point at the folder save_pretrained wrote, or download the model again",
        )
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"{what}/config.json is unreadable: {exc}") from exc
    weights = [folder / name for name in _WEIGHT_FILES if (folder / name).is_file()]
    if not weights:
        raise ModelUnavailableError(
            f"{what} has no model weights (model.safetensors or pytorch_model.bin)",
            hint="the download may be incomplete",
        )
    for path in weights:
        if path.name.endswith(".index.json"):
            for shard in _index_shards(path, what):
                if not (folder / shard).is_file():
                    raise ModelUnavailableError(f"{what} is missing the weight shard {shard}")
                if shard.endswith(".safetensors"):
                    check_safetensors(folder / shard, what)
        elif path.suffix == ".safetensors":
            check_safetensors(path, what)
        elif path.stat().st_size == 0:
            raise ModelUnavailableError(f"{what}/{path.name} is empty")
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelUnavailableError(f"{what} has no tokenizer files")


def _index_shards(index: Path, what: str) -> set[str]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        return {str(shard) for shard in weight_map.values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelUnavailableError(f"{what}/{index.name} is unreadable: {exc}") from exc


def check_safetensors(path: Path, what: str) -> None:
    """Check a safetensors file's header and that its data is all there (cheap)."""
    # Layout: 8-byte little-endian header length, JSON header, then the tensor data.
    problem = None
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            prefix = file.read(8)
            if len(prefix) < 8:
                problem = "it is truncated"
            else:
                (header_len,) = struct.unpack("<Q", prefix)
                if header_len > size - 8:
                    problem = "it is truncated"
                else:
                    header = json.loads(file.read(header_len))
                    ends = [
                        int(info["data_offsets"][1])
                        for key, info in header.items()
                        if key != "__metadata__"
                    ]
                    if 8 + header_len + max(ends, default=0) > size:
                        problem = "it is truncated"
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        problem = f"its header is unreadable ({first_line(exc)})"
    if problem is not None:
        raise ModelUnavailableError(
            f"{what}/{path.name} is corrupted: {problem}",
            hint="download or prepare the model again",
        )


def _snapshot_revision(folder: Path) -> str | None:
    # A folder inside a Hugging Face cache snapshot is named by its commit hash.
    for part in (folder, *folder.parents):
        if _SNAPSHOT.match(part.name) and part.parent.name == "snapshots":
            return part.name
    return None


# --- the Hugging Face hub ---------------------------------------------------------------


def _hub_cache_dir(env: Mapping[str, str]) -> str | None:
    # ``env`` wins over the process environment huggingface_hub read at import.
    if env.get("HF_HUB_CACHE"):
        return env["HF_HUB_CACHE"]
    if env.get("HF_HOME"):
        return str(Path(env["HF_HOME"]) / "hub")
    return None


def _offline(env: Mapping[str, str]) -> bool:
    return any(
        env.get(var, "").strip().lower() in _TRUE
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def cached_snapshot(hub_id: str, env: Mapping[str, str]) -> Path | None:
    """The local Hugging Face cache folder of ``hub_id``'s main revision, if cached."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(hub_id, "config.json", cache_dir=_hub_cache_dir(env))
    except Exception:  # an invalid id or an unreadable cache both mean "not cached"
        return None
    return Path(found).parent if isinstance(found, str) else None


def hub_reachable(env: Mapping[str, str], timeout: float = 3.0) -> bool:
    """Whether the hub's host accepts a TCP connection (or a proxy is configured).

    huggingface_hub retries a dead network for about 40 s; this answers in seconds.
    """
    if any(env.get(var) for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # the proxy decides; let huggingface_hub try through it
    endpoint = urlparse(env.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_folder(hub_id: str, env: Mapping[str, str], notice: Notice | None = None) -> Path:
    """A complete local folder of ``hub_id``: its cached snapshot, else downloaded now.

    For ``llmcli models pull``; raises ModelUnavailableError offline or when not found.
    """
    spec = next((s for s in SPECS.values() if s.hub_id == hub_id), None)
    ref = ModelRef(spec.name if spec else hub_id, SourceKind.HUB, hub_id, spec)
    return _hub_folder(ref, env, notice)[0]


def _hub_folder(
    ref: ModelRef, env: Mapping[str, str], notice: Notice | None
) -> tuple[Path, str | None]:
    """A complete local folder for a hub model: the cached snapshot, or download it."""
    hub_id = ref.target
    what = ref.describe()
    snapshot = cached_snapshot(hub_id, env)
    cached_problem: ModelUnavailableError | None = None
    if snapshot is not None:
        try:
            check_model_dir(snapshot, what)
            return snapshot, _snapshot_revision(snapshot)
        except ModelUnavailableError as exc:
            cached_problem = exc  # partially cached (e.g. config only): try downloading
    todo = "download it where you have network, or pass a local directory"
    if _offline(env):
        state = "is incomplete in" if cached_problem else "is not in"
        raise ModelUnavailableError(
            f"model {what} {state} the local Hugging Face cache and HF_HUB_OFFLINE is set",
            hint="unset HF_HUB_OFFLINE to download it, or pass a local directory",
        )
    if not hub_reachable(env):
        state = "is incomplete in" if cached_problem else "is not in"
        raise ModelUnavailableError(
            f"model {what} {state} the local Hugging Face cache and the hub is unreachable",
            hint=todo,
        )
    size = f" ({ref.spec.size})" if ref.spec is not None else ""
    if notice is not None:
        notice(f"downloading {hub_id}{size} from the Hugging Face hub")
    return _download(hub_id, what, env), None


def _download(hub_id: str, what: str, env: Mapping[str, str]) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )

    # The files a transformers model needs; skips TF/Flax/ONNX/GGUF copies.
    patterns = ["*.json", "*.model", "*.spm", "*.txt", "*.jinja", "*.tiktoken", "*.safetensors"]
    try:
        with quiet_transformers():
            folder = Path(
                snapshot_download(hub_id, allow_patterns=patterns, cache_dir=_hub_cache_dir(env))
            )
            if not any(folder.glob("*.safetensors")):
                # Older repositories only have PyTorch pickles.
                folder = Path(
                    snapshot_download(
                        hub_id,
                        allow_patterns=[*patterns, "pytorch_model*.bin"],
                        cache_dir=_hub_cache_dir(env),
                    )
                )
    except GatedRepoError as exc:
        raise ModelUnavailableError(
            f"model {what} is gated on the Hugging Face hub",
            hint="accept its terms on the hub and log in with `hf auth login`",
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelUnavailableError(
            f"model {what} was not found on the Hugging Face hub",
            hint="check the name, or pass a local directory",
        ) from exc
    except (HfHubHTTPError, OSError) as exc:
        raise ModelUnavailableError(
            f"could not download {what}: {first_line(exc)}",
            hint="download it where you have network, or pass a local directory",
        ) from exc
    check_model_dir(folder, what)
    return folder
