"""Batch jobs: ``--keep-going``, crash-safe ``-o FILE`` with ``--resume``, and Ctrl-C.

The model commands run on tiny random-weight models (tests/tiny_models.py), in-process
through :func:`llmcli.cli.app.run`, except where a real process must die: ``kill -9`` and
SIGINT go to ``python -m llmcli`` reading a pipe, and the test waits for the journal to
show the windows it fed before killing, so nothing depends on timing. Windows are made
tiny with ``LLMCLI_WINDOW_ITEMS`` so a few lines make several of them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from eval_support import assert_error, cli
from llmcli.errors import Failure
from llmcli.exit_status import ExitStatus
from llmcli.inputs import Item
from llmcli.runner import run_windows
from llmcli.tasks.base import TaskInput, TaskResult

WINDOW = "2"  # items per window in these tests
PARTIAL, JOURNAL = ".llmcli-partial", ".llmcli-journal"


@pytest.fixture
def offline(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> dict[str, str]:
    """Variables for a run: offline, private LLMCLI_HOME, one thread, windows of 2."""
    return {
        "HF_HUB_OFFLINE": "1",
        "LLMCLI_HOME": str(tmp_path / "home"),
        # A tiny local sentence embedder: the built-in one would be fetched from PyPI.
        "LLMCLI_MODEL_EMBED": str(tiny_model_dirs["bert_embedder"]),
        "OMP_NUM_THREADS": "1",
        "LLMCLI_WINDOW_ITEMS": WINDOW,
    }


@pytest.fixture
def classifier(tiny_model_dirs: dict[str, Path]) -> str:
    return str(tiny_model_dirs["distilbert_classifier"])


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def result_fields(record: dict[str, Any]) -> dict[str, Any]:
    """What the model produced for an item, without where the item sat in the input."""
    return {k: v for k, v in record.items() if k not in {"source", "line", "index"}}


def numbered_lines(n: int) -> bytes:
    """``n`` lines of text with a blank line every fourth, so windows hold blanks too."""
    lines = [
        "" if i % 4 == 3 else f"Review {i}: the film was {'good' if i % 2 else 'dull'}."
        for i in range(n)
    ]
    return "".join(line + "\n" for line in lines).encode()


# --- the runner with a fake task: isolation and window boundaries -----------------------


class FussyTask:
    """Upper-cases its inputs, and raises for the whole batch when one contains 'bad'."""

    name = "fussy"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def settings(self) -> dict[str, Any]:
        return {}

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        self.batches.append([x.text for x in inputs])
        if any("bad" in x.text for x in inputs):
            raise RuntimeError("cannot handle 'bad'")
        return [TaskResult(text=x.text.upper()) for x in inputs]


def _items(texts: list[str]) -> list[Item]:
    return [Item(text, "in.txt", i, i + 1, blank=not text.strip()) for i, text in enumerate(texts)]


def test_keep_going_isolates_the_failing_item_of_a_window() -> None:
    task = FussyTask()
    texts = ["a", "bad", "", "c", "d", "e"]
    windows = list(run_windows(task, _items(texts), window_items=3, keep_going=True))
    # Windows close after 3 non-blank items, whatever failed: [a bad "" c] [d e].
    assert [[o.item.text for o in w] for w in windows] == [["a", "bad", "", "c"], ["d", "e"]]
    outcomes = [o for w in windows for o in w]
    assert [o.result.text if o.result else None for o in outcomes] == [
        "A",
        None,
        None,
        "C",
        "D",
        "E",
    ]
    failure = outcomes[1].failure
    assert failure == Failure("RuntimeError", "in.txt:2: cannot handle 'bad'", 1)
    assert outcomes[2].failure is None  # the blank line is not a failure
    # The failing window ran once whole, then item by item; the next one whole again.
    assert task.batches == [["a", "bad", "c"], ["a"], ["bad"], ["c"], ["d", "e"]]


def test_without_keep_going_the_first_error_stops_the_run() -> None:
    with pytest.raises(RuntimeError, match="cannot handle"):
        list(run_windows(FussyTask(), _items(["a", "bad"]), window_items=3))


def test_keep_going_does_not_swallow_ctrl_c() -> None:
    class Interrupting(FussyTask):
        def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(run_windows(Interrupting(), _items(["a", "b"]), keep_going=True))


# --- --keep-going through the CLI ------------------------------------------------------


def test_keep_going_records_bad_jsonl_lines_and_exits_4(
    classifier: str, offline: dict[str, str], tmp_path: Path
) -> None:
    good = [
        {"id": "a", "text": "A fine film."},
        {"id": "b", "text": "A dull film, too long."},
        {"id": "c", "text": "Nothing to say."},
    ]
    lines = [
        json.dumps(good[0]),
        "{not json",
        json.dumps(good[1]),
        json.dumps({"id": "x", "body": "no text field"}),
        "[1, 2]",
        json.dumps(good[2]),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(line + "\n" for line in lines), "utf-8")
    args = ["sentiment", "--jsonl", "--json", "--model", classifier, source]

    result = cli(*args, "--keep-going", variables=offline)
    assert result.code == ExitStatus.ITEMS_FAILED == 4, result.stderr
    records = json_lines(result.stdout)
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["index"] for r in records] == [0, 1, 2, 3, 4, 5]
    bad = {r["line"]: r for r in records if "error" in r}
    assert sorted(bad) == [2, 4, 5]
    assert bad[2]["error"]["type"] == "InputError" and bad[2]["error"]["exit_code"] == 2
    assert bad[2]["error"]["message"].startswith(f"{source}:2:2: invalid JSON")
    assert "no field 'text'" in bad[4]["error"]["message"]
    assert bad[4]["id"] == "x" and bad[4]["body"] == "no text field"  # what was readable
    assert "expected a JSON object" in bad[5]["error"]["message"]
    for r in bad.values():
        assert "label" not in r and "score" not in r and r["run"]["task"] == "sentiment"
    # One line per failure on stderr, then the count.
    assert result.stderr.splitlines() == [
        f"llmcli: error: {bad[2]['error']['message']}",
        f"llmcli: error: {bad[4]['error']['message']}",
        f"llmcli: error: {bad[5]['error']['message']}",
        "llmcli: 3 of 6 items failed (exit 4)",
    ]

    # The good records came out exactly as in a run over them alone.
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(json.dumps(r) + "\n" for r in good), "utf-8")
    alone = cli("sentiment", "--jsonl", "--json", "--model", classifier, clean, variables=offline)
    assert alone.code == 0, alone.stderr
    ok = [r for r in records if "error" not in r]
    assert [result_fields(r) for r in ok] == [result_fields(r) for r in json_lines(alone.stdout)]

    # Without --keep-going the first bad line stops the run, as before.
    assert_error(cli(*args, variables=offline), 2, f"{source}:2:2: invalid JSON")


def test_keep_going_skips_bad_files_and_keeps_lines_aligned(
    classifier: str, offline: dict[str, str], tmp_path: Path
) -> None:
    first, last = tmp_path / "first.txt", tmp_path / "last.txt"
    first.write_text("A good film.\n\nA bad film.\n", "utf-8")
    last.write_text("Fine.\n", "utf-8")
    binary, latin = tmp_path / "image.bin", tmp_path / "latin1.txt"
    binary.write_bytes(b"GIF89a\x00\x01\x02\n")
    latin.write_bytes("Caf\u00e9 cr\u00e8me\n".encode("latin-1"))
    missing = tmp_path / "missing.txt"
    files = [first, missing, binary, latin, last]
    args = ["sentiment", "--lines", "--model", classifier, *files]

    result = cli(*args, "--keep-going", variables=offline)
    assert result.code == 4, result.stderr
    out = result.stdout.split("\n")
    assert out[-1] == "" and len(out) == 3 + 3 + 1 + 1  # 3 lines, 3 failed files, 1 line
    assert out[1] == "" and out[3:6] == ["", "", ""]  # the blank line, then the bad files
    assert all(line.count("\t") == 1 for line in (out[0], out[2], out[6]))
    alone = cli("sentiment", "--lines", "--model", classifier, first, last, variables=offline)
    assert alone.code == 0, alone.stderr
    assert [out[i] for i in (0, 1, 2, 6)] == alone.stdout.split("\n")[:-1]
    assert result.stderr.splitlines() == [
        f"llmcli: error: {missing}: no such file",
        f"llmcli: error: {binary}: binary data (NUL byte) at byte 6, line 1 "
        "(llmcli reads text files only)",
        f"llmcli: error: {latin}: invalid utf-8 at byte 3, line 1 (pass --encoding if the "
        "file is in another encoding, or --errors replace to read it anyway)",
        "llmcli: 3 of 7 items failed (exit 4)",
    ]

    as_json = cli(*args, "--keep-going", "--json", variables=offline)
    assert as_json.code == 4
    records = json_lines(as_json.stdout)
    failed = [r for r in records if "error" in r]
    assert [r["source"] for r in failed] == [str(missing), str(binary), str(latin)]
    assert all("line" not in r for r in failed)  # the file as a whole failed
    assert [r["index"] for r in records] == list(range(7))


def test_keep_going_isolates_an_item_the_model_rejects(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    context = "The treaty was signed by Alice Martin in 1921 in Geneva."
    rows = [
        {"id": i, "question": "Who signed it?", "context": f"{context} Copy {i}."} for i in range(4)
    ]
    rows[1]["question"] = " ".join(["why"] * 2000)  # no room left for the context
    source = tmp_path / "qa.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    model = tiny_model_dirs["distilbert_qa"]
    variables = {**offline, "LLMCLI_WINDOW_ITEMS": "256"}  # all four in one window
    args = ["ask", "--jsonl", "--json", "--model", model, source]

    result = cli(*args, "--keep-going", variables=variables)
    assert result.code == 4, result.stderr
    records = json_lines(result.stdout)
    assert [r["id"] for r in records] == [0, 1, 2, 3]
    error = records[1]["error"]
    assert error["type"] == "UsageError" and error["exit_code"] == 2
    assert error["message"].startswith(f"{source}:2: the question is too long")
    assert "answer" not in records[1]
    for r in records[:1] + records[2:]:
        assert "error" not in r and isinstance(r["answer"], str) and "score" in r
    assert result.stderr.splitlines()[0] == f"llmcli: error: {error['message']}"

    stopped = cli(*args, variables=variables)
    assert_error(stopped, 2, "the question is too long")


# --- -o FILE, --resume and Ctrl-C, in-process ------------------------------------------


class InterruptAfter:
    """Wraps a task; Ctrl-C arrives when window number ``windows + 1`` starts."""

    def __init__(self, task: Any, windows: int) -> None:
        self.task, self.windows, self.name = task, windows, task.name

    def settings(self) -> dict[str, Any]:
        return dict(self.task.settings())

    def run(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        if self.windows == 0:
            raise KeyboardInterrupt
        self.windows -= 1
        return list(self.task.run(inputs))


@pytest.fixture
def interrupt_after(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``interrupt_after(n)``: the next model command is interrupted after n windows."""
    from llmcli.tasks import registry

    def arm(windows: int) -> None:
        build = registry.build_task

        def build_interrupting(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.setattr(registry, "build_task", build)  # only once
            return InterruptAfter(build(*args, **kwargs), windows)

        monkeypatch.setattr(registry, "build_task", build_interrupting)

    return arm


def test_ctrl_c_keeps_finished_windows_and_resume_completes_them(
    classifier: str, offline: dict[str, str], tmp_path: Path, interrupt_after: Any
) -> None:
    stdin = numbered_lines(12)  # windows of 2 non-blank lines end after items 2, 5, 7, 10
    out = tmp_path / "scores.jsonl"
    args = ["sentiment", "--lines", "--json", "--model", classifier, "-o", out]
    reference = tmp_path / "reference.jsonl"
    full = cli(*args[:-1], reference, stdin=stdin, variables=offline)
    assert full.code == 0 and full.stderr == "", full.stderr
    assert not list(tmp_path.glob("reference.jsonl.llmcli-*"))  # nothing left beside it

    interrupt_after(2)
    stopped = cli(*args, stdin=stdin, variables=offline)
    assert stopped.code == ExitStatus.INTERRUPTED == 130
    assert stopped.stderr == (
        "llmcli: error: interrupted after 5 items; run the same command with --resume to continue\n"
    )
    assert not out.exists()
    partial = Path(f"{out}{PARTIAL}")
    assert partial.read_bytes() == reference.read_bytes()[: len(partial.read_bytes())]
    assert len(json_lines(partial.read_text("utf-8"))) == 5
    journal = Path(f"{out}{JOURNAL}").read_text("utf-8").splitlines()
    assert [json.loads(line)["items"] for line in journal[1:]] == [2, 5]

    # A torn write of the next window and a torn journal line (a crash mid-commit).
    with partial.open("ab") as f:
        f.write(b'{"source":"<stdin>","li')
    with Path(f"{out}{JOURNAL}").open("ab") as f:
        f.write(b'{"items":7,"by')

    resumed = cli(*args, "--resume", stdin=stdin, variables=offline)
    assert resumed.code == 0 and resumed.stderr == "", resumed.stderr
    assert out.read_bytes() == reference.read_bytes()
    assert not partial.exists() and not Path(f"{out}{JOURNAL}").exists()


def test_ctrl_c_on_stdout_keeps_what_was_printed(
    classifier: str, offline: dict[str, str], interrupt_after: Any
) -> None:
    args = ["sentiment", "--lines", "--model", classifier]
    stdin = numbered_lines(12)
    full = cli(*args, stdin=stdin, variables=offline)
    interrupt_after(1)
    stopped = cli(*args, stdin=stdin, variables=offline)
    assert stopped.code == 130
    assert stopped.stderr == "llmcli: error: interrupted after 2 items\n"
    assert stopped.stdout == "".join(full.stdout.splitlines(keepends=True)[:2])


def test_resume_refuses_another_command_or_changed_input(
    classifier: str, offline: dict[str, str], tmp_path: Path, interrupt_after: Any
) -> None:
    stdin = numbered_lines(12)
    out = tmp_path / "scores.jsonl"
    args = ["sentiment", "--lines", "--json", "--model", classifier, "-o", out]
    interrupt_after(2)
    assert cli(*args, stdin=stdin, variables=offline).code == 130
    kept = {p.name: p.read_bytes() for p in tmp_path.glob("scores.jsonl.llmcli-*")}
    assert sorted(kept) == ["scores.jsonl.llmcli-journal", "scores.jsonl.llmcli-partial"]

    other = cli(*args, "--resume", "--max-input-tokens", "64", stdin=stdin, variables=offline)
    line = assert_error(other, 2, f"{out}{JOURNAL} is from a different command")
    assert "run.settings.max_input_tokens" in line and "drop --resume" in line
    plain = [a for a in args if a != "--json"]
    assert_error(cli(*plain, "--resume", stdin=stdin, variables=offline), 2, "(json changed)")

    changed = stdin.replace(b"Review 4", b"Review four")  # inside the 5 items done
    refused = cli(*args, "--resume", stdin=changed, variables=offline)
    assert_error(refused, 2, "the input differs from the interrupted run's")
    shorter = cli(*args, "--resume", stdin=stdin[:20], variables=offline)
    assert_error(shorter, 2, "the input has fewer items than the 5 already done")
    assert {p.name: p.read_bytes() for p in tmp_path.glob("scores.jsonl.llmcli-*")} == kept

    # Without --resume the unfinished run is replaced, and said so.
    fresh = cli(*args, stdin=changed, variables=offline)
    assert fresh.code == 0
    assert fresh.stderr == (
        f"llmcli: warning: replacing the unfinished output of an earlier run ({out}{PARTIAL}); "
        "pass --resume to continue it instead\n"
    )
    assert not list(tmp_path.glob("scores.jsonl.llmcli-*"))
    assert len(json_lines(out.read_text("utf-8"))) == 12


def test_resume_with_keep_going_counts_earlier_failures(
    classifier: str, offline: dict[str, str], tmp_path: Path, interrupt_after: Any
) -> None:
    lines = [json.dumps({"id": i, "text": f"Review number {i}."}) for i in range(7)]
    lines[1] = "{broken"
    stdin = "".join(line + "\n" for line in lines).encode()
    out, reference = tmp_path / "out.jsonl", tmp_path / "reference.jsonl"
    args = ["sentiment", "--jsonl", "--json", "--keep-going", "--model", classifier, "-o"]
    assert cli(*args, reference, stdin=stdin, variables=offline).code == 4

    interrupt_after(2)
    assert cli(*args, out, stdin=stdin, variables=offline).code == 130
    resumed = cli(*args, out, "--resume", stdin=stdin, variables=offline)
    assert resumed.code == 4  # the failure is in a window finished before Ctrl-C
    assert resumed.stderr == "llmcli: 1 of 7 items failed (exit 4)\n"
    assert out.read_bytes() == reference.read_bytes()


def test_resume_without_a_journal_starts_from_the_beginning(
    classifier: str, offline: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    args = ["sentiment", "--lines", "--model", classifier, "-o", out, "--resume"]
    result = cli(*args, stdin=numbered_lines(5), variables=offline)
    assert result.code == 0 and result.stderr == ""
    assert out.read_text("utf-8").count("\n") == 5


def test_batch_options_usage_errors(classifier: str, offline: dict[str, str]) -> None:
    args = ["sentiment", "--lines", "--model", classifier]
    assert_error(cli(*args, "--resume", variables=offline), 2, "--resume needs -o FILE")
    assert_error(cli(*args, "--resume", "-o", "-", variables=offline), 2, "--resume needs")
    bad = {**offline, "LLMCLI_WINDOW_ITEMS": "0"}
    assert_error(cli(*args, stdin=b"x\n", variables=bad), 2, "LLMCLI_WINDOW_ITEMS must be")


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_second_run_on_the_same_output_is_refused(
    classifier: str, offline: dict[str, str], tmp_path: Path
) -> None:
    import fcntl

    out = tmp_path / "out.txt"
    with open(f"{out}{JOURNAL}", "w") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        args = ["sentiment", "--lines", "--model", classifier, "-o", out]
        result = cli(*args, stdin=b"x\n", variables=offline)
    assert_error(result, 1, f"{out}: another llmcli run is writing it")


# --- kill -9 and SIGINT on a real process -------------------------------------------------

# ``python -m llmcli``, with Ctrl-C's default handler even if this process ignores SIGINT.
LLMCLI = [
    sys.executable,
    "-c",
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from llmcli.cli.app import main; main()",
]


def _start(args: list[str], variables: dict[str, str], stderr: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*LLMCLI, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb"),
        env={**os.environ, **variables},
    )


def _feed_until_committed(
    proc: subprocess.Popen[bytes], data: bytes, journal: Path, items: int, stderr: Path
) -> None:
    """Write ``data`` to the process and wait until the journal says ``items`` are done."""
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.flush()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        lines = journal.read_text("utf-8").splitlines() if journal.exists() else []
        done = [json.loads(line)["items"] for line in lines[1:] if line.endswith("}")]
        if done and done[-1] == items:
            return
        assert done == [] or done[-1] < items, done
        assert proc.poll() is None, stderr.read_text("utf-8")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"no commit of {items} items in time: {stderr.read_text('utf-8')}")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_kill_9_then_ctrl_c_then_resume_is_byte_identical(
    classifier: str, offline: dict[str, str], tmp_path: Path
) -> None:
    stdin = numbered_lines(16)  # windows of 2 non-blank lines end after items 2, 5, 7, 10
    lines = stdin.splitlines(keepends=True)
    out, reference = tmp_path / "out.jsonl", tmp_path / "reference.jsonl"
    args = ["sentiment", "--lines", "--json", "--model", classifier, "-o"]
    full = cli(*args, reference, stdin=stdin, variables=offline)
    assert full.code == 0, full.stderr
    journal, partial, log = Path(f"{out}{JOURNAL}"), Path(f"{out}{PARTIAL}"), tmp_path / "err"

    # 1. Two windows in, the process is killed outright while it waits for more input.
    proc = _start([*args, str(out)], offline, log)
    _feed_until_committed(proc, b"".join(lines[:5]), journal, 5, log)
    proc.kill()
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert not out.exists() and partial.exists()

    # 2. Resumed with more input, then interrupted with Ctrl-C two windows later.
    proc = _start([*args, str(out), "--resume"], offline, log)
    _feed_until_committed(proc, b"".join(lines[:10]), journal, 10, log)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130, log.read_text("utf-8")
    assert log.read_text("utf-8") == (
        "llmcli: error: interrupted after 10 items; run the same command with --resume "
        "to continue\n"
    )
    assert partial.read_bytes() == b"".join(reference.read_bytes().splitlines(True)[:10])

    # 3. Resumed with all of the input: the same bytes as the uninterrupted run.
    resumed = cli(*args, out, "--resume", stdin=stdin, variables=offline)
    assert resumed.code == 0, resumed.stderr
    assert out.read_bytes() == reference.read_bytes()
    assert not journal.exists() and not partial.exists()
