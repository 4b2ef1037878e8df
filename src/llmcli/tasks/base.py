"""The contract between the CLI runner and the task adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


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


class Task(Protocol):
    """A configured task bound to a loaded model."""

    name: str

    def settings(self) -> dict[str, Any]:
        """Task settings for the run record (max length, beams, languages...)."""
        ...

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Process a batch; results in input order, one per input."""
        ...
