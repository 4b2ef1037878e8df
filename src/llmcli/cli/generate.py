"""``llmcli generate``: free text from a prompt, streamed to stdout as it is made."""

from __future__ import annotations

from typing import Annotated

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
    Jsonl,
    KeepGoing,
    Lines,
    Model,
    Quantize,
    RayAddress,
    Resume,
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
from llmcli.cli.tasks import input_mode, job_options, run_job
from llmcli.errors import UsageError
from llmcli.inputs import DEFAULT_MAX_ITEM_SIZE, InputMode, Item
from llmcli.task_names import GENERATE

#: Where an item that is the PROMPT argument alone says it came from.
PROMPT_SOURCE = "<prompt>"


@handles_errors
def generate_command(
    ctx: typer.Context,
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="PROMPT, then files whose text follows it (none: stdin when piped). "
            "With --lines or --jsonl: only files, one prompt per line or record.",
            show_default=False,
            metavar="[PROMPT] [FILE]...",
        ),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option("--system", help="A system turn before the prompt (chat models)."),
    ] = None,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", help="Most new tokens per text.", min=1)
    ] = 200,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Sampling temperature (> 0).")
    ] = 0.8,
    top_p: Annotated[
        float, typer.Option("--top-p", help="Sample from the smallest set of tokens of this mass.")
    ] = 0.95,
    greedy: Annotated[
        bool, typer.Option("--greedy", help="The most likely token at each step, no sampling.")
    ] = False,
    num_beams: Annotated[
        int, typer.Option("--num-beams", help="Beam search width (implies --greedy).", min=1)
    ] = 1,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed for sampling (default: a new one each run, kept in the JSON record).",
            show_default=False,
        ),
    ] = None,
    stop: Annotated[
        list[str] | None,
        typer.Option(
            "--stop", help="End the text before this string (repeatable).", show_default=False
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("-n", "--samples", help="Texts per prompt.", min=1, metavar="N")
    ] = 1,
    repetition_penalty: Annotated[
        float, typer.Option("--repetition-penalty", help="Above 1 discourages repeats.")
    ] = 1.0,
    truncate: Annotated[
        str | None,
        typer.Option(
            "--truncate",
            help="left: keep the end of a prompt longer than the model's window "
            "(default: such a prompt is an error).",
            show_default=False,
        ),
    ] = None,
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
    """Write text from a prompt (a chat turn for chat models, a continuation otherwise)."""
    from llmcli.tasks.generate import GenerateSettings

    env = current_environment(ctx)
    mode = input_mode(lines, jsonl)
    args = list(args or [])
    prompt: str | None = None
    if mode is InputMode.WHOLE and args:
        prompt, args = args[0], args[1:]
    settings = GenerateSettings(
        max_new_tokens=max_new_tokens,
        prompt=prompt,
        system=system,
        stop=tuple(stop or ()),
        samples=samples,
        truncate=truncate.lower() if truncate else None,
        repetition_penalty=repetition_penalty,
        do_sample=not greedy and num_beams == 1,
        temperature=temperature,
        top_p=top_p,
        num_beams=num_beams,
        seed=seed,
        batch_size=batch_size,
    )
    settings.check()  # bad ranges exit 2 before a model is loaded
    items: list[Item] | None = None
    if not args and env.stdin_isatty:
        if prompt is None:
            raise UsageError(
                "generate needs a prompt", hint='llmcli generate "Write a haiku about rain."'
            )
        items = [Item(text="", source=PROMPT_SOURCE, index=0)]
    run_job(
        env,
        GENERATE,
        settings,
        # With a PROMPT, an empty stdin (a script's /dev/null) means the prompt alone.
        job_options(
            locals(), mode=mode, text_field=field, files=args, empty_stdin=prompt is not None
        ),
        items=items,
        identity={"prompt": prompt},
        stream=True,
    )
