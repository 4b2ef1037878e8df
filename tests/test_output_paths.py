"""``-o PATH`` for every kind of path: files, symlinks, devices, pipes, and the inputs.

Nothing here touches a real device: pipes are FIFOs the tests make with ``os.mkfifo``
(read by a child process), ``/dev/stdout`` and ``/dev/fd/N`` are this process's or a
child's own descriptors, and a character or block device is a regular file that a
stubbed ``os.stat`` reports as one, so the test sees which way it was written (a
rename changes the inode; a direct write does not).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval_support import EN_REF, EN_SYS_A, assert_error, cli, make_env, write_jsonl, write_lines
from llmcli.errors import OutputError, UsageError
from llmcli.exit_status import ExitStatus
from llmcli.inputs import Source
from llmcli.output import target as target_module
from llmcli.output.journal import journaled_output
from llmcli.output.target import TargetKind, output_target
from llmcli.output.writer import open_output

USAGE = int(ExitStatus.USAGE)
SRC = str(Path(__file__).resolve().parent.parent / "src")


@pytest.fixture
def offline(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> dict[str, str]:
    return {
        "HF_HUB_OFFLINE": "1",
        "LLMCLI_HOME": str(tmp_path / "home"),
        # A tiny local sentence embedder: the built-in one would be fetched from PyPI.
        "LLMCLI_MODEL_EMBED": str(tiny_model_dirs["bert_embedder"]),
        "OMP_NUM_THREADS": "1",
    }


@pytest.fixture
def classifier(tiny_model_dirs: dict[str, Path]) -> str:
    return str(tiny_model_dirs["distilbert_classifier"])


def eval_bleu(*args: Any) -> Any:
    return cli("eval", EN_SYS_A, "-r", EN_REF, "-m", "bleu", *args)


def expected_bleu() -> str:
    result = eval_bleu()
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"{EN_SYS_A}\tBLEU\t")
    return result.stdout


def leftovers(folder: Path) -> list[str]:
    """Temporary, partial or journal files llmcli left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".llmcli" in p.name)


class Snapshot:
    """The bytes of some files, to check that none changed."""

    def __init__(self, *paths: Path) -> None:
        self.files = {p: p.read_bytes() for p in paths}

    def unchanged(self) -> bool:
        return all(p.read_bytes() == data for p, data in self.files.items())


# --- regular files and symlinks ---------------------------------------------------------


def test_new_and_existing_regular_files(tmp_path: Path) -> None:
    out = tmp_path / "scores.txt"
    assert eval_bleu("-o", out).code == 0
    assert out.read_text() == expected_bleu()
    out.write_text("old content\n")
    inode = out.stat().st_ino
    assert eval_bleu("-o", out).code == 0
    assert out.read_text() == expected_bleu()
    assert out.stat().st_ino != inode  # replaced atomically, by a rename
    assert leftovers(tmp_path) == []


def test_symlink_to_a_file_keeps_the_link_and_writes_its_target(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "scores.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert eval_bleu("-o", link).code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == expected_bleu()
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "real") == []


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to("made.txt")  # relative, as `ln -s` makes them
    assert eval_bleu("-o", link).code == 0
    assert link.is_symlink() and os.readlink(link) == "made.txt"
    assert (tmp_path / "made.txt").read_text() == expected_bleu()


def test_model_command_through_a_symlink_journals_beside_the_target(
    tmp_path: Path, offline: dict[str, str], classifier: str
) -> None:
    texts = write_lines(tmp_path / "in.txt", ["A fine film.", "", "A dull one."])
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "labels.txt"
    link = tmp_path / "labels.txt"
    link.symlink_to(real)
    args = ["sentiment", "--lines", "--model", classifier, texts]
    plain = cli(*args, variables=offline)
    assert plain.code == 0, plain.stderr
    result = cli(*args, "-o", link, variables=offline)
    assert result.code == 0, result.stderr
    assert link.is_symlink() and real.read_text() == plain.stdout
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "real") == []


# --- devices, pipes and descriptors -----------------------------------------------------


def _fake_stat(monkeypatch: pytest.MonkeyPatch, path: Path, kind: int) -> None:
    """``os.stat`` in llmcli.output.target reports ``path`` as a file of type ``kind``."""
    real_stat = os.stat

    def fake(p: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        result = real_stat(p, *args, **kwargs)
        if os.fspath(p) != str(path):
            return result
        fields = list(result)
        fields[0] = kind | 0o666
        return os.stat_result(fields)

    monkeypatch.setattr(target_module.os, "stat", fake)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (stat.S_IFCHR, TargetKind.STREAM),
        (stat.S_IFBLK, TargetKind.STREAM),
        (stat.S_IFIFO, TargetKind.STREAM),
        (stat.S_IFSOCK, TargetKind.STREAM),
        (stat.S_IFREG, TargetKind.FILE),
    ],
)
def test_the_file_type_decides(
    kind: int, expected: TargetKind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "null"
    path.write_text("")
    _fake_stat(monkeypatch, path, kind)
    assert output_target(str(path), make_env()).kind is expected


def test_a_character_device_is_written_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root, a rename would replace /dev/null itself with a regular file."""
    device = tmp_path / "null"
    device.write_text("")
    inode = device.stat().st_ino
    _fake_stat(monkeypatch, device, stat.S_IFCHR)
    assert eval_bleu("-o", device).code == 0
    assert device.stat().st_ino == inode  # no temporary file renamed over it
    assert device.read_text() == expected_bleu()
    assert leftovers(tmp_path) == []


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert_error(eval_bleu("-o", tmp_path), 1, f"{tmp_path}: is a directory")


def _fifo_reader(fifo: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)


def test_a_fifo_read_by_another_process(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = _fifo_reader(fifo)
    try:
        result = eval_bleu("-o", fifo)
    finally:
        received, _ = reader.communicate(timeout=60)
    assert result.code == 0, result.stderr
    assert received.decode() == expected_bleu()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the pipe
    assert leftovers(tmp_path) == []


def test_model_command_into_a_fifo_writes_window_by_window_without_a_journal(
    tmp_path: Path, offline: dict[str, str], classifier: str
) -> None:
    texts = write_lines(tmp_path / "in.txt", [f"Review {i}: a fine film." for i in range(5)])
    args = ["sentiment", "--lines", "--model", classifier, texts]
    variables = {**offline, "LLMCLI_WINDOW_ITEMS": "2"}
    plain = cli(*args, variables=variables)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = _fifo_reader(fifo)
    try:
        result = cli(*args, "-o", fifo, variables=variables)
    finally:
        received, _ = reader.communicate(timeout=60)
    assert result.code == 0, result.stderr
    assert received.decode() == plain.stdout and plain.stdout.count("\n") == 5
    assert leftovers(tmp_path) == []


def test_resume_refuses_a_device_or_pipe(
    tmp_path: Path, offline: dict[str, str], classifier: str
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # nobody reads it: opening it would block, so the refusal comes first
    texts = write_lines(tmp_path / "in.txt", ["A fine film."])
    result = cli(
        "sentiment", "--lines", "--model", classifier, texts, "-o", fifo, "--resume",
        variables=offline,
    )  # fmt: skip
    assert_error(result, USAGE, "--resume needs -o FILE, a regular file", f"{fifo} is not")
    assert leftovers(tmp_path) == []


def test_the_journal_refuses_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = output_target(str(fifo), make_env())
    env = make_env()
    refused = pytest.raises(UsageError, match="journal of -o needs -o FILE")
    with refused, journaled_output(target, {}, resume=False, env=env):
        pass
    assert leftovers(tmp_path) == []


def test_dev_stdout_is_the_environments_stdout() -> None:
    result = eval_bleu("-o", "/dev/stdout")
    assert result.code == 0, result.stderr
    assert result.stdout == expected_bleu()


def _llmcli(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-m", "llmcli", *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, timeout=120, **kwargs)


@pytest.mark.parametrize("path", ["/dev/stdout", "/proc/self/fd/1", "/dev/fd/1"])
def test_dev_stdout_in_a_real_process(path: str) -> None:
    if not os.path.exists(path):
        pytest.skip(f"no {path} here")
    run = _llmcli("eval", EN_SYS_A, "-r", EN_REF, "-m", "bleu", "-o", path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode() == expected_bleu()


def test_dev_fd_n_like_a_process_substitution(tmp_path: Path) -> None:
    """``-o >(gzip > out.gz)``: the shell passes a pipe as /dev/fd/N."""
    if not os.path.isdir("/dev/fd"):
        pytest.skip("no /dev/fd here")
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader:
        try:
            run = _llmcli(
                "eval", EN_SYS_A, "-r", EN_REF, "-m", "bleu", "-o", f"/dev/fd/{write_end}",
                pass_fds=(write_end,),
            )  # fmt: skip
        finally:
            os.close(write_end)
        received = reader.read()
    assert run.returncode == 0, run.stderr
    assert received.decode() == expected_bleu()
    assert leftovers(tmp_path) == []


# --- an output that is one of the inputs ------------------------------------------------


def _refused(result: Any, output: Path | str, source: Path | str, snapshot: Snapshot) -> None:
    assert_error(result, USAGE, f"-o {output} is the input {source} (the same file)")
    assert snapshot.unchanged()


def test_output_is_a_hypothesis_or_a_reference(tmp_path: Path) -> None:
    hyp = write_lines(tmp_path / "hyp.txt", ["the cat sat", "a dog ran"])
    ref = write_lines(tmp_path / "ref.txt", ["the cat sat down", "the dog ran"])
    snapshot = Snapshot(hyp, ref)
    _refused(cli("eval", hyp, "-r", ref, "-o", ref), ref, ref, snapshot)
    _refused(cli("eval", hyp, "-r", ref, "-o", hyp), hyp, hyp, snapshot)
    # Through a symlink, and through another spelling of the path.
    link = tmp_path / "link.txt"
    link.symlink_to(ref)
    _refused(cli("eval", hyp, "-r", ref, "-o", link), link, ref, snapshot)
    other = tmp_path / "." / "x" / ".." / "ref.txt"
    (tmp_path / "x").mkdir()
    _refused(cli("eval", hyp, "-r", link, "-o", other), other, link, snapshot)


def test_output_is_a_jsonl_input(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "pairs.jsonl", [{"prediction": "a b", "reference": "a c"}])
    snapshot = Snapshot(data)
    _refused(cli("eval", "--jsonl", data, "-o", data), data, data, snapshot)


def test_output_is_stdin_or_stdout_is_an_input(tmp_path: Path) -> None:
    hyp = write_lines(tmp_path / "hyp.txt", ["the cat sat", "a dog ran"])
    ref = write_lines(tmp_path / "ref.txt", ["the cat sat down", "the dog ran"])
    snapshot = Snapshot(hyp, ref)
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-m", "llmcli", "eval", "-r", str(ref), "-o", str(hyp)]
    with hyp.open("rb") as stdin:
        run = subprocess.run(command, env=env, stdin=stdin, capture_output=True, timeout=120)
    assert run.returncode == USAGE
    assert f"-o {hyp} is the input <stdin> (the same file)" in run.stderr.decode()
    # `>> ref.txt` would read its own output back.
    command = [sys.executable, "-m", "llmcli", "eval", str(hyp), "-r", str(ref)]
    with ref.open("ab") as stdout:
        run = subprocess.run(command, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=120)
    assert run.returncode == USAGE
    assert f"stdout is the input {ref} (the same file)" in run.stderr.decode()
    assert snapshot.unchanged()


def test_model_command_output_is_a_file_inside_a_folder_input(
    tmp_path: Path, offline: dict[str, str], classifier: str
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    first = write_lines(folder / "a.txt", ["A fine film."])
    second = write_lines(folder / "b.txt", ["A dull film."])
    snapshot = Snapshot(first, second)
    args = ["sentiment", "--lines", "--model", classifier, folder]
    _refused(cli(*args, "-o", second, variables=offline), second, second, snapshot)
    link = tmp_path / "link.txt"
    link.symlink_to(first)
    _refused(cli(*args, "-o", link, variables=offline), link, first, snapshot)
    _refused(
        cli(*args, "-o", first, "--keep-going", "--json", variables=offline),
        first,
        first,
        snapshot,
    )
    assert leftovers(folder) == [] and leftovers(tmp_path) == []


def test_model_command_output_is_its_jsonl_input(
    tmp_path: Path, offline: dict[str, str], classifier: str
) -> None:
    data = write_jsonl(tmp_path / "docs.jsonl", [{"text": "A fine film."}])
    snapshot = Snapshot(data)
    result = cli("sentiment", "--jsonl", "--model", classifier, data, "-o", data, variables=offline)
    _refused(result, data, data, snapshot)


def test_refused_before_anything_is_read(tmp_path: Path) -> None:
    """The check needs no input bytes: a FIFO input nobody writes would block a read."""
    fifo = tmp_path / "hyp-pipe"
    os.mkfifo(fifo)
    ref = write_lines(tmp_path / "ref.txt", ["x"])
    snapshot = Snapshot(ref)
    _refused(cli("eval", fifo, "-r", ref, "-o", ref), ref, ref, snapshot)


def test_open_output_of_a_stream_reports_write_errors(tmp_path: Path) -> None:
    missing = tmp_path / "was-a-device"
    target = target_module.Target(str(missing), str(missing), TargetKind.STREAM)
    refused = pytest.raises(OutputError, match="was-a-device: cannot write: No such file")
    with refused, open_output(target, make_env()):
        pass
    assert not missing.exists()  # no O_CREAT: a vanished device is not made a file


def test_json_records_reach_a_fifo_whole(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = _fifo_reader(fifo)
    try:
        result = cli("eval", EN_SYS_A, "-r", EN_REF, "-m", "bleu", "--json", "-o", fifo)
    finally:
        received, _ = reader.communicate(timeout=60)
    assert result.code == 0, result.stderr
    assert json.loads(received)["systems"][0]["name"] == str(EN_SYS_A)


def test_sources_given_to_output_target_may_be_missing(tmp_path: Path) -> None:
    out = write_lines(tmp_path / "out.txt", ["x"])
    target = output_target(str(out), make_env(), [Source(str(tmp_path / "missing.txt"))])
    assert target.kind is TargetKind.FILE and target.path == str(out)
