"""The model commands: summarize, translate, ask, sentiment.

Each command only parses its options into a task settings object and the job's options;
:func:`llmcli.job.run` does the rest (read items, load the model, run, render, write).
"""

from __future__ import annotations

import dataclasses
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
    Quantize,
    RayAddress,
    Resume,
    Seed,
    Threads,
    Workers,
)
from llmcli.cli.options import (
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
from llmcli.inputs import DEFAULT_MAX_ITEM_SIZE, InputMode, Item
from llmcli.models.base import ModelChoice
from llmcli.task_names import ASK, SENTIMENT, SUMMARIZE, TRANSLATE
from llmcli.tasks.base import TaskInput, TaskSettings

if TYPE_CHECKING:
    from llmcli.job import RunOptions


def input_mode(lines: bool, jsonl: bool) -> InputMode:
    if lines and jsonl:
        raise UsageError("choose one of --lines and --jsonl")
    return InputMode.LINES if lines else InputMode.JSONL if jsonl else InputMode.WHOLE


def job_options(params: dict[str, Any], **given: Any) -> RunOptions:
    """The job's options from a command's parameters (``locals()``), each by its name.

    One place for every shared option, so a new one cannot be forgotten in one of the
    four commands: a loading option is a field of :class:`ModelChoice`, the rest of
    :class:`RunOptions`. ``given`` holds what a command derives or names otherwise.
    """
    from llmcli.job import RunOptions

    def taken(cls: Any, values: dict[str, Any]) -> dict[str, Any]:
        names = {f.name for f in dataclasses.fields(cls)}
        return {k: v for k, v in values.items() if k in names}

    values = {**params, **given}
    choice = ModelChoice(**taken(ModelChoice, values))
    return RunOptions(**{**taken(RunOptions, values), "choice": choice})


def run_job(
    env: Environment, task_name: str, settings: TaskSettings, options: RunOptions, **job: Any
) -> None:
    from llmcli import job as core

    core.run(env, core.Job(task_name, settings, options, **job))


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
    quantize: Quantize = "auto",
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
    mode = input_mode(lines, jsonl)
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
    run_job(env, SUMMARIZE, settings, job_options(locals(), mode=mode, text_field=field))


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
    num_beams: Annotated[
        int | None,
        typer.Option(
            "--num-beams",
            help="Beam search width (1 = greedy). Default: 2, or 1 with --sample.",
            show_default=False,
        ),
    ] = None,
    sample: Sample = False,
    temperature: Temperature = 1.0,
    seed: Seed = 0,
    lines: Lines = False,
    jsonl: Jsonl = False,
    field: Field = "text",
    model: Model = None,
    device: Device = "auto",
    dtype: Dtype = "auto",
    quantize: Quantize = "auto",
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
    from llmcli.tasks.translate import DEFAULT_BEAMS, TranslateSettings, check_languages_early

    env = current_environment(ctx)
    mode = input_mode(lines, jsonl)
    require_input(files, env, "text to translate")
    check_languages_early(model, env.variables, source.lower(), to.lower())
    settings = TranslateSettings(
        target=to.lower(),
        source=source.lower(),
        max_length=max_length,
        max_input_tokens=max_input_tokens,
        markdown=mode is InputMode.WHOLE,
        num_beams=num_beams if num_beams is not None else 1 if sample else DEFAULT_BEAMS,
        do_sample=sample,
        temperature=temperature,
        seed=seed,
        batch_size=batch_size,
    )
    languages = (source.lower(), to.lower())
    run_job(
        env,
        TRANSLATE,
        settings,
        job_options(locals(), mode=mode, text_field=field, languages=languages),
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
    quantize: Quantize = "auto",
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
    mode = input_mode(lines, jsonl)
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
    run_job(
        env,
        ASK,
        settings,
        job_options(locals(), mode=mode, text_field=context_field, files=args),
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
    quantize: Quantize = "auto",
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
    mode = input_mode(lines, jsonl)
    require_input(files, env, "text to classify")
    label_words = tuple(w.strip() for w in labels.split(",") if w.strip())
    if len(label_words) < 2:
        raise UsageError("--labels needs at least two comma-separated labels")
    settings = SentimentSettings(
        labels=label_words, max_input_tokens=max_input_tokens, batch_size=batch_size
    )
    run_job(env, SENTIMENT, settings, job_options(locals(), mode=mode, text_field=field))
