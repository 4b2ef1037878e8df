"""A model command's job: check the options, pick an engine, run, and write the results.

This is the program behind ``summarize``, ``translate``, ``ask`` and ``sentiment``; the
CLI only parses options into :class:`RunOptions` and a task's settings. Here the job
checks option combinations before anything slow, fingerprints the command for
``--resume``, hands the work to an engine (:mod:`llmcli.engines`), and writes what it
yields window by window through a sink (:mod:`llmcli.output.sinks`). That is where
``--keep-going`` (failed items become error records; :class:`ItemsFailed` at the end),
``--resume`` (skip what an interrupted ``-o FILE`` run committed) and Ctrl-C (keep what
is committed; :class:`Interrupted`) meet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmcli.environment import Environment
from llmcli.errors import Interrupted, ItemsFailed, UsageError
from llmcli.exit_status import ExitStatus
from llmcli.inputs import DEFAULT_MAX_ITEM_SIZE, InputMode, Item, ReadOptions
from llmcli.models.base import ModelChoice
from llmcli.tasks.base import TaskInput, TaskSettings

if TYPE_CHECKING:
    from llmcli.engines.base import Engine, Windows
    from llmcli.engines.ray import RayOptions
    from llmcli.output.records import Render
    from llmcli.output.target import Target

#: Environment variable: non-blank items per window (the unit of work committed to the
#: journal of ``-o FILE``); default :data:`llmcli.runner.WINDOW_ITEMS`.
WINDOW_VARIABLE = "LLMCLI_WINDOW_ITEMS"


@dataclass(frozen=True)
class RunOptions:
    """What every model command shares: inputs, model, engine and output options."""

    files: list[str] | None
    mode: InputMode
    choice: ModelChoice = field(default_factory=ModelChoice)
    text_field: str = "text"
    json_output: bool = False
    output: str | None = None
    encoding: str = "utf-8"
    errors: str = "strict"
    keep_going: bool = False
    resume: bool = False
    engine: str = "local"
    ray_address: str | None = None
    workers: int | None = None
    max_item_size: str = DEFAULT_MAX_ITEM_SIZE
    #: An empty stdin is an item with no text, not an error (see :class:`ReadOptions`).
    empty_stdin: bool = False

    def reading(self) -> ReadOptions:
        """How the inputs are cut into items."""
        from llmcli.inputs import parse_size

        return ReadOptions(
            self.mode,
            self.text_field,
            self.encoding,
            self.errors,
            self.keep_going,
            parse_size(self.max_item_size),
            self.empty_stdin,
        )


@dataclass(frozen=True)
class Job:
    """One model command: a task with its settings, over the inputs of ``options``."""

    task_name: str
    settings: TaskSettings
    options: RunOptions
    #: How an item becomes the task's input (``ask`` adds its question); None: as is.
    make_input: Callable[[Item], TaskInput] | None = None
    #: Items given instead of read (``ask`` with no context on a terminal).
    items: list[Item] | None = None
    #: What else decides the results (``ask``'s question), for the ``--resume`` check.
    identity: dict[str, Any] = field(default_factory=dict)
    #: Write text to stdout as it is made (``generate``), where that can work: plain
    #: output on stdout, one document, the local engine. Elsewhere results come whole.
    stream: bool = False


def run(env: Environment, job: Job) -> None:
    """Read, load, run, render and write ``job``.

    Raises the core's typed errors: UsageError for bad options (before anything is read
    or loaded), :class:`ItemsFailed` when ``--keep-going`` recorded failures,
    :class:`Interrupted` on Ctrl-C.
    """
    from llmcli.engines.base import Work
    from llmcli.engines.ray import RayOptions, check_options
    from llmcli.inputs import check_encoding, check_sources, expand_paths, sources_from_args
    from llmcli.output.records import json_renderer, plain_renderer, streamed_renderer
    from llmcli.output.target import output_target
    from llmcli.output.writer import StreamedStdout
    from llmcli.runner import default_input
    from llmcli.tasks.registry import check_backend

    opts = job.options
    check_encoding(opts.encoding, opts.errors)
    reading = opts.reading()  # a bad --max-item-size fails here
    check_backend(job.task_name, opts.choice.backend)
    opts.choice.check()  # dtype, backend, compute type and threads, before anything is read
    check_resume(opts.output, opts.resume)
    ray_options = RayOptions(opts.ray_address, opts.workers, opts.choice.threads)
    check_options(opts.engine, ray_options, opts.resume)
    window = window_items(env)
    sources = sources_from_args(expand_paths(opts.files))
    # Before anything is read: -o must not be one of the inputs, nor get a temporary
    # file beside a device.
    target = output_target(opts.output, env, sources if job.items is None else ())
    check_resumable(target, opts.resume)
    if not opts.keep_going and job.items is None:
        # A typo in a file name must not wait for a model to be prepared or loaded;
        # with --keep-going a missing file becomes an error record instead.
        check_sources(sources, env)
    headers = opts.mode is InputMode.WHOLE and len(sources) > 1 and not opts.json_output
    # Everything that decides the output bytes, so --resume can refuse to mix two commands.
    command = {
        "task": job.task_name,
        "mode": opts.mode.value,
        "field": opts.text_field,
        "encoding": opts.encoding,
        "errors": opts.errors,
        "json": opts.json_output,
        "headers": headers,
        "keep_going": opts.keep_going,
        "max_item": reading.max_item,
        "window": window,
        **job.identity,
    }
    streaming = (
        job.stream
        and not opts.json_output
        and target.is_stdout
        and opts.engine == "local"
        and opts.mode is InputMode.WHOLE
        and len(sources if job.items is None else job.items) == 1
    )
    streamed = StreamedStdout(env) if streaming else None
    work = Work(
        task_name=job.task_name,
        settings=job.settings,
        choice=opts.choice,
        reading=reading,
        make_input=job.make_input or default_input,
        window=window,
        keep_going=opts.keep_going,
        items=job.items,
        stream=streamed,
    )
    with _engine(opts.engine, ray_options).start(work, sources, env, _notice_for(env)) as started:
        render = (
            json_renderer(opts.mode, opts.text_field, started.run)
            if opts.json_output
            else streamed_renderer(opts.mode, streamed)
            if streamed is not None
            else plain_renderer(opts.mode, headers)
        )
        write_results(
            env,
            name=job.task_name,
            windows=started.windows,
            render=render,
            target=target,
            command={**command, **started.command},
            resume=opts.resume,
            # A live bar on the terminal would tear through the text streaming above it.
            show_progress=streamed is None,
        )


def _engine(name: str, ray_options: RayOptions) -> Engine:
    if name == "ray":
        from llmcli.engines.ray import RayEngine

        return RayEngine(ray_options)
    from llmcli.engines.local import LocalEngine

    return LocalEngine()


def _notice_for(env: Environment) -> Callable[[str], None] | None:
    return None if env.quiet else (lambda msg: print(f"llmcli: {msg}", file=env.stderr))


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
    from llmcli.output.target import require_file

    if resume:
        require_file(target, "--resume")


def write_results(
    env: Environment,
    *,
    name: str,
    windows: Windows,
    render: Render,
    target: Target,
    command: dict[str, Any],
    resume: bool,
    show_progress: bool = True,
) -> None:
    """Write what ``render(outcome, first)`` makes of each outcome ``windows`` yields.

    ``target`` comes from :func:`llmcli.output.target.output_target`; ``name`` labels
    the progress bar. Raises :class:`ItemsFailed` at the end when items failed
    (``--keep-going``), and :class:`Interrupted` on Ctrl-C, saying how far the run got.
    """
    from llmcli.output.journal import InputHash, Journaled
    from llmcli.output.progress import progress
    from llmcli.output.sinks import Sink, open_sink

    sink: Sink | None = None
    try:
        with (
            open_sink(target, command, resume, env) as sink,
            progress(env, name, None, enabled=show_progress) as bar,
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
        raise ItemsFailed(
            f"{sink.committed.failed} of {_items(sink.committed.items)} failed "
            f"(exit {int(ExitStatus.ITEMS_FAILED)})"
        )


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"
