"""Where results go: stdout, or a file that appears whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any, cast

from llmcli.environment import Environment
from llmcli.errors import OutputError


def to_json(value: Any) -> str:
    """One compact JSON line; non-ASCII text kept readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    return exc.strerror or str(exc)


class _Stdout:
    """``env.stdout`` whose failed writes (a full disk, ``> /dev/full``) are OutputErrors.

    A closed pipe (``| head``) stays a BrokenPipeError: the command layer ends quietly
    with exit 0 on it, as other Unix filters do.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _stdout_error(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _stdout_error(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stdout_error(exc: OSError) -> OutputError:
    return OutputError(f"cannot write to stdout: {_describe(exc)}")


@contextlib.contextmanager
def open_output(path: str | None, env: Environment) -> Iterator[IO[str]]:
    """Yield a text stream for results.

    With a path, results go to a temporary file beside it, which is fsynced and renamed
    over the path only when the block finishes without error: a crash, Ctrl-C or full
    disk never leaves a half-written output file behind.
    """
    if path is None or path == "-":
        stdout = _Stdout(env.stdout)
        yield cast(IO[str], stdout)
        stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".llmcli-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_describe(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise OutputError(f"{path}: write failed: {_describe(exc)}") from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
