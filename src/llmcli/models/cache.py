"""llmcli's model cache: where prepared models live, and how they are written safely.

A prepared model is a folder ``<models>/<name>-<version>/`` holding safetensors,
tokenizer and config files plus a marker file, ``llmcli-model.json``, written last.
A folder without a valid marker is half-written (a crash, a full disk, a user's
``rm`` halfway) and is deleted and rebuilt. Builds happen under a per-model file
lock, into a temporary folder beside the final one, renamed into place at the end,
so concurrent llmcli processes never see, or both write, a partial model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmcli.errors import ModelUnavailableError

MARKER = "llmcli-model.json"
MARKER_FORMAT = 1
HOME_ENV = "LLMCLI_HOME"
_TMP_PREFIX = ".tmp-"

Notice = Callable[[str], None]


def models_dir(env: Mapping[str, str]) -> Path:
    """``$LLMCLI_HOME/models`` if set, else the platform's user cache for llmcli."""
    home = env.get(HOME_ENV, "").strip()
    if home:
        return Path(home).expanduser() / "models"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("llmcli")) / "models"


def model_dir(env: Mapping[str, str], name: str, version: str) -> Path:
    """The folder of one prepared model version."""
    return models_dir(env) / f"{name}-{version}"


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The folder's marker if it is present and well-formed, else None."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MARKER_FORMAT:
        return None
    return data


def is_complete(folder: Path, expect: Mapping[str, Any]) -> bool:
    """Whether ``folder`` holds a finished model whose marker agrees with ``expect``.

    Every file the marker lists must exist with its recorded size (cheap enough to
    check on every load; hashing 1 GB of weights each time would not be).
    """
    marker = read_marker(folder)
    if marker is None:
        return False
    if any(marker.get(key) != value for key, value in expect.items()):
        return False
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, info in files.items():
        try:
            if (folder / rel).stat().st_size != info["size"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


def folder_size(folder: Path) -> int:
    """Bytes used by the files under ``folder`` (0 if it does not exist)."""
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def describe_size(size: int) -> str:
    """A byte count for people: ``540 MB``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "kB", "MB") else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def file_record(folder: Path) -> dict[str, dict[str, int]]:
    """Sizes of every file under ``folder`` (relative POSIX paths), for the marker."""
    return {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MARKER
    }


def write_marker(folder: Path, fields: Mapping[str, Any]) -> None:
    """Write the marker last, after everything else in ``folder`` is on disk."""
    marker = {"format": MARKER_FORMAT, **fields, "files": file_record(folder)}
    marker.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    path = folder / MARKER
    tmp = folder / f"{MARKER}.tmp"
    tmp.write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a marker is either absent or whole


@contextmanager
def model_lock(
    target: Path, notice: Notice | None = None, timeout: float = 3600.0
) -> Iterator[None]:
    """Hold the per-model file lock; tell the user if another process holds it."""
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target.parent / f".{target.name}.lock"))
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        if notice is not None:
            notice(f"waiting for another llmcli process that is preparing {target.name}")
        try:
            lock.acquire(timeout=timeout)
        except Timeout as exc:
            raise ModelUnavailableError(
                f"timed out waiting for the lock on {target.name}",
                hint=f"another process holds {lock.lock_file}; remove it if none is running",
            ) from exc
    try:
        yield
    finally:
        lock.release()


def remove_leftovers(target: Path) -> None:
    """Delete a half-written ``target`` and temporary folders of crashed builds.

    Call only while holding the model's lock: then nobody else is building it.
    """
    if target.exists() or target.is_symlink():
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
    for tmp in target.parent.glob(f"{_TMP_PREFIX}{target.name}-*"):
        shutil.rmtree(tmp, ignore_errors=True)


def build_into(
    target: Path,
    build: Callable[[Path], Mapping[str, Any]],
) -> Path:
    """Build a model folder beside ``target`` and rename it into place.

    ``build(tmp)`` fills ``tmp`` and returns the marker fields; the marker is written
    into ``tmp`` last and the folder renamed to ``target`` (atomic on one file system).
    Call while holding the model's lock, after :func:`remove_leftovers`.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{target.name}-", dir=target.parent))
    try:
        fields = build(tmp)
        write_marker(tmp, fields)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
