"""CPU precision: quality gates and speed at float32, bfloat16 and int8, side by side.

Two parts, each writing its own section:

- ``gates`` (docs/quality.md, section ``precision-gates``): the built-in models on the
  quality sets of ``bench/data/`` at each setting, through the task adapters as
  ``llmcli`` runs them (the sentence embedder at the same setting as the reader), each
  compared with float32: sentiment labels identical on at least 99% of items, ``ask``
  answers identical on at least 95%, summarize ROUGE-L and translate chrF at most 0.5
  points below float32. What passes is what ``--dtype auto`` / ``--quantize auto`` may
  choose (``llmcli.models.precision.AUTO_CPU``; this part prints whether that table
  matches what it measured).
- ``speed`` (docs/benchmarks.md, section ``precision``): the ceilings of each unit
  (float32 and bfloat16 GEMM, a dynamic-int8 Linear stack) and every workload of
  ``bench/throughput.py`` (same models, inputs and worker processes) through llmcli's
  core at each setting: steady-state items/s, speed-up over float32, share of the
  setting's ceiling, agreement with float32; CTranslate2's compute types beside.

    .venv/bin/python bench/precision.py                        # both parts (~60 min, 2 cores)
    .venv/bin/python bench/precision.py --part gates --gates sentiment --no-doc
    .venv/bin/python bench/precision.py --part speed --quick --no-doc
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report as report
import quality
import throughput

from llmcli.metrics.base import MetricOptions
from llmcli.metrics.registry import build_metrics
from llmcli.models.base import Family, ModelChoice
from llmcli.tasks.ask import AskSettings
from llmcli.tasks.base import TaskContext, TaskInput
from llmcli.tasks.sentiment import SentimentSettings
from llmcli.tasks.summarize import SummarizeSettings
from llmcli.tasks.translate import TranslateSettings


@dataclass(frozen=True)
class Setting:
    name: str
    dtype: str
    quantize: str

    def choice(self, model: str | None = None) -> ModelChoice:
        return ModelChoice(model, device="cpu", dtype=self.dtype, quantize=self.quantize)

    def flag(self) -> str:
        if self.quantize == "int8":
            return "--quantize int8"
        return f"--dtype {self.dtype}"


FLOAT32 = Setting("float32", "float32", "none")
SETTINGS = (FLOAT32, Setting("bfloat16", "bfloat16", "none"), Setting("int8", "float32", "int8"))
GATES = ("sentiment", "ask", "summarize", "translate")
LABELS_SAME = 0.99  # sentiment: labels identical to float32's
ANSWERS_SAME = 0.95  # ask: answers identical to float32's
POINTS = 0.5  # summarize ROUGE-L, translate chrF: at most this far below float32


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- gates ----------------------------------------------------------------------------------


class Models:
    """The built-in models at one setting, loaded on first use, as ``llmcli`` loads them."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting

    def reader(self, task: str, model: str | None = None) -> Any:
        from llmcli.models.loading import load_model

        return load_model(self.setting.choice(model), task)

    def context(self) -> TaskContext:
        from llmcli.models.embedding import Embedder
        from llmcli.models.loading import load_model
        from llmcli.models.registry import DEFAULTS

        def embedder() -> Embedder:
            return Embedder(load_model(self.setting.choice(), "embed"))

        return TaskContext(None, embedder, DEFAULTS["embed"])

    def task(self, name: str, settings: Any, model: str | None = None) -> Any:
        from llmcli.tasks.registry import build_task

        return build_task(name, self.reader(name, model), settings, self.context())


@dataclass
class Outcome:
    """One gate at one setting: its outputs, its score, seconds per item."""

    outputs: list[Any]
    score: float
    per_item: float
    extra: dict[str, Any]


def run_timed(task: Any, inputs: list[TaskInput]) -> tuple[list[Any], float]:
    task.run(inputs[:2])  # warm-up: the first call pays one-off costs
    start = time.perf_counter()
    results = task.run(inputs)
    return results, (time.perf_counter() - start) / max(1, len(inputs))


def gate_sentiment(models: Models, model: str | None = None) -> Outcome:
    """Labels of every review (both sets) by ``model`` (default: the built-in one)."""
    data = quality.read_jsonl("sentiment.jsonl", None) + quality.read_jsonl(
        "sentiment_heldout.jsonl", None
    )
    task = models.task("sentiment", SentimentSettings(), model)
    results, per_item = run_timed(task, [TaskInput(d["text"]) for d in data])
    labels = [r.fields["label"] for r in results]
    accuracy = sum(a == d["label"] for a, d in zip(labels, data, strict=True)) / len(data)
    return Outcome(labels, 100 * accuracy, per_item, {})


def gate_ask(models: Models, docs: list[dict[str, Any]]) -> Outcome:
    answered, seconds = quality.ask_documents(models.task("ask", AskSettings()), docs)
    outputs: list[tuple[str | None, bool]] = []
    hits = answerable = 0
    for _, q, r in answered:
        answer = r.fields.get("answer")
        outputs.append((answer, r.fields.get("answerable") is not False))
        if q["answer"] is not None:
            answerable += 1
            hits += quality.contains(answer, [q["answer"], *q.get("accept", [])])
    return Outcome(outputs, 100 * hits / max(1, answerable), seconds / len(outputs), {})


def _rouge_l(hyps: list[str], refs: list[str]) -> float:
    (metric,) = build_metrics(["rougeL"], MetricOptions())
    return 100 * metric.corpus_score(metric.statistics(hyps, [[r] for r in refs])).score


def gate_summarize(models: Models, docs: list[dict[str, Any]], method: str) -> Outcome:
    """ROUGE-L F over the short paragraphs and the long documents' reference summaries."""
    short = quality.read_jsonl("summarize.jsonl", None)
    items = [(d["text"], d["reference"]) for d in short]
    if method == "extractive":  # cheap: every long document
        items += [(d["text"], d["reference"]) for d in docs]
    else:  # the model writes: the English long documents
        items += [(d["text"], d["reference"]) for d in docs if d["language"] == "en"]
    task = models.task("summarize", SummarizeSettings(method=method))
    results, per_item = run_timed(task, [TaskInput(text) for text, _ in items])
    hyps = [r.text for r in results]
    return Outcome(hyps, _rouge_l(hyps, [ref for _, ref in items]), per_item, {})


def gate_translate(models: Models, beams: int) -> Outcome:
    """chrF per language (fr, es, de) at ``beams``; the score shown is the lowest of the
    three, the gate judges each language against its own float32 score."""
    data = quality.read_jsonl("translate.jsonl", None)
    (chrf,) = build_metrics(["chrf"], MetricOptions())
    scores: dict[str, float] = {}
    outputs: list[str] = []
    seconds = []
    for lang in quality.LANGUAGES:
        task = models.task("translate", TranslateSettings(target=lang, num_beams=beams))
        results, per_item = run_timed(task, [TaskInput(d["en"]) for d in data])
        hyps = [r.text for r in results]
        outputs += hyps
        scores[lang] = chrf.corpus_score(chrf.statistics(hyps, [[d[lang]] for d in data])).score
        seconds.append(per_item)
    return Outcome(outputs, min(scores.values()), statistics.mean(seconds), {"chrf": scores})


def minilm_classifier() -> str:
    """A sentiment classifier with real weights: minilm's encoder (and pooler) under a
    two-label head fitted here, by logistic regression on its pooled features of the
    development reviews. No real classifier checkpoint can be had offline; this one
    stands for the classifier family (a BERT encoder, a linear head) in the gate. Built
    once into bench/out/precision/minilm-classifier/."""
    import shutil

    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    folder = OUT / "minilm-classifier"
    if (folder / "config.json").exists():
        return str(folder)
    source = throughput.builtin_folder("embed", dict(os.environ))
    labels = {0: "negative", 1: "positive"}
    model = BertForSequenceClassification.from_pretrained(
        source, num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()}
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    data = quality.read_jsonl("sentiment.jsonl", None)
    batch = tokenizer([d["text"] for d in data], padding=True, return_tensors="pt")
    with torch.no_grad():
        features = model.bert(**batch).pooler_output
    target = torch.tensor([1 if d["label"] == "positive" else 0 for d in data])
    head = torch.nn.Linear(features.shape[1], 2)
    optimizer = torch.optim.LBFGS(head.parameters(), max_iter=200)

    def loss() -> Any:
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(head(features), target)
        value = value + 1e-3 * head.weight.pow(2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    with torch.no_grad():
        model.classifier.weight.copy_(head.weight)
        model.classifier.bias.copy_(head.bias)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.replace(folder)
    return str(folder)


@dataclass
class Gate:
    """One quality gate: which (task, family) pairs it stands for and how it is judged."""

    name: str
    covers: tuple[tuple[str, Family], ...]
    metric: str
    run: Callable[[Models], Outcome]
    judge: str  # "same" (share of identical outputs) or "points" (score delta)
    bound: float


def gates(docs: list[dict[str, Any]], chosen: Sequence[str], beams: int) -> list[Gate]:
    causal, embedding = Family.CAUSAL, Family.EMBEDDING
    table = {
        "sentiment": [
            Gate("sentiment labels (SmolLM2, 90 reviews)", (("sentiment", causal),),
                 "accuracy", gate_sentiment, "same", LABELS_SAME),
            Gate("sentiment labels (classifier: minilm's encoder, a head fitted here)",
                 (("sentiment", Family.CLASSIFIER),),
                 "accuracy", lambda m: gate_sentiment(m, minilm_classifier()), "same",
                 LABELS_SAME),
        ],
        "ask": [
            Gate("ask answers (SmolLM2 + minilm, long documents)",
                 (("ask", causal), ("embed", embedding)),
                 "answer contains gold", lambda m: gate_ask(m, docs), "same", ANSWERS_SAME),
        ],
        "summarize": [
            Gate("summarize, extractive (minilm; the built-in default)", (("embed", embedding),),
                 "ROUGE-L", lambda m: gate_summarize(m, docs, "extractive"), "points", POINTS),
            # Also generate's gate: the same model writing free text (generate's own
            # outputs have no reference to score against).
            Gate("summarize, abstractive (SmolLM2 + minilm support)",
                 (("summarize", causal), ("generate", causal), ("embed", embedding)),
                 "ROUGE-L", lambda m: gate_summarize(m, docs, "abstractive"), "points", POINTS),
        ],
        "translate": [
            Gate("translate, greedy (Gemma 3, fr/es/de)",
                 (("translate", causal),),
                 "chrF", lambda m: gate_translate(m, 1), "points", POINTS),
        ],
    }  # fmt: skip
    out = [g for name in GATES if name in chosen for g in table[name]]
    if "translate" in chosen and beams > 1:
        out.append(
            Gate(f"translate, {beams} beams (Gemma 3; issue 12's cost check)", (),
                 "chrF", lambda m: gate_translate(m, beams), "points", POINTS)
        )  # fmt: skip
    return out


def same_share(a: list[Any], b: list[Any]) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / max(1, len(a))


OUT = report.REPO / "bench" / "out" / "precision"
REUSED: list[str] = []  # outcomes --reuse took from OUT, by file name


def cached_outcome(gate: Gate, setting: Setting, reuse: bool, scope: str) -> Outcome:
    """Run ``gate`` at ``setting``, keeping its outcome in bench/out/precision/ so that a
    later ``--reuse`` run (after a crash, or to redo one gate) need not run it again."""
    from llmcli.models.loading import clear_cache

    # ``scope`` (the long documents used) is part of the key: a --docs subset is another run.
    digest = hashlib.sha256(scope.encode()).hexdigest()[:8]
    key = "".join(c if c.isalnum() else "-" for c in f"{gate.name}-{setting.name}-{digest}")
    path = OUT / f"{key}.json"
    if reuse and path.exists():
        REUSED.append(path.name)
        return Outcome(**json.loads(path.read_text(encoding="utf-8")))
    clear_cache()
    outcome = gate.run(Models(setting))
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(outcome)), encoding="utf-8")
    return outcome


def run_gates(
    docs: list[dict[str, Any]], chosen: Sequence[str], beams: int, reuse: bool = False
) -> tuple[str, dict[tuple[str, Family], list[str]]]:
    """Every gate at every setting; the section and, per (task, family), what passed."""
    from llmcli.models import precision

    rows: list[list[str]] = []
    failed: dict[tuple[str, Family], set[str]] = {}
    covered: set[tuple[str, Family]] = set()
    times: dict[tuple[str, str], float] = {}
    for gate in gates(docs, chosen, beams):
        reference: Outcome | None = None
        covered.update(gate.covers)
        for setting in SETTINGS:
            _progress(f"{gate.name}: {setting.name}")
            outcome = cached_outcome(gate, setting, reuse, ",".join(d["id"] for d in docs))
            times[(gate.name, setting.name)] = outcome.per_item
            if reference is None:
                reference = outcome
            same = same_share(
                [json.dumps(o) for o in outcome.outputs], [json.dumps(o) for o in reference.outputs]
            )
            delta = outcome.score - reference.score
            if "chrf" in outcome.extra:  # each language on its own: the worst change
                mine, theirs = outcome.extra["chrf"], reference.extra["chrf"]
                delta = min(mine[lang] - theirs[lang] for lang in theirs)
            if setting is FLOAT32:
                verdict = "reference"
            elif gate.judge == "same":
                verdict = "pass" if same >= gate.bound else "**fail**"
            else:
                verdict = "pass" if delta >= -gate.bound else "**fail**"
            if verdict != "pass" and setting is not FLOAT32:
                for pair in gate.covers:
                    failed.setdefault(pair, set()).add(setting.name)
            detail = ""
            if "chrf" in outcome.extra:
                detail = (
                    " (" + ", ".join(f"{k} {v:.1f}" for k, v in outcome.extra["chrf"].items()) + ")"
                )
            rows.append(
                [
                    gate.name,
                    f"`{setting.flag()}`",
                    f"{outcome.score:.1f}{detail}",
                    "–" if setting is FLOAT32 else f"{delta:+.1f}",
                    f"{100 * same:.1f}%",
                    f"{outcome.per_item:.2f} s",
                    f"{reference.per_item / outcome.per_item:.2f}x",
                    verdict
                    if gate.covers
                    else ("reported" if setting is not FLOAT32 else "reference"),
                ]
            )
            _progress(f"  {rows[-1]}")
    passed = {
        pair: [s.name for s in SETTINGS[1:] if s.name not in failed.get(pair, set())]
        for pair in sorted(covered, key=lambda p: (p[0], p[1].value))
    }
    table = report.markdown_table(
        ["gate", "setting", "score", "vs float32", "outputs identical", "time / item",
         "speed vs float32", "gate"],
        rows,
    )  # fmt: skip
    pairs = []
    for pair, ok in passed.items():
        in_code = list(precision.AUTO_CPU.get(pair, ()))
        agree = "yes" if set(in_code) <= set(ok) else "**no: the code chooses more than passed**"
        pairs.append(
            [f"{pair[0]} on {pair[1].value} models", ", ".join(ok) or "none",
             ", ".join(in_code) or "float32", agree]
        )  # fmt: skip
    verdicts = report.markdown_table(
        ["task and family", "settings that passed every gate covering them",
         "`auto` chooses (AUTO_CPU)", "auto within what passed"],
        pairs,
    )  # fmt: skip
    body = (
        "### Precision gates on the CPU\n\n"
        "Each built-in model on the quality sets at float32 (the reference), bfloat16 "
        "(`--dtype bfloat16`) and dynamic int8 (`--quantize int8`), the sentence embedder at "
        "the same setting as the reader. Gates: sentiment labels identical to float32's on "
        f"at least {LABELS_SAME:.0%} of items; ask answers identical on at least "
        f"{ANSWERS_SAME:.0%}; summarize ROUGE-L and translate chrF at most {POINTS} points "
        "below float32 (translate: each language on its own; *vs float32* shows the worst). "
        "*Score*: accuracy (sentiment), answers containing a gold span (ask, answerable "
        "questions), ROUGE-L F (summarize), chrF (translate). Each timing "
        "follows a two-item warm-up; speed ratios are against the float32 row of the same "
        f"gate in the same run.\n\n{table}\n\nWhat `auto` may choose, per task and model "
        "family (a pair is covered by every gate naming it; families with no real model "
        "here, extractive QA and sequence-to-sequence models, are not gated and run "
        "float32 under `auto`). The classifier gate's model is minilm's real encoder and "
        "pooler under a two-label head fitted here on the development reviews (no real "
        "classifier checkpoint can be had offline): it stands for a BERT-style classifier."
        f"\n\n{verdicts}\n"
    )
    return body, passed


# --- speed ------------------------------------------------------------------------------------


def ceilings(threads: int, n: int, reps: int) -> dict[str, float]:
    """Best GFLOP/s of a float32 and a bfloat16 n x n GEMM, and of a dynamic-int8 Linear
    stack (768 -> 3072 -> 768 over 512 rows, DistilBERT's feed-forward shape)."""
    import torch

    from llmcli.models.precision import quantize_int8

    torch.set_num_threads(threads)

    def best(fn: Callable[[], Any]) -> float:
        for _ in range(3):
            fn()
        fastest = math.inf
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            fastest = min(fastest, time.perf_counter() - start)
        return fastest

    out: dict[str, float] = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        out[name] = 2 * n**3 / best(lambda a=a, b=b: torch.mm(a, b)) / 1e9
    stack = torch.nn.Sequential(torch.nn.Linear(768, 3072), torch.nn.Linear(3072, 768)).eval()
    x = torch.randn(512, 768)
    flops = 2 * 512 * (768 * 3072 * 2)
    with torch.inference_mode():
        out["float32 Linear stack"] = flops / best(lambda: stack(x)) / 1e9
        quantized = quantize_int8(stack)
        out["int8"] = flops / best(lambda: quantized(x)) / 1e9
    return out


SPEED_WORKLOADS = throughput.WORKLOADS
SPEED_SIZES = throughput.Sizes(
    classifier=400, seq2seq=64, new_tokens=32, sentiment=90, summarize=12, summary_tokens=64,
    translate=20, generate=24, generate_tokens=32,
)  # fmt: skip
CT2_TYPES = ("int8", "int8_bfloat16", "bfloat16", "float32")


def _agreement(w: Any, row: dict[str, Any], ref: dict[str, Any]) -> str:
    if w.task == "sentiment":
        a = [r["label"] for r in row["results"]]
        b = [r["label"] for r in ref["results"]]
        return f"labels {100 * same_share(a, b):.0f}%"
    a = [r["text"] for r in row["results"]]
    b = [r["text"] for r in ref["results"]]
    return f"texts {100 * same_share(a, b):.0f}%"


def run_speed(keys: Sequence[str], sizes: Any, threads: int, unit: dict[str, float]) -> str:
    import ctranslate2

    runner = throughput.Runner(threads, None, 32, 1800, dict(os.environ))
    runner.warmup = 2
    folders = runner.setup(keys)
    ct2_offered = set(ctranslate2.get_supported_compute_types("cpu"))
    rows: list[list[str]] = []
    for w in throughput.make_workloads(keys, sizes, folders):
        texts = throughput.take(throughput.text_pools()[w.pool], w.items)
        base = {"workload": asdict(w), "texts": texts, "path": "core"}
        reference: dict[str, Any] | None = None
        variants: list[tuple[str, dict[str, Any], float | None]] = [
            (f"`{s.flag()}`", {"dtype": s.dtype, "quantize": s.quantize},
             unit["int8" if s.quantize == "int8" else s.dtype])
            for s in SETTINGS
        ]  # fmt: skip
        if w.task in ("summarize", "translate", "generate"):
            for ct in CT2_TYPES:
                spec = {"backend": "ctranslate2", "compute_type": ct}
                variants.append((f"`--backend ctranslate2 --compute-type {ct}`", spec, None))
        for label, spec, ceiling in variants:
            if spec.get("compute_type") in CT2_TYPES and spec["compute_type"] not in ct2_offered:
                rows.append([w.title, label, "not offered on this CPU by this CTranslate2",
                             "", "", "", ""])  # fmt: skip
                continue
            _progress(f"{w.key}: {label}")
            run, result = runner.worker({**base, **spec})
            if result is None:
                rows.append([w.title, label, f"FAILED: {throughput._failure(run)}", "", "", "", ""])
                continue
            rate = len(texts) / result["wall"]
            if reference is None:
                reference = result
            ref_rate = len(texts) / reference["wall"]
            share = ""
            if ceiling and w.kind == "classify" and reference.get("params"):
                flops = 2 * reference["params"] * result["tokens"]
                share = f"{100 * flops / result['wall'] / 1e9 / ceiling:.0f}%"
            rows.append(
                [w.title, label, f"{rate:.2f}", f"{rate / ref_rate:.2f}x", share,
                 _agreement(w, result, reference), f"{result['load_s']:.1f} s"]
            )  # fmt: skip
            _progress(f"  {rows[-1][2:]}")
    table = report.markdown_table(
        ["workload", "setting", "items/s", "vs float32", "share of the setting's ceiling",
         "same as float32", "load"],
        rows,
    )  # fmt: skip
    units = report.markdown_table(["unit", "GFLOP/s"], [[k, f"{v:.0f}"] for k, v in unit.items()])
    return (
        "Ceilings on this CPU (float32 and bfloat16: an n x n GEMM, best of the run; int8: "
        "a dynamic-int8 768→3072→768 Linear stack over 512 rows, as FLOP/s of the float "
        f"computation it replaces, beside the same stack in float32):\n\n{units}\n\n"
        "Each workload of `bench/throughput.py` (same models and inputs; random weights "
        "where the title says so) through llmcli's core in its own process, steady state "
        "after a two-item warm-up. *Share of the ceiling* (the classifier): 2 x its "
        "non-embedding weights x tokens per second, over the setting's unit rate. "
        "*Same as float32*: identical labels or texts (on random weights, generated texts "
        "diverge at the first "
        f"near-tie, so only the built-in models' rows mean much).\n\n{table}\n"
    )


# --- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", default="gates,speed", help="gates, speed, or both")
    parser.add_argument("--gates", default=",".join(GATES), help="comma-separated subset")
    parser.add_argument("--docs", default=None, help="long-document ids (default: all)")
    parser.add_argument("--translate-beams", type=int, default=2, help="beam row (1: none)")
    parser.add_argument("--workloads", default=",".join(SPEED_WORKLOADS))
    parser.add_argument("--quick", action="store_true", help="small speed sizes (smoke run)")
    parser.add_argument("--threads", type=int, default=None, help="default: physical cores")
    parser.add_argument(
        "--reuse", action="store_true", help="gates: reuse outcomes kept in bench/out/precision/"
    )
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.part.split(",")}
    threads = args.threads or throughput._physical_cores()
    info = report.machine_info(["torch", "transformers", "ctranslate2", "llmcli"])
    from llmcli.models.precision import probe_cpu

    units = probe_cpu()
    cpu = f"CPU units (torch's probe): bfloat16 {units.bf16 or 'none'}, int8 {units.int8 or 'none'}"
    if "gates" in parts:
        import torch

        torch.set_num_threads(threads)
        ids = [i.strip() for i in args.docs.split(",")] if args.docs else None
        docs = quality.read_longdocs(None, ids)
        chosen = [g.strip() for g in args.gates.split(",") if g.strip()]
        before = report.load_average()
        body, _ = run_gates(docs, chosen, args.translate_beams, args.reuse)
        if REUSED:
            body += (
                f"\nRun with `--reuse`: {len(REUSED)} gate outcome(s) kept in "
                "bench/out/precision/ by an earlier run of this script were taken from there, "
                "timings included, rather than run again.\n"
            )
        text = f"{body}\n{cpu}.\n\n{report.machine_block(info, before, report.load_average())}\n"
        print(text, flush=True)
        if not args.no_doc:
            quality.write_doc("precision-gates", text)
    if "speed" in parts:
        keys = [k.strip() for k in args.workloads.split(",") if k.strip()]
        sizes = throughput.QUICK if args.quick else SPEED_SIZES
        before = report.load_average()
        unit = ceilings(threads, 1024 if args.quick else 2048, 5 if args.quick else 10)
        body = run_speed(keys, sizes, threads, unit)
        text = (
            f"{body}\n{cpu}; {threads} threads.\n\n"
            f"{report.machine_block(info, before, report.load_average())}\n"
        )
        print(text, flush=True)
        if not args.no_doc:
            report.write_section("precision", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
