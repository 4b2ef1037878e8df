"""Property tests: the input readers on arbitrary text and bytes, and eval invariants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from eval_support import EN_REF, EN_SYS_B, cli, make_env, read_lines, scores, write_lines
from llmcli.errors import InputError
from llmcli.inputs import STDIN_NAME, Source, iter_json_records, iter_source_lines
from llmcli.inputs import read_lines as llm_read_lines

SETTINGS = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EVAL_SETTINGS = settings(SETTINGS, max_examples=30)

# Anything but surrogates (not encodable), NUL (binary data) and LF (ends a line); lone CR,
# the Unicode line and paragraph separators, NEL, VT, FF and BOMs stay inside a line.
INLINE = st.characters(exclude_categories=("Cs",), exclude_characters="\n\x00")
TRICKY = st.sampled_from(
    ["\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\ufeff", "\t", " "]
)
LINE = st.text(alphabet=st.one_of(INLINE, TRICKY), max_size=30)
LONG_LINE = st.builds(
    lambda unit, times: unit * times,
    st.text(alphabet=st.one_of(INLINE, TRICKY), min_size=1, max_size=6),
    st.integers(min_value=5_000, max_value=40_000),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def _expected_lines(lines: list[str], bom: bool, crlf: bool, final_newline: bool) -> list[str]:
    """What a reader must return: only LF or CRLF end a line; one leading BOM goes."""
    expected = []
    for i, line in enumerate(lines):
        terminated = i < len(lines) - 1 or final_newline
        if terminated and not crlf and line.endswith("\r"):
            line = line[:-1]  # "x\r" + "\n" is a CRLF line end
        expected.append(line)
    if not bom and expected[0].startswith("\ufeff"):
        expected[0] = expected[0][1:]
    return expected


@SETTINGS
@given(
    lines=st.lists(st.one_of(LINE, LINE, LINE, LONG_LINE, st.just("")), min_size=1, max_size=12),
    bom=st.booleans(),
    crlf=st.booleans(),
    final_newline=st.booleans(),
)
def test_lines_read_back_as_written(
    scratch: Path, lines: list[str], bom: bool, crlf: bool, final_newline: bool
) -> None:
    assume(final_newline or lines[-1] != "")  # "a\n" + "" cannot say there is a last line
    end = "\r\n" if crlf else "\n"
    data = ("\ufeff" if bom else "") + end.join(lines) + (end if final_newline else "")
    raw = data.encode("utf-8")
    expected = _expected_lines(lines, bom, crlf, final_newline)
    path = scratch / "lines.txt"
    path.write_bytes(raw)
    assert llm_read_lines(Source(str(path)), make_env()) == expected
    assert llm_read_lines(Source(STDIN_NAME), make_env(raw)) == expected
    numbered = list(iter_source_lines(Source(STDIN_NAME), make_env(raw)))
    assert [n for n, _ in numbered] == list(range(1, len(expected) + 1))


def _decode_model(raw: bytes, encoding: str, errors: str) -> list[str]:
    """Lines of ``raw`` by the documented rules, decoding each LF-terminated chunk."""
    chunks = raw.split(b"\n")
    pieces = [c + b"\n" for c in chunks[:-1]] + ([chunks[-1]] if chunks[-1] else [])
    out = []
    for i, piece in enumerate(pieces):
        if i == 0 and encoding == "utf-8" and piece.startswith(b"\xef\xbb\xbf"):
            piece = piece[3:]
        text = piece.decode(encoding, errors)
        if text.endswith("\n"):
            text = text[:-1].removesuffix("\r")
        out.append(text)
    return out


BYTES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xa9",
                              b"\x00", b"a", b"\xe2\x80\xa8", b" "]), max_size=40).map(b"".join),
    st.text(alphabet=st.one_of(INLINE, TRICKY, st.just("\n"))).map(lambda t: t.encode("utf-8")),
    st.builds(lambda unit, times: unit * times, st.binary(min_size=1, max_size=4),
              st.integers(min_value=10_000, max_value=70_000)),
)  # fmt: skip


@SETTINGS
@given(
    raw=BYTES,
    encoding=st.sampled_from(["utf-8", "latin-1", "cp1252", "ascii", "utf-8-sig"]),
    errors=st.sampled_from(["strict", "replace", "ignore"]),
)
def test_arbitrary_bytes_read_or_raise_input_error(raw: bytes, encoding: str, errors: str) -> None:
    try:
        lines = llm_read_lines(Source(STDIN_NAME), make_env(raw), encoding=encoding, errors=errors)
    except InputError as exc:
        message = str(exc)
        assert message.startswith("<stdin>: ") and "\n" not in message
        if raw and b"\x00" not in raw and errors != "strict":
            raise AssertionError(f"{errors!r} must not fail on {raw!r}: {message}") from None
        return
    assert raw  # an empty source is an error
    assert all(isinstance(line, str) and "\n" not in line for line in lines)
    if encoding in {"utf-8", "latin-1"}:
        assert lines == _decode_model(raw, encoding, errors)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)  # fmt: skip


@SETTINGS
@given(
    values=st.lists(JSON_VALUES, min_size=1, max_size=6),
    cut=st.integers(min_value=0, max_value=400),
    noise=st.binary(max_size=5),
)
def test_arbitrary_json_lines_parse_or_raise_input_error(
    values: list[Any], cut: int, noise: bytes
) -> None:
    text = "\n".join(json.dumps(v, ensure_ascii=False) for v in values).encode("utf-8")
    try:
        records = list(iter_json_records(Source(STDIN_NAME), make_env(text)))
    except InputError as exc:
        # exactly the first line that holds no object
        first = next(i for i, v in enumerate(values, 1) if not isinstance(v, dict))
        assert str(exc).startswith(f"<stdin>:{first}: expected a JSON object")
    else:
        assert records == list(enumerate(values, 1))
    corrupted = text[:cut] + noise + text[cut:]
    try:
        records = list(iter_json_records(Source(STDIN_NAME), make_env(corrupted)))
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("<stdin>")
    else:
        assert all(isinstance(r, dict) and isinstance(n, int) for n, r in records)


# --- eval invariants ---------------------------------------------------------------------

WORD = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc", "Z")), min_size=1, max_size=8
).filter(lambda w: not any(c.isspace() for c in w))
ASCII_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
SEGMENT = st.lists(WORD, min_size=4, max_size=10).map(" ".join)


def _has_4_tokens(segment: str) -> bool:
    return len(Tokenizer13a()(segment).split()) >= 4


def _eval_same(scratch: Path, segments: list[str], metrics: str) -> dict[str, Any]:
    path = write_lines(scratch / "same.txt", segments)
    data = path.read_bytes()
    result = cli("eval", "-r", path, "-m", metrics, "--segments", "--json", stdin=data)
    return result.json()


@EVAL_SETTINGS
@given(segments=st.lists(SEGMENT, min_size=1, max_size=6))
def test_identical_text_scores_perfect_sacrebleu(scratch: Path, segments: list[str]) -> None:
    assume(all(_has_4_tokens(s) for s in segments))
    doc = _eval_same(scratch, segments, "bleu,chrf,chrf++,ter")
    got = {name: entry["score"] for name, entry in scores(doc).items()}
    # sacrebleu's own arithmetic gives 100 +- a few ulps (exp of a sum of logs)
    assert got == pytest.approx(
        {"BLEU": 100.0, "chrF2": 100.0, "chrF2++": 100.0, "TER": 0.0}, abs=1e-9
    )
    segment_scores = doc["systems"][0]["segment_scores"]
    for name, perfect in (("BLEU", 100.0), ("chrF2", 100.0), ("chrF2++", 100.0), ("TER", 0.0)):
        assert segment_scores[name] == pytest.approx([perfect] * len(segments), abs=1e-9)


@EVAL_SETTINGS
@given(
    segments=st.lists(
        st.tuples(st.lists(WORD, max_size=5), st.lists(ASCII_WORD, min_size=2, max_size=4)).map(
            lambda words: " ".join(words[0] + words[1])
        ),
        min_size=1,
        max_size=6,
    )
)
def test_identical_text_scores_perfect_rouge(scratch: Path, segments: list[str]) -> None:
    doc = _eval_same(scratch, segments, "rouge")
    for rouge_type in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        entry = scores(doc)[rouge_type]
        assert (entry["precision"], entry["recall"], entry["fmeasure"]) == (1.0, 1.0, 1.0)
        assert set(doc["systems"][0]["segment_scores"][rouge_type]) == {1.0}


SHUFFLE_SEGMENTS = 24
SHUFFLE_METRICS = ("-m", "bleu,chrf++,ter,rouge")


def _corpus_scores(ref_path: Path, hyps: list[str]) -> dict[str, float]:
    stdin = "".join(f"{h}\n" for h in hyps).encode("utf-8")
    doc = cli("eval", "-r", ref_path, *SHUFFLE_METRICS, "--json", stdin=stdin).json()
    return {name: entry["score"] for name, entry in scores(doc).items()}


@pytest.fixture(scope="module")
def unshuffled(scratch: Path) -> tuple[list[str], list[str], dict[str, float]]:
    hyps = read_lines(EN_SYS_B)[:SHUFFLE_SEGMENTS]
    refs = read_lines(EN_REF)[:SHUFFLE_SEGMENTS]
    return hyps, refs, _corpus_scores(write_lines(scratch / "ref.txt", refs), hyps)


@EVAL_SETTINGS
@given(order=st.permutations(range(SHUFFLE_SEGMENTS)))
def test_shuffling_segments_keeps_corpus_scores(
    scratch: Path, unshuffled: tuple[list[str], list[str], dict[str, float]], order: list[int]
) -> None:
    hyps, refs, expected = unshuffled
    ref_path = write_lines(scratch / "shuffled_ref.txt", [refs[i] for i in order])
    got = _corpus_scores(ref_path, [hyps[i] for i in order])
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert abs(got[name] - value) <= 1e-9, name
