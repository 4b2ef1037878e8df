"""Run a task over a stream of items in batches, keeping input order.

Items are read lazily and processed one window at a time, so memory stays bounded by the
window, not the input. Blank lines in ``--lines`` mode are passed through untouched so the
output stays line-aligned with the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmcli import __version__
from llmcli.errors import Failure, isolatable
from llmcli.inputs import Item
from llmcli.models.base import ModelChoice
from llmcli.task_names import EMBED
from llmcli.tasks.base import Task, TaskInput, TaskResult, TaskSettings

if TYPE_CHECKING:
    from llmcli.models.embedding import Embedder


@dataclass
class Outcome:
    """One item and its result: ``None`` for a blank line, or for a failed item (with
    ``--keep-going``), whose ``failure`` says why."""

    item: Item
    result: TaskResult | None
    failure: Failure | None = None
    #: What produced it, when not the run's own record (a Ray worker's).
    run: dict[str, Any] | None = None


def default_input(item: Item) -> TaskInput:
    """An item's text as the task input, with its location for file:line:col."""
    return TaskInput(text=item.text, source=item.source, first_line=item.line or 1)


#: Most non-blank items handed to a task at once. The task sorts them by length and batches
#: them for the model, so a larger window means less padding; it also bounds memory, and
#: is how much work ``-o FILE`` commits to its journal at a time.
WINDOW_ITEMS = 256
#: Most characters in one window, so windows of long documents stay small in memory.
WINDOW_CHARS = 2_000_000
#: Most items of any kind in one window: blank lines and unreadable items need no work,
#: but they wait in the window until it is written, so a long run of them must close it.
WINDOW_PENDING = 4096


def run_task(
    task: Task,
    items: Iterable[Item],
    make_input: Callable[[Item], TaskInput] = default_input,
    step: Callable[[int], None] | None = None,
    *,
    window_items: int = WINDOW_ITEMS,
    window_chars: int = WINDOW_CHARS,
    keep_going: bool = False,
) -> Iterator[Outcome]:
    """Yield an :class:`Outcome` per item, in input order, a window of items at a time."""
    for window in run_windows(
        task,
        items,
        make_input,
        step,
        window_items=window_items,
        window_chars=window_chars,
        keep_going=keep_going,
    ):
        yield from window


def run_windows(
    task: Task,
    items: Iterable[Item],
    make_input: Callable[[Item], TaskInput] = default_input,
    step: Callable[[int], None] | None = None,
    *,
    window_items: int = WINDOW_ITEMS,
    window_chars: int = WINDOW_CHARS,
    keep_going: bool = False,
) -> Iterator[list[Outcome]]:
    """Yield the outcomes of each window, in input order.

    A window closes after ``window_items`` non-blank items, ``window_chars`` characters or
    :data:`WINDOW_PENDING` items of any kind, whichever comes first, so where windows split
    depends only on the input (and a run restarted at a window boundary splits the rest
    exactly as an uninterrupted one).
    Items are read up to the end of a window and no further.

    With ``keep_going``, an item whose input cannot be built, or that makes the task
    raise, gets a :class:`Failure` instead of ending the run: a window that raises is
    run again one item at a time, so only the items that fail alone fail.
    """
    pending: list[Item] = []
    work: list[Item] = []
    chars = 0

    def flush() -> list[Outcome]:
        results = iter(_run_window(task, work, make_input, keep_going) if work else [])
        outcomes = []
        for it in pending:
            if it.failure is not None:
                outcomes.append(Outcome(it, None, it.failure))
            elif it.blank:
                outcomes.append(Outcome(it, None))
            else:
                result = next(results)
                if isinstance(result, Failure):
                    outcomes.append(Outcome(it, None, result))
                else:
                    outcomes.append(Outcome(it, result))
        if step is not None and work:
            step(len(work))
        pending.clear()
        work.clear()
        return outcomes

    for item in items:
        pending.append(item)
        if not item.blank and item.failure is None:
            work.append(item)
            chars += len(item.text)
            if len(work) >= window_items or chars >= window_chars:
                yield flush()
                chars = 0
                continue
        if len(pending) >= WINDOW_PENDING:
            yield flush()
            chars = 0
    if pending:
        yield flush()


def _run_window(
    task: Task,
    work: list[Item],
    make_input: Callable[[Item], TaskInput],
    keep_going: bool,
) -> list[TaskResult | Failure]:
    """One result per item of ``work``; with ``keep_going`` failures take their place."""
    if not keep_going:
        return list(task.run([make_input(it) for it in work]))
    results: list[TaskResult | Failure | None] = [None] * len(work)
    inputs: list[tuple[int, TaskInput]] = []
    for i, it in enumerate(work):
        try:
            inputs.append((i, make_input(it)))
        except Exception as exc:
            if not isolatable(exc):
                raise
            results[i] = Failure.of(exc, it.location)
    batch: list[TaskResult] | None = None
    if len(inputs) > 1:
        try:
            batch = list(task.run([x for _, x in inputs]))
        except Exception as exc:
            if not isolatable(exc):
                raise
    if batch is not None:
        for (i, _), result in zip(inputs, batch, strict=True):
            results[i] = result
    else:  # one input, or the window raised: each item on its own
        for i, one in inputs:
            try:
                (results[i],) = task.run([one])
            except Exception as exc:
                if not isolatable(exc):
                    raise
                results[i] = Failure.of(exc, work[i].location)
    return [r for r in results if r is not None]


def load_task(
    task_name: str,
    settings: TaskSettings | None,
    choice: ModelChoice,
    *,
    env: Mapping[str, str],
    notice: Callable[[str], None] | None = None,
    stream: Callable[[str], None] | None = None,
) -> tuple[Task, dict[str, Any]]:
    """Load the model, build the task on it, and say what will produce the results.

    What each engine does once per process (the local one) or per worker (Ray's). The
    sentence embedder is loaded on first use, on the same device and dtype.
    """
    from llmcli.models.loading import load_model
    from llmcli.models.registry import DEFAULTS, env_var
    from llmcli.tasks.base import TaskContext
    from llmcli.tasks.registry import build_task

    chosen = (settings.chosen_embedder() if settings is not None else None) or env.get(
        env_var(EMBED)
    )
    embedder_name = chosen or DEFAULTS[EMBED]

    def load_embedder() -> Embedder:
        from llmcli.models.embedding import Embedder

        # The embedder always runs on torch, in the task's device, dtype and threads.
        embedder_choice = ModelChoice(
            embedder_name, device=choice.device, dtype=choice.dtype, threads=choice.threads
        )
        return Embedder(load_model(embedder_choice, EMBED, env=env, notice=notice))

    loaded = load_model(choice, task_name, env=env, notice=notice)
    task = build_task(
        task_name,
        loaded,
        settings,
        TaskContext(
            notice, load_embedder, embedder_name, embedder_optional=not chosen, stream=stream
        ),
    )
    return task, run_record(task, loaded.run_record())


def run_record(task: Task, model_record: dict[str, Any]) -> dict[str, Any]:
    """What produced a result: llmcli version, task, model and settings."""
    return {"llmcli": __version__, "task": task.name, **model_record, "settings": task.settings()}
