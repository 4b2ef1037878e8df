"""The model commands: summarize, translate, ask, sentiment.

Each command only parses its options into a task settings object; :func:`execute` does
the shared part (read items, load the model, run in batches, render, write).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from llmcli.cli.errors import current_environment, handles_errors
from llmcli.cli.model_options import (
    Backend,
    BatchSize,
    ComputeType,
    Device,
    Dtype,
    Engine,
    Field,
    Files,
    Jsonl,
    KeepGoing,
    Lines,
    MaxInputTokens,
    Model,
    RayAddress,
    Resume,
    Seed,
    Threads,
    Workers,
)
from llmcli.cli.options import (
    DEFAULT_MAX_ITEM_SIZE,
    Debug,
    DecodeErrors,
    Encoding,
    JsonOutput,
    MaxItemSize,
    OutputFile,
    Quiet,
)
from llmcli.environment import Environment
from llmcli.errors import UsageError
from llmcli.inputs import InputMode, Item, ReadOptions, Source
from llmcli.tasks.base import TaskInput

if TYPE_CHECKING:
    from llmcli.engines.ray import RayOptions
    from llmcli.output.journal import Checkpoint, InputHash
    from llmcli.output.target import Target
    from llmcli.runner import Outcome


def _mode(lines: bool, jsonl: bool) -> InputMode:
    if lines and jsonl:
        raise UsageError("choose one of --lines and --jsonl")
    return InputMode.LINES if lines else InputMode.JSONL if jsonl else InputMode.WHOLE


@dataclass(frozen=True)
class RunOptions:
    """What every model command shares: inputs, model, engine and output options."""

    files: list[str] | None
    mode: InputMode
    text_field: str
    model: str | None
    device: str
    dtype: str
    batch_size: int | None
    threads: int | None
    backend: str
    compute_type: str
    json_output: bool
    output: str | None
    encoding: str
    errors: str
    keep_going: bool = False
    resume: bool = False
    engine: str = "local"
    ray_address: str | None = None
    workers: int | None = None
    max_item_size: str = DEFAULT_MAX_ITEM_SIZE

    @classmethod
    def of(cls, params: dict[str, Any], **given: Any) -> RunOptions:
        """From a command's parameters (``locals()``), taking each field by its name.

        One place for every shared option, so a new one cannot be forgotten in one of
        the four commands; ``given`` holds what a command derives or names otherwise.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{**{k: v for k, v in params.items() if k in names}, **given})

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
        )


def execute(
    env: Environment,
    *,
    task_name: str,
    settings: Any,
    options: RunOptions,
    languages: tuple[str, str] | None = None,
    make_input: Callable[[Item], TaskInput] | None = None,
    items: list[Item] | None = None,
    identity: dict[str, Any] | None = None,
) -> None:
    """Read, load, run, render and write — the part every model command shares.

    ``identity`` holds what else decides the results (``ask``'s question), for the
    fingerprint that ``--resume`` checks.
    """
    from llmcli.cli.batch import check_resumable, check_resume, window_items
    from llmcli.engines.ray import RayOptions, check_options
    from llmcli.inputs import check_encoding, check_sources, expand_paths, sources_from_args
    from llmcli.output.target import output_target
    from llmcli.tasks.registry import check_backend

    opts = options
    check_encoding(opts.encoding, opts.errors)
    reading = opts.reading()  # a bad --max-item-size fails here
    check_backend(task_name, opts.backend)
    check_resume(opts.output, opts.resume)
    ray_options = RayOptions(opts.ray_address, opts.workers, opts.threads)
    check_options(opts.engine, ray_options, opts.resume)
    window = window_items(env)
    sources = sources_from_args(expand_paths(opts.files))
    # Before anything is read: -o must not be one of the inputs, nor get a temporary
    # file beside a device.
    target = output_target(opts.output, env, sources if items is None else ())
    check_resumable(target, opts.resume)
    if not opts.keep_going and items is None:
        # A typo in a file name must not wait for a model to be prepared or loaded;
        # with --keep-going a missing file becomes an error record instead.
        check_sources(sources, env)
    headers = opts.mode is InputMode.WHOLE and len(sources) > 1 and not opts.json_output
    # Everything that decides the output bytes, so --resume can refuse to mix two commands.
    command = {
        "task": task_name,
        "mode": opts.mode.value,
        "field": opts.text_field,
        "encoding": opts.encoding,
        "errors": opts.errors,
        "json": opts.json_output,
        "headers": headers,
        "keep_going": opts.keep_going,
        "max_item": reading.max_item,
        "window": window,
        **(identity or {}),
    }
    job = _Job(
        env, task_name, settings, opts, languages, make_input, items, window, headers, target
    )
    if opts.engine == "ray":
        job.on_ray(sources, ray_options, command)
    else:
        job.locally(sources, command)


@dataclass(frozen=True)
class _Job:
    """One model command's run, on the local engine or on Ray."""

    env: Environment
    task_name: str
    settings: Any
    opts: RunOptions
    languages: tuple[str, str] | None
    make_input: Callable[[Item], TaskInput] | None
    items: list[Item] | None
    window: int
    headers: bool
    target: Target

    def locally(self, sources: list[Source], command: dict[str, Any]) -> None:
        from llmcli.cli.batch import local_windows
        from llmcli.runner import WINDOW_CHARS, WINDOW_PENDING, default_input, load_task

        opts, env = self.opts, self.env
        task, run = load_task(
            self.task_name,
            self.settings,
            opts.model,
            env=env.variables,
            languages=self.languages,
            notice=_notice_for(env),
            device=opts.device,
            dtype=opts.dtype,
            threads=opts.threads,
            backend=opts.backend,
            compute_type=opts.compute_type,
        )
        stream = self.items if self.items is not None else opts.reading().items(sources, env)
        windows = local_windows(
            task,
            stream,
            self.make_input or default_input,
            window=self.window,
            keep_going=opts.keep_going,
        )
        command = {**command, "run": run, "window": [self.window, WINDOW_CHARS, WINDOW_PENDING]}
        self._write(windows, run, command)

    def on_ray(
        self, sources: list[Source], ray_options: RayOptions, command: dict[str, Any]
    ) -> None:
        import os

        from llmcli.engines import ray as engine
        from llmcli.models.registry import resolve
        from llmcli.runner import default_input

        opts, env = self.opts, self.env
        resolve(opts.model, self.task_name, env.variables, self.languages)  # fail fast
        if self.items is not None:  # ask without context: nothing to spread out
            raise UsageError("--engine ray needs input files or stdin", hint="use the local engine")
        with engine.cluster(env, ray_options, opts.device) as plan:
            spec = engine.WorkerSpec(
                task_name=self.task_name,
                settings=self.settings,
                model=opts.model,
                device=opts.device,
                dtype=opts.dtype,
                threads=plan.threads,
                backend=opts.backend,
                compute_type=opts.compute_type,
                languages=self.languages,
                keep_going=opts.keep_going,
                make_input=self.make_input or default_input,
                window=self.window,
                cwd=os.getcwd(),
                variables=engine.forwarded(env.variables),
            )
            read = opts.reading()

            def windows(
                start: Checkpoint, hasher: InputHash, step: Callable[[int], None]
            ) -> Iterator[list[Outcome]]:
                return engine.run(spec, read, sources, env, plan, step)

            self._write(windows, {}, {**command, "engine": "ray"})

    def _write(self, windows: Any, run: dict[str, Any], command: dict[str, Any]) -> None:
        from llmcli.cli.batch import json_renderer, plain_renderer, write_results

        opts = self.opts
        write_results(
            self.env,
            name=self.task_name,
            windows=windows,
            render=json_renderer(opts.mode, opts.text_field, run)
            if opts.json_output
            else plain_renderer(opts.mode, self.headers),
            target=self.target,
            command=command,
            resume=opts.resume,
        )


def _notice_for(env: Environment) -> Callable[[str], None] | None:
    return None if env.quiet else (lambda msg: print(f"llmcli: {msg}", file=env.stderr))


Sample = Annotated[
    bool, typer.Option("--sample", help="Sample instead of greedy decoding (uses --seed).")
]
Temperature = Annotated[float, typer.Option("--temperature", help="With --sample.")]
NumBeams = Annotated[int, typer.Option("--num-beams", help="Beam search width (1 = greedy).")]
Embedder = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        help="Sentence embedding model for choosing and citing sentences "
        "(default: LLMCLI_MODEL_EMBED, else the built-in minilm).",
        show_default=False,
    ),
]


@handles_errors
def summarize_command(
    ctx: typer.Context,
    files: Files = None,
    max_length: Annotated[
        int, typer.Option("--max-length", help="Most new tokens per summary.")
    ] = 128,
    min_length: Annotated[
        int, typer.Option("--min-length", help="Fewest new tokens per summary.")
    ] = 0,
    sentences: Annotated[
        int | None,
        typer.Option("--sentences", help="At most N sentences per summary.", metavar="N"),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            help="extractive (sentences of the text; default on the built-in models) or "
            "abstractive (written by the model; default on other models).",
            show_default=False,
        ),
    ] = None,
    ratio: Annotated[
        float,
        typer.Option("--ratio", help="Extractive: summary length as a share of the text's words."),
    ] = 0.2,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Abstractive: drop sentences the text does not support."),
    ] = False,
    embedder: Embedder = None,
    num_beams: NumBeams = 1,
    sample: Sample = False,
    temperature: Temperature = 1.0,
    seed: Seed = 0,
    lines: Lines = False,
    jsonl: Jsonl = False,
    field: Field = "text",
    model: Model = None,
    device: Device = "auto",
    dtype: Dtype = "auto",
    batch_size: BatchSize = None,
    threads: Threads = None,
    backend: Backend = "torch",
    compute_type: ComputeType = "auto",
    engine: Engine = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    max_input_tokens: MaxInputTokens = None,
    json_output: JsonOutput = False,
    output: OutputFile = None,
    keep_going: KeepGoing = False,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    errors: DecodeErrors = "strict",
    max_item_size: MaxItemSize = DEFAULT_MAX_ITEM_SIZE,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Summarize each document (long ones map-reduced over token windows)."""
    from llmcli.inputs import require_input
    from llmcli.tasks.summarize import SummarizeSettings

    env = current_environment(ctx)
    mode = _mode(lines, jsonl)
    require_input(files, env, "text to summarize")
    settings = SummarizeSettings(
        max_length=max_length,
        min_length=min_length,
        sentences=sentences,
        max_input_tokens=max_input_tokens,
        method=method.lower() if method else None,
        ratio=ratio,
        strict=strict,
        embedder=embedder,
        num_beams=num_beams,
        do_sample=sample,
        temperature=temperature,
        seed=seed,
        batch_size=batch_size,
    )
    execute(
        env,
        task_name="summarize",
        settings=settings,
        options=RunOptions.of(locals(), mode=mode, text_field=field),
    )


@handles_errors
def translate_command(
    ctx: typer.Context,
    files: Files = None,
    to: Annotated[
        str, typer.Option("--to", "-t", help="Target language, ISO 639-1 (de, fr, es...).")
    ] = ...,  # type: ignore[assignment]
    source: Annotated[str, typer.Option("--from", "-f", help="Source language, ISO 639-1.")] = "en",
    max_length: Annotated[
        int | None,
        typer.Option("--max-length", help="Most new tokens per segment (default: 2x input)."),
    ] = None,
    num_beams: NumBeams = 1,
    sample: Sample = False,
    temperature: Temperature = 1.0,
    seed: Seed = 0,
    lines: Lines = False,
    jsonl: Jsonl = False,
    field: Field = "text",
    model: Model = None,
    device: Device = "auto",
    dtype: Dtype = "auto",
    batch_size: BatchSize = None,
    threads: Threads = None,
    backend: Backend = "torch",
    compute_type: ComputeType = "auto",
    engine: Engine = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    max_input_tokens: MaxInputTokens = None,
    json_output: JsonOutput = False,
    output: OutputFile = None,
    keep_going: KeepGoing = False,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    errors: DecodeErrors = "strict",
    max_item_size: MaxItemSize = DEFAULT_MAX_ITEM_SIZE,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Translate each document or line; whole files keep their Markdown structure."""
    from llmcli.inputs import require_input
    from llmcli.tasks.translate import TranslateSettings, check_languages_early

    env = current_environment(ctx)
    mode = _mode(lines, jsonl)
    require_input(files, env, "text to translate")
    check_languages_early(model, env.variables, source.lower(), to.lower())
    settings = TranslateSettings(
        target=to.lower(),
        source=source.lower(),
        max_length=max_length,
        max_input_tokens=max_input_tokens,
        markdown=mode is InputMode.WHOLE,
        num_beams=num_beams,
        do_sample=sample,
        temperature=temperature,
        seed=seed,
        batch_size=batch_size,
    )
    execute(
        env,
        task_name="translate",
        settings=settings,
        options=RunOptions.of(locals(), mode=mode, text_field=field),
        languages=(source.lower(), to.lower()),
    )


@handles_errors
def ask_command(
    ctx: typer.Context,
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="QUESTION then context files (none: stdin, or no context on a terminal). "
            "With --jsonl: only files.",
            show_default=False,
            metavar="QUESTION [FILE]...",
        ),
    ] = None,
    question_field: Annotated[
        str, typer.Option("--question-field", help="With --jsonl: the question field.")
    ] = "question",
    context_field: Annotated[
        str, typer.Option("--context-field", help="With --jsonl: the context field.")
    ] = "context",
    max_answer_tokens: Annotated[
        int, typer.Option("--max-answer-tokens", help="Longest answer in tokens.")
    ] = 32,
    stride: Annotated[
        int, typer.Option("--stride", help="Tokens shared by consecutive context windows.")
    ] = 128,
    top_k: Annotated[
        int,
        typer.Option(
            "--top-k",
            help="Generative models read only the K sentences closest to the question "
            "(with their neighbours); 0 reads the whole text.",
            min=0,
        ),
    ] = 4,
    embedder: Embedder = None,
    lines: Lines = False,
    jsonl: Jsonl = False,
    model: Model = None,
    device: Device = "auto",
    dtype: Dtype = "auto",
    batch_size: BatchSize = None,
    threads: Threads = None,
    backend: Backend = "torch",
    compute_type: ComputeType = "auto",
    engine: Engine = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    max_input_tokens: MaxInputTokens = None,
    json_output: JsonOutput = False,
    output: OutputFile = None,
    keep_going: KeepGoing = False,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    errors: DecodeErrors = "strict",
    max_item_size: MaxItemSize = DEFAULT_MAX_ITEM_SIZE,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Answer a question from the given text (or from the model alone, and say so)."""
    from llmcli.inputs import STDIN_NAME, Source, text_field
    from llmcli.tasks.ask import AskSettings

    env = current_environment(ctx)
    mode = _mode(lines, jsonl)
    args = list(args or [])
    question: str | None = None
    if mode is not InputMode.JSONL:
        if not args:
            raise UsageError("ask needs a question", hint='llmcli ask "Who signed it?" FILE')
        question, args = args[0], args[1:]
    settings = AskSettings(
        max_answer_tokens=max_answer_tokens,
        max_input_tokens=max_input_tokens,
        stride=stride,
        retrieve=top_k,
        embedder=embedder,
        batch_size=batch_size,
    )

    def make_input(item: Item) -> TaskInput:
        if mode is InputMode.JSONL:
            q = text_field(
                Source(item.source),
                item.line or 0,
                item.record,
                question_field,
                "--question-field",
            )
            return TaskInput(text=item.text, question=q, source=item.source, first_line=1)
        return TaskInput(
            text=item.text, question=question, source=item.source, first_line=item.line or 1
        )

    items: list[Item] | None = None
    if not args and mode is not InputMode.JSONL and env.stdin_isatty:
        # Nothing to read: answer from the model alone (the result says it is ungrounded).
        items = [Item(text="", source=STDIN_NAME, index=0)]
    execute(
        env,
        task_name="ask",
        settings=settings,
        options=RunOptions.of(locals(), mode=mode, text_field=context_field, files=args),
        make_input=make_input,
        items=items,
        identity={"question": question, "question_field": question_field},
    )


@handles_errors
def sentiment_command(
    ctx: typer.Context,
    files: Files = None,
    labels: Annotated[
        str,
        typer.Option(
            "--labels",
            help="Comma-separated label words for generative models (classifiers use "
            "their own labels).",
        ),
    ] = "negative,positive",
    lines: Lines = False,
    jsonl: Jsonl = False,
    field: Field = "text",
    model: Model = None,
    device: Device = "auto",
    dtype: Dtype = "auto",
    batch_size: BatchSize = None,
    threads: Threads = None,
    backend: Backend = "torch",
    compute_type: ComputeType = "auto",
    engine: Engine = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
    max_input_tokens: MaxInputTokens = None,
    json_output: JsonOutput = False,
    output: OutputFile = None,
    keep_going: KeepGoing = False,
    resume: Resume = False,
    encoding: Encoding = "utf-8",
    errors: DecodeErrors = "strict",
    max_item_size: MaxItemSize = DEFAULT_MAX_ITEM_SIZE,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Label and probability per item; long documents are scored in chunks."""
    from llmcli.inputs import require_input
    from llmcli.tasks.sentiment import SentimentSettings

    env = current_environment(ctx)
    mode = _mode(lines, jsonl)
    require_input(files, env, "text to classify")
    label_words = tuple(w.strip() for w in labels.split(",") if w.strip())
    if len(label_words) < 2:
        raise UsageError("--labels needs at least two comma-separated labels")
    settings = SentimentSettings(
        labels=label_words, max_input_tokens=max_input_tokens, batch_size=batch_size
    )
    execute(
        env,
        task_name="sentiment",
        settings=settings,
        options=RunOptions.of(locals(), mode=mode, text_field=field),
    )
