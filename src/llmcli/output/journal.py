"""Crash-safe ``-o FILE`` for long batch runs: a partial file and a journal beside FILE.

While a model command runs with ``-o FILE``, results go to ``FILE.llmcli-partial``, and
each finished window of items is committed to ``FILE.llmcli-journal``: the window's
output is written and fsynced first, then one journal line (fsynced too) records how many
items are done, how many bytes of output they make, how many of them failed, and a
running hash of their input. On success the partial file is renamed over FILE and the
journal deleted, so FILE still appears whole or not at all.

After a crash, ``kill -9`` or Ctrl-C, both files stay. ``--resume`` checks that the
journal was written by the same command (its first line holds a fingerprint of the task,
model, settings, input and output options), cuts the partial file back to the last
committed byte (a torn last write is dropped), skips the committed items of the input
while checking that they hash the same, and appends the rest: the final FILE is
byte-identical to an uninterrupted run's, because windows split the same way wherever a
run starts (see :func:`llmcli.runner.run_windows`).

The journal, one JSON object per line::

    {"llmcli-journal":1,"fingerprint":"<sha256>","command":{...}}
    {"items":256,"bytes":10240,"failed":0,"input":"<sha256>"}
    {"items":512,"bytes":20736,"failed":1,"input":"<sha256>"}
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from llmcli.environment import Environment
from llmcli.errors import OutputError, UsageError
from llmcli.inputs import Item
from llmcli.output.target import Target, require_file

if sys.platform != "win32":
    import fcntl

PARTIAL_SUFFIX = ".llmcli-partial"
JOURNAL_SUFFIX = ".llmcli-journal"
FORMAT = 1
#: The running input hash before any item.
NO_INPUT = "0" * 64


@dataclass(frozen=True)
class Checkpoint:
    """What is committed: items done, output bytes, failed items, input hash so far."""

    items: int = 0
    bytes: int = 0
    failed: int = 0
    input: str = NO_INPUT


class InputHash:
    """A running hash of items as read: source, line, text, JSON record and any failure."""

    def __init__(self, digest: str = NO_INPUT) -> None:
        self.digest = digest

    def add(self, item: Item) -> None:
        failure = item.failure.message if item.failure is not None else None
        data = json.dumps(
            [item.source, item.line, item.text, item.record, failure],
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        ).encode("utf-8", "surrogatepass")
        h = hashlib.sha256(bytes.fromhex(self.digest))
        h.update(data)
        self.digest = h.hexdigest()


def fingerprint(command: dict[str, Any]) -> str:
    """The sha256 of a command description (key order does not matter)."""
    text = json.dumps(command, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def skip_done(items: Iterable[Item], start: Checkpoint, hasher: InputHash) -> Iterator[Item]:
    """``items`` without the first ``start.items``, after checking they hash as journaled.

    ``hasher`` ends up at the digest of the skipped items, ready to take the rest.
    """
    stream = iter(items)
    hint = "--resume needs the same input; drop --resume to start over"
    for _ in range(start.items):
        item = next(stream, None)
        if item is None:
            raise UsageError(
                f"the input has fewer items than the {start.items} already done", hint=hint
            )
        hasher.add(item)
    if hasher.digest != start.input:
        raise UsageError(
            f"the input differs from the interrupted run's: its first {start.items} items "
            "are not the same",
            hint=hint,
        )
    yield from stream


class Journaled:
    """The open partial file and journal of one run with ``-o FILE``."""

    def __init__(self, path: str, partial_fd: int, journal_fd: int, start: Checkpoint) -> None:
        self.path = path
        self.partial = path + PARTIAL_SUFFIX
        self.journal = path + JOURNAL_SUFFIX
        self._partial_fd = partial_fd
        self._journal_fd = journal_fd
        #: Where this run starts: nothing, or what an interrupted run committed.
        self.start = start
        #: What is committed so far.
        self.committed = start

    def commit(self, text: str, items: int, failed: int, input_digest: str) -> None:
        """Append one window's output, make it durable, then record it in the journal."""
        data = text.encode("utf-8")
        done = Checkpoint(
            items=self.committed.items + items,
            bytes=self.committed.bytes + len(data),
            failed=self.committed.failed + failed,
            input=input_digest,
        )
        line = (json.dumps(asdict(done), separators=(",", ":")) + "\n").encode("ascii")
        # Ctrl-C waits for the commit to finish, so what the run reports as done is what
        # the journal says.
        with _ctrl_c_deferred():
            try:
                _write_all(self._partial_fd, data)
                os.fsync(self._partial_fd)
                _write_all(self._journal_fd, line)
                os.fsync(self._journal_fd)
            except OSError as exc:
                raise OutputError(f"{self.path}: write failed: {_describe(exc)}") from None
            self.committed = done

    def finish(self) -> None:
        """Put the output in place (atomically) and drop the journal."""
        with _ctrl_c_deferred():
            try:
                os.close(self._partial_fd)
                os.replace(self.partial, self.path)
                _fsync_directory(self.path)
                os.unlink(self.journal)
            except OSError as exc:
                raise OutputError(f"{self.path}: write failed: {_describe(exc)}") from None
            finally:
                _close_quietly(self._journal_fd)

    def abandon(self) -> None:
        """Stop on an error or Ctrl-C: keep what is committed for ``--resume``, if any."""
        _close_quietly(self._partial_fd)
        if self.committed.items == 0:
            _remove_quietly(self.partial)
            _remove_quietly(self.journal)
        _close_quietly(self._journal_fd)


@contextlib.contextmanager
def journaled_output(
    target: Target, command: dict[str, Any], *, resume: bool, env: Environment
) -> Iterator[Journaled]:
    """A :class:`Journaled` output for ``target``, finished on success, kept on failure.

    ``target`` must be a regular file (or a new one): the journal truncates and rereads
    it. Its partial file and journal sit beside the file a symlink points to.
    """
    require_file(target, "the journal of -o")
    out = _open(target.path, command, resume=resume, env=env)
    try:
        yield out
    except BaseException:
        out.abandon()
        raise
    out.finish()


def _open(path: str, command: dict[str, Any], *, resume: bool, env: Environment) -> Journaled:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory")
    partial, journal = path + PARTIAL_SUFFIX, path + JOURNAL_SUFFIX
    stamp = fingerprint(command)
    journal_fd = _open_locked(path, journal)
    partial_fd = -1
    text = b""
    fresh = False  # whether this run (re)created the partial file and the journal
    try:
        text = _read_all(journal_fd)
        header, commits, good = _parse(text)
        start = Checkpoint()
        resumed = False
        if resume and header is not None:
            if header.get("fingerprint") != stamp:
                raise UsageError(
                    f"{journal} is from a different command "
                    f"({_differences(header.get('command'), command)} changed)",
                    hint=f"drop --resume to start over, or delete {journal}",
                )
            start = commits[-1] if commits else Checkpoint()
            if start.items and not os.path.exists(partial):
                env.warn(f"{partial} is missing; starting from the beginning")
                start = Checkpoint()
            resumed = True
        if not resumed and (text or os.path.exists(partial)):
            env.warn(
                f"replacing the unfinished output of an earlier run ({partial}); "
                "pass --resume to continue it instead"
            )
        if start.items:
            partial_fd = os.open(partial, os.O_RDWR)
            size = os.fstat(partial_fd).st_size
            if size < start.bytes:
                raise OutputError(
                    f"{partial} has {size} bytes but {journal} says {start.bytes} are done",
                    hint="delete both, or drop --resume to start over",
                )
            os.ftruncate(partial_fd, start.bytes)  # drop a torn last write
            os.lseek(partial_fd, 0, os.SEEK_END)
            os.ftruncate(journal_fd, good)  # drop a torn last journal line
            os.lseek(journal_fd, 0, os.SEEK_END)
        else:
            fresh = True
            partial_fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
            head = {"llmcli-journal": FORMAT, "fingerprint": stamp, "command": command}
            line = json.dumps(head, separators=(",", ":"), default=str) + "\n"
            os.ftruncate(journal_fd, 0)
            os.lseek(journal_fd, 0, os.SEEK_SET)
            _write_all(journal_fd, line.encode("utf-8", "surrogatepass"))
            os.fsync(journal_fd)
            _fsync_directory(path)
    except BaseException as exc:
        _close_quietly(partial_fd)
        if fresh:  # nothing of an earlier run is left in them: remove both
            _remove_quietly(partial)
        if fresh or not text:
            _remove_quietly(journal)
        _close_quietly(journal_fd)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write: {_describe(exc)}") from None
        raise
    return Journaled(path, partial_fd, journal_fd, start)


def _open_locked(path: str, journal: str) -> int:
    """The journal, open and locked against a second run writing the same FILE."""
    while True:
        try:
            fd = os.open(journal, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write: {_describe(exc)}") from None
        if sys.platform == "win32":
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"{path}: another llmcli run is writing it", hint=f"its journal is {journal}"
            ) from None
        except OSError:
            return fd  # a file system without locks: go on unlocked
        # A run finishing may have deleted the journal between our open and lock.
        try:
            same = os.stat(journal).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _parse(text: bytes) -> tuple[dict[str, Any] | None, list[Checkpoint], int]:
    """Header, commits, and the byte length of the intact lines (a torn tail is left out)."""
    header: dict[str, Any] | None = None
    commits: list[Checkpoint] = []
    good = 0
    for raw in text.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        try:
            value = json.loads(raw)
        except ValueError:
            break
        if not isinstance(value, dict):
            break
        if header is None:
            if value.get("llmcli-journal") != FORMAT:
                break
            header = value
        else:
            numbers = [value.get(k) for k in ("items", "bytes", "failed")]
            if not all(type(n) is int and n >= 0 for n in numbers) or set(value) != {
                "items",
                "bytes",
                "failed",
                "input",
            }:
                break
            commits.append(Checkpoint(**value))
        good += len(raw)
    return header, commits, good


def _differences(old: Any, new: dict[str, Any]) -> str:
    """Which parts of the command differ, for the error message."""
    if not isinstance(old, dict):
        return "the journal's format"
    names = _changed(old, json.loads(json.dumps(new, default=str)), "")
    return ", ".join(names) or "the command"


def _changed(old: dict[str, Any], new: dict[str, Any], prefix: str) -> list[str]:
    names: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names += _changed(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(prefix + key)
    return names


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Hold SIGINT back for the duration of the block, then deliver it."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield  # only the main thread sets handlers; None: a handler Python cannot restore
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)  # Python's default raises KeyboardInterrupt
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(path: str) -> None:
    """Make a new or renamed directory entry durable (where the platform allows)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    return exc.strerror or str(exc)


def _close_quietly(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
