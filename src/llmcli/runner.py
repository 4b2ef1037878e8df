"""Run a task over a stream of items in batches, keeping input order.

Items are read lazily and processed one window at a time, so memory stays bounded by the
window, not the input. Blank lines in ``--lines`` mode are passed through untouched so the
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


#: Most non-blank items handed to a task at once. The task sorts them by length and batches
#: them for the model, so a larger window means less padding; it also bounds memory.
WINDOW_ITEMS = 256
#: Most characters in one window, so windows of long documents stay small in memory.
WINDOW_CHARS = 2_000_000


def run_task(
    task: Task,
    items: Iterable[Item],
    make_input: Callable[[Item], TaskInput] = default_input,
    step: Callable[[int], None] | None = None,
    *,
    window_items: int = WINDOW_ITEMS,
    window_chars: int = WINDOW_CHARS,
) -> Iterator[Outcome]:
    """Yield an :class:`Outcome` per item, in input order, a window of items at a time.

    A window closes after ``window_items`` non-blank items or ``window_chars`` characters,
    whichever comes first, so where windows split depends only on the input.
    """
    pending: list[Item] = []
    work: list[Item] = []
    chars = 0

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
            chars += len(item.text)
            if len(work) >= window_items or chars >= window_chars:
                yield from flush()
                chars = 0
    if pending:
        yield from flush()


def run_record(task: Task, model_record: dict[str, Any]) -> dict[str, Any]:
    """What produced a result: llmcli version, task, model and settings."""
    return {"llmcli": __version__, "task": task.name, **model_record, "settings": task.settings()}
