"""``llmcli eval``: BLEU, chrF, TER and ROUGE over files, with intervals and significance."""

from __future__ import annotations

from typing import Annotated

import typer

from llmcli.cli.errors import current_environment, handles_errors
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

METRIC_HELP = (
    "Metric(s): bleu, chrf, chrf++, ter, rouge1, rouge2, rougeL, rougeLsum, or rouge for all "
    "four. Repeat or comma-separate. Default: bleu,chrf,ter."
)


@handles_errors
def eval_command(
    ctx: typer.Context,
    hypotheses: Annotated[
        list[str] | None,
        typer.Argument(
            help="Hypothesis files, one segment per line; several are several systems "
            "(the first is the baseline). None or '-': stdin.",
            show_default=False,
        ),
    ] = None,
    ref: Annotated[
        list[str] | None,
        typer.Option("--ref", "-r", help="Reference file; repeat for multiple references."),
    ] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help=METRIC_HELP)] = None,
    jsonl: Annotated[
        bool,
        typer.Option("--jsonl", help="Inputs are JSON Lines with prediction and reference fields."),
    ] = False,
    pred_field: Annotated[
        str, typer.Option("--pred-field", help="With --jsonl: the prediction field.")
    ] = "prediction",
    ref_field: Annotated[
        str,
        typer.Option("--ref-field", help="With --jsonl: the reference field (a string or a list)."),
    ] = "reference",
    confidence: Annotated[
        bool,
        typer.Option("--confidence", help="Seeded bootstrap 95% interval for every metric."),
    ] = False,
    paired_bs: Annotated[
        bool,
        typer.Option("--paired-bs", help="Paired bootstrap test of each system vs the first."),
    ] = False,
    paired_ar: Annotated[
        bool,
        typer.Option(
            "--paired-ar", help="Paired approximate randomization test vs the first system."
        ),
    ] = False,
    bootstrap_samples: Annotated[
        int, typer.Option("--bootstrap-samples", help="Bootstrap resamples.")
    ] = 1000,
    ar_trials: Annotated[
        int, typer.Option("--ar-trials", help="Approximate randomization trials.")
    ] = 10000,
    seed: Annotated[
        int,
        typer.Option("--seed", help="Random seed for resampling (in the signature)."),
    ] = 12345,
    segments: Annotated[
        bool,
        typer.Option(
            "--segments", help="Per-segment scores (text: one line per segment, line-aligned)."
        ),
    ] = False,
    worst: Annotated[
        int,
        typer.Option(
            "--worst",
            help="Show the N lowest-scoring segments (by the first metric).",
            metavar="N",
        ),
    ] = 0,
    tokenize: Annotated[
        str | None,
        typer.Option(
            "--tokenize",
            "-tok",
            help="BLEU tokenizer (sacrebleu's: 13a, intl, zh, ja-mecab, char, none, ...).",
        ),
    ] = None,
    lowercase: Annotated[
        bool, typer.Option("--lowercase", "-lc", help="Case-insensitive BLEU and chrF.")
    ] = False,
    smooth_method: Annotated[
        str,
        typer.Option("--smooth-method", help="BLEU smoothing: exp, floor, add-k or none."),
    ] = "exp",
    smooth_value: Annotated[
        float | None, typer.Option("--smooth-value", help="BLEU smoothing value.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Accept tokenized input for BLEU without warning.")
    ] = False,
    chrf_char_order: Annotated[
        int, typer.Option("--chrf-char-order", help="chrF character n-gram order.")
    ] = 6,
    chrf_word_order: Annotated[
        int,
        typer.Option("--chrf-word-order", help="chrF word n-gram order (2 = chrF++)."),
    ] = 0,
    chrf_beta: Annotated[int, typer.Option("--chrf-beta", help="chrF beta.")] = 2,
    chrf_whitespace: Annotated[
        bool, typer.Option("--chrf-whitespace", help="Keep whitespace in chrF n-grams.")
    ] = False,
    ter_case_sensitive: Annotated[
        bool, typer.Option("--ter-case-sensitive", help="Case-sensitive TER.")
    ] = False,
    ter_no_punct: Annotated[
        bool, typer.Option("--ter-no-punct", help="Remove punctuation for TER.")
    ] = False,
    ter_normalized: Annotated[
        bool, typer.Option("--ter-normalized", help="Normalize text for TER.")
    ] = False,
    ter_asian_support: Annotated[
        bool, typer.Option("--ter-asian-support", help="Asian-script tokenization for TER.")
    ] = False,
    stemmer: Annotated[
        bool,
        typer.Option("--stemmer/--no-stemmer", help="ROUGE: Porter stemming, as use_stemmer."),
    ] = False,
    rouge_tokenizer: Annotated[
        str,
        typer.Option(
            "--rouge-tokenizer",
            help="ROUGE tokens: default (rouge-score's, ASCII a-z0-9 only), unicode "
            "(UAX #29 words) or character. Non-default ones are not rouge-score-compatible.",
        ),
    ] = "default",
    lsum_split: Annotated[
        str,
        typer.Option(
            "--lsum-split",
            help="rougeLsum sentences: newline (rouge-score's default) or sentence (NLTK).",
        ),
    ] = "newline",
    rouge_engine: Annotated[
        str,
        typer.Option("--rouge-engine", help="auto (rouge-score-rs if installed), rust or python."),
    ] = "auto",
    json_output: JsonOutput = False,
    output: OutputFile = None,
    encoding: Encoding = "utf-8",
    errors: DecodeErrors = "strict",
    max_item_size: MaxItemSize = DEFAULT_MAX_ITEM_SIZE,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Score hypotheses against references (BLEU, chrF, TER with sacrebleu; ROUGE)."""
    from llmcli.errors import UsageError
    from llmcli.evaluation.data import load_jsonl, load_parallel
    from llmcli.evaluation.evaluate import EvalRequest, evaluate
    from llmcli.inputs import Source, check_encoding, parse_size, require_input, sources_from_args
    from llmcli.metrics.base import MetricOptions
    from llmcli.output.progress import progress
    from llmcli.output.target import output_target
    from llmcli.output.writer import open_output, to_json

    env = current_environment(ctx)
    check_encoding(encoding, errors)
    if paired_bs and paired_ar:
        raise UsageError("choose one of --paired-bs and --paired-ar")
    if jsonl and ref:
        raise UsageError("--jsonl reads references from --ref-field; drop --ref")
    require_input(hypotheses, env, "hypotheses")
    limit = parse_size(max_item_size)
    # Before reading: -o must be none of the inputs.
    inputs = [*sources_from_args(hypotheses), *(Source(r) for r in ref or [])]
    target = output_target(output, env, inputs)
    if jsonl:
        data = load_jsonl(hypotheses or [], pred_field, ref_field, env, encoding, errors, limit)
    else:
        data = load_parallel(hypotheses or [], ref or [], env, encoding, errors, limit)
    request = EvalRequest(
        metrics=tuple(metric or ("bleu", "chrf", "ter")),
        options=MetricOptions(
            tokenize=tokenize,
            lowercase=lowercase,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            force=force,
            chrf_char_order=chrf_char_order,
            chrf_word_order=chrf_word_order,
            chrf_beta=chrf_beta,
            chrf_whitespace=chrf_whitespace,
            ter_case_sensitive=ter_case_sensitive,
            ter_no_punct=ter_no_punct,
            ter_normalized=ter_normalized,
            ter_asian_support=ter_asian_support,
            rouge_stemmer=stemmer,
            rouge_tokenizer=rouge_tokenizer,
            rouge_lsum_split=lsum_split,
            rouge_engine=rouge_engine,
        ),
        confidence=confidence,
        bootstrap_samples=bootstrap_samples,
        seed=seed,
        paired="bs" if paired_bs else "ar" if paired_ar else None,
        ar_trials=ar_trials,
        segments=segments,
        worst=worst,
    )
    total = len(data.systems) * len(request.metrics)
    with progress(env, "scoring", total) as bar:
        report = evaluate(data, request, step=bar.advance)
    for warning in report.warnings:
        env.warn(warning)
    if json_output:
        rendered = to_json(report.to_json()) + "\n"
    elif output is None and env.stdout_isatty:
        console = env.stdout_console()
        for renderable in report.to_rich():
            console.print(renderable)
        return
    else:
        rendered = report.to_text()
    with open_output(target, env) as out:
        out.write(rendered)
