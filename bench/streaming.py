"""`llmcli generate` streaming: time to the first streamed text, and streamed tokens/s beside
the same generation unstreamed, on the built-in default model, in one run.

Targets (issue: generate): the first streamed text within 0.5 s of the model being
loaded; streamed tokens/s within 10% of unstreamed. Both paths run `GenerateTask` (what
the command runs) on the same prompts with greedy decoding, alternately, so the texts
must be identical; "first text" is when the task first hands text to its stream (what
the command writes and flushes to stdout at once), counted from the call.

    .venv/bin/python bench/streaming.py            # writes the "generate-streaming" section
    .venv/bin/python bench/streaming.py --no-doc   # prints it only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report

PROMPTS = (
    "Write a short paragraph about a lighthouse keeper who finds a message in a bottle.",
    "Write a short email to Sam asking to move our Tuesday meeting to Thursday.",
    "Describe a rainy afternoon in a city in three sentences.",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each prompt per path")
    parser.add_argument("--new-tokens", type=int, default=64, help="--max-new-tokens")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the doc")
    args = parser.parse_args()

    import torch

    from llmcli.models.base import ModelChoice
    from llmcli.models.loading import load_model
    from llmcli.tasks.base import TaskContext, TaskInput
    from llmcli.tasks.generate import GenerateSettings, GenerateTask

    info = _report.machine_info(["torch", "transformers", "llmcli"])
    info["packages"] += f"; torch threads {torch.get_num_threads()}"
    before = _report.load_average()
    loaded = load_model(ModelChoice(None, device="cpu"), "generate")
    settings = GenerateSettings(do_sample=False, max_new_tokens=args.new_tokens)
    plain_task = GenerateTask(loaded, settings)
    firsts: list[float] = []
    pieces_per_text: list[int] = []
    rates = {"unstreamed": [], "streamed": []}  # type: dict[str, list[float]]
    same = 0
    runs = 0
    plain_task.run([TaskInput(PROMPTS[0])])  # warm-up: first-call allocations
    for _ in range(args.rounds):
        for prompt in PROMPTS:
            start = time.perf_counter()
            (plain,) = plain_task.run([TaskInput(prompt)])
            took = time.perf_counter() - start
            rates["unstreamed"].append(plain.fields["new_tokens"] / took)

            arrivals: list[float] = []

            def write(text: str, arrivals: list[float] = arrivals) -> None:
                arrivals.append(time.perf_counter())

            task = GenerateTask(loaded, settings, TaskContext(stream=write))
            start = time.perf_counter()
            (streamed,) = task.run([TaskInput(prompt)])
            took = time.perf_counter() - start
            rates["streamed"].append(streamed.fields["new_tokens"] / took)
            if arrivals:
                firsts.append(arrivals[0] - start)
            pieces_per_text.append(len(arrivals))
            same += streamed.text == plain.text
            runs += 1
    unstreamed = statistics.median(rates["unstreamed"])
    streamed_rate = statistics.median(rates["streamed"])
    table = _report.markdown_table(
        ["path", "tokens/s (median)", "first text (median, max)", "pieces per text (median)"],
        [
            ["`generate`, not streamed (`--json`)", f"{unstreamed:.1f}", "-", "-"],
            [
                "`generate`, streamed (plain output)",
                f"{streamed_rate:.1f} ({streamed_rate / unstreamed:.2f}x)",
                f"{statistics.median(firsts):.3f} s, {max(firsts):.3f} s",
                f"{statistics.median(pieces_per_text):.0f}",
            ],
        ],
    )
    body = (
        "## generate: streaming\n\n"
        f"`{loaded.name}` ({loaded.source}), greedy, at most {args.new_tokens} new tokens, "
        f"{len(PROMPTS)} prompts x {args.rounds} rounds per path, alternating. Same text "
        f"streamed and not: {same}/{runs}. Regenerate with `.venv/bin/python "
        "bench/streaming.py`.\n\n"
        f"{table}\n\n" + _report.machine_block(info, before, _report.load_average()) + "\n"
    )
    print(body)
    if not args.no_doc:
        print(f"wrote {_report.write_section('generate-streaming', body)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
