"""``llmcli eval``'s job: read the systems and references, score them, write the report.

The CLI parses options into an :class:`EvalJob`; everything that reads files, writes
``-o`` and renders lives here, so the command stays a parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmcli.environment import Environment
from llmcli.evaluation.evaluate import EvalRequest


@dataclass(frozen=True)
class EvalJob:
    """One ``llmcli eval`` run."""

    hypotheses: list[str] | None  # files, or None for stdin
    refs: list[str] = field(default_factory=list)
    jsonl: bool = False  # hypotheses and references from the fields of JSON lines
    pred_field: str = "prediction"
    ref_field: str = "reference"
    num_refs: int = 1
    encoding: str = "utf-8"
    errors: str = "strict"
    max_item_size: str = "32M"
    output: str | None = None
    fmt: str = "text"  # "text", "json" or "latex"
    score_only: bool = False
    width: int | None = None  # decimals of printed scores; None: all of them
    #: A table on the terminal (stdout is one, nothing else was asked for).
    table: bool = False
    request: EvalRequest = field(default_factory=EvalRequest)


def run(env: Environment, job: EvalJob) -> None:
    """Score ``job`` and write its report to stdout or ``-o``; raises the core's errors."""
    from llmcli.evaluation.data import load_jsonl, load_parallel
    from llmcli.evaluation.evaluate import evaluate, step_count
    from llmcli.inputs import Source, check_encoding, parse_size, sources_from_args
    from llmcli.output.progress import progress
    from llmcli.output.target import output_target
    from llmcli.output.writer import open_output, to_json

    check_encoding(job.encoding, job.errors)
    limit = parse_size(job.max_item_size)
    # Before reading: -o must be none of the inputs.
    inputs = [*sources_from_args(job.hypotheses), *(Source(r) for r in job.refs)]
    target = output_target(job.output, env, inputs)
    if job.jsonl:
        data = load_jsonl(
            job.hypotheses or [],
            job.pred_field,
            job.ref_field,
            env,
            job.encoding,
            job.errors,
            limit,
        )
    else:
        data = load_parallel(
            job.hypotheses or [], job.refs, env, job.encoding, job.errors, job.num_refs, limit
        )
    for note in data.notes:
        env.warn(note)
    with progress(env, "scoring", step_count(data, job.request)) as bar:
        report = evaluate(data, job.request, step=bar.advance)
    for warning in report.warnings:
        env.warn(warning)
    if job.fmt == "json":
        rendered = to_json(report.to_json()) + "\n"
    elif job.fmt == "latex":
        rendered = report.to_latex(job.width)
    elif job.score_only:
        rendered = report.to_scores_only(job.width)
    elif job.table:
        console = env.stdout_console()
        for renderable in report.to_rich(job.width):
            console.print(renderable)
        return
    else:
        rendered = report.to_text(job.width)
    with open_output(target, env) as out:
        out.write(rendered)
