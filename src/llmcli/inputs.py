"""Reading inputs: files or stdin, as whole documents, lines or JSON Lines.

Every reader works on bytes and decodes itself, so an error can name the file, the
line and the byte offset. A UTF-8 byte-order mark is dropped, CRLF and LF both end a
line, and nothing else (no ``\\x0b``, ``\\u2028``...) does: line-aligned output must
line up with what ``wc -l`` and ``paste`` see.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, Any

from llmcli.environment import Environment
from llmcli.errors import Failure, InputError, UsageError

STDIN_NAME = "<stdin>"


class InputMode(str, Enum):
    """How a source is cut into items."""

    WHOLE = "whole"
    LINES = "lines"
    JSONL = "jsonl"


@dataclass(frozen=True)
class Source:
    """A named input: a file path, or stdin for ``-``."""

    name: str

    @property
    def is_stdin(self) -> bool:
        return self.name == STDIN_NAME


@dataclass
class Item:
    """One unit of work, with where it came from and what rides along with it."""

    text: str
    source: str
    index: int
    line: int | None = None
    record: dict[str, Any] = field(default_factory=dict)
    blank: bool = False  # a blank line in --lines mode: no work, but keeps output aligned
    failure: Failure | None = None  # --keep-going: unreadable; no work, an error record

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


def require_input(paths: Sequence[str] | None, env: Environment, what: str) -> None:
    """Refuse to wait silently on a terminal when no file was given."""
    if not paths and env.stdin_isatty:
        raise UsageError(f"no {what} given", hint="pass a file, or pipe text into stdin")


def sources_from_args(paths: Sequence[str] | None) -> list[Source]:
    """No paths, or ``-``, means stdin."""
    if not paths:
        return [Source(STDIN_NAME)]
    return [Source(STDIN_NAME if p == "-" else p) for p in paths]


_GLOB_CHARS = frozenset("*?[")


def expand_paths(paths: Sequence[str] | None) -> list[str] | None:
    """Directories become the files under them, and glob patterns their matches.

    A directory yields every file below it, recursively, in sorted order, skipping
    hidden names (``.git``, llmcli's own ``.llmcli-partial`` files). A pattern with
    ``*``, ``?`` or ``[`` that is not itself an existing path is expanded like the shell
    does (``**`` crosses directories), sorted; quoting one keeps a huge file list off
    the command line. Anything else, ``-`` included, is kept as given.
    """
    if not paths:
        return None if paths is None else []
    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = _files_under(path)
            if not found:
                raise InputError(f"{path}: is a directory with no files in it")
            out.extend(found)
        elif _GLOB_CHARS.intersection(path) and not os.path.lexists(path):
            import glob

            matches = sorted(m for m in glob.glob(path, recursive=True) if os.path.isfile(m))
            if not matches:
                raise InputError(f"{path}: no files match this pattern")
            out.extend(matches)
        else:
            out.append(path)
    return out


def _files_under(folder: str) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
    return found


def check_encoding(encoding: str, errors: str) -> None:
    """Fail early, as a usage error, on an unknown codec or error handler."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}") from None
    if errors not in {"strict", "replace", "ignore"}:
        raise UsageError(f"--errors must be strict, replace or ignore, not {errors!r}")


def _open_binary(source: Source, env: Environment) -> IO[bytes]:
    if source.is_stdin:
        return env.stdin
    path = source.name
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory", hint="pass the files inside it")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def check_sources(sources: Iterable[Source], env: Environment) -> None:
    """Fail now if a named file cannot be opened (missing, a directory, unreadable).

    Call it before anything slow, such as loading a model, so a typo costs no wait.
    """
    for source in sources:
        if not source.is_stdin:
            _open_binary(source, env).close()


class _LineDecoder:
    """Decodes one source line by line, keeping the byte offset for error messages."""

    def __init__(self, source: Source, encoding: str, errors: str) -> None:
        self.source = source
        self.encoding = encoding
        self.errors = errors
        self.offset = 0
        self.lineno = 0

    def decode(self, raw: bytes) -> str | None:
        """One line's text without its line end; ``None`` for a file holding only a BOM."""
        start = self.offset
        self.offset += len(raw)
        self.lineno += 1
        if self.lineno == 1 and raw.startswith(codecs.BOM_UTF8) and self._is_utf8():
            raw = raw[len(codecs.BOM_UTF8) :]
            start += len(codecs.BOM_UTF8)
            if not raw:
                return None
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise InputError(
                f"{self.source.name}: binary data (NUL byte) at byte {start + nul}, "
                f"line {self.lineno}",
                hint="llmcli reads text files only",
            )
        try:
            text = raw.decode(self.encoding, self.errors)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self.source.name}: invalid {self.encoding} at byte {start + exc.start}, "
                f"line {self.lineno}",
                hint="pass --encoding if the file is in another encoding, "
                "or --errors replace to read it anyway",
            ) from None
        if text.endswith("\n"):
            text = text[:-1]
            if text.endswith("\r"):
                text = text[:-1]
        return text

    def _is_utf8(self) -> bool:
        return codecs.lookup(self.encoding).name in {"utf-8", "utf-8-sig"}


def _ascii_compatible(encoding: str) -> bool:
    """Whether lines can be split on raw ``\n`` bytes (not so for UTF-16/32)."""
    if codecs.lookup(encoding).name == "utf-8-sig":
        return True  # the BOM is handled line by line
    return "\n".encode(encoding) == b"\n" and "A".encode(encoding) == b"A"


def _decode_whole(source: Source, data: bytes, encoding: str, errors: str) -> list[str]:
    # Multi-byte encodings: decode everything first, then split (the offset is still exact).
    try:
        text = data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source.name}: invalid {encoding} at byte {exc.start}",
            hint="check --encoding, or pass --errors replace to read it anyway",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def iter_source_lines(
    source: Source, env: Environment, encoding: str = "utf-8", errors: str = "strict"
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every line, blank ones included, streaming."""
    decoder = _LineDecoder(source, encoding, errors)
    handle = _open_binary(source, env)
    try:
        if not _ascii_compatible(encoding):
            lines = _decode_whole(source, handle.read(), encoding, errors)
            yield from enumerate(lines, start=1)
            return
        for raw in handle:
            text = decoder.decode(raw)
            if text is not None:
                yield decoder.lineno, text
    except OSError as exc:
        raise InputError(f"{source.name}: read failed: {exc.strerror or exc}") from None
    finally:
        if not source.is_stdin:
            handle.close()


def read_text(
    source: Source, env: Environment, encoding: str = "utf-8", errors: str = "strict"
) -> str:
    """The whole source as one string (line ends normalised to ``\\n``)."""
    lines = [text for _, text in iter_source_lines(source, env, encoding, errors)]
    return "\n".join(lines)


def read_lines(
    source: Source, env: Environment, encoding: str = "utf-8", errors: str = "strict"
) -> list[str]:
    """All lines of a source, blank ones included; an empty source is an error."""
    lines = [text for _, text in iter_source_lines(source, env, encoding, errors)]
    if not lines:
        raise InputError(f"{source.name}: empty input", hint="expected one segment per line")
    return lines


def parse_json_line(source: Source, lineno: int, text: str) -> dict[str, Any]:
    """One JSON object, or an error naming the file, line and column."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source.name}:{lineno}:{exc.colno}: invalid JSON: {exc.msg}",
            hint="--jsonl expects one JSON object per line",
        ) from None
    except (RecursionError, ValueError) as exc:
        # Pathological but syntactically valid-looking input: nesting too deep for the
        # parser, or an integer longer than Python converts.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(f"{source.name}:{lineno}: unreadable JSON: {reason}") from None
    if not isinstance(value, dict):
        raise InputError(
            f"{source.name}:{lineno}: expected a JSON object, got {type(value).__name__}"
        )
    return value


def iter_json_records(
    source: Source, env: Environment, encoding: str = "utf-8", errors: str = "strict"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` for each non-blank line of a JSON Lines source."""
    for lineno, text in iter_source_lines(source, env, encoding, errors):
        if text.strip():
            yield lineno, parse_json_line(source, lineno, text)


def field_names(record: dict[str, Any]) -> str:
    """The record's field names for a message: sorted, on one line whatever they hold."""
    names = [name if name.isprintable() else repr(name) for name in sorted(record)]
    return ", ".join(names) or "none"


def text_field(
    source: Source, lineno: int, record: dict[str, Any], name: str, option: str = "--field"
) -> str:
    """The string in ``record[name]``, or an error naming where it is missing."""
    if name not in record:
        raise InputError(
            f"{source.name}:{lineno}: no field {name!r}",
            hint=f"fields here: {field_names(record)}; choose one with {option}",
        )
    value = record[name]
    if not isinstance(value, str):
        raise InputError(
            f"{source.name}:{lineno}: field {name!r} is {type(value).__name__}, not a string"
        )
    return value


@dataclass(frozen=True)
class ReadOptions:
    """How sources are cut into items: the reading options every model command shares."""

    mode: InputMode
    field_name: str = "text"
    encoding: str = "utf-8"
    errors: str = "strict"
    keep_going: bool = False

    def items(self, sources: Iterable[Source], env: Environment) -> Iterator[Item]:
        """:func:`iter_items` with these options."""
        return iter_items(
            sources,
            self.mode,
            env,
            field_name=self.field_name,
            encoding=self.encoding,
            errors=self.errors,
            keep_going=self.keep_going,
        )


def iter_items(
    sources: Iterable[Source],
    mode: InputMode,
    env: Environment,
    *,
    field_name: str = "text",
    encoding: str = "utf-8",
    errors: str = "strict",
    keep_going: bool = False,
) -> Iterator[Item]:
    """Cut every source into items, lazily, in order.

    With ``keep_going``, input errors become items carrying a :class:`Failure` instead of
    ending the stream: a JSON Lines line that is not an object or lacks the field is one
    failed item; a file that cannot be opened, read or decoded is one failed item, and
    the rest of that file is skipped (lines read before the error stay).
    """
    index = 0
    for source in sources:
        try:
            for line, text, record, failure in _source_items(
                source, mode, env, field_name, encoding, errors, keep_going
            ):
                blank = mode is InputMode.LINES and failure is None and not text.strip()
                yield Item(text, source.name, index, line, record, blank, failure)
                index += 1
        except InputError as exc:
            if not keep_going:
                raise
            yield Item("", source.name, index, failure=Failure.of(exc, source.name))
            index += 1


_Cut = tuple[int | None, str, dict[str, Any], Failure | None]


def _source_items(
    source: Source,
    mode: InputMode,
    env: Environment,
    field_name: str,
    encoding: str,
    errors: str,
    keep_going: bool,
) -> Iterator[_Cut]:
    """``(line, text, record, failure)`` for each item of one source."""
    if mode is InputMode.WHOLE:
        whole = read_text(source, env, encoding, errors)
        if not whole.strip():
            # Nothing for a model to work on: an error, not a made-up summary or label.
            raise InputError(
                f"{source.name}: empty input", hint="the whole file is one item and holds no text"
            )
        yield None, whole, {}, None
        return
    for lineno, text in iter_source_lines(source, env, encoding, errors):
        if mode is InputMode.LINES:
            yield lineno, text, {}, None
            continue
        if not text.strip():
            continue
        record: dict[str, Any] = {}
        try:
            record = parse_json_line(source, lineno, text)
            yield lineno, text_field(source, lineno, record, field_name), record, None
        except InputError as exc:
            if not keep_going:
                raise
            yield lineno, "", record, Failure.of(exc, f"{source.name}:{lineno}")
