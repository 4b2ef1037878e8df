"""What ``-o PATH`` names, decided once for every command, before any input is read.

- ``-`` (or no ``-o``), and paths naming this process's own stdout (``/dev/stdout``,
  ``/dev/fd/1``, ``/proc/self/fd/1``): stdout, through the :class:`Environment`.
- A regular file, or a path that does not exist yet: written atomically (a temporary
  file beside it, fsynced, renamed over it). A symlink is resolved first, so the rename
  happens beside its target: the link stays and its target gets the content, as with
  ``>``, ``cp`` and ``sort -o``. A dangling symlink creates its target.
- Anything else that exists (a character or block device such as ``/dev/null``, a
  FIFO, a socket, another ``/dev/fd/N`` such as a process substitution): written to
  directly, in order, with no temporary file and no rename, which would replace the
  device itself (as root) or fail (as anyone else). Such a path cannot be truncated or
  read back, so ``--resume`` and its journal refuse it.
- An output that is one of the inputs (the same file by device and inode, through any
  path or link) is refused: writing it would destroy the input.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from llmcli.environment import Environment
from llmcli.errors import OutputError, UsageError
from llmcli.inputs import Source


class TargetKind(str, Enum):
    """How results reach an output path."""

    STDOUT = "stdout"
    FILE = "file"  # atomic: temporary file beside ``path``, then renamed over it
    STREAM = "stream"  # written to directly, in order


@dataclass(frozen=True)
class Target:
    """Where ``-o`` writes: ``name`` as given (for messages), ``path`` to write."""

    name: str
    path: str
    kind: TargetKind
    fd: int | None = None  # a STREAM naming a descriptor of this process: it is duplicated

    @property
    def is_stdout(self) -> bool:
        return self.kind is TargetKind.STDOUT


STDOUT = Target("<stdout>", "-", TargetKind.STDOUT)

# What /dev/fd/N, /dev/stdout and /proc/self/fd/N resolve to on Linux (the descriptor
# table of a process, or of one of its threads); /dev/fd/N itself on the BSDs and macOS.
_PROC_FD = re.compile(r"/proc/(\d+)(?:/task/\d+)?/fd/(\d+)")
_DEV_FD = re.compile(r"/dev/fd/(\d+)")
_MAX_HOPS = 40  # the kernel's own limit on symlinks in a path


def output_target(path: str | None, env: Environment, inputs: Iterable[Source] = ()) -> Target:
    """Decide how ``-o path`` is written, refusing a path that is one of ``inputs``.

    Call it before reading anything: the refusal must come before any work, and a
    device path must never get a temporary file beside it.
    """
    if path is None or path == "-":
        _check_stdout(env, inputs)
        return STDOUT
    fd = _own_descriptor(path)
    if fd == 1:  # this process's stdout, which the Environment holds
        _check_stdout(env, inputs)
        return Target(path, "-", TargetKind.STDOUT)
    if fd is not None:
        return Target(path, path, TargetKind.STREAM, fd)
    try:
        info = os.stat(path)  # follows symlinks: the type of what a write would reach
    except FileNotFoundError:
        # New (or a dangling symlink, whose target a write creates), or in a missing
        # directory, which the writer reports.
        return Target(path, os.path.realpath(path), TargetKind.FILE)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{path}: is a directory")
    if stat.S_ISREG(info.st_mode):
        _check_not_input(f"-o {path}", info, inputs, env)
        return Target(path, os.path.realpath(path), TargetKind.FILE)
    return Target(path, path, TargetKind.STREAM)


def require_file(target: Target, why: str) -> None:
    """Refuse a target that is not a regular file, for what needs one (``why``)."""
    if target.kind is TargetKind.FILE:
        return
    what = "stdout" if target.is_stdout else "not a regular file (a device, pipe or socket)"
    raise UsageError(
        f"{why} needs -o FILE, a regular file; {target.name} is {what}",
        hint="it truncates and rereads the file; write to a regular file instead",
    )


def _own_descriptor(path: str) -> int | None:
    """The descriptor of this process that ``path`` names, following symlinks, if any."""
    hop = os.path.abspath(path)
    for _ in range(_MAX_HOPS):
        head, tail = os.path.split(hop)
        here = os.path.join(os.path.realpath(head), tail)
        proc = _PROC_FD.fullmatch(here)
        if proc is not None:
            return int(proc.group(2)) if int(proc.group(1)) == os.getpid() else None
        dev = _DEV_FD.fullmatch(here)
        if dev is not None and not os.path.islink(here):
            return int(dev.group(1))
        if not os.path.islink(here):
            return None
        hop = os.path.normpath(os.path.join(head, os.readlink(here)))
    return None


def _check_stdout(env: Environment, inputs: Iterable[Source]) -> None:
    # stdout sent to a regular file that is also an input (`>> in.txt`) would read its
    # own output back, without end, as `cat f >> f` would.
    try:
        info = os.fstat(env.stdout.fileno())
    except (AttributeError, ValueError, OSError):
        return
    if stat.S_ISREG(info.st_mode):
        _check_not_input("stdout", info, inputs, env)


def _check_not_input(
    name: str, info: os.stat_result, inputs: Iterable[Source], env: Environment
) -> None:
    for source in inputs:
        other = _stat_input(source, env)
        if other is not None and (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
            raise UsageError(
                f"{name} is the input {source.name} (the same file): writing it would "
                "destroy the input",
                hint="write to another file, then rename it over the input if that is meant",
            )


def _stat_input(source: Source, env: Environment) -> os.stat_result | None:
    try:
        if source.is_stdin:
            return os.fstat(env.stdin.fileno())
        return os.stat(source.name)
    except (AttributeError, ValueError, OSError):
        return None  # no such file, or stdin in memory: the reader reports what it must
