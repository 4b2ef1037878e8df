"""Fuzzing: every input reader and ``llmcli eval`` on arbitrary bytes and Unicode.

The only documented outcomes are a result, or an :class:`~llmcli.errors.InputError`
(``UsageError`` for option problems) whose message is one line naming the source; end
to end, exit 0, or exit 2 with one ``llmcli: error:`` line on stderr. Anything else (a
traceback, exit 1 "unexpected ...", a message spanning lines) is a bug.

Runs are reproducible: every test is derandomized (a fixed seed) and uses no example
database. The Hypothesis profile ``llmcli-fuzz-NAME`` is chosen with
``LLMCLI_FUZZ_PROFILE=NAME``:

* ``ci`` (default): 400 examples per test, about 40 s for the module on two cores;
* ``quick``: a smoke run while editing;
* ``thorough``: thousands of examples, for a nightly job or before a release.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from eval_support import cli, make_env
from llmcli.errors import InputError, LlmcliError
from llmcli.evaluation.data import EvalData, load_jsonl, load_parallel
from llmcli.inputs import (
    STDIN_NAME,
    InputMode,
    Item,
    Source,
    iter_items,
    iter_json_records,
    read_lines,
)

_BASE = settings(
    derandomize=True,  # a fixed seed: CI runs the same examples every time
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
settings.register_profile("llmcli-fuzz-ci", _BASE, max_examples=400)
settings.register_profile("llmcli-fuzz-quick", _BASE, max_examples=25)
settings.register_profile("llmcli-fuzz-thorough", _BASE, max_examples=5_000)
FUZZ = settings.get_profile(f"llmcli-fuzz-{os.environ.get('LLMCLI_FUZZ_PROFILE', 'ci')}")

ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "ascii"])
ERRORS = st.sampled_from(["strict", "strict", "replace", "ignore"])

# Bytes that hit every branch of the line splitter and decoder: line ends, BOMs, NULs,
# truncated and overlong UTF-8 sequences, surrogates encoded as UTF-8, separators.
_PIECES = [
    b"\n", b"\r", b"\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xc3", b"\xa9", b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80", b"\xe2\x80\xa8", b"\x85", b"\x0b", b" ", b"\t", b"a", b"word ", b"{",
    b"}", b'"', b":", b"[", b"\\u", b"\\ud800", b"text", b"prediction", b"reference", b"null",
]  # fmt: skip
RAW = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(_PIECES), max_size=60).map(b"".join),
    st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
# Text as users write it: any code point but surrogates, lines of it.
UNICODE = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80)
LINES = st.lists(UNICODE, min_size=1, max_size=8)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _check_error(exc: LlmcliError, *names: str) -> None:
    """A documented error: one line, naming one of the sources when it is an input error."""
    message = str(exc)
    assert len(message.splitlines()) == 1, repr(message)  # no \n, \r, \u2028, \x85...
    assert exc.exit_status == 2
    if isinstance(exc, InputError) and names:
        assert message.startswith(names) or " has " in message, message


def _sources(scratch: Path, raw: bytes, via_stdin: bool) -> tuple[Source, Any]:
    if via_stdin:
        return Source(STDIN_NAME), make_env(raw)
    path = scratch / "input.bin"
    path.write_bytes(raw)
    return Source(str(path)), make_env()


def _items(
    source: Source, env: Any, mode: InputMode, encoding: str, errors: str, field: str = "text"
) -> Iterator[Item]:
    return iter_items([source], mode, env, field_name=field, encoding=encoding, errors=errors)


# --- the readers -------------------------------------------------------------------------


@FUZZ
@given(raw=RAW, encoding=ENCODINGS, errors=ERRORS, via_stdin=st.booleans())
def test_fuzz_iter_items_whole(
    scratch: Path, raw: bytes, encoding: str, errors: str, via_stdin: bool
) -> None:
    source, env = _sources(scratch, raw, via_stdin)
    try:
        items = list(_items(source, env, InputMode.WHOLE, encoding, errors))
    except InputError as exc:
        _check_error(exc, source.name)
        if errors != "strict" and "empty input" not in str(exc):
            # Only a NUL byte stops a lenient read (UTF-16 has NULs in every ASCII letter).
            assert b"\x00" in raw and encoding != "utf-16", str(exc)
        return
    (item,) = items
    assert item.text.strip()  # a document of only whitespace is an error
    assert (item.source, item.index, item.line) == (source.name, 0, None)
    # The whole document is its lines joined by LF (CRLF and a leading BOM gone).
    lines = _items(Source(STDIN_NAME), make_env(raw), InputMode.LINES, encoding, errors)
    assert item.text == "\n".join(line.text for line in lines)


@FUZZ
@given(raw=RAW, encoding=ENCODINGS, errors=ERRORS, via_stdin=st.booleans())
def test_fuzz_iter_items_lines(
    scratch: Path, raw: bytes, encoding: str, errors: str, via_stdin: bool
) -> None:
    source, env = _sources(scratch, raw, via_stdin)
    try:
        items = list(_items(source, env, InputMode.LINES, encoding, errors))
    except InputError as exc:
        _check_error(exc, source.name)
        return
    assert [item.index for item in items] == list(range(len(items)))
    assert [item.line for item in items] == list(range(1, len(items) + 1))
    for item in items:
        assert "\n" not in item.text and not item.text.endswith("\r\n")
        assert item.blank == (not item.text.strip())
    if encoding in {"utf-8", "latin-1", "cp1252", "ascii"}:
        # Only LF (with an optional CR before it) ends a line: as many as ``wc -l`` sees,
        # plus an unterminated last line; a UTF-8 BOM alone is no line.
        body = raw[3:] if encoding == "utf-8" and raw.startswith(b"\xef\xbb\xbf") else raw
        expected = body.count(b"\n") + (0 if not body or body.endswith(b"\n") else 1)
        assert len(items) == expected


@FUZZ
@given(raw=RAW, errors=ERRORS, via_stdin=st.booleans(), field=st.sampled_from(["text", "t", ""]))
def test_fuzz_iter_items_jsonl_bytes(
    scratch: Path, raw: bytes, errors: str, via_stdin: bool, field: str
) -> None:
    source, env = _sources(scratch, raw, via_stdin)
    try:
        items = list(_items(source, env, InputMode.JSONL, "utf-8", errors, field))
    except InputError as exc:
        _check_error(exc, source.name)
        return
    for item in items:
        assert isinstance(item.text, str) and item.record[field] == item.text
        assert item.line is not None and item.line >= 1


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | UNICODE
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(UNICODE, inner, max_size=3),
    max_leaves=8,
)
RECORD = st.dictionaries(
    st.sampled_from(["text", "prediction", "reference", "id", "Text", "", "a\nb", "\r", "\u2028"]),
    JSON_VALUES | st.lists(UNICODE, max_size=3),
    max_size=4,
)
ANY_LINE = st.one_of(RECORD, RECORD, RECORD, JSON_VALUES)


def _jsonl(values: list[Any], ascii_only: bool, crlf: bool, blank_every: int) -> bytes:
    lines = [json.dumps(v, ensure_ascii=ascii_only) for v in values]
    if blank_every:
        lines = [
            x for i, line in enumerate(lines) for x in ([line, "  "] if i % blank_every else [line])
        ]
    end = "\r\n" if crlf else "\n"
    return (end.join(lines) + end).encode("utf-8", "surrogatepass")


@FUZZ
@given(
    values=st.lists(ANY_LINE, max_size=6),
    ascii_only=st.booleans(),
    crlf=st.booleans(),
    blank_every=st.integers(0, 3),
    cut=st.integers(0, 200),
    noise=st.binary(max_size=4),
)
def test_fuzz_iter_items_jsonl_records(
    values: list[Any], ascii_only: bool, crlf: bool, blank_every: int, cut: int, noise: bytes
) -> None:
    raw = _jsonl(values, ascii_only, crlf, blank_every)
    try:
        items = list(_items(Source(STDIN_NAME), make_env(raw), InputMode.JSONL, "utf-8", "strict"))
    except InputError as exc:
        _check_error(exc, STDIN_NAME)
        message = str(exc)
        # The first record that is not an object with a string "text" is the one named
        # (floats: JSON has no NaN/Infinity, but json.dumps writes them and json reads them).
        first = next(
            i
            for i, v in enumerate(values)
            if not (isinstance(v, dict) and isinstance(v.get("text"), str))
        )
        assert message.startswith(f"{STDIN_NAME}:"), message
        line = int(message.split(":")[1])
        assert line == 1 + first + (first // blank_every if blank_every else 0) or (
            "surrogate" in message or "invalid utf-8" in message
        ), message
    else:
        assert [item.text for item in items] == [v["text"] for v in values]
    corrupted = raw[:cut] + noise + raw[cut:]
    try:
        list(_items(Source(STDIN_NAME), make_env(corrupted), InputMode.JSONL, "utf-8", "strict"))
    except InputError as exc:
        _check_error(exc, STDIN_NAME)


@FUZZ
@given(raw=RAW, encoding=ENCODINGS, errors=ERRORS)
def test_fuzz_read_lines_and_json_records(raw: bytes, encoding: str, errors: str) -> None:
    try:
        lines = read_lines(Source(STDIN_NAME), make_env(raw), encoding, errors)
    except InputError as exc:
        _check_error(exc, STDIN_NAME)
    else:
        assert lines and all("\n" not in line for line in lines)
    try:
        records = list(iter_json_records(Source(STDIN_NAME), make_env(raw), encoding, errors))
    except InputError as exc:
        _check_error(exc, STDIN_NAME)
    else:
        assert all(isinstance(record, dict) for _, record in records)


# --- the eval loaders --------------------------------------------------------------------


def _check_eval_data(data: EvalData) -> None:
    count = len(data.references)
    assert count > 0
    assert all(len(system.hypotheses) == count for system in data.systems)
    assert all(refs and all(isinstance(r, str) for r in refs) for refs in data.references)


@FUZZ
@given(
    hyps=st.lists(RAW, min_size=1, max_size=2),
    refs=st.lists(RAW, min_size=1, max_size=2),
    stdin_first=st.booleans(),
    errors=ERRORS,
)
def test_fuzz_load_parallel(
    scratch: Path, hyps: list[bytes], refs: list[bytes], stdin_first: bool, errors: str
) -> None:
    hyp_paths = []
    for i, raw in enumerate(hyps):
        if i == 0 and stdin_first:
            hyp_paths.append("-")
        else:
            (scratch / f"hyp{i}.txt").write_bytes(raw)
            hyp_paths.append(str(scratch / f"hyp{i}.txt"))
    ref_paths = []
    for i, raw in enumerate(refs):
        (scratch / f"ref{i}.txt").write_bytes(raw)
        ref_paths.append(str(scratch / f"ref{i}.txt"))
    env = make_env(hyps[0] if stdin_first else b"")
    try:
        data = load_parallel(hyp_paths, ref_paths, env, errors=errors)
    except InputError as exc:
        _check_error(exc, STDIN_NAME, *hyp_paths, *ref_paths)
        return
    _check_eval_data(data)
    assert len(data.systems) == len(hyps)


@FUZZ
@given(
    systems=st.lists(
        st.one_of(
            st.lists(RECORD, max_size=4).map(lambda v: _jsonl(v, False, False, 0)),
            RAW,
        ),
        min_size=1,
        max_size=2,
    ),
    pred_field=st.sampled_from(["prediction", "text"]),
    ref_field=st.sampled_from(["reference", "id"]),
)
def test_fuzz_load_jsonl(
    scratch: Path, systems: list[bytes], pred_field: str, ref_field: str
) -> None:
    paths = []
    for i, raw in enumerate(systems):
        (scratch / f"sys{i}.jsonl").write_bytes(raw)
        paths.append(str(scratch / f"sys{i}.jsonl"))
    try:
        data = load_jsonl(paths, pred_field, ref_field, make_env())
    except InputError as exc:
        _check_error(exc, *paths)
        return
    _check_eval_data(data)


# --- eval end to end ---------------------------------------------------------------------

METRICS = st.sampled_from(["bleu,chrf,ter", "chrf++,bleu", "rouge", "bleu,rougeL"])
EXTRA = st.sampled_from(
    [
        [],
        ["--json"],
        ["--segments"],
        ["--worst", "2"],
        ["--tokenize", "char"],
        ["--lowercase"],
        ["--confidence", "--bootstrap-samples", "20", "--json"],
    ]
)


def _check_exit(result: Any) -> None:
    """Exit 0 with a result, or exit 2 with one error line: nothing else."""
    assert result.code in (0, 2), (result.code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.code == 0:
        assert result.stdout.endswith("\n")
        assert all(line.startswith("llmcli: warning: ") for line in result.stderr.splitlines())
    else:
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("llmcli: error: "), result.stderr


# Segments of arbitrary bytes, mostly line-aligned so that scoring runs (a stray LF or
# a bad byte in one of them is the error path).
SEGMENT_BYTES = st.one_of(
    st.binary(max_size=40),
    st.lists(st.sampled_from(_PIECES), max_size=12).map(b"".join),
    UNICODE.map(lambda t: t.encode("utf-8")),
)


@FUZZ
@given(
    segments=st.lists(st.tuples(SEGMENT_BYTES, SEGMENT_BYTES), min_size=1, max_size=5),
    via_stdin=st.booleans(),
    metrics=METRICS,
    extra=EXTRA,
    errors=ERRORS,
)
def test_fuzz_eval_bytes(
    scratch: Path,
    segments: list[tuple[bytes, bytes]],
    via_stdin: bool,
    metrics: str,
    extra: list[str],
    errors: str,
) -> None:
    hyp = b"".join(h + b"\n" for h, _ in segments)
    ref_path = scratch / "e2e.ref"
    ref_path.write_bytes(b"".join(r + b"\n" for _, r in segments))
    hyp_args: list[str | Path] = []
    if not via_stdin:
        hyp_path = scratch / "e2e.hyp"
        hyp_path.write_bytes(hyp)
        hyp_args = [hyp_path]
    result = cli(
        "eval", *hyp_args, "-r", ref_path, "-m", metrics, "--errors", errors, *extra,
        stdin=hyp if via_stdin else b"",
    )  # fmt: skip
    event(f"exit {result.code}")
    _check_exit(result)


@FUZZ
@given(pairs=st.lists(st.tuples(UNICODE, UNICODE), min_size=1, max_size=6), metrics=METRICS)
def test_fuzz_eval_unicode_lines(scratch: Path, pairs: list[tuple[str, str]], metrics: str) -> None:
    """Line-aligned text of any code points: LF inside a segment shifts the lines (exit 2)."""
    hyp = "".join(f"{h}\n" for h, _ in pairs).encode("utf-8")
    ref_path = scratch / "uni.ref"
    ref_path.write_bytes("".join(f"{r}\n" for _, r in pairs).encode("utf-8"))
    result = cli("eval", "-r", ref_path, "-m", metrics, "--json", stdin=hyp)
    event(f"exit {result.code}")
    _check_exit(result)
    if not any("\n" in h + r or "\x00" in h + r for h, r in pairs):
        assert result.code == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["systems"][0]["scores"]


_VALID_RECORD = st.fixed_dictionaries(
    {"prediction": UNICODE, "reference": UNICODE | st.lists(UNICODE, min_size=1, max_size=3)},
    optional={"id": JSON_SCALARS},
)
EVAL_RECORD = st.one_of(_VALID_RECORD, _VALID_RECORD, _VALID_RECORD, RECORD)


@FUZZ
@given(
    records=st.lists(EVAL_RECORD, max_size=5),
    second=st.sampled_from(["none", "same-references", "other", "bytes"]),
    other=st.lists(EVAL_RECORD, max_size=5),
    raw=RAW,
    metrics=METRICS,
)
def test_fuzz_eval_jsonl(
    scratch: Path,
    records: list[dict[str, Any]],
    second: str,
    other: list[dict[str, Any]],
    raw: bytes,
    metrics: str,
) -> None:
    first = scratch / "a.jsonl"
    first.write_bytes(_jsonl(records, False, False, 0))
    args: list[str | Path] = [first]
    if second != "none":
        if second == "same-references":
            other = [{**r, "prediction": str(r.get("prediction"))[::-1]} for r in records]
        path = scratch / "b.jsonl"
        path.write_bytes(raw if second == "bytes" else _jsonl(other, True, True, 1))
        args.append(path)
    result = cli("eval", "--jsonl", *args, "-m", metrics)
    event(f"exit {result.code}")
    _check_exit(result)
