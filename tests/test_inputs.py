"""The input readers (``llmcli.inputs``): lines, encodings, JSON Lines and their errors."""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

import pytest

from eval_support import make_env
from llmcli.errors import InputError, UsageError
from llmcli.inputs import (
    STDIN_NAME,
    InputMode,
    Source,
    check_encoding,
    expand_paths,
    iter_items,
    iter_json_records,
    iter_source_lines,
    parse_json_line,
    read_lines,
    read_text,
    sources_from_args,
    text_field,
)


def _read_both(tmp_path: Path, data: bytes, **kwargs: str) -> list[str]:
    """read_lines over a file and over stdin; both must agree."""
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    from_file = read_lines(Source(str(path)), make_env(), **kwargs)
    from_stdin = read_lines(Source(STDIN_NAME), make_env(data), **kwargs)
    assert from_file == from_stdin
    return from_file


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"one\ntwo\n", ["one", "two"]),
        (b"one\ntwo", ["one", "two"]),
        (b"one\r\ntwo\r\n", ["one", "two"]),
        (b"one\r\ntwo\nthree", ["one", "two", "three"]),
        (b"\xef\xbb\xbfone\ntwo\n", ["one", "two"]),
        (b"\xef\xbb\xbf\xef\xbb\xbfone\n", ["\ufeffone"]),
        (b"one\xef\xbb\xbf\n\xef\xbb\xbftwo\n", ["one\ufeff", "\ufefftwo"]),
        (b"\n\nthree\n\n", ["", "", "three", ""]),
        (b"\r\n", [""]),
        (b"a\rb\n", ["a\rb"]),
        (b"a\r\r\n", ["a\r"]),
        (b"trailing\r", ["trailing\r"]),
        ("a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\n".encode(), ["a\u2028b\u2029c\x85d\x0be\x0cf\x1cg"]),
        ("Zürich – “quoted” 中文 🙂\n".encode(), ["Zürich – “quoted” 中文 🙂"]),
        (b"  padded  \t\n", ["  padded  \t"]),
    ],
)
def test_read_lines(tmp_path: Path, data: bytes, expected: list[str]) -> None:
    assert _read_both(tmp_path, data) == expected


def test_line_numbers_and_read_text(tmp_path: Path) -> None:
    path = tmp_path / "text.txt"
    path.write_bytes(b"\xef\xbb\xbfa\r\n\r\nc")
    source = Source(str(path))
    assert list(iter_source_lines(source, make_env())) == [(1, "a"), (2, ""), (3, "c")]
    assert read_text(source, make_env()) == "a\n\nc"


def test_very_long_lines(tmp_path: Path) -> None:
    long_line = "word " * 400_000 + "end"
    data = f"short\n{long_line}\r\nlast".encode()
    assert _read_both(tmp_path, data) == ["short", long_line, "last"]


def test_empty_input_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty input"):
        _read_both(tmp_path, b"")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_lines(Source(str(tmp_path / "nope.txt")), make_env())
    with pytest.raises(InputError, match="is a directory"):
        read_lines(Source(str(tmp_path)), make_env())


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads unreadable files"
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x\n")
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        read_lines(Source(str(path)), make_env())


@pytest.mark.parametrize(
    "data",
    [
        b"ok\nbad \xff here\n",
        b"\xef\xbb\xbfok\r\nstill ok\r\n\xc3\x28\n",
        "ünïcödé\n".encode() + b"\xe2\x82\n",
        b"\x80",
    ],
)
def test_invalid_utf8_names_file_byte_and_line(tmp_path: Path, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start
    line = data[:offset].count(b"\n") + 1
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_lines(Source(str(path)), make_env())
    message = str(info.value)
    assert message.startswith(f"{path}: invalid utf-8 at byte {offset}, line {line}")
    assert "\n" not in message
    with pytest.raises(InputError, match=f"<stdin>: invalid utf-8 at byte {offset}, "):
        read_lines(Source(STDIN_NAME), make_env(data))


@pytest.mark.parametrize("errors", ["replace", "ignore"])
def test_errors_replace_and_ignore(tmp_path: Path, errors: str) -> None:
    data = b"caf\xe9 au lait\nok\n"
    expected = data.decode("utf-8", errors).split("\n")[:-1]
    assert _read_both(tmp_path, data, errors=errors) == expected


def test_nul_byte_is_binary_data(tmp_path: Path) -> None:
    data = b"text\nmore\x00binary\n"
    with pytest.raises(InputError, match=f"binary data \\(NUL byte\\) at byte {data.index(0)}"):
        _read_both(tmp_path, data)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "koi8-r", "utf-8-sig"])
def test_other_single_byte_compatible_encodings(tmp_path: Path, encoding: str) -> None:
    lines = ["première ligne", "Ça va ?"] if encoding != "koi8-r" else ["привет", "мир"]
    data = "\r\n".join(lines).encode(encoding) + b"\r\n"
    if encoding == "utf-8-sig":
        assert data.startswith(codecs.BOM_UTF8)
    assert _read_both(tmp_path, data, encoding=encoding) == lines


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32(tmp_path: Path, encoding: str) -> None:
    lines = ["first line", "zweite Zeile", "третья"]
    data = ("\n".join(lines) + "\n").encode(encoding)
    assert _read_both(tmp_path, data, encoding=encoding) == lines


def test_check_encoding() -> None:
    check_encoding("utf-8", "strict")
    check_encoding("latin-1", "replace")
    with pytest.raises(UsageError, match="unknown encoding"):
        check_encoding("no-such-codec", "strict")
    with pytest.raises(UsageError, match="--errors"):
        check_encoding("utf-8", "backslashreplace")


def test_sources_from_args() -> None:
    assert sources_from_args(None) == [Source(STDIN_NAME)]
    assert sources_from_args([]) == [Source(STDIN_NAME)]
    assert sources_from_args(["a.txt", "-"]) == [Source("a.txt"), Source(STDIN_NAME)]
    assert Source(STDIN_NAME).is_stdin and not Source("a.txt").is_stdin


def test_expand_paths_folders_and_patterns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ["b.txt", "a.txt", "sub/z.md", "sub/deeper/y.txt", ".git/HEAD", "sub/.x.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n", "utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "odd[1].txt").write_text("x\n", "utf-8")

    assert expand_paths(None) is None and expand_paths([]) == []
    # A folder: its files, then its sub-folders', each sorted; hidden names skipped.
    assert expand_paths(["."]) == [
        "./a.txt",
        "./b.txt",
        "./odd[1].txt",
        "./sub/z.md",
        "./sub/deeper/y.txt",
    ]
    assert expand_paths(["*.txt", "-", "sub/**/*.txt"]) == [
        "a.txt",
        "b.txt",
        "odd[1].txt",
        "-",
        "sub/deeper/y.txt",
    ]
    # A name that exists is taken as it is, even with pattern characters in it.
    assert expand_paths(["odd[1].txt", "missing.txt"]) == ["odd[1].txt", "missing.txt"]
    with pytest.raises(InputError, match=r"^empty: is a directory with no files in it$"):
        expand_paths(["empty"])
    with pytest.raises(InputError, match=r"^\*\.csv: no files match this pattern$"):
        expand_paths(["*.csv"])


# --- JSON Lines --------------------------------------------------------------------------


def test_json_records_skip_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\r\n   \n{"a": "\\u00e9"}')
    records = list(iter_json_records(Source(str(path)), make_env()))
    assert records == [(1, {"a": 1}), (4, {"a": "é"})]


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ('{"a": 1', r"data.jsonl:7:\d+: invalid JSON"),
        ("[1, 2]", "data.jsonl:7: expected a JSON object, got list"),
        ('"text"', "data.jsonl:7: expected a JSON object, got str"),
        ("null", "data.jsonl:7: expected a JSON object, got NoneType"),
        ("{'single': 'quotes'}", "data.jsonl:7:2: invalid JSON"),
    ],
)
def test_parse_json_line_errors(line: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_json_line(Source("data.jsonl"), 7, line)


@pytest.mark.parametrize(
    "value",
    ["[" * 100_000 + "]" * 100_000, "1" * 5_000],
    ids=["deeply-nested", "5000-digit-integer"],
)
def test_json_the_parser_rejects_is_an_input_error(value: str) -> None:
    line = '{"prediction": "a", "x": ' + value + "}"
    with pytest.raises(InputError, match=re.escape("data.jsonl:3:")):
        parse_json_line(Source("data.jsonl"), 3, line)


def test_text_field() -> None:
    source = Source("d.jsonl")
    assert text_field(source, 1, {"text": "hi"}, "text") == "hi"
    with pytest.raises(InputError, match=re.escape("d.jsonl:2: no field 'text'")):
        text_field(source, 2, {"other": "x"}, "text")
    with pytest.raises(
        InputError, match=re.escape("d.jsonl:3: field 'text' is list, not a string")
    ):
        text_field(source, 3, {"text": ["x"]}, "text")


def test_iter_items_modes(tmp_path: Path) -> None:
    first = tmp_path / "first.txt"
    first.write_bytes(b"alpha\n\n  \nbeta\r\n")
    second = tmp_path / "second.jsonl"
    second.write_bytes(b'{"text": "one", "id": 1}\n\n{"text": "two", "id": 2}\n')
    env = make_env(b"from stdin\n")

    lines = list(iter_items([Source(str(first)), Source(STDIN_NAME)], InputMode.LINES, env))
    assert [i.text for i in lines] == ["alpha", "", "  ", "beta", "from stdin"]
    assert [i.blank for i in lines] == [False, True, True, False, False]
    assert [i.index for i in lines] == [0, 1, 2, 3, 4]
    assert lines[3].location == f"{first}:4"
    assert lines[4].location == "<stdin>:1"

    whole = list(iter_items([Source(str(first))], InputMode.WHOLE, make_env()))
    assert [(i.text, i.line, i.location) for i in whole] == [
        ("alpha\n\n  \nbeta", None, str(first))
    ]

    records = list(iter_items([Source(str(second))], InputMode.JSONL, make_env()))
    assert [(i.text, i.line, i.record["id"]) for i in records] == [("one", 1, 1), ("two", 3, 2)]
    with pytest.raises(InputError, match="no field 'body'"):
        list(iter_items([Source(str(second))], InputMode.JSONL, make_env(), field_name="body"))
