"""`--engine ray` on one machine against the local engine: its overhead, and 1 vs 2 workers.

The same command, on the same input and model, run through the CLI in fresh processes:

- `--engine local` (one process, all cores as threads);
- `--engine ray --workers 1` (a local Ray started by the run; one actor with all cores);
- `--engine ray --workers 2 --threads N/2` (two actors, each with half the cores).

Each is run on two input sizes. Their difference gives the steady rate (items per second
once everything is loaded) and the fixed cost (process start, Ray start, actor and model
load), without timing anything inside the processes. Every Ray output is checked against
the local engine's (all JSON fields but `run`).

The workload is the built-in default sentiment model (SmolLM2-135M-Instruct, label
likelihood) on the reviews of bench/data/sentiment.jsonl, repeated to size; the model
must already be prepared in `LLMCLI_HOME` (`llmcli models pull smollm2`).

    LLMCLI_HOME=... .venv/bin/python bench/ray_engine.py            # writes the "ray" section
    LLMCLI_HOME=... .venv/bin/python bench/ray_engine.py --no-doc   # prints it only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report

LLMCLI = str(Path(sys.executable).parent / "llmcli")
OUT = _report.REPO / "bench" / "out" / "ray"
REVIEWS = _report.REPO / "bench" / "data" / "sentiment.jsonl"


@dataclass
class Row:
    name: str
    args: list[str]
    seconds: dict[int, float]  # items -> wall seconds
    identical: bool = True


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _inputs(sizes: list[int]) -> dict[int, Path]:
    texts = [json.loads(line)["text"] for line in REVIEWS.read_text("utf-8").splitlines()]
    OUT.mkdir(parents=True, exist_ok=True)
    paths = {}
    for n in sizes:
        path = OUT / f"reviews-{n}.txt"
        path.write_text("".join(texts[i % len(texts)] + "\n" for i in range(n)), "utf-8")
        paths[n] = path
    return paths


def _strip_run(stdout: bytes) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in stdout.decode("utf-8").splitlines()]
    return [{k: v for k, v in r.items() if k != "run"} for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="60,300", help="two input sizes (lines)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args()
    if not os.environ.get("LLMCLI_HOME"):
        print("set LLMCLI_HOME to where the built-in models are prepared", file=sys.stderr)
        return 2
    small, large = sorted(int(s) for s in args.sizes.split(","))
    cores = _cores()
    half = max(1, cores // 2)
    info = _report.machine_info(["torch", "transformers", "ray"])
    before = _report.load_average()
    inputs = _inputs([small, large])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    base = ["sentiment", "--lines", "--json", "--model", args.model]
    rows = [
        Row("local engine", ["--threads", str(cores)], {}),
        Row(f"ray, 1 worker x {cores} threads", ["--engine", "ray", "--workers", "1"], {}),
        Row(
            f"ray, 2 workers x {half} threads",
            ["--engine", "ray", "--workers", "2", "--threads", str(half)],
            {},
        ),
    ]
    reference: dict[int, list[dict[str, object]]] = {}
    for n in (small, large):
        for row in rows:
            run = _report.run_measured(
                [LLMCLI, *base, *row.args, str(inputs[n])], timeout=args.timeout, env=env
            )
            if not run.ok:
                print(f"{row.name}, {n} items: {run.failure()}", file=sys.stderr)
                return 1
            row.seconds[n] = run.seconds
            got = _strip_run(run.stdout)
            if row is rows[0]:
                reference[n] = got
            else:
                row.identical = row.identical and got == reference[n]
            print(f"{row.name:32} {n:5} items  {run.seconds:7.1f} s", file=sys.stderr)
    after = _report.load_average()

    local_rate = (large - small) / (rows[0].seconds[large] - rows[0].seconds[small])
    table = []
    for row in rows:
        rate = (large - small) / (row.seconds[large] - row.seconds[small])
        fixed = row.seconds[small] - small / rate
        table.append(
            [
                row.name,
                _report.fmt_seconds(row.seconds[small]),
                _report.fmt_seconds(row.seconds[large]),
                f"{rate:.1f}",
                f"{rate / local_rate:.2f}x",
                _report.fmt_seconds(fixed),
                "yes" if row.identical else "**no**",
            ]
        )
    header = [
        "engine",
        f"wall, {small} items",
        f"wall, {large} items",
        "steady items/s",
        "vs local",
        "fixed cost",
        "same results as local",
    ]
    body = "\n".join(
        [
            "## Ray engine on one machine",
            "",
            '<a id="ray"></a>',
            "",
            _report.machine_block(info, before, after),
            "",
            f"`llmcli sentiment --lines --json --model {args.model}` on {small} and {large} "
            "reviews (bench/data/sentiment.jsonl, repeated), each in a fresh process, through "
            "the CLI: wall time includes process start, starting a local Ray, the actors and "
            "model loads. *Steady items/s* is the difference of the two sizes "
            f"({large - small} items) over the difference of their wall times; *fixed cost* is "
            "what the small run spent beyond its items at that rate. *Same results*: every JSON "
            "field but `run` equals the local engine's output.",
            "",
            _report.markdown_table(header, table),
            "",
            "How to read it: on one machine Ray adds a fixed start-up cost (the Ray runtime, "
            "then each actor importing torch and loading the model) and does not make the "
            "model faster; more workers on the same cores split the threads between them. "
            "Ray pays off when the workers sit on more machines: each node adds its own cores.",
        ]
    )
    print(body)
    if not args.no_doc:
        _report.write_section("ray", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
