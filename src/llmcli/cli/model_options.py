"""Options shared by the model commands (summarize, translate, ask, sentiment)."""

from __future__ import annotations

from typing import Annotated

import typer

Files = Annotated[
    list[str] | None,
    typer.Argument(help="Input files; none or '-' reads stdin.", show_default=False),
]
Lines = Annotated[
    bool, typer.Option("--lines", help="Each non-empty line is one item; output is line-aligned.")
]
Jsonl = Annotated[
    bool,
    typer.Option(
        "--jsonl", help="Each line is a JSON object; other fields are carried to the output."
    ),
]
Field = Annotated[str, typer.Option("--field", help="With --jsonl: the field holding the text.")]
Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-M",
        help="Alias (see 'llmcli models'), Hugging Face model id, or local model directory.",
    ),
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.", metavar="DEVICE")]
Dtype = Annotated[
    str,
    typer.Option(
        "--dtype",
        help="auto, float32, float16, bfloat16. auto: bfloat16 on cuda; on a CPU with native "
        "bfloat16, bfloat16 where it passed the task's quality gate; else float32.",
    ),
]
Quantize = Annotated[
    str,
    typer.Option(
        "--quantize",
        help="auto, none or int8: dynamic int8 Linear layers on the CPU (torch backend). "
        "auto: int8 only where it passed the task's quality gate.",
    ),
]
BatchSize = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        help="Sequences per forward pass. Default: chosen from the input lengths and device.",
        min=1,
        show_default=False,
    ),
]
Threads = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="CPU threads for inference. Default: OMP_NUM_THREADS, else the physical cores.",
        min=1,
        show_default=False,
    ),
]
Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        help="torch, or ctranslate2: faster generation on CPU for summarize and translate "
        "(needs llmcli[fast]).",
    ),
]
ComputeType = Annotated[
    str,
    typer.Option(
        "--compute-type",
        help="With --backend ctranslate2: auto (int8 on CPU, int8_float16 on CUDA), int8, "
        "float32, float16, bfloat16, int8_float32, int8_float16, int8_bfloat16.",
    ),
]
MaxInputTokens = Annotated[
    int | None,
    typer.Option(
        "--max-input-tokens",
        help="Longest input window in tokens; longer inputs are chunked, never truncated. "
        "Default: the model's context.",
        min=8,
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (used when sampling).")]
KeepGoing = Annotated[
    bool,
    typer.Option(
        "--keep-going",
        help="When an item or file fails, record the error in its output (an empty line, "
        "or an 'error' object in JSON) and go on; exit 4 at the end if any failed.",
    ),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="With -o FILE: continue an interrupted run of the same command, skipping the "
        "items it finished (feed it the same input).",
    ),
]
Engine = Annotated[
    str,
    typer.Option(
        "--engine",
        help="local (this process), or ray: schedule the work over a Ray cluster with Ray "
        "Data (needs llmcli[ray]).",
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="With --engine ray: the cluster to join (host:port or 'auto'). Default: "
        "$RAY_ADDRESS, else start a local Ray.",
        show_default=False,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="With --engine ray: model-holding workers. Default: one per node; each uses "
        "--threads CPUs (default: its node's CPUs divided among its workers).",
        min=1,
        show_default=False,
    ),
]
