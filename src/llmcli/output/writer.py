"""Where results go: stdout, a file that appears whole or not at all, or a device or pipe."""

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
from llmcli.output.target import Target, TargetKind


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


class StreamedStdout:
    """Pieces of a result written to stdout as they come, each flushed at once.

    ``written`` is what went out for the item in progress, so the item's rendering
    writes only the rest (see :func:`llmcli.output.records.streamed_renderer`).
    """

    def __init__(self, env: Environment) -> None:
        self._stream = _Stdout(env.stdout)
        self.written = ""

    def __call__(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
        self.written += text


def _stdout_error(exc: OSError) -> OutputError:
    return OutputError(f"cannot write to stdout: {_describe(exc)}")


@contextlib.contextmanager
def open_output(target: Target, env: Environment) -> Iterator[IO[str]]:
    """Yield a text stream for results going to ``target`` (see :func:`output_target`).

    A file gets them through a temporary file beside it, which is fsynced and renamed
    over it only when the block finishes without error: a crash, Ctrl-C or full disk
    never leaves a half-written output file behind. A device or pipe gets them directly.
    """
    if target.is_stdout:
        stdout = _Stdout(env.stdout)
        yield cast(IO[str], stdout)
        stdout.flush()
        return
    if target.kind is TargetKind.STREAM:
        with _open_stream(target) as stream:
            yield stream
        return
    path = target.path
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise OutputError(f"{target.name}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".llmcli-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{target.name}: cannot write: {_describe(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise OutputError(f"{target.name}: write failed: {_describe(exc)}") from None
    except BaseException:
        _remove_quietly(tmp)
        raise


@contextlib.contextmanager
def _open_stream(target: Target) -> Iterator[IO[str]]:
    """A device, pipe or socket, written in place: no temporary file, no rename, no fsync.

    A reader that goes away (a closed pipe) stays a BrokenPipeError, as on stdout.
    """
    try:
        # A descriptor of this process (/dev/fd/N) is duplicated, so writes continue at
        # its offset; a path is opened without O_CREAT or O_TRUNC, which mean nothing to
        # a device or pipe and would harm a file swapped in meanwhile.
        fd = os.dup(target.fd) if target.fd is not None else os.open(target.path, os.O_WRONLY)
    except OSError as exc:
        raise OutputError(f"{target.name}: cannot write: {_describe(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{target.name}: write failed: {_describe(exc)}") from None


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
