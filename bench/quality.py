"""Quality of the built-in default models on small labeled sets; writes docs/quality.md.

Runs the task adapters exactly as ``llmcli`` does (``load_model`` + ``build_task``) on the
hand-written sets in ``bench/data/``:

- sentiment (SmolLM2): accuracy on clear-cut reviews (a development set the prompt was
  chosen on, and a held-out set written afterwards);
- ask (SmolLM2): share of answers that contain the gold span, per decoding method;
- translate (Gemma 3 270M): BLEU and chrF per language, with llmcli's own metrics;
- summarize (SmolLM2): lengths and ROUGE against a reference summary, plus one long
  input that goes through map-reduce.

Every table row states seconds per item (wall clock; the machine is often shared).

    .venv/bin/python bench/quality.py                 # everything; rewrites docs/quality.md
    .venv/bin/python bench/quality.py --tasks sentiment,ask --limit 10 --no-doc

Built-in models are prepared on first use (set LLMCLI_HOME to reuse a prepared copy).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report

from llmcli.metrics.base import MetricOptions
from llmcli.metrics.registry import build_metrics
from llmcli.models.base import LoadedModel
from llmcli.tasks.ask import AskSettings
from llmcli.tasks.base import TaskInput, TaskResult
from llmcli.tasks.registry import build_task
from llmcli.tasks.sentiment import SentimentSettings
from llmcli.tasks.summarize import SummarizeSettings
from llmcli.tasks.translate import TranslateSettings

DATA = Path(__file__).resolve().parent / "data"
DOC = _report.REPO / "docs" / "quality.md"
TASKS = ("sentiment", "ask", "translate", "summarize")
LANGUAGES = ("fr", "es", "de")


def read_jsonl(name: str, limit: int | None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines() if line]
    return rows[:limit] if limit else rows


def timed(task: Any, inputs: list[TaskInput]) -> tuple[list[TaskResult], float]:
    """Run a task over ``inputs``; results and seconds per item."""
    start = time.perf_counter()
    results: list[TaskResult] = task.run(inputs)
    return results, (time.perf_counter() - start) / max(1, len(inputs))


def contains(answer: str | None, golds: Sequence[str]) -> bool:
    """Whether ``answer`` contains a gold span as whole words, ignoring case."""
    if not answer:
        return False
    return any(
        re.search(r"(?<!\w)" + re.escape(g.lower()) + r"(?!\w)", answer.lower()) for g in golds
    )


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


# --- the four tasks -----------------------------------------------------------------------


def bench_sentiment(model: LoadedModel, limit: int | None, batch: int) -> str:
    task = build_task("sentiment", model, SentimentSettings(batch_size=batch))
    rows = []
    for name, label in (
        ("sentiment.jsonl", "development"),
        ("sentiment_heldout.jsonl", "held-out"),
    ):
        data = read_jsonl(name, limit)
        results, per_item = timed(task, [TaskInput(d["text"]) for d in data])
        right = [r.fields["label"] == d["label"] for r, d in zip(results, data, strict=True)]
        gold_p = [r.fields["scores"][d["label"]] for r, d in zip(results, data, strict=True)]
        misses = [d["text"] for d, ok in zip(data, right, strict=True) if not ok]
        rows.append(
            [
                f"{label} (`bench/data/{name}`)",
                str(len(data)),
                pct(sum(right) / len(data)),
                f"{sum(gold_p) / len(gold_p):.3f}",
                f"{per_item:.2f} s",
            ]
        )
        for text in misses:
            print(f"  sentiment miss ({label}): {text}", file=sys.stderr)
    table = _report.markdown_table(
        ["set", "reviews", "accuracy", "mean P(gold label)", "time / item"], rows
    )
    return f"### sentiment — {model.name}\n\nSettings: {json.dumps(task.settings())}\n\n{table}\n"


def bench_ask(model: LoadedModel, limit: int | None, batch: int, beams: int) -> str:
    variants: list[tuple[str, AskSettings]] = [
        ("constrained, greedy (default)", AskSettings(batch_size=batch)),
        (
            f"constrained, {beams} beams",
            AskSettings(batch_size=batch, num_beams=beams),
        ),
        ("free answer, then located", AskSettings(batch_size=batch, grounding="locate")),
    ]
    rows = []
    for label, settings in variants:
        if settings.num_beams > 1 and beams <= 1:
            continue
        task = build_task("ask", model, settings)
        for name, set_label in (("qa.jsonl", "development"), ("qa_heldout.jsonl", "held-out")):
            data = read_jsonl(name, limit)
            inputs = [TaskInput(d["context"], question=d["question"], source=name) for d in data]
            results, per_item = timed(task, inputs)
            hits = [
                contains(r.fields["answer"], [d["answer"], *d.get("accept", [])])
                for r, d in zip(results, data, strict=True)
            ]
            spans = [
                r.fields.get("start") is not None
                and d["context"][r.fields["start"] : r.fields["end"]] == r.fields["answer"]
                for r, d in zip(results, data, strict=True)
            ]
            words = [len((r.fields["answer"] or "").split()) for r in results]
            rows.append(
                [
                    label,
                    set_label,
                    str(len(data)),
                    pct(sum(hits) / len(data)),
                    pct(sum(spans) / len(data)),
                    f"{sum(words) / len(words):.1f}",
                    f"{per_item:.2f} s",
                ]
            )
            for r, d, ok in zip(results, data, hits, strict=True):
                if not ok:
                    print(
                        f"  ask miss ({label}, {set_label}): {d['question']} -> "
                        f"{r.fields['answer']!r} (gold {d['answer']!r})",
                        file=sys.stderr,
                    )
    table = _report.markdown_table(
        [
            "decoding",
            "set",
            "questions",
            "answer contains gold span",
            "answer is an exact span of the context",
            "mean answer words",
            "time / item",
        ],
        rows,
    )
    return f"### ask — {model.name}\n\n{table}\n"


def bench_translate(model: LoadedModel, limit: int | None, batch: int, beams: int) -> str:
    data = read_jsonl("translate.jsonl", limit)
    metrics = build_metrics(["bleu", "chrf"], MetricOptions())
    rows = []
    examples = []
    for lang in LANGUAGES:
        for num_beams in (1, beams) if beams > 1 else (1,):
            settings = TranslateSettings(target=lang, batch_size=batch, num_beams=num_beams)
            task = build_task("translate", model, settings)
            results, per_item = timed(task, [TaskInput(d["en"]) for d in data])
            hyps = [r.text for r in results]
            refs = [[d[lang]] for d in data]
            scores = [m.corpus_score(m.statistics(hyps, refs)).score for m in metrics]
            decoding = "greedy (default)" if num_beams == 1 else f"{num_beams} beams"
            rows.append(
                [
                    f"en→{lang}",
                    decoding,
                    str(len(data)),
                    f"{scores[0]:.1f}",
                    f"{scores[1]:.1f}",
                    str(sum(r.fields["max_length_reached"] for r in results)),
                    f"{per_item:.2f} s",
                ]
            )
            if num_beams == 1:
                examples.append(
                    f"- en→{lang}: “{data[1]['en']}” → “{hyps[1]}” (reference “{data[1][lang]}”)"
                )
    table = _report.markdown_table(
        ["pair", "decoding", "sentences", "BLEU", "chrF", "hit max_length", "time / sentence"],
        rows,
    )
    return (
        f"### translate — {model.name}\n\n{table}\n\nSecond sentence, greedy:\n\n"
        + "\n".join(examples)
        + "\n"
    )


def bench_summarize(model: LoadedModel, limit: int | None, batch: int) -> str:
    data = read_jsonl("summarize.jsonl", limit)
    refs = [[d["reference"]] for d in data]
    metrics = build_metrics(["rouge1", "rouge2", "rougeL"], MetricOptions())
    in_words = [len(d["text"].split()) for d in data]
    ref_words = [len(d["reference"].split()) for d in data]
    rows = []
    first_hyps: list[str] = []
    for label, sentences in (("default", None), ("`--sentences 1`", 1)):
        task = build_task(
            "summarize", model, SummarizeSettings(batch_size=batch, sentences=sentences)
        )
        results, per_item = timed(task, [TaskInput(d["text"]) for d in data])
        hyps = [r.text for r in results]
        first_hyps = first_hyps or hyps
        rouge = [100 * m.corpus_score(m.statistics(hyps, refs)).score for m in metrics]
        out_words = [len(h.split()) for h in hyps]
        shorter = sum(o < i for o, i in zip(out_words, in_words, strict=True))
        rows.append(
            [
                label,
                str(len(data)),
                f"{sum(in_words) / len(data):.0f}",
                f"{sum(out_words) / len(data):.0f} ({min(out_words)}–{max(out_words)})",
                f"{sum(ref_words) / len(data):.0f}",
                f"{shorter}/{len(data)}",
                " / ".join(f"{v:.1f}" for v in rouge),
                str(sum(r.fields["max_length_reached"] for r in results)),
                f"{per_item:.2f} s",
            ]
        )
    hyps = first_hyps
    table = _report.markdown_table(
        [
            "settings",
            "paragraphs",
            "input words (mean)",
            "summary words (mean, min–max)",
            "reference words (mean)",
            "shorter than input",
            "ROUGE-1 / 2 / L F",
            "hit max_length",
            "time / item",
        ],
        rows,
    )
    # One long input through map-reduce: every paragraph joined, small windows.
    long_text = "\n\n".join(d["text"] for d in read_jsonl("summarize.jsonl", None))
    chunked = build_task(
        "summarize", model, SummarizeSettings(batch_size=batch, max_input_tokens=256)
    )
    (long_result,), seconds = timed(chunked, [TaskInput(long_text)])
    f = long_result.fields
    samples = "\n".join(f"- “{h}”" for h in hyps[:2])
    return (
        f"### summarize — {model.name}\n\n{table}\n\n"
        f"First two summaries (default settings):\n\n{samples}\n\n"
        f"Map-reduce check: all {len(read_jsonl('summarize.jsonl', None))} paragraphs as one "
        f"input ({f['input_tokens']} tokens) with `--max-input-tokens 256`: "
        f"{f['chunks']} chunks, {f['rounds']} rounds, {len(long_result.text.split())} words, "
        f"{seconds:.1f} s:\n\n> {long_result.text}\n"
    )


# --- the page -----------------------------------------------------------------------------

INTRO = """# Quality of the built-in models

What the default models do on small, hand-written, clear-cut test sets, measured with
`bench/quality.py` (each section names its command and machine; rerun it to regenerate
this page, or `--tasks NAME` to redo one section). The sets are in `bench/data/` and were
written for this project: they are small (14–60 items) and easy on purpose, so read the
figures as a sanity check of prompt design and decoding on tiny models, not as benchmark
results. "development" sets are the ones prompts were chosen on; "held-out" sets were
written afterwards and never used for a choice.

The defaults are tiny (SmolLM2-135M-Instruct, Gemma 3 270M base, both 4-bit GGUF
de-quantized to float32), and it shows: use `--model` with a task-specific model
(an opus-mt or NLLB model for translation, a SQuAD model for `ask`, an SST-2 classifier
for `sentiment`, a BART/PEGASUS summarizer) when quality matters. Timings are wall-clock
on a small shared machine (see the load average beside each table).
"""

DESIGN = """## How the prompts and decoding were chosen

Development runs on the development sets, with the same scoring as above:

- **sentiment**: scoring the label words after a plain few-shot prompt
  (`Review: ... / Sentiment: positive`), one forward pass, no generation. SmolLM2
  reached 50% asking inside a chat turn, 62% with a zero-shot plain prompt, 95% with 4
  examples and 100% with the 6 examples shipped (alternating, ending on a positive one).
  Dividing by a content-free prior ("N/A" calibration) helped the 4-example prompt (97%)
  but hurt the 6-example one (63%), so it is not used.
- **ask**: answers are decoded under a constraint that keeps them a span of the context
  (`src/llmcli/tasks/grounded.py`), so every answer has exact offsets and a
  `file:line:col`. SmolLM2's free answers contained the gold span 47% of the time with a
  plain instruction (numbers were often invented); the span constraint alone gave 63%;
  a system line plus three worked examples in the chat gave 77–80%. Tried and dropped:
  forbidding spans that start on a function word (67%), a fourth example (70–73%), the
  question before the text or on both sides (40%, 67%). The remaining errors are mostly
  whole sentences copied from the end of the context (the model's recency bias) or the
  wrong entity of the right type. Beam search (`--num-beams`, length penalty 0) gives
  short, precise spans but picks the wrong one more often.
- **translate**: Gemma 3 270M is a base model: five `English: ... / French: ...` example
  pairs (one with inline code, one a title), stop at the line break. Markdown structure,
  code blocks and inline code are handled outside the model. Beam search (3 beams) is
  clearly better than greedy (see the table) at about twice the time; greedy stays the
  default for speed and predictability.
- **summarize**: SmolLM2 chat turn "Summarize the following text in one or two
  sentences.", greedy. transformers' `no_repeat_ngram_size` counts the prompt for causal
  models, so it forbade copying names (summaries said "Harbor Hawk's" and "Heavened
  rain"); it is off for causal models and 3 for seq2seq ones. The map-reduce check joins
  six unrelated paragraphs: its one-or-two-sentence final summary covers only some of
  them, as expected of a summary that short.
"""


def write_doc(name: str, body: str) -> Path:
    """Rewrite one marked section of docs/quality.md, keeping the others."""
    if not DOC.exists():
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(INTRO, encoding="utf-8")
    return _report.write_section(f"quality-{name}", body, DOC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated subset")
    parser.add_argument("--limit", type=int, default=None, help="first N items of each set")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--beams", type=int, default=3, help="beam rows for ask and translate (1: skip them)"
    )
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the doc")
    args = parser.parse_args(argv)
    chosen = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(chosen) - set(TASKS)
    if unknown:
        parser.error(f"unknown tasks: {', '.join(sorted(unknown))}")

    import torch

    from llmcli.models.loading import load_model

    info = _report.machine_info(["torch", "transformers", "llmcli"])
    info["packages"] += f"; torch threads {torch.get_num_threads()}"
    runners: dict[str, Callable[[LoadedModel], str]] = {
        "sentiment": lambda m: bench_sentiment(m, args.limit, args.batch_size),
        "ask": lambda m: bench_ask(m, args.limit, args.batch_size, args.beams),
        "translate": lambda m: bench_translate(m, args.limit, args.batch_size, args.beams),
        "summarize": lambda m: bench_summarize(m, args.limit, args.batch_size),
    }
    for name in TASKS:
        if name not in chosen:
            continue
        start = time.perf_counter()
        model = load_model(None, name, device="cpu", notice=lambda m: print(m, file=sys.stderr))
        took = time.perf_counter() - start
        print(f"[{name}] {model.name} loaded in {took:.1f} s", file=sys.stderr)
        before = _report.load_average()
        section = runners[name](model)
        run = _report.machine_block(info, before, _report.load_average())
        body = f"{section}\n{run}\n"
        print(body, flush=True)
        if not args.no_doc:
            write_doc(name, body)
    if not args.no_doc:
        print(f"wrote {write_doc('design', DESIGN)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
