"""Where a job's windows of rendered results go: a journaled ``-o FILE``, or a stream.

A sink takes one window's text at a time with :meth:`Sink.commit`; what it has committed
is what survives a crash or Ctrl-C (see :mod:`llmcli.output.journal`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO, Any, Protocol

from llmcli.environment import Environment
from llmcli.output.journal import Checkpoint, journaled_output
from llmcli.output.target import Target, TargetKind


class Sink(Protocol):
    """Takes a job's results a window at a time."""

    start: Checkpoint  # where a resumed run starts (nothing for a fresh one)
    committed: Checkpoint  # what is written and will stay

    def commit(self, text: str, items: int, failed: int, input_digest: str) -> None: ...


class StreamSink:
    """Results on stdout (or a device or pipe), flushed a window at a time; no resuming."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.start = Checkpoint()
        self.committed = Checkpoint()

    def commit(self, text: str, items: int, failed: int, input_digest: str) -> None:
        """Write and flush one window's text."""
        self._stream.write(text)
        self._stream.flush()
        c = self.committed
        self.committed = Checkpoint(c.items + items, c.bytes, c.failed + failed, input_digest)


@contextlib.contextmanager
def open_sink(
    target: Target, command: dict[str, Any], resume: bool, env: Environment
) -> Iterator[Sink]:
    """The sink for ``target``: journaled when it is a regular file (``command`` is the
    fingerprint ``--resume`` checks), else a stream."""
    from llmcli.output.writer import open_output

    if target.kind is TargetKind.FILE:
        with journaled_output(target, command, resume=resume, env=env) as journaled:
            yield journaled
    else:
        with open_output(target, env) as stream:
            yield StreamSink(stream)
