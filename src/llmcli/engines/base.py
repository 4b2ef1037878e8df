"""The engine contract: given a job's work, yield its outcomes a window at a time.

The job (:mod:`llmcli.job`) checks options, reads nothing itself, and writes what an
engine yields; an engine decides where the model is loaded and the task runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from llmcli.inputs import Item, ReadOptions, Source
from llmcli.models.base import ModelChoice
from llmcli.tasks.base import TaskInput, TaskSettings

if TYPE_CHECKING:
    from llmcli.environment import Environment
    from llmcli.output.journal import Checkpoint, InputHash
    from llmcli.runner import Outcome

#: Where a run's outcomes come from, a window at a time: given the point a resumed run
#: starts from, the input hash to bring up to it, and a progress callback.
Windows = Callable[["Checkpoint", "InputHash", Callable[[int], None]], Iterator[list["Outcome"]]]


@dataclass(frozen=True)
class Work:
    """What an engine runs: one task with its settings and model, over one input."""

    task_name: str
    settings: TaskSettings
    choice: ModelChoice
    reading: ReadOptions
    make_input: Callable[[Item], TaskInput]
    window: int  # non-blank items per window
    keep_going: bool = False
    #: Items given instead of read from the sources (``ask`` with no context).
    items: list[Item] | None = None
    #: Where a streaming task writes its text as it is made (the local engine only).
    stream: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Started:
    """An engine ready to run: its windows, and what it adds to the job's records."""

    windows: Windows
    #: The run record JSON results carry; empty when each outcome brings its own.
    run: dict[str, Any] = field(default_factory=dict)
    #: What else the ``--resume`` fingerprint records about this engine.
    command: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """One way to run a job's work."""

    def start(
        self,
        work: Work,
        sources: Sequence[Source],
        env: Environment,
        notice: Callable[[str], None] | None,
    ) -> AbstractContextManager[Started]:
        """Load what the work needs and hand back its windows, for as long as the
        context lasts (the Ray engine holds its cluster connection meanwhile)."""
        ...
