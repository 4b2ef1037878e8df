"""``llmcli eval``: BLEU, chrF, TER and ROUGE over files, with intervals and significance."""

from __future__ import annotations

from typing import Annotated

import typer

from llmcli.cli.errors import current_environment, handles_errors
from llmcli.cli.options import (
    Debug,
    DecodeErrors,
    Encoding,
    JsonOutput,
    MaxItemSize,
    OutputFile,
    Quiet,
)
from llmcli.inputs import DEFAULT_MAX_ITEM_SIZE

METRIC_HELP = (
    "Metric(s): bleu, chrf, chrf++, ter, rouge1 to rouge9, rougeL, rougeLsum, or rouge for "
    "rouge1, rouge2, rougeL and rougeLsum. Repeat or comma-separate. Default: bleu,chrf,ter."
)
FORMATS = ("text", "json", "latex")


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
    num_refs: Annotated[
        int,
        typer.Option(
            "--num-refs",
            "-nr",
            help="References per line of the one --ref file, tab-separated (sacrebleu's -nr).",
        ),
    ] = 1,
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
        bool,
        typer.Option("--lowercase", "-lc", help="Case-insensitive BLEU (chrF: --chrf-lowercase)."),
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
    chrf_lowercase: Annotated[
        bool, typer.Option("--chrf-lowercase", help="Case-insensitive chrF.")
    ] = False,
    chrf_eps_smoothing: Annotated[
        bool,
        typer.Option(
            "--chrf-eps-smoothing",
            help="chrF's epsilon smoothing (chrF++.py, NLTK) instead of effective order.",
        ),
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
    rouge_sentence_sep: Annotated[
        str | None,
        typer.Option(
            "--rouge-sentence-sep",
            help="ROUGE: this token within a line separates sentences, e.g. '<n>' "
            "(CNN/DailyMail); it becomes a newline, so rougeLsum sees the sentences.",
            metavar="SEP",
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="text (tab-separated), json (as --json) or latex (a booktabs table).",
            metavar="FORMAT",
        ),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            "--width", "-w", help="Decimals of printed scores (default: all of them).", min=0
        ),
    ] = None,
    score_only: Annotated[
        bool,
        typer.Option("--score-only", "-b", help="Print only the scores, one per line."),
    ] = False,
    short: Annotated[
        bool,
        typer.Option("--short", "-sh", help="Shorter signatures (sacrebleu's abbreviations)."),
    ] = False,
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
    from llmcli.evaluation.evaluate import EvalRequest
    from llmcli.evaluation.job import EvalJob, run
    from llmcli.inputs import check_encoding, require_input
    from llmcli.metrics.base import MetricOptions

    env = current_environment(ctx)
    check_encoding(encoding, errors)
    if paired_bs and paired_ar:
        raise UsageError("choose one of --paired-bs and --paired-ar")
    if jsonl and ref:
        raise UsageError("--jsonl reads references from --ref-field; drop --ref")
    if jsonl and num_refs != 1:
        raise UsageError("--num-refs is for --ref files; --jsonl takes a list in --ref-field")
    fmt = _output_format(output_format, json_output, score_only)
    require_input(hypotheses, env, "hypotheses")
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
            chrf_lowercase=chrf_lowercase,
            chrf_eps_smoothing=chrf_eps_smoothing,
            ter_case_sensitive=ter_case_sensitive,
            ter_no_punct=ter_no_punct,
            ter_normalized=ter_normalized,
            ter_asian_support=ter_asian_support,
            rouge_stemmer=stemmer,
            rouge_tokenizer=rouge_tokenizer,
            rouge_lsum_split=lsum_split,
            rouge_engine=rouge_engine,
            rouge_sentence_sep=rouge_sentence_sep,
        ),
        confidence=confidence,
        bootstrap_samples=bootstrap_samples,
        seed=seed,
        paired="bs" if paired_bs else "ar" if paired_ar else None,
        ar_trials=ar_trials,
        segments=segments,
        worst=worst,
        short_signatures=short,
    )
    job = EvalJob(
        hypotheses=hypotheses,
        refs=ref or [],
        jsonl=jsonl,
        pred_field=pred_field,
        ref_field=ref_field,
        num_refs=num_refs,
        encoding=encoding,
        errors=errors,
        max_item_size=max_item_size,
        output=output,
        fmt=fmt,
        score_only=score_only,
        width=width,
        table=bool(output is None and env.stdout_isatty and output_format is None),
        request=request,
    )
    run(env, job)


def _output_format(output_format: str | None, json_output: bool, score_only: bool) -> str:
    """The one output format that ``--format``, ``--json`` and ``--score-only`` ask for."""
    from llmcli.errors import UsageError

    if output_format is not None and output_format not in FORMATS:
        raise UsageError(
            f"unknown output format {output_format!r}", hint=f"choose from {', '.join(FORMATS)}"
        )
    if json_output and output_format not in (None, "json"):
        raise UsageError(f"choose one of --json and --format {output_format}")
    fmt = "json" if json_output else output_format or "text"
    if score_only and fmt != "text":
        raise UsageError(f"--score-only prints plain numbers; it does not go with {fmt} output")
    return fmt
