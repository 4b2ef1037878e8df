"""The catalogue of bad inputs, one test per entry of the README's Troubleshooting table.

Each goes through the real entry point (:func:`llmcli.cli.app.run` with an injected
Environment, or a subprocess where process behaviour matters: a full stdout, a closed
pipe) and checks the contract: the documented exit code, one ``llmcli: error:`` line on
stderr that names what is wrong (file, line, byte offset...), no traceback, and, with
``-o``, no output file and no temporary file left behind. ``eval`` and a model command
(on the tiny random-weight models of ``tests/tiny_models.py``) are both covered.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval_support import EN_REF, EN_SYS_A, EN_SYS_B, assert_error, cli, read_lines
from llmcli.exit_status import ExitStatus

OK, ERROR, USAGE, UNAVAILABLE = 0, 1, 2, 3
assert (OK, ERROR, USAGE, UNAVAILABLE) == (
    ExitStatus.OK,
    ExitStatus.ERROR,
    ExitStatus.USAGE,
    ExitStatus.MODEL_UNAVAILABLE,
)

BAD_UTF8 = "première ligne\n".encode() + b"deuxi\xe8me ligne\n"  # latin-1 on line 2
BAD_UTF8_AT = BAD_UTF8.index(b"\xe8")
NUL_TEXT = b"one\ntwo\x00three\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


@pytest.fixture
def offline(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> dict[str, str]:
    """No network, no user cache."""
    return {
        "HF_HUB_OFFLINE": "1",
        "LLMCLI_HOME": str(tmp_path / "home"),
        # A tiny local sentence embedder: the built-in one would be fetched from PyPI.
        "LLMCLI_MODEL_EMBED": str(tiny_model_dirs["bert_embedder"]),
    }


@pytest.fixture
def classifier(tiny_model_dirs: dict[str, Path]) -> Path:
    return tiny_model_dirs["distilbert_classifier"]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder for ``-o``: after a failure it must still be empty."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def fails(
    out_dir: Path,
    args: list[Any],
    code: int,
    *fragments: str,
    stdin: bytes = b"",
    variables: dict[str, str] | None = None,
) -> str:
    """Run ``llmcli ARGS -o OUT``: one error line, ``code``, and nothing left in out_dir."""
    out = out_dir / "result.txt"
    result = cli(*args, "-o", out, stdin=stdin, variables=variables)
    line = assert_error(result, code, *fragments)
    assert sorted(os.listdir(out_dir)) == [], "an output or temporary file was left behind"
    return line


def succeeds(
    args: list[Any], *, stdin: bytes = b"", variables: dict[str, str] | None = None
) -> str:
    result = cli(*args, stdin=stdin, variables=variables)
    assert result.code == OK, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def eval_args(hyp: Path | str, ref: Path | str = EN_REF) -> list[Any]:
    return ["eval", hyp, "-r", ref]


def sentiment_args(model: Path, *files: Path | str, mode: str | None = None) -> list[Any]:
    return ["sentiment", "--model", model, *([mode] if mode else []), *files]


def jsonl_args(command: str, path: Path, model: Path) -> list[Any]:
    """``eval --jsonl PATH`` or ``sentiment --jsonl PATH``."""
    return (
        ["eval", "--jsonl", path]
        if command == "eval"
        else sentiment_args(model, path, mode="--jsonl")
    )


# --- files that cannot be read ------------------------------------------------------------


@pytest.mark.parametrize("command", ["eval-hyp", "eval-ref", "sentiment"])
def test_missing_file(
    command: str, tmp_path: Path, out_dir: Path, offline: dict[str, str], classifier: Path
) -> None:
    missing = tmp_path / "no-such-file.txt"
    args = {
        "eval-hyp": eval_args(missing),
        "eval-ref": eval_args(EN_SYS_A, missing),
        "sentiment": sentiment_args(classifier, missing),
    }[command]
    fails(out_dir, args, USAGE, f"{missing}: no such file", variables=offline)


def test_missing_file_fails_before_the_model_loads(
    tmp_path: Path, out_dir: Path, offline: dict[str, str]
) -> None:
    """A typo in a file name must not cost a model download or preparation first."""
    variables = {**offline, "LLMCLI_MODEL_SENTIMENT": str(tmp_path / "no-such-model") + "/"}
    fails(
        out_dir,
        ["sentiment", tmp_path / "typo.txt"],
        USAGE,
        "typo.txt: no such file",
        variables=variables,
    )


@pytest.mark.parametrize("command", ["eval", "sentiment"])
def test_directory(
    command: str, tmp_path: Path, out_dir: Path, offline: dict[str, str], classifier: Path
) -> None:
    folder = tmp_path / "a_folder"
    folder.mkdir()
    args = eval_args(folder) if command == "eval" else sentiment_args(classifier, folder)
    fails(out_dir, args, USAGE, f"{folder}: is a directory", variables=offline)


# --- bytes that are not text ------------------------------------------------------------


@pytest.mark.parametrize("command", ["eval", "eval-stdin", "sentiment", "sentiment-lines"])
def test_nul_bytes_are_binary_data(
    command: str, tmp_path: Path, out_dir: Path, offline: dict[str, str], classifier: Path
) -> None:
    path = write(tmp_path / "binary.txt", NUL_TEXT)
    ref = write(tmp_path / "ref.txt", "a\nb\nc\n")
    name = "<stdin>" if command == "eval-stdin" else str(path)
    args = {
        "eval": eval_args(path, ref),
        "eval-stdin": ["eval", "-r", ref],
        "sentiment": sentiment_args(classifier, path),
        "sentiment-lines": sentiment_args(classifier, path, mode="--lines"),
    }[command]
    at = f"at byte {NUL_TEXT.index(0)}, line 2"
    line = fails(
        out_dir,
        args,
        USAGE,
        f"{name}: binary data (NUL byte)",
        at,
        variables=offline,
        stdin=NUL_TEXT,
    )
    assert "text files only" in line


def test_binary_file(tmp_path: Path, out_dir: Path) -> None:
    """A real binary (a PNG): its first non-UTF-8 byte is reported, then its NUL."""
    png = write(tmp_path / "image.png", PNG)
    ref = write(tmp_path / "ref.txt", "a\nb\nc\n")
    fails(out_dir, eval_args(png, ref), USAGE, f"{png}: invalid utf-8 at byte 0, line 1")
    fails(
        out_dir,
        [*eval_args(png, ref), "--errors", "replace"],
        USAGE,
        f"{png}: binary data (NUL byte) at byte {PNG.index(0)}, line 3",
    )


@pytest.mark.parametrize("command", ["eval", "eval-stdin", "sentiment-lines"])
def test_invalid_utf8_names_file_line_and_byte(
    command: str, tmp_path: Path, out_dir: Path, offline: dict[str, str], classifier: Path
) -> None:
    path = write(tmp_path / "latin1.txt", BAD_UTF8)
    ref = write(tmp_path / "ref.txt", "first line\nsecond line\n")
    name = "<stdin>" if command == "eval-stdin" else str(path)
    args = {
        "eval": eval_args(path, ref),
        "eval-stdin": ["eval", "-r", ref],
        "sentiment-lines": sentiment_args(classifier, path, mode="--lines"),
    }[command]
    line = fails(
        out_dir,
        args,
        USAGE,
        f"{name}: invalid utf-8 at byte {BAD_UTF8_AT}, line 2",
        stdin=BAD_UTF8,
        variables=offline,
    )
    assert "--encoding" in line and "--errors replace" in line


@pytest.mark.parametrize("option", [["--errors", "replace"], ["--encoding", "latin-1"]])
def test_invalid_utf8_proceeds_with_encoding_or_errors_replace(
    option: list[str], tmp_path: Path, offline: dict[str, str], classifier: Path
) -> None:
    path = write(tmp_path / "latin1.txt", BAD_UTF8)
    ref = write(tmp_path / "ref.txt", "first line\nsecond line\n")
    assert succeeds([*eval_args(path, ref), *option])
    out = succeeds([*sentiment_args(classifier, path, mode="--lines"), *option], variables=offline)
    assert len(out.splitlines()) == 2


# --- empty input, blank lines -----------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"], ids=["empty", "bom-only"])
@pytest.mark.parametrize(
    "command", ["eval-hyp", "eval-ref", "eval-stdin", "eval-jsonl", "sentiment"]
)
def test_empty_file(
    command: str,
    content: bytes,
    tmp_path: Path,
    out_dir: Path,
    offline: dict[str, str],
    classifier: Path,
) -> None:
    path = write(tmp_path / "empty.txt", content)
    name = "<stdin>" if command == "eval-stdin" else str(path)
    args = {
        "eval-hyp": eval_args(path),
        "eval-ref": eval_args(EN_SYS_A, path),
        "eval-stdin": ["eval", "-r", EN_REF],
        "eval-jsonl": ["eval", "--jsonl", path],
        "sentiment": sentiment_args(classifier, path),
    }[command]
    fails(out_dir, args, USAGE, f"{name}: empty input", stdin=content, variables=offline)


@pytest.mark.parametrize("command", ["summarize", "sentiment", "eval-jsonl"])
def test_blank_file(
    command: str,
    tmp_path: Path,
    out_dir: Path,
    offline: dict[str, str],
    tiny_model_dirs: dict[str, Path],
) -> None:
    """Only whitespace: no text for a model (or no records); an error, not made-up output."""
    path = write(tmp_path / "blank.txt", b"  \n\r\n\t\n")
    args = {
        "summarize": ["summarize", "--model", tiny_model_dirs["t5"], path],
        "sentiment": sentiment_args(tiny_model_dirs["distilbert_classifier"], path),
        "eval-jsonl": ["eval", "--jsonl", path],
    }[command]
    fails(out_dir, args, USAGE, f"{path}: empty input", variables=offline)


def test_blank_lines_stay_blank(
    tmp_path: Path, out_dir: Path, offline: dict[str, str], classifier: Path
) -> None:
    """--lines: a blank line is no work and stays a blank output line; eval scores it."""
    path = write(tmp_path / "lines.txt", "good film\n\n   \nbad film\n")
    out = succeeds(sentiment_args(classifier, path, mode="--lines"), variables=offline)
    lines = out.split("\n")
    assert len(lines) == 5 and lines[1:3] == ["", ""] and lines[0] and lines[3]
    records = succeeds(
        [*sentiment_args(classifier, path, mode="--lines"), "--json"], variables=offline
    )
    assert [json.loads(r).get("skipped") for r in records.splitlines()] == [
        None,
        "blank line",
        "blank line",
        None,
    ]
    # Blank lines are segments for eval (as in sacrebleu): only the line counts matter.
    assert succeeds(eval_args(path, path))
    fails(out_dir, eval_args(path), USAGE, f"{path} has 4 lines but {EN_REF} has ")
    # An empty file is zero lines: zero output lines, not an error, in --lines mode.
    empty = write(tmp_path / "empty.txt", b"")
    assert succeeds(sentiment_args(classifier, empty, mode="--lines"), variables=offline) == ""


# --- BOM and CRLF -----------------------------------------------------------------------


def test_bom_is_dropped(tmp_path: Path, offline: dict[str, str], classifier: Path) -> None:
    plain = cli(*eval_args(EN_SYS_B), "--json").json()
    bom_hyp = write(tmp_path / "hyp.txt", b"\xef\xbb\xbf" + EN_SYS_B.read_bytes())
    bom_ref = write(tmp_path / "ref.txt", b"\xef\xbb\xbf" + EN_REF.read_bytes())
    with_bom = cli(*eval_args(bom_hyp, bom_ref), "--json").json()
    assert with_bom["systems"][0]["scores"] == plain["systems"][0]["scores"]
    jsonl = write(tmp_path / "in.jsonl", b'\xef\xbb\xbf{"text": "fine", "id": 1}\n')
    out = succeeds(
        [*sentiment_args(classifier, jsonl, mode="--jsonl"), "--json"], variables=offline
    )
    assert json.loads(out)["id"] == 1


def test_crlf_line_ends(tmp_path: Path, offline: dict[str, str], classifier: Path) -> None:
    plain = cli(*eval_args(EN_SYS_B), "--json", "--segments").json()
    crlf_hyp = write(tmp_path / "hyp.txt", EN_SYS_B.read_bytes().replace(b"\n", b"\r\n"))
    crlf_ref = write(tmp_path / "ref.txt", EN_REF.read_bytes().replace(b"\n", b"\r\n"))
    crlf = cli(*eval_args(crlf_hyp, crlf_ref), "--json", "--segments").json()
    assert [{**system, "name": None} for system in crlf["systems"]] == [
        {**system, "name": None} for system in plain["systems"]
    ]
    path = write(tmp_path / "lines.txt", b"good film\r\n\r\nbad film\r\n")
    out = tmp_path / "labels.txt"
    assert (
        succeeds([*sentiment_args(classifier, path, mode="--lines"), "-o", out], variables=offline)
        == ""
    )
    labels = out.read_bytes()
    assert b"\r" not in labels and labels.count(b"\n") == 3
    jsonl = write(tmp_path / "in.jsonl", b'{"text": "a"}\r\n\r\n{"text": "b"}\r\n')
    records = succeeds(
        [*sentiment_args(classifier, jsonl, mode="--jsonl"), "--json"], variables=offline
    )
    assert [json.loads(r)["line"] for r in records.splitlines()] == [1, 3]


# --- a line far longer than any model context --------------------------------------------


def test_line_longer_than_any_context_is_chunked(
    tmp_path: Path, offline: dict[str, str], classifier: Path
) -> None:
    long_line = "The film was long, and the ending was good. " * 2_300
    assert len(long_line) > 100_000
    path = write(tmp_path / "long.txt", f"short line\n{long_line}\n")
    out = succeeds([*sentiment_args(classifier, path, mode="--lines"), "--json"], variables=offline)
    first, second = (json.loads(r) for r in out.splitlines())
    assert first["chunks"] == 1 and second["chunks"] > 10
    assert not second["truncated"]
    # eval has no context limit: the long line is one segment. (Not TER: sacrebleu's TER
    # is quadratic in the segment length, minutes for this one.)
    doc = cli(*eval_args(path, path), "-m", "bleu,chrf", "--json").json()
    assert [score["score"] for score in doc["systems"][0]["scores"]] == pytest.approx([100, 100])


# --- JSON Lines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"prediction": "a", "reference": ', ":3:34: invalid JSON"),
        ('["a", "b"]', ":3: expected a JSON object, got list"),
        ("{'prediction': 'a'}", ":3:2: invalid JSON"),
        ('{"prediction": "a", "reference": "b"} trailing', ":3:39: invalid JSON: Extra data"),
    ],
    ids=["truncated", "not-an-object", "single-quotes", "trailing-garbage"],
)
@pytest.mark.parametrize("command", ["eval", "sentiment"])
def test_malformed_jsonl_names_the_line(
    command: str,
    line: str,
    fragment: str,
    tmp_path: Path,
    out_dir: Path,
    offline: dict[str, str],
    classifier: Path,
) -> None:
    good = '{"prediction": "a", "reference": "a", "text": "a"}\n'
    path = write(tmp_path / "data.jsonl", good + "\n" + line + "\n" + good)
    args = jsonl_args(command, path, classifier)
    fails(out_dir, args, USAGE, f"{path}{fragment}", variables=offline)


@pytest.mark.parametrize(
    ("command", "option", "fragment"),
    [
        ("eval", [], ":2: no field 'prediction' (fields here: answer, reference; "),
        ("eval", ["--ref-field", "gold"], ":1: no field 'gold'"),
        ("sentiment", [], ":2: no field 'text' (fields here: answer, reference; "),
        ("sentiment", ["--field", "body"], ":1: no field 'body'"),
    ],
)
def test_missing_field_names_the_line_and_the_fields(
    command: str,
    option: list[str],
    fragment: str,
    tmp_path: Path,
    out_dir: Path,
    offline: dict[str, str],
    classifier: Path,
) -> None:
    path = write(
        tmp_path / "data.jsonl",
        '{"prediction": "a", "reference": "a", "text": "a"}\n{"answer": "b", "reference": "b"}\n',
    )
    base = jsonl_args(command, path, classifier)
    fails(out_dir, [*base, *option], USAGE, f"{path}{fragment}", variables=offline)


# --- mismatched hypothesis / reference counts --------------------------------------------


def test_mismatched_counts(tmp_path: Path, out_dir: Path) -> None:
    n = len(read_lines(EN_REF))
    short = write(tmp_path / "short.txt", "one\ntwo\n")
    fails(
        out_dir,
        eval_args(short),
        USAGE,
        f"{short} has 2 lines but {EN_REF} has {n}",
        "line-aligned",
    )
    fails(
        out_dir,
        ["eval", EN_SYS_A, "-r", EN_REF, "-r", short],
        USAGE,
        f"{short} has 2 lines but {EN_REF} has {n}",
    )
    fails(
        out_dir,
        ["eval", "-r", EN_REF],
        USAGE,
        f"<stdin> has 1 lines but {EN_REF} has {n}",
        stdin=b"just one\n",
    )
    record = '{"prediction": "a", "reference": "a"}\n'
    two, three = write(tmp_path / "two.jsonl", record * 2), write(tmp_path / "3.jsonl", record * 3)
    fails(out_dir, ["eval", "--jsonl", two, three], USAGE, f"{three} has 3 records but {two} has 2")


# --- unknown language, unknown model, damaged model folders ------------------------------


@pytest.mark.parametrize("option", [["--to", "xx"], ["--to", "de", "--from", "klingon"]])
def test_unknown_language_code(
    option: list[str],
    tmp_path: Path,
    out_dir: Path,
    offline: dict[str, str],
    tiny_model_dirs: dict[str, Path],
) -> None:
    code = option[-1]
    path = write(tmp_path / "text.txt", "Good morning.\n")
    for family in ("marian", "m2m100"):
        args = ["translate", *option, "--model", tiny_model_dirs[family], path]
        line = fails(out_dir, args, USAGE, f"language {code!r}", variables=offline)
        assert "ISO 639-1" in line and "de" in line  # lists the supported codes


@pytest.mark.parametrize(
    "model", ["nobody/no-such-model", "no-such-alias", "./no/such/folder/"], ids=str
)
def test_unknown_model(
    model: str, tmp_path: Path, out_dir: Path, offline: dict[str, str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "text.txt", "fine\n")
    name = model.rstrip("/").removeprefix("./")
    fails(out_dir, ["sentiment", "--model", model, path], UNAVAILABLE, name, variables=offline)
    result = cli("models", "pull", model, variables=offline)
    assert_error(result, UNAVAILABLE, name)


def _spoil(folder: Path, damage: str) -> None:
    """Damage a copy of a saved model the way a crash, a full disk or a bad copy would."""
    weights = folder / "model.safetensors"
    if damage == "empty-folder":
        for path in folder.iterdir():
            path.unlink()
    elif damage == "config-only":
        for path in folder.iterdir():
            if path.name != "config.json":
                path.unlink()
    elif damage == "garbage-config":
        (folder / "config.json").write_text("{garbage")
    elif damage == "no-tokenizer":
        for path in folder.iterdir():
            if "vocab" in path.name or "token" in path.name:
                path.unlink()
    elif damage == "truncated-weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "zeroed-weights":
        weights.write_bytes(b"\x00" * weights.stat().st_size)
    else:
        raise AssertionError(damage)


DAMAGE = {
    "empty-folder": "no config.json",
    "config-only": "no model weights",
    "garbage-config": "config.json",
    "no-tokenizer": "tokenizer",
    "truncated-weights": "model.safetensors is corrupted",
    "zeroed-weights": "model.safetensors is corrupted",
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_corrupted_or_partial_model_folder(
    damage: str, tmp_path: Path, out_dir: Path, offline: dict[str, str], classifier: Path
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(classifier, folder)
    _spoil(folder, damage)
    path = write(tmp_path / "text.txt", "fine\n")
    line = fails(out_dir, sentiment_args(folder, path), UNAVAILABLE, str(folder), variables=offline)
    assert DAMAGE[damage] in line


# --- a full disk, a full or closed stdout ------------------------------------------------


def _enospc(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDisk:
    """Make the disk under ``folder`` fill up at one step of writing a file.

    ``create``: no room for a new file; ``write``: the first write fails (``os.write``
    for the ``-o`` journal of model commands, the text stream of ``eval``'s writer);
    ``write-results``: only writing results fails (not a journal); ``fsync``: the data
    cannot be made durable; ``rename``: the final rename fails.
    Files elsewhere (the test's inputs, the model) are not affected.
    """

    def __init__(self, folder: Path, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = str(folder)
        real_open, real_write, real_fsync = os.open, os.write, os.fsync
        real_replace, real_fdopen = os.replace, os.fdopen

        def inside(path: Any) -> bool:
            return os.path.abspath(os.fspath(path)).startswith(self.folder + os.sep)

        def fd_inside(fd: Any) -> bool:
            path = os.readlink(f"/proc/self/fd/{fd if isinstance(fd, int) else fd.fileno()}")
            # "write-results": only the results fail, not the journal of a model command
            return inside(path) and not (where == "write-results" and path.endswith("journal"))

        def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if where == "create" and flags & os.O_CREAT and inside(path):
                _enospc()
            return real_open(path, flags, *args, **kwargs)

        def write_(fd: int, data: Any) -> int:
            if where.startswith("write") and fd_inside(fd):
                _enospc()
            return real_write(fd, data)

        def fsync_(fd: Any) -> None:
            if where == "fsync" and fd_inside(fd):
                _enospc()
            real_fsync(fd)

        def replace_(src: Any, dst: Any, **kwargs: Any) -> None:
            if where == "rename" and inside(dst):
                _enospc()
            real_replace(src, dst, **kwargs)

        def fdopen_(fd: int, *args: Any, **kwargs: Any) -> Any:
            handle = real_fdopen(fd, *args, **kwargs)
            failing = where.startswith("write") and fd_inside(fd)
            return _FailingWrites(handle) if failing else handle

        for name, fake in [("open", open_), ("write", write_), ("fsync", fsync_),
                           ("replace", replace_), ("fdopen", fdopen_)]:  # fmt: skip
            monkeypatch.setattr(os, name, fake)


class _FailingWrites:
    """A text file on a full disk: every write fails."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def write(self, text: str) -> int:
        _enospc()
        return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FailingWrites:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    ("command", "where"),
    [
        pytest.param(command, where, id=f"{command}-{where}")
        for command in ("eval", "sentiment")
        for where in ("create", "write", "write-results", "fsync", "rename")
    ],
)
def test_full_disk_while_writing_output(
    command: str,
    where: str,
    tmp_path: Path,
    out_dir: Path,
    offline: dict[str, str],
    classifier: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    existing = out_dir / "result.txt"
    existing.write_text("the previous result\n")
    lines = write(tmp_path / "lines.txt", "good film\n" * 12)
    if command == "eval":
        args = eval_args(EN_SYS_B)
    else:
        args = sentiment_args(classifier, lines, mode="--lines")
        cli(*args, variables=offline)  # load the model before the disk fills up
    FullDisk(out_dir, where, monkeypatch)
    result = cli(*args, "-o", existing, variables=offline)
    monkeypatch.undo()
    assert existing.read_text() == "the previous result\n"  # untouched
    left = sorted(os.listdir(out_dir))
    if command == "sentiment" and where == "rename":
        # Every item was committed to the -o journal before the rename failed: both files
        # stay, and stderr says so, for --resume to finish the job once there is room.
        assert left == ["result.txt", "result.txt.llmcli-journal", "result.txt.llmcli-partial"]
        *notes, error = result.stderr.splitlines()
        assert result.code == ERROR and result.stdout == ""
        assert [n for n in notes if "--resume" in n] == notes and len(notes) == 1
        assert error.startswith(f"llmcli: error: {existing}: ") and "no space left" in error
        return
    assert_error(result, ERROR, str(existing), "no space left on device")
    assert left == ["result.txt"]  # no temporary, partial or journal file


def _llmcli(*args: Any, stdout: Any, stdin: bytes = b"", **kwargs: Any) -> Any:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "llmcli", *map(str, args)],
        input=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        timeout=300,
        **kwargs,
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", ["eval", "eval-json", "sentiment"])
def test_stdout_to_a_full_device(command: str, tmp_path: Path, classifier: Path) -> None:
    args = {
        "eval": [*eval_args(EN_SYS_A), "--segments"],
        "eval-json": [*eval_args(EN_SYS_A), "--json"],
        "sentiment": ["sentiment", "--lines", "--model", classifier, "--batch-size", "1"],
    }[command]
    with open("/dev/full", "w") as full:
        proc = _llmcli(*args, stdout=full, stdin=b"good film\nbad film\n")
    stderr = proc.stderr.decode()
    assert proc.returncode == ERROR, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert stderr.splitlines() == ["llmcli: error: cannot write to stdout: no space left on device"]


def test_closed_stdout_pipe_ends_quietly(tmp_path: Path) -> None:
    """``llmcli ... | head -1``: the reader goes away; exit 0, nothing on stderr."""
    big = write(tmp_path / "big.txt", "".join(f"line number {i} of many\n" for i in range(5000)))
    # The reader closes its end before llmcli writes a byte.
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmcli", "eval", big, "-r", big, "--segments"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == OK, stderr
    assert stderr == ""
    # And through a real shell pipeline, reading one line.
    shell = subprocess.run(
        [
            "bash",
            "-c",
            f'"{sys.executable}" -m llmcli eval "{big}" -r "{big}" --segments'
            ' | head -1; exit "${PIPESTATUS[0]}"',
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == OK, shell.stderr
    assert shell.stderr == "" and len(shell.stdout.splitlines()) == 1


def test_unknown_language_fails_before_the_builtin_model_is_prepared(
    tmp_path: Path, offline: dict[str, str]
) -> None:
    """The default translate model is the prompted Gemma: a bad --to must not prepare it."""
    home = tmp_path / "empty-home"
    variables = {**offline, "LLMCLI_HOME": str(home)}
    result = cli("translate", "--to", "xx", stdin=b"Hello.\n", variables=variables)
    assert_error(result, 2, "unsupported target language 'xx'")
    assert not (home / "models").exists()  # nothing was fetched or prepared
