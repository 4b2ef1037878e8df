"""The local engine: the model loaded once in this process, the task run window by window."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence

from llmcli.engines.base import Started, Windows, Work
from llmcli.environment import Environment
from llmcli.inputs import Item, Source
from llmcli.output.journal import Checkpoint, InputHash, skip_done
from llmcli.runner import WINDOW_CHARS, WINDOW_PENDING, Outcome, load_task, run_windows
from llmcli.tasks.base import Task, TaskInput


class LocalEngine:
    """Runs the task in this process; a resumed run skips what its file already holds."""

    @contextlib.contextmanager
    def start(
        self,
        work: Work,
        sources: Sequence[Source],
        env: Environment,
        notice: Callable[[str], None] | None,
    ) -> Iterator[Started]:
        """Load the model and task; the windows read the sources lazily."""
        task, run = load_task(
            work.task_name,
            work.settings,
            work.choice,
            env=env.variables,
            notice=notice,
            stream=work.stream,
        )
        items = work.items if work.items is not None else work.reading.items(sources, env)
        windows = local_windows(
            task, items, work.make_input, window=work.window, keep_going=work.keep_going
        )
        yield Started(
            windows, run, {"run": run, "window": [work.window, WINDOW_CHARS, WINDOW_PENDING]}
        )


def local_windows(
    task: Task,
    items: Iterable[Item],
    make_input: Callable[[Item], TaskInput],
    *,
    window: int,
    keep_going: bool,
) -> Windows:
    """``task`` over ``items`` in this process, as :class:`Windows`."""

    def windows(
        start: Checkpoint, hasher: InputHash, step: Callable[[int], None]
    ) -> Iterator[list[Outcome]]:
        stream = skip_done(items, start, hasher) if start.items else items
        return run_windows(
            task, stream, make_input, step, window_items=window, keep_going=keep_going
        )

    return windows
