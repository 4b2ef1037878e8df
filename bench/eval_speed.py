"""Speed of ``llmcli eval`` against the tools it wraps, side by side in one run.

Three comparisons, each on the same generated files:

1. BLEU on a 100k-line file: ``llmcli eval HYP --ref REF -m bleu`` against
   ``sacrebleu REF -i HYP -m bleu``, both as fresh processes (start-up included), timed
   alternately; target: llmcli within 1.2x of sacrebleu, same score.
2. ROUGE (rouge1, rouge2, rougeL, rougeLsum, stemmer on) on 20k pairs: llmcli's core
   and CLI against a plain loop over ``rouge_score``'s ``RougeScorer.score``; target:
   at least 10x faster with bit-identical per-segment scores (checked here with ==).
3. ``--confidence`` (1000 bootstrap resamples) on the BLEU file: time and peak RSS of
   llmcli against ``sacrebleu --confidence``.
4. Many systems at once: BLEU and chrF of 16 systems against one reference of 3,004
   lines (the shape of WMT17 en-de newstest2017 with its 16 submissions, which this
   offline benchmark generates instead): ``llmcli eval SYS... --ref REF -m bleu,chrf``
   against ``sacrebleu REF -i SYS... -m bleu chrf``, as processes timed alternately;
   target: llmcli at most 1.0x sacrebleu, same scores to 4 decimals.

Results go to the ``eval`` section of docs/benchmarks.md (the many-systems comparison to
its ``eval-systems`` section; ``--only systems`` runs just that one). Run from anywhere with the
project's virtual environment::

    .venv/bin/python bench/eval_speed.py            # the sizes of the targets
    .venv/bin/python bench/eval_speed.py --lines 5000 --rouge-pairs 1000 --no-doc  # smoke

Text is generated, seeded, by a word-bigram chain trained on real English prose that
ships with CPython (the language reference in ``pydoc_data.topics`` and the docstrings
of the standard library); hypotheses are references with words dropped, replaced,
inserted and swapped. Files are cached in bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import ast
import gc
import itertools
import json
import os
import random
import re
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report as report

OUT = report.REPO / "bench" / "out"
BIN = Path(sys.executable).parent
LLMCLI = str(BIN / "llmcli")
SACREBLEU = str(BIN / "sacrebleu")
ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
GENERATOR_VERSION = 2  # bump when the text generator changes, to invalidate bench/out/
PACKAGES = ["llmcli", "sacrebleu", "rouge-score", "rouge-score-rs", "numpy", "nltk", "typer"]

BLEU_TARGET = 1.2  # llmcli may take at most this multiple of sacrebleu's time
SYSTEMS_TARGET = 1.0  # many systems: llmcli may take at most sacrebleu's time
ROUGE_TARGET = 10.0  # llmcli must be at least this many times faster than the loop


# --- text -------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z][a-z]*(?:['-][a-z]+)?[.,;:]?")


def _prose() -> list[str]:
    """Real English from CPython itself: the language reference and stdlib docstrings."""
    import pydoc_data.topics as topics

    texts = [topics.topics[key] for key in sorted(topics.topics)]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(stdlib.glob("*.py"))
    for package in ("email", "json", "logging", "http", "importlib", "concurrent/futures"):
        files += sorted((stdlib / package).glob("*.py"))
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    texts.append(doc)
    return texts


class TextModel:
    """A word-bigram chain over real sentences; unigram draws follow the real (Zipfian)
    word frequencies."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.successors: dict[str, list[str]] = {}
        self.starts: list[str] = []
        self.unigrams: list[str] = []
        for text in texts:
            sentence: list[str] = []
            for word in text.split():
                if not _WORD.fullmatch(word):
                    # Code, markup or numbers: end the current run of prose here.
                    self._add(sentence)
                    sentence = []
                    continue
                sentence.append(word)
                if word.endswith("."):
                    self._add(sentence)
                    sentence = []
            self._add(sentence)
        self.unigrams = [w.rstrip(".,;:") for w in self.unigrams if w.rstrip(".,;:")]

    def _add(self, sentence: list[str]) -> None:
        if len(sentence) < 4:
            return
        self.starts.append(sentence[0])
        self.unigrams += sentence
        for a, b in itertools.pairwise(sentence):
            self.successors.setdefault(a, []).append(b)

    def sentence(self, rng: random.Random, low: int, high: int) -> list[str]:
        length = rng.randint(low, high)
        words = [rng.choice(self.starts).capitalize()]
        while len(words) < length:
            following = self.successors.get(words[-1]) or self.successors.get(words[-1].lower())
            if not following or words[-1].endswith("."):
                # End of a real sentence: carry on with a new one, as lines often do.
                words.append(rng.choice(self.starts).capitalize())
            else:
                words.append(rng.choice(following))
        words[-1] = words[-1].rstrip(".,;:") + "."
        return words

    def perturb(self, rng: random.Random, words: list[str]) -> list[str]:
        """A plausible system output: drop 8%, replace 12%, insert 4%, swap 6% of words."""
        out: list[str] = []
        for word in words:
            r = rng.random()
            if r < 0.08:
                continue
            if r < 0.20:
                out.append(rng.choice(self.unigrams))
            else:
                out.append(word)
            if rng.random() < 0.04:
                out.append(rng.choice(self.unigrams))
        for i in range(len(out) - 1):
            if rng.random() < 0.06:
                out[i], out[i + 1] = out[i + 1], out[i]
        return out or words[:1]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Data:
    hyp: Path
    ref: Path
    pairs: Path
    lines: int
    rouge_pairs: int
    notes: list[str] = field(default_factory=list)


def make_data(lines: int, rouge_pairs: int, seed: int) -> Data:
    """Generate (or reuse from bench/out/) the BLEU files and the ROUGE pairs."""
    OUT.mkdir(parents=True, exist_ok=True)
    tag = f"v{GENERATOR_VERSION}-s{seed}-py{sys.version_info[0]}{sys.version_info[1]}"
    hyp = OUT / f"bleu-{lines}-{tag}.hyp"
    ref = OUT / f"bleu-{lines}-{tag}.ref"
    pairs = OUT / f"rouge-{rouge_pairs}-{tag}.jsonl"
    model: TextModel | None = None
    started = time.perf_counter()
    if not (hyp.exists() and ref.exists()):
        model = model or TextModel(_prose())
        rng = random.Random(f"bleu-{seed}")
        refs, hyps = [], []
        for _ in range(lines):
            words = model.sentence(rng, 10, 40)
            refs.append(" ".join(words))
            hyps.append(" ".join(model.perturb(rng, words)))
        _write_atomic(ref, "\n".join(refs) + "\n")
        _write_atomic(hyp, "\n".join(hyps) + "\n")
    if not pairs.exists():
        model = model or TextModel(_prose())
        rng = random.Random(f"rouge-{seed}")
        records = []
        for _ in range(rouge_pairs):
            sentences = [model.sentence(rng, 8, 20) for _ in range(rng.randint(2, 3))]
            out = [model.perturb(rng, s) for s in sentences if rng.random() >= 0.15]
            if rng.random() < 0.15:
                out.append(model.sentence(rng, 8, 20))
            records.append(
                json.dumps(
                    {
                        "prediction": "\n".join(" ".join(s) for s in out or sentences[:1]),
                        "reference": "\n".join(" ".join(s) for s in sentences),
                    }
                )
            )
        _write_atomic(pairs, "\n".join(records) + "\n")
    data = Data(hyp, ref, pairs, lines, rouge_pairs)
    if model is not None:
        print(f"generated data in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return data


def describe_data(data: Data, hyps: list[str], refs: list[str], pairs: list[dict[str, str]]) -> str:
    ref_words = sum(len(r.split()) for r in refs)
    hyp_words = sum(len(h.split()) for h in hyps)
    rouge_ref_words = sum(len(p["reference"].split()) for p in pairs)
    rouge_sentences = sum(p["reference"].count("\n") + 1 for p in pairs)
    return (
        "Text: generated (seeded, deterministic for a given CPython version) by a word-bigram "
        "chain trained on real English prose shipped with CPython (the language reference in "
        "`pydoc_data.topics` and standard-library docstrings), so word frequencies are "
        "natural (Zipfian) and local word order is real; it is not a real MT or "
        "summarization test set. Hypotheses are the references with words dropped (8%), "
        "replaced (12%), inserted (4%) and swapped (6%). "
        f"BLEU files: {len(refs):,} lines, {ref_words / len(refs):.1f} reference and "
        f"{hyp_words / len(hyps):.1f} hypothesis words per line on average "
        f"({len(set(refs)):,} distinct reference lines), `{data.ref.name}` / "
        f"`{data.hyp.name}`. ROUGE pairs: {len(pairs):,}, each reference 2-3 "
        f"newline-separated sentences of 8-20 words ({rouge_sentences / len(pairs):.1f} "
        f"sentences, {rouge_ref_words / len(pairs):.1f} words on average), the hypothesis "
        "the same sentences perturbed, one sometimes dropped or an unrelated one added, "
        f"`{data.pairs.name}`."
    )


# --- helpers ----------------------------------------------------------------------------


def _check(run: report.Run, what: str) -> report.Run:
    if not run.ok:
        raise SystemExit(f"{what} failed: {run.failure()}\n{run.stderr.decode()[-2000:]}")
    return run


def _head(path: Path, lines: int) -> Path:
    """The first ``lines`` lines of ``path`` in bench/out/, for untimed warm-up runs."""
    out = OUT / f"warmup-{path.name}"
    with path.open(encoding="utf-8") as handle:
        head = [line for _, line in zip(range(lines), handle, strict=False)]
    _write_atomic(out, "".join(head))
    return out


def _all_runs(times: Sequence[float]) -> str:
    return ", ".join(f"{t:.1f}" for t in times)


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- 1. BLEU ----------------------------------------------------------------------------


@dataclass
class Timings:
    """Wall and CPU seconds, and peak RSS, of repeated runs of one command."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)

    def add(self, run: report.Run) -> None:
        self.wall.append(run.seconds)
        self.cpu.append(run.cpu_seconds)
        self.rss.append(run.max_rss_bytes)

    @property
    def median(self) -> float:
        return report.summarize(self.wall)[0]

    @property
    def min(self) -> float:
        return report.summarize(self.wall)[1]

    @property
    def cpu_median(self) -> float:
        return report.summarize(self.cpu)[0]


def bleu_commands(data: Data) -> tuple[list[str], list[str]]:
    llm = [LLMCLI, "eval", str(data.hyp), "--ref", str(data.ref), "-m", "bleu"]
    sb = [SACREBLEU, str(data.ref), "-i", str(data.hyp), "-m", "bleu"]
    return llm, sb


def bench_bleu(data: Data, rounds: int) -> dict[str, Any]:
    llm_cmd, sb_cmd = bleu_commands(data)
    # Untimed warm-up on a small head of the files: .pyc files and packages in the page
    # cache, so no timed run pays for what only a first run pays.
    small = Data(_head(data.hyp, 2000), _head(data.ref, 2000), data.pairs, 2000, 0)
    for cmd in bleu_commands(small):
        _check(report.run_measured(cmd), "BLEU warm-up")
    timings = {"llmcli": Timings(), "sacrebleu": Timings()}
    printed: dict[str, set[str]] = {"llmcli": set(), "sacrebleu": set()}
    scores: list[float] = []
    for i in range(rounds):
        order = ["llmcli", "sacrebleu"] if i % 2 == 0 else ["sacrebleu", "llmcli"]
        for name in order:
            gc.collect()
            run = _check(report.run_measured(llm_cmd if name == "llmcli" else sb_cmd), name)
            timings[name].add(run)
            if name == "llmcli":
                score = float(run.stdout.decode().strip().split("\t")[2])
                scores.append(score)
                printed[name].add(f"{score:.1f}")
            else:
                printed[name].add(f"{float(json.loads(run.stdout)['score']):.1f}")
            _progress(
                f"bleu round {i + 1}: {name} {run.seconds:.1f} s ({run.cpu_seconds:.1f} s CPU)"
            )
    return {"timings": timings, "printed": printed, "scores": set(scores), "rounds": rounds}


def format_bleu(
    data: Data, bleu: dict[str, Any], conf: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    llm, sb = bleu["timings"]["llmcli"], bleu["timings"]["sacrebleu"]
    ratio_med, ratio_min = llm.median / sb.median, llm.min / sb.min
    ratio_cpu = llm.cpu_median / sb.cpu_median
    met = ratio_med <= BLEU_TARGET
    printed = bleu["printed"]
    same_printed = printed["llmcli"] == printed["sacrebleu"] and len(printed["llmcli"]) == 1
    (llm_score,) = bleu["scores"] if len(bleu["scores"]) == 1 else (None,)
    exact = ""
    same_exact: bool | None = None
    if "sacrebleu_score" in conf and llm_score is not None:
        same_exact = (
            f"{llm_score:.12f}" == f"{conf['sacrebleu_score']:.12f}"
            and conf["llmcli_score"] == llm_score
        )
        exact = (
            f" At full precision (sacrebleu's `--confidence -w 12` run below prints 12 "
            f"decimals): llmcli {llm_score!r}, sacrebleu {conf['sacrebleu_score']!r}: "
            f"{'identical' if same_exact else 'DIFFERENT'} to 12 decimals."
        )
    same = same_printed and same_exact is not False
    rows = [
        [
            f"`llmcli eval {data.hyp.name} --ref {data.ref.name} -m bleu`",
            report.fmt_seconds(llm.median),
            report.fmt_seconds(llm.min),
            report.fmt_seconds(llm.cpu_median),
            _all_runs(llm.wall),
            report.fmt_bytes(max(llm.rss)),
        ],
        [
            f"`sacrebleu {data.ref.name} -i {data.hyp.name} -m bleu`",
            report.fmt_seconds(sb.median),
            report.fmt_seconds(sb.min),
            report.fmt_seconds(sb.cpu_median),
            _all_runs(sb.wall),
            report.fmt_bytes(max(sb.rss)),
        ],
    ]
    body = [
        f"### 1. BLEU, {data.lines:,} lines: llmcli CLI vs sacrebleu CLI",
        "",
        "Each command run as a fresh process (start-up, reading, tokenizing and scoring "
        f"all included), {bleu['rounds']} rounds alternating which goes first, after one "
        "untimed warm-up run of each on the first 2,000 lines. Both use sacrebleu's "
        "defaults (13a tokenizer, exp smoothing, mixed case, one reference). CPU is the "
        "child's user + system time, less sensitive than wall time to other load on a "
        "shared machine.",
        "",
        report.markdown_table(
            ["command", "median", "min", "CPU (median)", "all runs, wall (s)", "peak RSS"],
            rows,
        ),
        "",
        f"- **Ratio llmcli / sacrebleu**: {ratio_med:.2f}x by median wall time, "
        f"{ratio_min:.2f}x by min, {ratio_cpu:.2f}x by median CPU time. "
        f"Target ≤ {BLEU_TARGET}x: **{'met' if met else 'NOT met'}**.",
        f"- **Same BLEU**: {'yes' if same else 'NO'}. Every timed run printed "
        f"{' / '.join(sorted(printed['llmcli']))} (llmcli, shown to one decimal here) and "
        f"{' / '.join(sorted(printed['sacrebleu']))} (sacrebleu's default one decimal).{exact}",
    ]
    facts = {"ratio": ratio_med, "ratio_cpu": ratio_cpu, "met": met, "same": same}
    return "\n".join(body), facts


# --- 2. ROUGE ---------------------------------------------------------------------------


Scores = list[dict[str, tuple[float, float, float]]]


def _loop(hyps: list[str], refs: list[str]) -> Scores:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    out: Scores = []
    for hyp, ref in zip(hyps, refs, strict=True):
        result = scorer.score(ref, hyp)
        out.append({t: (s.precision, s.recall, s.fmeasure) for t, s in result.items()})
    return out


def _core(hyps: list[str], refs: list[list[str]], engine: str = "auto") -> dict[str, Any]:
    from llmcli.metrics.base import MetricOptions
    from llmcli.metrics.registry import build_metrics

    metrics = build_metrics(["rouge"], MetricOptions(rouge_stemmer=True, rouge_engine=engine))
    return {m.name: m.statistics(hyps, refs) for m in metrics}


def _timed(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall, CPU of this process, all threads, result)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    result = func()
    return time.perf_counter() - start, time.process_time() - cpu, result


def _mismatches_core(expected: Scores, stats: dict[str, Any]) -> tuple[int, int]:
    """(values differing, values compared): every precision, recall and F, with ==."""
    bad = total = 0
    for rouge_type in ROUGE_TYPES:
        rows = stats[rouge_type].tolist()
        if len(rows) != len(expected):
            return len(expected) * 3, len(expected) * 3
        for i, row in enumerate(rows):
            want = expected[i][rouge_type]
            for j in range(3):
                total += 1
                if row[j] != want[j]:
                    bad += 1
    return bad, total


def _mismatches_cli(expected: Scores, run: report.Run) -> tuple[int, int]:
    """(values differing, values compared): the per-segment F of each type, with ==."""
    doc = json.loads(run.stdout.decode())
    seg = doc["systems"][0]["segment_scores"]
    bad = total = 0
    for rouge_type in ROUGE_TYPES:
        values = seg[rouge_type]
        if len(values) != len(expected):
            return len(expected), len(expected)
        for i, value in enumerate(values):
            total += 1
            if value != expected[i][rouge_type][2]:
                bad += 1
    return bad, total


def rouge_cli(pairs: Path) -> list[str]:
    return [
        LLMCLI,
        "eval",
        str(pairs),
        "--jsonl",
        "-m",
        "rouge",
        "--stemmer",
        "--segments",
        "--json",
    ]


def bench_rouge(
    data: Data, rounds: int, loop_rounds: int, python_rounds: int
) -> tuple[str, dict[str, Any]]:
    pairs = [json.loads(line) for line in data.pairs.read_text(encoding="utf-8").splitlines()]
    hyps = [p["prediction"] for p in pairs]
    refs = [p["reference"] for p in pairs]
    refs_nested = [[r] for r in refs]
    cli = rouge_cli(data.pairs)
    cli_python = [*cli, "--rouge-engine", "python"]
    one_thread = {**os.environ, "RAYON_NUM_THREADS": "1"}

    # Untimed warm-up: imports, the rust extension, the stemmer, page cache.
    _loop(hyps[:200], refs[:200])
    _core(hyps[:200], refs_nested[:200])
    _check(report.run_measured(rouge_cli(_head(data.pairs, 200))), "ROUGE CLI warm-up")

    loop, core, cli_t, cli1_t, py_t = Timings(), Timings(), Timings(), Timings(), Timings()
    expected: Scores | None = None
    core_stats: dict[str, Any] | None = None
    cli_run: report.Run | None = None
    cli1_run: report.Run | None = None
    for i in range(rounds):
        if i < loop_rounds:
            wall, cpu, result = _timed(lambda: _loop(hyps, refs))
            loop.wall.append(wall)
            loop.cpu.append(cpu)
            expected = expected or result
            _progress(f"rouge round {i + 1}: loop {wall:.1f} s ({cpu:.1f} s CPU)")
        wall, cpu, core_stats = _timed(lambda: _core(hyps, refs_nested))
        core.wall.append(wall)
        core.cpu.append(cpu)
        cli_run = _check(report.run_measured(cli), "llmcli rouge")
        cli_t.add(cli_run)
        cli1_run = _check(report.run_measured(cli, env=one_thread), "llmcli rouge, 1 thread")
        cli1_t.add(cli1_run)
        _progress(
            f"rouge round {i + 1}: core {wall:.2f} s, cli {cli_run.seconds:.2f} s, "
            f"cli 1 thread {cli1_run.seconds:.2f} s"
        )
    py_run: report.Run | None = None
    for i in range(python_rounds):
        py_run = _check(report.run_measured(cli_python), "llmcli rouge --rouge-engine python")
        py_t.add(py_run)
        _progress(f"rouge round {i + 1}: cli python {py_run.seconds:.1f} s")
    assert expected is not None and core_stats is not None
    assert cli_run is not None and cli1_run is not None

    core_bad, core_total = _mismatches_core(expected, core_stats)
    cli_bad, cli_total = _mismatches_cli(expected, cli_run)
    cli1_bad, cli1_total = _mismatches_cli(expected, cli1_run)
    n = len(pairs)

    def ident(bad: int, total: int) -> str:
        return f"{'yes' if bad == 0 else 'NO'}, {bad} mismatches of {total:,}"

    def row(label: str, t: Timings, check: str) -> list[str]:
        return [
            label,
            str(len(t.wall)),
            report.fmt_seconds(t.median),
            report.fmt_seconds(t.min),
            report.fmt_seconds(t.cpu_median),
            f"{n / t.median:,.0f}",
            "1x" if t is loop else f"{loop.median / t.median:.1f}x",
            check,
        ]

    rows = [
        row(
            "plain loop: `rouge_scorer.RougeScorer(types, use_stemmer=True).score(ref, hyp)`",
            loop,
            "(the reference)",
        ),
        row(
            "llmcli core: `build_metrics(['rouge'], MetricOptions(rouge_stemmer=True))`, "
            "then `.statistics(hyps, refs)` per type",
            core,
            f"P, R, F: {ident(core_bad, core_total)}",
        ),
        row(
            "llmcli CLI: `llmcli eval PAIRS.jsonl --jsonl -m rouge --stemmer --segments --json`",
            cli_t,
            f"F: {ident(cli_bad, cli_total)}",
        ),
        row(
            "llmcli CLI, same, with `RAYON_NUM_THREADS=1` (one core)",
            cli1_t,
            f"F: {ident(cli1_bad, cli1_total)}",
        ),
    ]
    py_bad = 0
    if py_run is not None:
        py_bad, py_total = _mismatches_cli(expected, py_run)
        rows.append(
            row(
                "llmcli CLI, same, with `--rouge-engine python` (the fallback)",
                py_t,
                f"F: {ident(py_bad, py_total)}",
            )
        )
    core_speedup = loop.median / core.median
    cli_speedup = loop.median / cli_t.median
    core_met = core_speedup >= ROUGE_TARGET and core_bad == 0
    cli_met = cli_speedup >= ROUGE_TARGET and cli_bad == 0
    body = [
        f"### 2. ROUGE, {n:,} pairs: llmcli vs a plain rouge-score loop",
        "",
        "All four types (rouge1, rouge2, rougeL, rougeLsum), Porter stemmer on. The loop and "
        "the core run inside the benchmark process, after an untimed warm-up on 200 pairs "
        "(the core's time includes `build_metrics`); the CLI rows are fresh processes "
        "(start-up, reading the JSON Lines file and writing per-segment JSON included). "
        "Speed-up is the loop's median over the row's median, both wall time. CPU is "
        "user + system time of all threads. Identity: every per-segment value compared with "
        "`==` against the loop's, over all pairs (the core returns precision, recall and "
        "F; the CLI's `--segments` JSON carries F). The default engine, rouge-score-rs, "
        f"scores a batch on all usable cores (here {len(os.sched_getaffinity(0))}); the "
        "one-thread row is the single-core figure.",
        "",
        report.markdown_table(
            [
                "what",
                "runs",
                "median",
                "min",
                "CPU (median)",
                "pairs/s",
                "speed-up",
                "identical to the loop",
            ],
            rows,
        ),
        "",
        f"- **Core**: {core_speedup:.1f}x the loop; identical: "
        f"{'yes' if core_bad == 0 else 'no'}, {core_bad} mismatches. Target ≥ "
        f"{ROUGE_TARGET:.0f}x and identical: **{'met' if core_met else 'NOT met'}**.",
        f"- **CLI**: {cli_speedup:.1f}x the loop; identical: "
        f"{'yes' if cli_bad == 0 else 'no'}, {cli_bad} mismatches. Target ≥ "
        f"{ROUGE_TARGET:.0f}x and identical: **{'met' if cli_met else 'NOT met'}**.",
    ]
    facts = {
        "core_speedup": core_speedup,
        "cli_speedup": cli_speedup,
        "core_mismatches": core_bad,
        "cli_mismatches": cli_bad,
        "python_mismatches": py_bad,
        "core_met": core_met,
        "cli_met": cli_met,
    }
    return "\n".join(body), facts


# --- 3. --confidence ----------------------------------------------------------------------


def bench_confidence(
    data: Data, rounds: int, samples: int, timeout: float, mem_cap: int | None
) -> tuple[str, dict[str, Any]]:
    llm_base, sb_base = bleu_commands(data)
    llm_cmd = [*llm_base, "--confidence", "--bootstrap-samples", str(samples), "--json"]
    sb_cmd = [*sb_base, "--confidence", "--confidence-n", str(samples), "-w", "12"]
    runs: dict[str, list[report.Run]] = {"llmcli": [], "sacrebleu": []}
    for i in range(rounds):
        order = ["llmcli", "sacrebleu"] if i % 2 == 0 else ["sacrebleu", "llmcli"]
        for name in order:
            gc.collect()
            if name == "llmcli":
                run = _check(report.run_measured(llm_cmd, timeout=timeout), "llmcli --confidence")
            else:
                run = report.run_measured(sb_cmd, timeout=timeout, address_space_limit=mem_cap)
            runs[name].append(run)
            status = "ok" if run.ok else run.failure()
            _progress(
                f"confidence round {i + 1}: {name} {run.seconds:.1f} s, "
                f"{report.fmt_bytes(run.max_rss_bytes)} ({status})"
            )
    llm = Timings()
    for run in runs["llmcli"]:
        llm.add(run)
    llm_doc = json.loads(runs["llmcli"][-1].stdout.decode())
    llm_result = llm_doc["systems"][0]["scores"][0]
    interval = llm_result["interval"]
    facts: dict[str, Any] = {
        "llmcli_s": llm.median,
        "llmcli_rss": max(llm.rss),
        "llmcli_score": float(llm_result["score"]),
    }
    sb_ok = [r for r in runs["sacrebleu"] if r.ok]
    sb = Timings()
    for run in sb_ok:
        sb.add(run)
    cap = f"a {report.fmt_bytes(mem_cap)} address-space cap" if mem_cap else "no memory cap"

    def row(label: str, t: Timings, count: int, status: str, rss: int) -> list[str]:
        if not t.wall:
            return [label, str(count), "-", "-", "-", report.fmt_bytes(rss), status]
        return [
            label,
            str(count),
            report.fmt_seconds(t.median),
            report.fmt_seconds(t.min),
            report.fmt_seconds(t.cpu_median),
            report.fmt_bytes(max(t.rss)),
            status,
        ]

    failures = [r.failure() for r in runs["sacrebleu"] if not r.ok]
    rows = [
        row(
            f"`llmcli eval HYP --ref REF -m bleu --confidence --bootstrap-samples {samples} "
            "--json`",
            llm,
            len(runs["llmcli"]),
            "ok",
            0,
        ),
        row(
            f"`sacrebleu REF -i HYP -m bleu --confidence --confidence-n {samples} -w 12`",
            sb,
            len(runs["sacrebleu"]),
            "ok" if not failures else "; ".join(failures),
            max(r.max_rss_bytes for r in runs["sacrebleu"]),
        ),
    ]
    same_text = "sacrebleu produced no interval to compare"
    if sb_ok:
        sb_doc = json.loads(sb_ok[-1].stdout.decode())
        same = f"{interval['mean']:.6f}" == f"{sb_doc['confidence_mean']:.6f}" and (
            f"{interval['ci']:.6f}" == f"{sb_doc['confidence_var']:.6f}"
        )
        same_text = (
            f"{'yes' if same else 'NO'}: llmcli μ = {interval['mean']:.6f} ± "
            f"{interval['ci']:.6f}, sacrebleu μ = {sb_doc['confidence_mean']:.6f} ± "
            f"{sb_doc['confidence_var']:.6f} (compared to 6 decimals)"
        )
        facts.update(
            sacrebleu_s=sb.median,
            sacrebleu_rss=max(sb.rss),
            sacrebleu_score=float(sb_doc["score"]),
            same=same,
        )
    body = [
        f"### 3. `--confidence`, {samples} bootstrap resamples, {data.lines:,} lines",
        "",
        "Fresh processes on the BLEU files above, alternating order. Peak RSS is the "
        "child's own maximum resident set size (`wait4` rusage). sacrebleu ran under a "
        f"{timeout:.0f} s timeout and {cap} (so that it would fail with MemoryError rather "
        "than exhaust a shared machine); both use seed 12345. `--json` / `-w 12` only "
        "change how results are printed, so that the intervals can be compared.",
        "",
        report.markdown_table(
            ["command", "runs", "median", "min", "CPU (median)", "peak RSS", "status"], rows
        ),
        "",
        f"- **Same interval**: {same_text}.",
    ]
    if sb_ok:
        body.append(
            f"- llmcli took {facts['llmcli_s'] / facts['sacrebleu_s']:.2f}x sacrebleu's wall "
            f"time and {facts['llmcli_rss'] / facts['sacrebleu_rss']:.2f}x its peak memory."
        )
    return "\n".join(body), facts


# --- main -------------------------------------------------------------------------------


# --- 4. many systems ----------------------------------------------------------------------


def make_systems(data: Data, systems: int, lines: int, seed: int) -> tuple[Path, list[Path]]:
    """One reference (the BLEU reference's first ``lines`` lines) and ``systems`` outputs,
    each perturbed with its own seed; cached in bench/out/ like the rest."""
    tag = f"v{GENERATOR_VERSION}-s{seed}-{lines}"
    ref = OUT / f"systems-{tag}.ref"
    paths = [OUT / f"systems-{tag}.sys{k:02d}" for k in range(systems)]
    if ref.exists() and all(p.exists() for p in paths):
        return ref, paths
    with data.ref.open(encoding="utf-8") as handle:
        refs = [line.rstrip("\n") for _, line in zip(range(lines), handle, strict=False)]
    model = TextModel(_prose())
    _write_atomic(ref, "\n".join(refs) + "\n")
    for k, path in enumerate(paths):
        rng = random.Random(f"system-{seed}-{k}")
        hyps = [" ".join(model.perturb(rng, r.split())) for r in refs]
        _write_atomic(path, "\n".join(hyps) + "\n")
    return ref, paths


def bench_systems(ref: Path, paths: Sequence[Path], rounds: int) -> tuple[str, dict[str, Any]]:
    llm_cmd = [LLMCLI, "eval", *map(str, paths), "--ref", str(ref), "-m", "bleu,chrf"]
    llm_cmd += ["-w", "4"]
    sb_cmd = [SACREBLEU, str(ref), "-i", *map(str, paths), "-m", "bleu", "chrf", "-w", "4"]
    for cmd in (llm_cmd, sb_cmd):  # untimed warm-up: page cache and .pyc files
        _check(report.run_measured(cmd), "systems warm-up")
    timings = {"llmcli": Timings(), "sacrebleu": Timings()}
    outputs: dict[str, list[str]] = {}
    for i in range(rounds):
        order = ["llmcli", "sacrebleu"] if i % 2 == 0 else ["sacrebleu", "llmcli"]
        for name in order:
            gc.collect()
            run = _check(report.run_measured(llm_cmd if name == "llmcli" else sb_cmd), name)
            timings[name].add(run)
            if name == "llmcli":
                rows = [line.split("\t") for line in run.stdout.decode().splitlines()]
                outputs[name] = [f"{row[0]} {row[1]} {row[2]}" for row in rows]
            else:
                outputs[name] = [
                    f"{entry['system']} {metric} {entry[metric]}"
                    for entry in json.loads(run.stdout)
                    for metric in ("BLEU", "chrF2")
                ]
            _progress(f"systems round {i + 1}: {name} {run.seconds:.2f} s")
    llm, sb = timings["llmcli"], timings["sacrebleu"]
    ratio = llm.median / sb.median
    same = sorted(outputs["llmcli"]) == sorted(outputs["sacrebleu"])
    table = "\n".join(
        [
            "| command | wall s (median of runs) | all runs | CPU s (median) |",
            "| --- | --- | --- | --- |",
            *(
                f"| {name} | {t.median:.2f} | {_all_runs(t.wall)} | {t.cpu_median:.2f} |"
                for name, t in (("llmcli eval", llm), ("sacrebleu", sb))
            ),
        ]
    )
    met = ratio <= SYSTEMS_TARGET
    text = "\n\n".join(
        [
            "### Many systems: BLEU + chrF of "
            f"{len(paths)} systems, one reference of {_count_lines(ref):,} lines",
            "Generated stand-ins for WMT17 en-de (no WMT data offline): the reference is the "
            "first lines of the BLEU reference, each system a differently seeded perturbation "
            "of it. Commands: `llmcli eval SYS... --ref REF -m bleu,chrf -w 4` and "
            "`sacrebleu REF -i SYS... -m bleu chrf -w 4`, fresh processes, timed alternately "
            f"after an untimed warm-up, {rounds} rounds each.",
            table,
            f"Ratio llmcli / sacrebleu: **{ratio:.2f}x** by median wall time "
            f"({llm.cpu_median / sb.cpu_median:.2f}x by CPU); target ≤ {SYSTEMS_TARGET}x: "
            f"{'met' if met else '**not met**'}. Every system's BLEU and chrF to 4 decimals "
            f"equal sacrebleu's: {'yes' if same else '**no**'}.",
        ]
    )
    return text, {"ratio": ratio, "met": met, "same": same}


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000, help="BLEU file lines")
    parser.add_argument("--rouge-pairs", type=int, default=20_000, help="ROUGE segment pairs")
    parser.add_argument(
        "--bleu-rounds", type=int, default=3, help="timed BLEU rounds (each runs both CLIs)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of the fast ROUGE rows")
    parser.add_argument(
        "--loop-rounds", type=int, default=1, help="rounds of the slow rouge-score loop"
    )
    parser.add_argument(
        "--python-rounds",
        type=int,
        default=1,
        help="rounds of llmcli --rouge-engine python (0: skip)",
    )
    parser.add_argument(
        "--confidence-rounds", type=int, default=1, help="rounds of --confidence (0: skip)"
    )
    parser.add_argument("--bootstrap-samples", type=int, default=1000)
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds before a --confidence run is killed"
    )
    parser.add_argument(
        "--mem-cap-gib",
        type=float,
        default=None,
        help="address-space cap for sacrebleu --confidence (default: 80%% of MemAvailable)",
    )
    parser.add_argument("--seed", type=int, default=1, help="text generator seed")
    parser.add_argument("--systems", type=int, default=16, help="systems of the many-systems run")
    parser.add_argument(
        "--system-lines", type=int, default=3004, help="segments of the many-systems run"
    )
    parser.add_argument("--systems-rounds", type=int, default=5, help="many-systems rounds")
    parser.add_argument(
        "--only", choices=["systems"], default=None, help="run one comparison and its section"
    )
    parser.add_argument(
        "--no-doc", action="store_true", help="print the section; leave docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    if args.only == "systems":
        return main_systems(args)
    if min(args.rounds, args.bleu_rounds) < 1 or not 1 <= args.loop_rounds <= args.rounds:
        parser.error("need rounds >= 1 and 1 <= --loop-rounds <= --rounds")

    info = report.machine_info(PACKAGES)
    load_before = report.load_average()
    started = time.perf_counter()
    data = make_data(args.lines, args.rouge_pairs, args.seed)
    hyps = data.hyp.read_text(encoding="utf-8").splitlines()
    refs = data.ref.read_text(encoding="utf-8").splitlines()
    pairs = [json.loads(line) for line in data.pairs.read_text(encoding="utf-8").splitlines()]
    data_text = describe_data(data, hyps, refs, pairs)
    del hyps, refs, pairs

    print("BLEU ...", file=sys.stderr)
    bleu_raw = bench_bleu(data, args.bleu_rounds)
    print("ROUGE ...", file=sys.stderr)
    rouge_text, rouge = bench_rouge(data, args.rounds, args.loop_rounds, args.python_rounds)
    conf_text = ""
    conf: dict[str, Any] = {}
    if args.confidence_rounds:
        print("--confidence ...", file=sys.stderr)
        if args.mem_cap_gib is not None:
            cap: int | None = int(args.mem_cap_gib * 2**30)
        else:
            available = report.mem_available_bytes()
            cap = int(available * 0.8) if available else None
        conf_text, conf = bench_confidence(
            data, args.confidence_rounds, args.bootstrap_samples, args.timeout, cap
        )
    print("many systems ...", file=sys.stderr)
    systems_ref, systems_paths = make_systems(data, args.systems, args.system_lines, args.seed)
    systems_text, systems = bench_systems(systems_ref, systems_paths, args.systems_rounds)
    bleu_text, bleu = format_bleu(data, bleu_raw, conf)
    elapsed = time.perf_counter() - started

    def yes(flag: bool) -> str:
        return "**yes**" if flag else "**no**"

    summary = [
        "| target | measured | met |",
        "| --- | --- | --- |",
        f"| BLEU: llmcli CLI ≤ {BLEU_TARGET}x sacrebleu CLI, same score | "
        f"{bleu['ratio']:.2f}x by median wall time ({bleu['ratio_cpu']:.2f}x by CPU), "
        f"same score: {'yes' if bleu['same'] else 'no'} | {yes(bleu['met'] and bleu['same'])} |",
        f"| ROUGE: llmcli core ≥ {ROUGE_TARGET:.0f}x the rouge-score loop, bit-identical | "
        f"{rouge['core_speedup']:.1f}x, {rouge['core_mismatches']} mismatches | "
        f"{yes(rouge['core_met'])} |",
        f"| ROUGE: llmcli CLI ≥ {ROUGE_TARGET:.0f}x the rouge-score loop, bit-identical | "
        f"{rouge['cli_speedup']:.1f}x, {rouge['cli_mismatches']} mismatches | "
        f"{yes(rouge['cli_met'])} |",
    ]
    summary.append(
        f"| many systems: llmcli CLI ≤ {SYSTEMS_TARGET}x sacrebleu CLI, same scores | "
        f"{systems['ratio']:.2f}x by median wall time, same scores: "
        f"{'yes' if systems['same'] else 'no'} | {yes(systems['met'] and systems['same'])} |"
    )
    if conf:
        sb = (
            f"sacrebleu {report.fmt_seconds(conf['sacrebleu_s'])}, "
            f"{report.fmt_bytes(conf['sacrebleu_rss'])}"
            if "sacrebleu_s" in conf
            else "sacrebleu failed (see below)"
        )
        summary.append(
            "| `--confidence`: time and peak memory (measured, no target) | llmcli "
            f"{report.fmt_seconds(conf['llmcli_s'])}, {report.fmt_bytes(conf['llmcli_rss'])}; "
            f"{sb} | - |"
        )
    section = "\n\n".join(
        part
        for part in [
            "## eval",
            "Speed of `llmcli eval` against sacrebleu and rouge-score, measured side by side "
            "in one run of `bench/eval_speed.py`. Every figure below comes from that one run, "
            "on this machine, at this date:",
            report.machine_block(info, load_before, report.load_average()),
            f"Whole run: {elapsed / 60:.1f} min. {data_text}",
            "\n".join(summary),
            bleu_text,
            rouge_text,
            conf_text,
            systems_text,
        ]
        if part
    )
    if args.no_doc:
        print(section)
    else:
        path = report.write_section("eval", section)
        print(section)
        print(f"\nwrote the eval section of {path}", file=sys.stderr)
    return 0


def main_systems(args: argparse.Namespace) -> int:
    """The many-systems comparison alone, into the ``eval-systems`` section."""
    info = report.machine_info(PACKAGES)
    load_before = report.load_average()
    data = make_data(max(args.lines, args.system_lines), args.rouge_pairs, args.seed)
    ref, paths = make_systems(data, args.systems, args.system_lines, args.seed)
    print("many systems ...", file=sys.stderr)
    text, _ = bench_systems(ref, paths, args.systems_rounds)
    section = "\n\n".join(
        [
            "## eval: many systems",
            "Measured in one run of `bench/eval_speed.py --only systems`, on this machine, "
            "at this date:",
            report.machine_block(info, load_before, report.load_average()),
            text,
        ]
    )
    print(section)
    if not args.no_doc:
        path = report.write_section("eval-systems", section)
        print(f"\nwrote the eval-systems section of {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
