"""Progress bars on stderr, only for a person at a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from llmcli.environment import Environment


class ProgressTask(Protocol):
    """What the core needs from a progress display."""

    def advance(self, amount: int = 1) -> None: ...


class _NoProgress:
    def advance(self, amount: int = 1) -> None:
        return None


class _RichTask:
    def __init__(self, progress: object, task_id: object) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, amount: int = 1) -> None:
        self._progress.advance(self._task_id, amount)  # type: ignore[attr-defined]


@contextlib.contextmanager
def progress(
    env: Environment, description: str, total: int | None, *, enabled: bool = True
) -> Iterator[ProgressTask]:
    """A progress bar on stderr when it is a terminal, --quiet is off and the caller lets
    it (``enabled``); else nothing."""
    if not (enabled and env.show_progress):
        yield _NoProgress()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=env.stderr_console(),
        transient=True,
    ) as bar:
        yield _RichTask(bar, bar.add_task(description, total=total))
