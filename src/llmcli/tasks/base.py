"""The contract between the CLI runner and the task adapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from llmcli.models.embedding import Embedder


@dataclass(kw_only=True)
class TaskSettings:
    """The base of every task's options (``SummarizeSettings``...): what the runner and
    the engines carry without knowing the task."""

    def chosen_embedder(self) -> str | None:
        """The sentence embedder the user named for this task; None: the default."""
        return None


@dataclass
class TaskInput:
    """One item to process."""

    text: str  # the document / context / sentence
    question: str | None = None  # ``ask`` only
    source: str | None = None  # file name (or "<stdin>") for file:line:col locations
    first_line: int = 1  # line number of ``text``'s first line in ``source``


@dataclass
class TaskResult:
    """One item's result: a plain-text rendering and the JSON fields."""

    text: str  # what plain (non --json) output prints for this item, on one line
    fields: dict[str, Any] = field(default_factory=dict)  # merged into the JSON record


@dataclass
class TaskContext:
    """What a task may use beside its model: a notice line on stderr, and a sentence
    embedder (loaded on first use, so tasks that never retrieve never load it)."""

    notice: Callable[[str], None] | None = None
    embedder_loader: Callable[[], Embedder] | None = None
    embedder_name: str | None = None  # what the loader loads, for the run record
    # The built-in default may be missing (offline, never prepared): the tasks then fall
    # back. An embedder the user named is not replaced behind their back: its error stands.
    embedder_optional: bool = True
    #: Where a task that can stream (generate) writes its text as it is made; None: don't.
    stream: Callable[[str], None] | None = None
    _embedder: Embedder | None = field(default=None, repr=False)
    _said: set[str] = field(default_factory=set, repr=False)

    def embedder(self) -> Embedder | None:
        """The sentence embedder, loading it the first time; None when there is none.

        An optional embedder that cannot be had (not prepared, and offline) is said once
        on stderr; the tasks then fall back to what needs none (see their docs). One the
        user chose raises its :class:`ModelUnavailableError` (exit 3).
        """
        from llmcli.errors import ModelUnavailableError

        if self._embedder is None and self.embedder_loader is not None:
            try:
                self._embedder = self.embedder_loader()
            except ModelUnavailableError as exc:
                if not self.embedder_optional:
                    raise
                self.embedder_loader = None
                self.say(
                    f"no sentence embedder ({exc.message}); "
                    "retrieval uses word overlap, summaries take the leading sentences"
                )
        return self._embedder

    def say(self, message: str) -> None:
        """One line on stderr (when not quiet), once: many questions about one file
        would otherwise repeat the same language warning for each."""
        if self.notice is not None and message not in self._said:
            self._said.add(message)
            self.notice(message)


class Task(Protocol):
    """A configured task bound to a loaded model."""

    name: str

    def settings(self) -> dict[str, Any]:
        """Task settings for the run record (max length, beams, languages...)."""
        ...

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Process a batch; results in input order, one per input."""
        ...
