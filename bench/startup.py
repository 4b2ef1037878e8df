"""Start-up costs: `llmcli --help`, and a cached built-in model made ready, in fresh processes.

Targets (issue: throughput): `llmcli --help` under 0.3 s; a cached default model ready in
under 2 s. "Ready" means `llmcli.models.loading.load_model` returned: config, tokenizer and
weights loaded, in a process that has already imported torch and the transformers modules
the model needs. Those imports are timed apart: every model command pays them once, and
they are transformers' own start-up, not the model's. Each figure is the median
of `--rounds` fresh processes; the models must already be prepared in `LLMCLI_HOME`
(`llmcli models pull smollm2 gemma3`).

    .venv/bin/python bench/startup.py            # writes the "startup" section
    .venv/bin/python bench/startup.py --no-doc   # prints it only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report

LLMCLI = str(Path(sys.executable).parent / "llmcli")
PROBE = """
import json, time
t0 = time.perf_counter()
import torch, transformers  # noqa: F401
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: F401
import transformers.models.{family}.modeling_{family}  # noqa: F401
import transformers.models.{family}.configuration_{family}  # noqa: F401
t1 = time.perf_counter()
from llmcli.models.base import ModelChoice
from llmcli.models.loading import load_model
loaded = load_model(ModelChoice({name!r}, device="cpu"), {task!r})
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "load": t2 - t1, "threads": loaded.extra.get("threads")}}))
"""


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per figure")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args()
    if not os.environ.get("LLMCLI_HOME"):
        print("set LLMCLI_HOME to where the built-in models are prepared", file=sys.stderr)
        return 2
    info = _report.machine_info(["torch", "transformers", "typer"])
    before = _report.load_average()

    helps = []
    for _ in range(args.rounds):
        run = _report.run_measured([LLMCLI, "--help"], timeout=60)
        if not run.ok:
            print(f"llmcli --help failed: {run.failure()}", file=sys.stderr)
            return 1
        helps.append(run.seconds)

    rows = [
        [
            "`llmcli --help` (whole process)",
            _report.fmt_seconds(_median(helps)),
            _report.fmt_seconds(min(helps)),
            "under 0.3 s",
            "met" if _median(helps) < 0.3 else "missed",
        ]
    ]
    for name, task, family in (
        ("smollm2", "summarize", "llama"),
        ("gemma3", "translate", "gemma3"),
    ):
        imports, loads = [], []
        for _ in range(args.rounds):
            probe = PROBE.format(name=name, task=task, family=family)
            run = _report.run_measured([sys.executable, "-c", probe], timeout=300)
            if not run.ok:
                print(f"loading {name} failed: {run.failure()}", file=sys.stderr)
                return 1
            data = json.loads(run.stdout.decode().strip().splitlines()[-1])
            imports.append(data["import"])
            loads.append(data["load"])
        rows.append(
            [
                f"`{name}` cached: `load_model` (config, tokenizer, weights), modules imported",
                _report.fmt_seconds(_median(loads)),
                _report.fmt_seconds(min(loads)),
                "under 2 s",
                "met" if _median(loads) < 2 else "missed",
            ]
        )
        rows.append(
            [
                "  the same processes, first: import torch and the transformers modules it uses",
                _report.fmt_seconds(_median(imports)),
                _report.fmt_seconds(min(imports)),
                "",
                "",
            ]
        )
    after = _report.load_average()
    body = "\n".join(
        [
            "## Start-up: `--help` and a cached model made ready",
            "",
            _report.machine_block(info, before, after),
            "",
            f"Median and best of {args.rounds} fresh processes each.",
            "",
            _report.markdown_table(["what", "median", "best", "target", "verdict"], rows),
            "",
        ]
    )
    print(body)
    if not args.no_doc:
        _report.write_section("startup", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
