"""Writing a model command's results: window by window, to stdout or a journaled ``-o FILE``.

This is where ``--keep-going`` (failed items become error records, exit 4 at the end),
``--resume`` (skip what an interrupted ``-o FILE`` run committed) and Ctrl-C (stop, keep
what is committed, exit 130) meet the runner; see :mod:`llmcli.output.journal` for the
files and :func:`llmcli.runner.run_windows` for the windows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Protocol

import typer

from llmcli.environment import Environment
from llmcli.errors import Interrupted, UsageError
from llmcli.exit_status import ExitStatus
from llmcli.inputs import InputMode, Item
from llmcli.output.journal import Checkpoint, InputHash, Journaled, journaled_output, skip_done
from llmcli.output.target import Target, TargetKind, require_file
from llmcli.tasks.base import Task, TaskInput

if TYPE_CHECKING:
    from llmcli.runner import Outcome

#: Renders one outcome; the flag says whether it is the first thing written.
Render = Callable[["Outcome", bool], str]

#: Environment variable: non-blank items per window (the unit of work committed to the
#: journal of ``-o FILE``); default :data:`llmcli.runner.WINDOW_ITEMS`.
WINDOW_VARIABLE = "LLMCLI_WINDOW_ITEMS"


class _Sink(Protocol):
    start: Checkpoint
    committed: Checkpoint

    def commit(self, text: str, items: int, failed: int, input_digest: str) -> None: ...


class _StdoutSink:
    """Results on stdout, flushed a window at a time; nothing to resume."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.start = Checkpoint()
        self.committed = Checkpoint()

    def commit(self, text: str, items: int, failed: int, input_digest: str) -> None:
        self._stream.write(text)
        self._stream.flush()
        c = self.committed
        self.committed = Checkpoint(c.items + items, c.bytes, c.failed + failed, input_digest)


def window_items(env: Environment) -> int:
    """Items per window: ``$LLMCLI_WINDOW_ITEMS``, else the runner's default."""
    from llmcli.runner import WINDOW_ITEMS

    raw = env.variables.get(WINDOW_VARIABLE, "").strip()
    if not raw:
        return WINDOW_ITEMS
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{WINDOW_VARIABLE} must be a positive whole number, not {raw!r}")
    return int(raw)


def check_resume(output: str | None, resume: bool) -> None:
    """``--resume`` continues a file: it needs ``-o FILE``."""
    if resume and output in (None, "-"):
        raise UsageError(
            "--resume needs -o FILE", hint="it continues the output file of an interrupted run"
        )


def check_resumable(target: Target, resume: bool) -> None:
    """``--resume`` truncates and rereads its file: not a device or pipe."""
    if resume:
        require_file(target, "--resume")


@contextlib.contextmanager
def _open_sink(
    target: Target, command: dict[str, Any], resume: bool, env: Environment
) -> Iterator[_Sink]:
    from llmcli.output.writer import open_output

    if target.kind is TargetKind.FILE:
        with journaled_output(target, command, resume=resume, env=env) as journaled:
            yield journaled
    else:
        # stdout, a device or a pipe: written a window at a time, with nothing to resume.
        with open_output(target, env) as stream:
            yield _StdoutSink(stream)


#: Where a run's outcomes come from, a window at a time: given the point a resumed run
#: starts from, the input hash to bring up to it, and a progress callback.
Windows = Callable[[Checkpoint, InputHash, Callable[[int], None]], Iterator[list["Outcome"]]]


def local_windows(
    task: Task,
    items: Iterable[Item],
    make_input: Callable[[Item], TaskInput],
    *,
    window: int,
    keep_going: bool,
) -> Windows:
    """The local engine: ``task`` over ``items`` in this process."""
    from llmcli.runner import run_windows

    def windows(
        start: Checkpoint, hasher: InputHash, step: Callable[[int], None]
    ) -> Iterator[list[Outcome]]:
        stream = skip_done(items, start, hasher) if start.items else items
        return run_windows(
            task, stream, make_input, step, window_items=window, keep_going=keep_going
        )

    return windows


def write_results(
    env: Environment,
    *,
    name: str,
    windows: Windows,
    render: Render,
    target: Target,
    command: dict[str, Any],
    resume: bool,
) -> None:
    """Write what ``render(outcome, first)`` makes of each outcome ``windows`` yields.

    ``target`` comes from :func:`llmcli.output.target.output_target`; ``name`` labels
    the progress bar. Raises ``typer.Exit(4)`` at the end when items failed
    (``--keep-going``), and :class:`Interrupted` on Ctrl-C, saying how far the
    run got.
    """
    from llmcli.output.progress import progress

    sink: _Sink | None = None
    try:
        with (
            _open_sink(target, command, resume, env) as sink,
            progress(env, name, None) as bar,
        ):
            hasher = InputHash()  # a resumed run brings it up to its starting point
            first = sink.start.items == 0
            for outcomes in windows(sink.start, hasher, bar.advance):
                parts = []
                failed = 0
                for outcome in outcomes:
                    hasher.add(outcome.item)
                    if outcome.failure is not None:
                        print(f"llmcli: error: {outcome.failure.message}", file=env.stderr)
                        failed += 1
                    parts.append(render(outcome, first))
                    first = False
                sink.commit("".join(parts), len(outcomes), failed, hasher.digest)
    except KeyboardInterrupt:
        done = sink.committed.items if sink is not None else 0
        message = f"interrupted after {_items(done)}"
        if isinstance(sink, Journaled) and done:
            message += "; run the same command with --resume to continue"
        raise Interrupted(message) from None
    except BaseException:
        if isinstance(sink, Journaled) and sink.committed.items > sink.start.items:
            print(
                f"llmcli: {_items(sink.committed.items)} finished and kept in {sink.partial}; "
                "once the problem is fixed, the same command with --resume continues there",
                file=env.stderr,
            )
        raise
    if sink.committed.failed:
        print(
            f"llmcli: {sink.committed.failed} of {_items(sink.committed.items)} failed "
            f"(exit {int(ExitStatus.ITEMS_FAILED)})",
            file=env.stderr,
        )
        raise typer.Exit(int(ExitStatus.ITEMS_FAILED))


def plain_renderer(mode: InputMode, headers: bool) -> Render:
    """Plain output for one outcome: its line(s), under ``==> FILE <==`` with ``headers``."""
    from llmcli.output import records

    def render(outcome: Outcome, first: bool) -> str:
        head = (("" if first else "\n") + f"==> {outcome.item.source} <==\n") if headers else ""
        return head + records.plain(outcome, mode) + "\n"

    return render


def json_renderer(mode: InputMode, text_field: str, run: dict[str, Any]) -> Render:
    """One JSON line per outcome."""
    from llmcli.output import records
    from llmcli.output.writer import to_json

    def render(outcome: Outcome, first: bool) -> str:
        return to_json(records.record(outcome, mode, text_field, run)) + "\n"

    return render


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"
