"""Peak memory of ``llmcli sentiment --lines`` as the input grows: does RSS stay flat?

A ``--lines`` run reads its input lazily, works on one window of items at a time and
writes results as they are made, so its memory should not depend on the input's size:
a file larger than RAM should stream. This script measures that, in four parts:

1. The whole model command, ``llmcli sentiment --lines --model TINY FILE -o OUT``, as a
   fresh process on generated files of growing size (0.5, 2 and 8 MiB by default), with a
   tiny random-weight DistilBERT classifier (``tests/tiny_models.py``) so that the model
   costs little and the pipeline itself (reading, windows, tokenizing, writing the
   journaled output) is what is measured. Peak RSS is the child's own (``wait4``);
   RSS is also sampled from ``/proc`` during each run, to show it over time.
2. A run of blank lines: blank lines are items that need no model, and the output must
   stay line-aligned, so they must not pile up either.
3. The same pipeline without a model (reader, windows, rendering, journal, ``-o``
   file; a task that returns a constant result) on a larger file (128 MiB by default).
4. The reader alone (``llmcli.inputs.iter_items`` in LINES mode) on a much larger file
   (1 GiB by default).
5. Inputs that never end a line: ``/dev/zero``, an endless stream without newlines (a
   FIFO fed by a child process) and a sparse file (30 GiB by default, made with
   ``truncate``), through the reader in every mode and through ``llmcli eval``: each
   must end with a one-line error (exit 2) within the ceiling, against the same reader
   or command on a small text file.

Every run must stay within a ceiling: peak RSS at most its baseline (the smallest input
of its kind) plus ``--ceiling-mib`` (200 MiB by default); the script exits with status 1
when one does not. Results go to the ``memory`` section of docs/benchmarks.md::

    .venv/bin/python bench/memory.py      # default sizes, ~10 min on 2 busy cores
    .venv/bin/python bench/memory.py --sizes 0.1,0.4 --blank-lines 0 --pipeline-mib 4 \\
        --reader-mib 16 --no-doc          # smoke run, ~1.5 min, prints only

Generated inputs and the tiny model are kept in bench/out/memory/ (git-ignored) and
reused; outputs of the runs are deleted after their line count is checked.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report as report

OUT = report.REPO / "bench" / "out" / "memory"
BIN = Path(sys.executable).parent
LLMCLI = str(BIN / "llmcli")
PACKAGES = ["llmcli", "torch", "transformers", "tokenizers"]
GENERATOR_VERSION = 2  # bump when the text generator changes, to invalidate bench/out/
MIB = 2**20
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


# --- inputs -----------------------------------------------------------------------------


def _sentences() -> list[str]:
    """The sentences the tiny tokenizers were trained on, so lines tokenize into words."""
    sys.path.insert(0, str(report.REPO / "tests"))
    from tiny_models import corpus  # no torch import at module level

    return corpus(400)


def _pool(seed: int, size: int = 8192) -> list[str]:
    """Lines of one to three sentences, about 100 characters on average."""
    sentences = _sentences()
    rng = random.Random(f"memory-{seed}")
    return [" ".join(rng.choices(sentences, k=rng.choice((1, 2, 2, 3)))) for _ in range(size)]


def _fmt_mib(mib: float) -> str:
    return f"{mib:g}"


def lines_file(mib: float, seed: int) -> Path:
    """A generated ``--lines`` file of ``mib`` MiB (to the end of the line that reaches
    it); every line distinct."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"lines-{_fmt_mib(mib)}MiB-v{GENERATOR_VERSION}-s{seed}.txt"
    if path.exists():
        return path
    started = time.perf_counter()
    pool = _pool(seed)
    rng = random.Random(f"memory-order-{seed}")
    target = int(mib * MIB)
    written = 0
    number = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        while written < target:
            # The line number makes every line distinct, so no cache keyed on the text
            # could hide growth. A few sentences are French or German (non-ASCII).
            chunk = "".join(
                f"{number + i}. {line}\n" for i, line in enumerate(rng.choices(pool, k=20_000))
            ).encode("utf-8")
            number += 20_000
            if written + len(chunk) > target:
                cut = chunk.find(b"\n", target - written - 1) + 1
                chunk = chunk[: cut or len(chunk)]
            handle.write(chunk)
            written += len(chunk)
    os.replace(tmp, path)
    _progress(f"generated {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def blank_file(blanks: int) -> Path:
    """One text line, ``blanks`` blank lines, one text line."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"blank-{blanks}.txt"
    if not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(
            "The film was a delight.\n" + "\n" * blanks + "The service was terrible.\n",
            encoding="utf-8",
        )
        os.replace(tmp, path)
    return path


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):  # small: this process's RSS is a floor
            lines += block.count(b"\n")
    return lines


def tiny_model() -> Path:
    """The tiny random-weight DistilBERT classifier, built once in a separate process."""
    folder = OUT / "distilbert-classifier"
    done = folder / ".complete"
    if not done.exists():
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import tiny_models; "
            "tiny_models.make_distilbert_classifier(sys.argv[2])"
        )
        run = report.run_measured(
            [sys.executable, "-c", code, str(report.REPO / "tests"), str(folder)], env=ENV
        )
        _check(run, "building the tiny model")
        done.write_text("ok\n", encoding="utf-8")
    return folder


# --- measuring --------------------------------------------------------------------------


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _check(run: report.Run, what: str) -> report.Run:
    if not run.ok:
        raise SystemExit(f"{what} failed: {run.failure()}\n{run.stderr.decode()[-2000:]}")
    return run


def _child_pid(parent: int) -> int | None:
    """A live child process of ``parent`` (this script runs one at a time)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(parent):
            return int(entry.name)
    return None


def _rss(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


@dataclass
class Measured:
    """One measured run: what ran, on what, and its memory and time."""

    label: str
    input_bytes: int
    lines: int
    run: report.Run
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds, RSS)
    begin: float = 0.0  # when the work began (the output file appeared), in seconds
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def peak(self) -> int:
        """The child's own VmHWM where it reported one, else ``wait4``'s peak RSS."""
        return self.result.get("vmhwm") or self.run.max_rss_bytes

    def rss_at(self, fraction: float) -> int | None:
        """Sampled RSS nearest to ``fraction`` of the run's time after ``begin``; None
        when fewer than four samples fall after ``begin`` (too short a run to show)."""
        after = [s for s in self.samples if s[0] >= self.begin]
        if len(after) < 4:
            return None
        when = self.begin + fraction * (self.run.seconds - self.begin)
        return min(after, key=lambda s: abs(s[0] - when))[1]


def measured(
    argv: Sequence[str], *, watch: Path | None = None, interval: float = 0.5
) -> tuple[report.Run, list[tuple[float, int]], float]:
    """``report.run_measured(argv)``, sampling the child's RSS every ``interval`` s.

    Also returns when ``watch`` first existed (0.0 without one, or if it never did): for
    a model command, its ``-o`` partial file, made once the model is loaded.
    """
    samples: list[tuple[float, int]] = []
    begin: list[float] = []
    stop = threading.Event()
    started = time.perf_counter()

    def sample() -> None:
        pid = None
        while not stop.is_set():
            if watch is not None and not begin and watch.exists():
                begin.append(time.perf_counter() - started)
            pid = pid or _child_pid(os.getpid())
            rss = _rss(pid) if pid else None
            if rss is not None:
                samples.append((time.perf_counter() - started, rss))
            elif pid:
                pid = None  # exited, or not yet exec'd: look again
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run = report.run_measured(argv, env=ENV)
    finally:
        stop.set()
        sampler.join()
    return run, samples, begin[0] if begin else 0.0


def run_cli(
    model: Path, path: Path, lines: int, label: str, threads: int, json_output: bool
) -> Measured:
    out = OUT / f"out-{path.stem}.txt"
    argv = [LLMCLI, "sentiment", "--lines", "--model", str(model), str(path), "-o", str(out)]
    if threads:
        argv[2:2] = ["--threads", str(threads)]
    if json_output:
        argv.append("--json")
    run, samples, begin = measured(argv, watch=Path(f"{out}.llmcli-partial"), interval=0.25)
    _check(run, " ".join(argv))
    written = count_lines(out)
    out.unlink()
    if written != lines:
        raise SystemExit(f"{label}: {written} output lines for {lines} input lines")
    m = Measured(label, path.stat().st_size, lines, run, samples, begin)
    _progress(
        f"{label}: {lines:,} lines, peak RSS {m.peak / MIB:.0f} MiB, {run.seconds:.1f} s "
        f"({run.cpu_seconds:.1f} s CPU)"
    )
    return m


def run_child(kind: str, path: Path, lines: int, label: str) -> Measured:
    """This script's own ``--child`` mode on ``path``: the reader, or no-model pipeline."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(path)]
    watch = Path(f"{_nomodel_output(path)}.llmcli-partial") if kind == "pipeline" else None
    run, samples, begin = measured(argv, watch=watch)
    _check(run, f"{kind} on {path.name}")
    result = json.loads(run.stdout)
    if kind == "pipeline":
        out = Path(_nomodel_output(path))
        result["items"] = count_lines(out)  # here, not in the measured child
        out.unlink()
    if result["items"] != lines:
        raise SystemExit(f"{label}: {result['items']} items for {lines} lines")
    m = Measured(label, path.stat().st_size, lines, run, samples, begin, result)
    _progress(
        f"{label}: {lines:,} lines, peak RSS {m.peak / MIB:.0f} MiB, {run.seconds:.1f} s "
        f"({run.cpu_seconds:.1f} s CPU)"
    )
    return m


# --- the --child modes (run in a fresh process) -----------------------------------------


def _vmhwm() -> int | None:
    """This process's own peak RSS (``VmHWM``), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def _nomodel_output(path: Path) -> str:
    return str(OUT / f"out-nomodel-{path.stem}.txt")


class _ConstantTask:
    """A task without a model: the same result for every input."""

    name = "sentiment"

    def settings(self) -> dict[str, Any]:
        return {}

    def run(self, inputs: Sequence[Any]) -> list[Any]:
        from llmcli.tasks.base import TaskResult

        return [TaskResult("POSITIVE\t0.500", {"label": "POSITIVE", "score": 0.5}) for _ in inputs]


def child(kind: str, path: str) -> int:
    from llmcli.environment import Environment
    from llmcli.errors import InputError
    from llmcli.inputs import InputMode, Source, iter_items

    env = Environment(quiet=True)
    if kind in {m.value for m in InputMode}:  # part 5: a hostile input, read in this mode
        try:
            count = sum(1 for _ in iter_items([Source(path)], InputMode(kind), env))
        except InputError as exc:
            print(f"llmcli: error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({"items": count}))
        return 0
    items = iter_items([Source(path)], InputMode.LINES, env)
    if kind == "reader":
        count = blank = chars = 0
        for item in items:
            count += 1
            blank += item.blank
            chars += len(item.text)
        print(json.dumps({"items": count, "blank": blank, "chars": chars, "vmhwm": _vmhwm()}))
        return 0
    from llmcli.engines.local import local_windows
    from llmcli.job import write_results
    from llmcli.output.records import plain_renderer
    from llmcli.output.target import output_target
    from llmcli.runner import default_input

    out = _nomodel_output(Path(path))
    task = _ConstantTask()
    write_results(
        env,
        name=task.name,
        windows=local_windows(
            task,  # type: ignore[arg-type]
            items,
            default_input,
            window=256,
            keep_going=False,
        ),
        render=plain_renderer(InputMode.LINES, False),
        target=output_target(out, env),
        command={"bench": "memory", "input": path},
        resume=False,
    )
    print(json.dumps({"vmhwm": _vmhwm()}))
    return 0


# --- the report -------------------------------------------------------------------------


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.0f}"


def _size(value: int) -> str:
    if value >= 2**30:
        return f"{value / 2**30:.2f} GiB"
    if value >= MIB:
        return f"{value / MIB:.1f} MiB"
    return f"{value / 1024:.0f} KiB"


def table(runs: Sequence[Measured], baseline: Measured) -> str:
    rows = []
    for m in runs:
        over = (m.peak - baseline.peak) / MIB
        timeline = " · ".join(_mib(m.rss_at(f)) for f in (0.25, 0.5, 0.75, 1.0))
        rows.append(
            [
                m.label,
                _size(m.input_bytes),
                f"{m.lines:,}",
                f"{m.peak / MIB:.0f}",
                "(baseline)" if m is baseline else f"{over:+.0f}",
                timeline,
                report.fmt_seconds(m.run.seconds),
                report.fmt_seconds(m.run.cpu_seconds),
                f"{m.lines / m.run.seconds:,.0f}",
            ]
        )
    header = [
        "input",
        "size",
        "lines",
        "peak RSS (MiB)",
        "above baseline (MiB)",
        "RSS at ¼ · ½ · ¾ · end of the run (MiB, sampled)",
        "wall",
        "CPU",
        "lines/s (wall)",
    ]
    return report.markdown_table(header, rows)


def verdict(runs: Sequence[Measured], what: str, ceiling_mib: float) -> tuple[str, bool]:
    """A sentence computed from the numbers, and whether every run kept to the ceiling."""
    first, last = runs[0], runs[-1]
    grew = (last.peak - first.peak) / MIB
    factor = last.input_bytes / first.input_bytes
    over = [m for m in runs if (m.peak - first.peak) / MIB > ceiling_mib]
    ok = not over
    text = (
        f"**{what}**: peak RSS grew by {grew:+.1f} MiB ({first.peak / MIB:.1f} → "
        f"{last.peak / MIB:.1f} MiB) while the input grew {factor:.0f}x "
        f"({_size(first.input_bytes)} → {_size(last.input_bytes)}, {first.lines:,} → "
        f"{last.lines:,} lines)"
    )
    quarter, end = last.rss_at(0.25), last.rss_at(1.0)
    if quarter is not None and end is not None:
        text += (
            f"; within the largest run, sampled RSS went from {quarter / MIB:.1f} MiB a "
            f"quarter of the way through to {end / MIB:.1f} MiB at the end "
            f"({(end - quarter) / MIB:+.1f} MiB)"
        )
    text += (
        f". Ceiling (baseline + {ceiling_mib:g} MiB = {first.peak / MIB + ceiling_mib:.0f} MiB): "
    )
    if ok:
        text += "**kept** by every run."
    else:
        text += "**exceeded** by " + ", ".join(
            f"{m.label} ({(m.peak - first.peak) / MIB:+.0f} MiB)" for m in over
        )
        text += "."
    return text, ok


def bound(runs: Sequence[Measured], target: float) -> str:
    """What the measured growth would add at ``target`` bytes of input, were it linear."""
    first, last = runs[0], runs[-1]
    grew = max(last.peak - first.peak, 0)
    extra = grew * target / (last.input_bytes - first.input_bytes)
    return (
        f"{extra / MIB:,.0f} MiB (+{grew / MIB:.1f} MiB over "
        f"{_size(last.input_bytes - first.input_bytes)} more input)"
    )


def blank_verdict(
    blanks: Sequence[Measured], baseline: Measured, ceiling_mib: float
) -> tuple[str, bool]:
    over = [m for m in blanks if (m.peak - baseline.peak) / MIB > ceiling_mib]
    parts = [
        f"{m.lines:,} lines ({m.lines - 2:,} blank): {(m.peak - baseline.peak) / MIB:+.0f} MiB"
        for m in blanks
    ]
    text = (
        f"**Runs of blank lines**, against the smallest text input's {baseline.peak / MIB:.0f} "
        f"MiB: {'; '.join(parts)}."
    )
    if len(blanks) > 1:
        a, b = blanks[0], blanks[-1]
        per_line = (b.peak - a.peak) / (b.lines - a.lines)
        text += (
            f" That is {per_line:.0f} bytes of RSS per blank line; at that rate a 1 GiB file "
            f"of blank lines ({2**30:,} lines) would need about "
            f"{per_line * 2**30 / 2**30:.0f} GiB."
        )
    text += f" Ceiling (baseline + {ceiling_mib:g} MiB): " + (
        "**kept**." if not over else f"**exceeded** by {len(over)} of {len(blanks)} runs."
    )
    return text, not over


# --- part 5: inputs that never end a line ------------------------------------------------


@dataclass
class Hostile:
    """One run on an input that never ends a line, and the run it is compared with."""

    label: str
    how: str
    run: report.Run
    baseline: report.Run

    @property
    def over(self) -> float:
        return (self.run.max_rss_bytes - self.baseline.max_rss_bytes) / MIB

    @property
    def message(self) -> str:
        lines = self.run.stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def ok(self, ceiling_mib: float) -> bool:
        one_line = len(self.run.stderr.strip().splitlines()) == 1
        return self.run.returncode == 2 and one_line and self.over <= ceiling_mib


def _endless_writer(fifo: Path) -> Any:
    """A child process writing text without a newline into ``fifo`` until its reader goes."""
    import subprocess

    code = (
        "import sys\n"
        "try:\n"
        "    with open(sys.argv[1], 'wb') as out:\n"
        "        while True:\n"
        "            out.write(b'abc ' * 16384)\n"
        "except OSError:\n"
        "    pass\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(fifo)])


def hostile_runs(sparse_gib: float) -> list[Hostile]:
    """Part 5: /dev/zero, an endless FIFO and a sparse file, read every way."""
    import subprocess

    small = OUT / "hostile-small.txt"
    small.write_text("The film was a delight.\n", encoding="utf-8")
    small_jsonl = OUT / "hostile-small.jsonl"
    small_jsonl.write_text('{"text": "The film was a delight."}\n', encoding="utf-8")
    sparse = OUT / f"sparse-{sparse_gib:g}G.txt"
    subprocess.run(["truncate", "-s", f"{sparse_gib:g}G", str(sparse)], check=True)
    fifo = OUT / "endless.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]

    def ways(path: Path, small_input: bool) -> list[tuple[str, list[str]]]:
        plain = str(small if small_input else path)
        jsonl = str(small_jsonl if small_input else path)
        return [
            ("reader, --lines", [*me, "lines", plain]),
            ("reader, --jsonl", [*me, "jsonl", jsonl]),
            ("reader, whole file", [*me, "whole", plain]),
            ("llmcli eval FILE -r REF", [LLMCLI, "eval", plain, "-r", str(small)]),
        ]

    baselines = [report.run_measured(argv, env=ENV) for _, argv in ways(small, True)]
    for run in baselines:
        _check(run, " ".join(run.argv))
    inputs = [
        ("/dev/zero", Path("/dev/zero")),
        ("endless stream (FIFO)", fifo),
        (f"sparse {sparse_gib:g} GiB file", sparse),
    ]
    runs = []
    try:
        for label, path in inputs:
            for (how, argv), baseline in zip(ways(path, False), baselines, strict=True):
                writer = _endless_writer(path) if path == fifo else None
                try:
                    run = report.run_measured(argv, env=ENV, timeout=300)
                finally:
                    if writer is not None:
                        writer.kill()
                        writer.wait()
                runs.append(Hostile(label, how, run, baseline))
                _progress(
                    f"{label}, {how}: exit {run.returncode}, peak RSS "
                    f"{run.max_rss_bytes / MIB:.0f} MiB ({runs[-1].over:+.0f} MiB)"
                )
    finally:
        sparse.unlink()
    return runs


def hostile_table(runs: Sequence[Hostile]) -> str:
    rows = [
        [
            r.label,
            r.how,
            f"{r.run.returncode}",
            "`"
            + r.message.replace("llmcli: error: ", "").split(" (")[0].replace(str(OUT), "…")
            + "`",
            f"{r.baseline.max_rss_bytes / MIB:.0f}",
            f"{r.run.max_rss_bytes / MIB:.0f}",
            f"{r.over:+.0f}",
            report.fmt_seconds(r.run.seconds),
        ]
        for r in runs
    ]
    head = ["input", "read by", "exit", "error", "baseline MiB", "peak RSS MiB", "over", "time"]
    return report.markdown_table(head, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="0.5,2,8",
        help="sizes in MiB of the generated --lines files run through the model command "
        "(comma-separated, smallest first; the smallest is the baseline; default 0.5,2,8)",
    )
    parser.add_argument(
        "--blank-lines",
        default="250000,1000000",
        help="blank lines in the blank-line runs of the model command (comma-separated; "
        "default 250000,1000000; 0 skips them)",
    )
    parser.add_argument(
        "--pipeline-mib",
        type=float,
        default=128,
        help="size in MiB of the file for the pipeline without a model (default 128; 0 skips it)",
    )
    parser.add_argument(
        "--reader-mib",
        type=float,
        default=1024,
        help="size in MiB of the file for the reader alone (default 1024; 0 skips it)",
    )
    parser.add_argument(
        "--ceiling-mib",
        type=float,
        default=200,
        help="each run's peak RSS may exceed its baseline by at most this (default 200)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="--threads for llmcli (default 1: on a small shared machine one torch thread "
        "is faster; 0 leaves llmcli's default)",
    )
    parser.add_argument(
        "--sparse-gib",
        type=float,
        default=30,
        help="size in GiB of the sparse file of part 5, inputs that never end a line "
        "(default 30; 0 skips part 5)",
    )
    parser.add_argument("--json", action="store_true", help="run llmcli with --json output")
    parser.add_argument("--seed", type=int, default=1, help="text generator seed")
    parser.add_argument(
        "--no-doc", action="store_true", help="print the section only; leave docs/benchmarks.md"
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    try:
        sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
        blanks = [int(s) for s in args.blank_lines.split(",") if s.strip() and int(s) > 0]
    except ValueError:
        parser.error("--sizes and --blank-lines take comma-separated numbers")
    if len(sizes) < 2 or sizes != sorted(sizes) or sizes[0] <= 0:
        parser.error("--sizes needs at least two positive sizes, smallest first")
    for option, value in (("--pipeline-mib", args.pipeline_mib), ("--reader-mib", args.reader_mib)):
        if value and value <= sizes[0]:
            parser.error(f"{option} must be 0 or larger than the smallest of --sizes")

    info = report.machine_info(PACKAGES)
    load_before = report.load_average()
    started = time.perf_counter()
    print("inputs ...", file=sys.stderr)
    model = tiny_model()
    files = [lines_file(mib, args.seed) for mib in sizes]
    counts = [count_lines(f) for f in files]
    large = {
        kind: lines_file(mib, args.seed)
        for kind, mib in (("pipeline", args.pipeline_mib), ("reader", args.reader_mib))
        if mib
    }

    print("the model command ...", file=sys.stderr)
    startup_file = OUT / "lines-10.txt"
    with files[0].open(encoding="utf-8") as handle:
        startup_file.write_text("".join(next(handle) for _ in range(10)), encoding="utf-8")
    startup = run_cli(model, startup_file, 10, "10 lines", args.threads, args.json)
    cli = [
        run_cli(model, f, n, f"{_fmt_mib(mib)} MiB", args.threads, args.json)
        for mib, f, n in zip(sizes, files, counts, strict=True)
    ]
    blank_runs = [
        run_cli(model, blank_file(n), n + 2, f"{n:,} blank lines", args.threads, args.json)
        for n in blanks
    ]
    large_runs: dict[str, list[Measured]] = {}
    for kind, path in large.items():
        print(f"{kind} alone ...", file=sys.stderr)
        large_runs[kind] = [
            run_child(kind, files[0], counts[0], f"{_fmt_mib(sizes[0])} MiB"),
            run_child(kind, path, count_lines(path), _size(path.stat().st_size)),
        ]
    hostile: list[Hostile] = []
    if args.sparse_gib:
        print("inputs that never end a line ...", file=sys.stderr)
        hostile = hostile_runs(args.sparse_gib)
    elapsed = time.perf_counter() - started
    load_after = report.load_average()
    own_rss = _rss(os.getpid()) or 0

    command = "llmcli sentiment --lines" + (f" --threads {args.threads}" if args.threads else "")
    command += " --model TINY FILE -o OUT" + (" --json" if args.json else "")
    cli_text, cli_ok = verdict(cli, "Model command", args.ceiling_mib)
    first, last = cli[0], cli[-1]
    steady = (last.lines - first.lines) / max(last.run.seconds - first.run.seconds, 1e-9)
    results = {"model command": cli_ok}
    parts = [
        "## memory",
        "Peak memory of a `--lines` run as its input grows, by `bench/memory.py`: if llmcli "
        "streams, peak RSS stays flat whatever the input's size, so a file larger than RAM "
        "can be processed. Every figure below comes from one run, on this machine, at this "
        "date:",
        report.machine_block(info, load_before, load_after),
        f"Whole run: {elapsed / 60:.1f} min. Each row is a fresh process; **peak RSS** is "
        "that process's own maximum resident set size: for the model command, `wait4`'s "
        "rusage, taken after resetting this script's own high-water mark (on Linux a "
        "child's `ru_maxrss` also counts its parent's peak at fork; this script's RSS, "
        f"{own_rss / MIB:.0f} MiB at the end, is therefore a floor for those figures); for "
        "the runs without a model, the child's own `VmHWM`, read by itself as it ends. "
        "RSS was also sampled "
        "from `/proc/PID/status` (every 0.25 s for the model command, 0.5 s otherwise) and is "
        "shown at a quarter, half, three quarters and the end of the time after start-up "
        "(from when the `-o` partial file appeared, i.e. the model was loaded; the whole run "
        "for the reader). Inputs: generated English lines (one to three sentences from the "
        "tiny tokenizers' training corpus, about 100 characters each, every line numbered so "
        "none repeats), in `bench/out/memory/`. The model is a tiny random-weight "
        "DistilBERT classifier (`tests/tiny_models.make_distilbert_classifier`), so the "
        "model's cost is small and the pipeline is what is measured. Ceiling checked: each "
        "run's peak RSS at most its baseline (the smallest input of its kind) + "
        f"{args.ceiling_mib:g} MiB.",
        f"### 1. The model command: `{command}`",
        "Start-up alone (a 10-line file: imports, model load, one window): peak RSS "
        f"{startup.peak / MIB:.0f} MiB, {report.fmt_seconds(startup.run.seconds)}. Every "
        "output had one line per input line (checked). lines/s is over the whole wall "
        f"time, start-up included; between the smallest and the largest input, "
        f"{steady:,.0f} lines/s.",
        table([*cli, *blank_runs], first),
        cli_text,
    ]
    if blank_runs:
        text, results["blank lines"] = blank_verdict(blank_runs, first, args.ceiling_mib)
        parts.append(text)
    about = {
        "pipeline": (
            "The pipeline without a model",
            "The same code path as the command above (`iter_items` → `runner.run_windows` → "
            "plain rendering → `job.write_results` into a journaled `-o` file, "
            "256-item windows), in a process that never imports torch, with a task that "
            "returns a constant result instead of a model. Output line count checked.",
        ),
        "reader": (
            "The reader alone",
            "`llmcli.inputs.iter_items([Source(FILE)], InputMode.LINES, env)`, every item "
            "counted and dropped. The file sits in the page cache after it is generated; the "
            "page cache is not part of a process's RSS (the reader `read()`s, it does not map "
            "the file).",
        ),
    }
    for n, (kind, runs) in enumerate(large_runs.items(), start=2):
        title, text = about[kind]
        line, results[title.lower()] = verdict(runs, title, args.ceiling_mib)
        parts += [f"### {n}. {title}, on a larger file", text, table(runs, runs[0]), line]

    ram = _mem_total() or 0
    scale = [
        f"the whole model command was measured up to {_size(last.input_bytes)} "
        f"({last.lines:,} lines)"
    ]
    for kind, runs in large_runs.items():
        scale.append(f"{about[kind][0].lower()} up to {_size(runs[-1].input_bytes)}")
    conclusion = (
        "### What this shows, and what it does not\n\n"
        + "; ".join(scale)[0].upper()
        + "; ".join(scale)[1:]
        + f". No file larger than this machine's RAM ({info['memory']}) was generated: it "
        "would take most of the free disk and a long time to write and read, and a "
        "`--lines` run never looks further ahead than its current window. The argument "
        "for a file larger than RAM is the shape of the curve. "
    )
    if cli_ok and all(results.get(t.lower(), True) for t, _ in about.values()):
        conclusion += (
            f"Here peak RSS stayed within {args.ceiling_mib:g} MiB of the smallest input's "
            "at every size (see the growth and the sampled RSS over each run above). "
        )
        if ram:
            named = [("the model command", cli)]
            named += [(about[kind][0].lower(), runs) for kind, runs in large_runs.items()]
            conclusion += (
                "Were all the growth measured proportional to the input (a run's peak "
                "varies by a few MiB from one run to the next, so small differences are "
                "noise), a file the size of this machine's RAM would add: "
                + "; ".join(f"{name}: {bound(runs, ram)}" for name, runs in named)
                + ". "
            )
            if "pipeline" in large_runs:
                conclusion += (
                    "The model command's range is too small to bound it tightly; the "
                    "pipeline without a model runs the same code but for the model, whose "
                    "memory is per window, over a much wider range. "
                )
        conclusion += (
            "Memory is bounded by a window (at most 256 non-blank items or 2,000,000 "
            "characters) plus the longest line, not by the file, so a larger file streams "
            "the same way."
        )
    else:
        conclusion += (
            "Here peak RSS did **not** stay within the ceiling for text lines, so these "
            "figures do not support the claim."
        )
    if results.get("blank lines") is False:
        conclusion += (
            " The exception is runs of blank lines: they are held until the window "
            "closes, and only non-blank items close a window, so RSS grows with the length "
            "of a run of blank lines (see above)."
        )
    conclusion += (
        " A line is one item and is read whole, up to `--max-item-size` (32 MiB by "
        "default); a longer one, or a file without newlines, is an error once that many "
        "bytes are read (see the inputs that never end a line, above), not memory "
        "that grows with it."
    )
    if hostile:
        kept = all(r.ok(args.ceiling_mib) for r in hostile)
        results["inputs that never end a line"] = kept
        worst = max(hostile, key=lambda r: r.over)
        parts.append(
            "\n\n".join(
                [
                    f"### {len(large_runs) + 2}. Inputs that never end a line",
                    "Each input is read by the reader alone (as above, the model commands' "
                    "path) and by `llmcli eval` as its "
                    "hypotheses, at the default `--max-item-size` (32 MiB); the baseline is "
                    "the same reader or command on a one-line text file. `/dev/zero` and the "
                    "sparse file hold NUL bytes from their first byte; the endless stream "
                    "(`abc abc ...` without a newline, written into a FIFO by a child "
                    "process until its reader goes) holds none, so only the limit ends it.",
                    hostile_table(hostile),
                    f"Largest peak above its baseline: {worst.over:+.0f} MiB ({worst.label}, "
                    f"{worst.how}). Every run must end with exit 2 and a one-line error within "
                    f"baseline + {args.ceiling_mib:g} MiB: "
                    + ("**kept** by every run." if kept else "**not kept**."),
                ]
            ),
        )
    parts.append(conclusion)
    ok = all(results.values())
    failed = [name for name, kept in results.items() if not kept]
    parts.append(
        "**Ceiling**: "
        + (
            "kept by every run."
            if ok
            else f"**exceeded** ({', '.join(failed)}); the script exited with status 1."
        )
    )
    section = "\n\n".join(parts)
    if args.no_doc:
        print(section)
    else:
        path = report.write_section("memory", section)
        print(section)
        print(f"\nwrote the memory section of {path}", file=sys.stderr)
    if not ok:
        print(f"memory.py: peak RSS exceeded the ceiling: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _mem_total() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


if __name__ == "__main__":
    raise SystemExit(main())
