"""Bounded reading: NUL bytes end a read at once, no line or whole file passes a limit.

The first part checks the limits in-process, with small ``--max-item-size`` values and
(through a patched ``CHUNK_BYTES``) chunks of a few bytes, so every line and NUL byte
lands across chunk boundaries. The second runs ``/dev/zero``, an endless stream without
newlines (a FIFO fed by a child process) and a sparse 30 GiB file through every input
mode at the default limit, each in a child process whose address space is capped with
``resource.setrlimit``: a reader that kept what it read would hit a MemoryError (exit 1)
instead of the machine running out of memory, and the test would fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eval_support import assert_error, cli, make_env, write_lines
from llmcli import inputs
from llmcli.errors import InputError, UsageError
from llmcli.exit_status import ExitStatus
from llmcli.inputs import (
    DEFAULT_MAX_ITEM_BYTES,
    STDIN_NAME,
    InputMode,
    Source,
    describe_size,
    iter_items,
    parse_size,
    read_lines,
)

USAGE = int(ExitStatus.USAGE)
SRC = str(Path(__file__).resolve().parent.parent / "src")
LIMIT = 100


@pytest.fixture(params=[7, inputs.CHUNK_BYTES], ids=["7-byte-chunks", "default-chunks"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(inputs, "CHUNK_BYTES", request.param)
    return int(request.param)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- the option -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("4096", 4096), ("512K", 512 * 2**10), ("32M", 32 * 2**20), ("32MiB", 32 * 2**20),
     ("1g", 2**30), (" 2 MB ", 2 * 2**20)],
)  # fmt: skip
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1", "1.5M", "12X", "M"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(UsageError, match="--max-item-size must be a positive size"):
        parse_size(text)


def test_the_default_is_tens_of_mib() -> None:
    assert describe_size(DEFAULT_MAX_ITEM_BYTES) == "32 MiB"
    assert (describe_size(100), describe_size(3 * 2**10)) == ("100 bytes", "3 KiB")


# --- just under and just over the limit, in every mode ----------------------------------


def _items(path: Path, mode: InputMode, keep_going: bool = False) -> list[Any]:
    found = iter_items([Source(str(path))], mode, make_env(), keep_going=keep_going, max_item=LIMIT)
    return [(i.line, i.text, i.failure.message if i.failure else None) for i in found]


def test_lines_at_and_over_the_limit(tmp_path: Path, chunk: int) -> None:
    under = b"a" * LIMIT
    path = write(tmp_path / "in.txt", under + b"\n" + b"b" * (LIMIT + 1) + b"\r\nc\n")
    over = f"{path}:2: line longer than 100 bytes (--max-item-size)"
    with pytest.raises(InputError, match="^" + re.escape(over)):
        _items(path, InputMode.LINES)
    failed = _items(path, InputMode.LINES, keep_going=True)
    assert [(line, text) for line, text, _ in failed] == [(1, under.decode()), (2, ""), (3, "c")]
    assert failed[1][2].startswith(over)
    # A last line without a line end, over the limit, is still one failed item.
    write(path, b"x\n" + b"y" * (LIMIT + 1))
    assert [f is not None for _, _, f in _items(path, InputMode.LINES, keep_going=True)] == [
        False,
        True,
    ]


def test_jsonl_at_and_over_the_limit(tmp_path: Path, chunk: int) -> None:
    def record(length: int) -> bytes:
        text = json.dumps({"text": ""})
        return json.dumps({"text": "t" * (length - len(text))}).encode()

    assert len(record(LIMIT)) == LIMIT
    path = write(tmp_path / "in.jsonl", record(LIMIT) + b"\n" + record(LIMIT + 1) + b"\n")
    with pytest.raises(InputError, match=f"^{path}:2: line longer than 100 bytes"):
        _items(path, InputMode.JSONL)
    failed = _items(path, InputMode.JSONL, keep_going=True)
    assert [(line, bool(text), bool(f)) for line, text, f in failed] == [
        (1, True, False),
        (2, False, True),
    ]


def test_whole_files_at_and_over_the_limit(tmp_path: Path, chunk: int) -> None:
    exact = write(tmp_path / "exact.txt", b"word " * 19 + b"ends\n")
    assert len(exact.read_bytes()) == LIMIT
    ((_, text, failure),) = _items(exact, InputMode.WHOLE)
    assert failure is None and text.startswith("word")
    over = write(tmp_path / "over.txt", exact.read_bytes() + b"x")
    with pytest.raises(InputError, match=f"^{over}: file longer than 100 bytes"):
        _items(over, InputMode.WHOLE)
    both = iter_items(
        [Source(str(over)), Source(str(exact))],
        InputMode.WHOLE,
        make_env(),
        keep_going=True,
        max_item=LIMIT,
    )
    assert [i.failure is not None for i in both] == [True, False]


def test_utf16_files_are_read_whole_within_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.txt", "ab\ncd\n".encode("utf-16"))
    assert read_lines(Source(str(path)), make_env(), "utf-16", max_line=len(path.read_bytes()))
    with pytest.raises(InputError, match="file longer than 13 bytes"):
        read_lines(Source(str(path)), make_env(), "utf-16", max_line=13)


def test_nul_byte_offset_and_line_across_chunks(tmp_path: Path, chunk: int) -> None:
    data = b"first line\nsecond\r\n" + b"z" * 40 + b"\x00 rest\n"
    path = write(tmp_path / "in.txt", data)
    with pytest.raises(InputError, match=f"binary data \\(NUL byte\\) at byte {data.index(0)}, "):
        _items(path, InputMode.LINES)
    # Lines before the NUL byte's line are read first (--keep-going keeps them).
    kept = _items(path, InputMode.LINES, keep_going=True)
    assert [text for _, text, _ in kept[:2]] == ["first line", "second"]
    assert kept[2][2] is not None and "line 3" in kept[2][2]


def test_long_lines_across_many_chunks_read_intact(tmp_path: Path, chunk: int) -> None:
    lines = ["é" * 3000, "", "x" * 7, "中" * 500 + "\r"]
    data = "\n".join(lines).encode()
    got = read_lines(Source(STDIN_NAME), make_env(data), max_line=len(data))
    assert got == lines  # the last line has no line end: its CR stays


def test_eval_hypotheses_and_references_at_and_over_the_limit(tmp_path: Path) -> None:
    under, over = "w " * 50, "w " * 50 + "x"  # 100 and 101 bytes
    hyp = write_lines(tmp_path / "hyp.txt", ["a b c", under])
    ref = write_lines(tmp_path / "ref.txt", ["a b d", under])
    args = ["eval", "-m", "bleu", "--max-item-size", str(LIMIT)]
    assert cli(*args, hyp, "-r", ref).code == 0
    write_lines(hyp, ["a b c", over])
    result = cli(*args, hyp, "-r", ref)
    assert_error(result, USAGE, f"{hyp}:2: line longer than 100 bytes (--max-item-size)")
    result = cli(*args, ref, "-r", hyp)
    assert_error(result, USAGE, f"{hyp}:2: line longer than 100 bytes (--max-item-size)")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"prediction": "a", "reference": over}) + "\n")
    result = cli(*args, "--jsonl", pairs)
    assert_error(result, USAGE, f"{pairs}:1: line longer than 100 bytes")


def test_bad_max_item_size_is_a_usage_error(tmp_path: Path) -> None:
    hyp = write_lines(tmp_path / "hyp.txt", ["a"])
    result = cli("eval", hyp, "-r", hyp, "--max-item-size", "lots")
    assert_error(result, USAGE, "--max-item-size must be a positive size")


def test_model_command_keep_going_records_an_over_long_line(
    tmp_path: Path, tiny_model_dirs: dict[str, Path]
) -> None:
    path = write_lines(tmp_path / "in.txt", ["A fine film.", "long " * 30, "A dull film."])
    variables = {"HF_HUB_OFFLINE": "1", "LLMCLI_HOME": str(tmp_path / "home")}
    args = ["sentiment", "--lines", "--json", "--max-item-size", "100"]
    model = ["--model", str(tiny_model_dirs["distilbert_classifier"])]
    result = cli(*args, *model, path, "--keep-going", variables=variables)
    assert result.code == int(ExitStatus.ITEMS_FAILED), result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3]
    assert ["error" in r for r in records] == [False, True, False]
    assert records[1]["error"]["message"].startswith(f"{path}:2: line longer than 100 bytes")
    result = cli(*args, *model, path, variables=variables)
    assert_error(result, USAGE, f"{path}:2: line longer than 100 bytes")


# --- hostile inputs under a memory ceiling ----------------------------------------------

#: Runs llmcli (or only its reader) with its address space capped at what it has mapped
#: after its imports plus HEADROOM bytes: argv is KIND HEADROOM ARGS...
CHILD = r"""
import json, resource, sys

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

kind, headroom, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
import llmcli.cli.app, llmcli.evaluation.data, llmcli.evaluation.evaluate, llmcli.inputs
if kind == "model":
    import torch, transformers, llmcli.runner  # a model command's baseline
limit = vm_size() + headroom
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
if kind == "reader":
    from llmcli.environment import Environment
    from llmcli.errors import InputError
    from llmcli.inputs import InputMode, Source, iter_items
    try:
        for _ in iter_items([Source(args[1])], InputMode(args[0]), Environment()):
            pass
    except InputError as exc:
        print(f"llmcli: error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0)
sys.exit(llmcli.cli.app.run(args))
"""
MIB = 2**20
HEADROOM = {"reader": 200 * MIB, "eval": 200 * MIB, "model": 400 * MIB}


def run_capped(kind: str, *args: Any, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "1",  # a thread's malloc arena reserves 64 MiB of addresses
        "RAYON_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [sys.executable, "-c", CHILD, kind, str(HEADROOM[kind]), *map(str, args)]
    return subprocess.run(
        command, env=env, stdin=stdin, capture_output=True, text=True, timeout=300
    )


def _endless_writer(fifo: Path) -> subprocess.Popen[bytes]:
    """A child writing text without a newline into ``fifo`` until its reader goes."""
    code = (
        "import sys\n"
        "try:\n"
        "    with open(sys.argv[1], 'wb') as out:\n"
        "        while True:\n"
        "            out.write(b'abc ' * 16384)\n"
        "except (BrokenPipeError, OSError):\n"
        "    pass\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(fifo)], stderr=subprocess.DEVNULL)


@pytest.fixture(params=["dev-zero", "endless", "sparse-30G"])
def hostile(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An input that never ends a line: its kind and its path."""
    kind = request.param
    if kind == "dev-zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        yield kind, Path("/dev/zero")  # only ever read
        return
    if kind == "sparse-30G":
        path = tmp_path / "sparse.txt"
        made = subprocess.run(["truncate", "-s", "30G", str(path)], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"cannot make a sparse file here: {made.stderr!r}")
        yield kind, path
        return
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    writer = _endless_writer(fifo)
    try:
        yield kind, fifo
    finally:
        if writer.poll() is None:
            # Not read (a test that failed early): open the FIFO so the writer's open
            # returns, then stop it.
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            writer.kill()
            os.close(fd)
        writer.wait(timeout=60)


def _expected(kind: str, path: Path, whole: bool = False) -> str:
    if kind != "endless":
        return f"llmcli: error: {path}: binary data (NUL byte) at byte 0, line 1"
    if whole:
        return f"llmcli: error: {path}: file longer than 32 MiB (--max-item-size)"
    return f"llmcli: error: {path}:1: line longer than 32 MiB (--max-item-size)"


def _check(run: subprocess.CompletedProcess[str], expected: str) -> None:
    assert run.returncode == USAGE, (run.returncode, run.stderr[-2000:])
    assert run.stderr.startswith(expected), run.stderr[-2000:]
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr


@pytest.mark.parametrize("mode", ["lines", "jsonl", "whole"])
def test_reader_under_a_memory_ceiling(hostile: tuple[str, Path], mode: str) -> None:
    kind, path = hostile
    _check(run_capped("reader", mode, path), _expected(kind, path, whole=mode == "whole"))


@pytest.mark.parametrize("role", ["hypotheses", "references", "jsonl"])
def test_eval_under_a_memory_ceiling(hostile: tuple[str, Path], role: str, tmp_path: Path) -> None:
    kind, path = hostile
    ref = write_lines(tmp_path / "ref.txt", ["a b c"])
    args = {
        "hypotheses": ["eval", path, "-r", ref],
        "references": ["eval", ref, "-r", path],
        "jsonl": ["eval", "--jsonl", path],
    }[role]
    _check(run_capped("eval", *args), _expected(kind, path))


def test_eval_reads_an_endless_stdin_under_a_memory_ceiling(tmp_path: Path) -> None:
    """`yes abc | tr -d '\\n' | llmcli eval --ref ref.txt`."""
    ref = write_lines(tmp_path / "ref.txt", ["a b c"])
    code = "import sys\nwhile True: sys.stdout.buffer.write(b'abc' * 65536)"
    writer = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        run = run_capped("eval", "eval", "-r", ref, stdin=writer.stdout)
    finally:
        assert writer.stdout is not None
        writer.stdout.close()
        writer.kill()
        writer.wait(timeout=60)
    _check(run, f"llmcli: error: {STDIN_NAME}:1: line longer than 32 MiB")


def test_model_command_under_a_memory_ceiling(
    tmp_path: Path, tiny_model_dirs: dict[str, Path]
) -> None:
    """One run with torch loaded (about 5 s): an endless stream read as a whole file."""
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    writer = _endless_writer(fifo)
    model = tiny_model_dirs["distilbert_classifier"]
    try:
        run = run_capped("model", "sentiment", "--model", model, fifo, "-o", tmp_path / "out")
    finally:
        writer.kill()
        writer.wait(timeout=60)
    _check(run, _expected("endless", fifo, whole=True))
    assert not (tmp_path / "out").exists()
