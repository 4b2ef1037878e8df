"""Run a task over a stream of items in batches, keeping input order.

Items are read lazily and processed one batch at a time, so memory stays bounded by the
batch, not the input. Blank lines in ``--lines`` mode are passed through untouched so the
output stays line-aligned with the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from llmcli import __version__
from llmcli.inputs import Item
from llmcli.tasks.base import Task, TaskInput, TaskResult


@dataclass
class Outcome:
    """One item and its result (``None`` for a blank line that needed no work)."""

    item: Item
    result: TaskResult | None


def default_input(item: Item) -> TaskInput:
    """An item's text as the task input, with its location for file:line:col."""
    return TaskInput(text=item.text, source=item.source, first_line=item.line or 1)


def run_task(
    task: Task,
    items: Iterable[Item],
    batch_size: int,
    make_input: Callable[[Item], TaskInput] = default_input,
    step: Callable[[int], None] | None = None,
) -> Iterator[Outcome]:
    """Yield an :class:`Outcome` per item, in input order, processing ``batch_size`` at a time."""
    pending: list[Item] = []
    work: list[Item] = []

    def flush() -> Iterator[Outcome]:
        results = iter(task.run([make_input(it) for it in work]) if work else [])
        for it in pending:
            yield Outcome(it, None if it.blank else next(results))
        if step is not None and work:
            step(len(work))
        pending.clear()
        work.clear()

    for item in items:
        pending.append(item)
        if not item.blank:
            work.append(item)
            if len(work) >= batch_size:
                yield from flush()
    if pending:
        yield from flush()


def run_record(task: Task, model_record: dict[str, Any]) -> dict[str, Any]:
    """What produced a result: llmcli version, task, model and settings."""
    return {"llmcli": __version__, "task": task.name, **model_record, "settings": task.settings()}
