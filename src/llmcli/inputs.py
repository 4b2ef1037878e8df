"""Reading inputs: files or stdin, as whole documents, lines or JSON Lines.

Every reader works on bytes and decodes itself, so an error can name the file, the
line and the byte offset. A UTF-8 byte-order mark is dropped, CRLF and LF both end a
line, and nothing else (no ``\\x0b``, ``\\u2028``...) does: line-aligned output must
line up with what ``wc -l`` and ``paste`` see.

Reading is bounded: bytes arrive in chunks, a NUL byte (binary data) ends the read as
soon as its chunk does, and no line (nor a file read whole) is kept past
``--max-item-size``, so ``/dev/zero`` or an endless stream without newlines is an error
and not a machine out of memory.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import stat
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
        if source.is_stdin or _is_fifo(source.name):
            # Opening a FIFO and closing it again would end its writer's stream (EPIPE)
            # before the real read; it is opened once, when it is read.
            continue
        _open_binary(source, env).close()


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


#: Default of ``--max-item-size``: the longest line, or the longest file read whole.
#: Real documents are far smaller; the limit is what keeps ``/dev/zero`` or an endless
#: stream without newlines from eating the machine's memory.
DEFAULT_MAX_ITEM_BYTES = 32 * 2**20
#: ``--max-item-size``'s default, as the option shows it.
DEFAULT_MAX_ITEM_SIZE = f"{DEFAULT_MAX_ITEM_BYTES // 2**20}M"
#: Bytes read at a time; each chunk is checked (NUL byte, length) before it is kept.
CHUNK_BYTES = 1 << 16

_SIZE = re.compile(r"(\d+)\s*([kmg]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def parse_size(text: str, option: str = "--max-item-size") -> int:
    """Bytes from ``4096``, ``512K``, ``32M`` or ``1G`` (binary units; ``MiB``, ``MB`` too)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise UsageError(
            f"{option} must be a positive size such as 4096, 512K, 32M or 1G, not {text!r}"
        )
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def describe_size(size: int) -> str:
    """``32 MiB``, ``512 KiB``, ``100 bytes``: a limit as a person reads it."""
    for unit, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


def _too_long(where: str, what: str, limit: int, hint: str) -> InputError:
    return InputError(
        f"{where}: {what} longer than {describe_size(limit)} (--max-item-size)", hint=hint
    )


def _line_too_long(source: Source, lineno: int, limit: int) -> InputError:
    hint = "raise --max-item-size if it really is one item of text"
    return _too_long(f"{source.name}:{lineno}", "line", limit, hint)


def _file_too_long(source: Source, limit: int, why: str) -> InputError:
    hint = f"{why}; raise --max-item-size if it really is one item of text"
    return _too_long(source.name, "file", limit, hint)


def _binary(source: Source, offset: int, lineno: int) -> InputError:
    return InputError(
        f"{source.name}: binary data (NUL byte) at byte {offset}, line {lineno}",
        hint="llmcli reads text files only",
    )


def _read_chunk(handle: IO[bytes]) -> bytes:
    # read1 returns what one read gives, so lines arriving slowly on a pipe are seen as
    # they come rather than once CHUNK_BYTES of them have.
    read1 = getattr(handle, "read1", None)
    return bytes(read1(CHUNK_BYTES) if read1 is not None else handle.read(CHUNK_BYTES))


#: One cut line: its first byte's offset, its bytes without ``\n``, whether ``\n`` ended it.
_RawLine = tuple[int, bytes, bool]


def _raw_lines(
    source: Source, handle: IO[bytes], limit: int, whole: bool
) -> Iterator[_RawLine | InputError]:
    """Cut a stream into lines a chunk at a time, never keeping more than ``limit`` bytes.

    A NUL byte raises as soon as its chunk arrives (after the lines before it). A line
    longer than ``limit`` yields an :class:`InputError` for the caller to raise, or to
    record and go on: the rest of that line is then skipped, unkept. With ``whole`` the
    limit is on the whole stream, and raises.
    """
    pending = bytearray()  # the start of a line whose end has not arrived yet
    start = 0  # offset of the current line's first byte
    base = 0  # offset of the chunk's first byte
    lineno = 0
    skipping = False  # inside an over-long line
    while chunk := _read_chunk(handle):
        nul = chunk.find(b"\x00")
        scan = chunk if nul < 0 else chunk[:nul]
        if whole and base + len(scan) > limit:
            raise _file_too_long(source, limit, "without --lines or --jsonl a file is one item")
        pieces = scan.split(b"\n")
        pos = 0
        for piece in pieces[:-1]:
            lineno += 1
            if skipping:
                skipping = False
            elif len(pending) + len(piece) > limit:
                yield _line_too_long(source, lineno, limit)
            elif pending:
                pending += piece
                yield start, bytes(pending), True
            else:
                yield start, piece, True
            pending.clear()
            pos += len(piece) + 1
            start = base + pos
        tail = pieces[-1]
        if not skipping:
            if len(pending) + len(tail) > limit:
                yield _line_too_long(source, lineno + 1, limit)
                skipping = True
                pending.clear()
            else:
                pending += tail
        if nul >= 0:
            raise _binary(source, base + nul, lineno + 1)
        base += len(chunk)
    if pending and not skipping:
        yield start, bytes(pending), False


class _LineDecoder:
    """Decodes one source's lines, naming the file, line and byte offset in errors."""

    def __init__(self, source: Source, encoding: str, errors: str) -> None:
        self.source = source
        self.encoding = encoding
        self.errors = errors
        self.utf8 = codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}

    def decode(self, lineno: int, start: int, raw: bytes, ended: bool) -> str | None:
        """One line's text without its line end; ``None`` for a file holding only a BOM."""
        if lineno == 1 and raw.startswith(codecs.BOM_UTF8) and self.utf8:
            raw = raw[len(codecs.BOM_UTF8) :]
            start += len(codecs.BOM_UTF8)
            if not raw and not ended:
                return None
        try:
            text = raw.decode(self.encoding, self.errors)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self.source.name}: invalid {self.encoding} at byte {start + exc.start}, "
                f"line {lineno}",
                hint="pass --encoding if the file is in another encoding, "
                "or --errors replace to read it anyway",
            ) from None
        if ended and text.endswith("\r"):
            text = text[:-1]
        return text


def _ascii_compatible(encoding: str) -> bool:
    """Whether lines can be split on raw ``\n`` bytes (not so for UTF-16/32)."""
    if codecs.lookup(encoding).name == "utf-8-sig":
        return True  # the BOM is handled line by line
    return "\n".encode(encoding) == b"\n" and "A".encode(encoding) == b"A"


def _read_bounded(source: Source, handle: IO[bytes], limit: int) -> bytes:
    """The whole stream, or an error once it passes ``limit`` bytes."""
    data = bytearray()
    while chunk := _read_chunk(handle):
        if len(data) + len(chunk) > limit:
            raise _file_too_long(source, limit, "files in UTF-16 or UTF-32 are read whole")
        data += chunk
    return bytes(data)


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


#: A line's number and text, or, for one longer than the limit, the error that says so.
_Line = tuple[int, "str | InputError"]


def _source_lines(
    source: Source,
    env: Environment,
    encoding: str,
    errors: str,
    limit: int,
    whole: bool = False,
) -> Iterator[_Line]:
    """Every line of ``source``, streaming; an over-long one as an error, not raised."""
    handle = _open_binary(source, env)
    try:
        if not _ascii_compatible(encoding):
            lines = _decode_whole(source, _read_bounded(source, handle, limit), encoding, errors)
            yield from enumerate(lines, start=1)
            return
        decoder = _LineDecoder(source, encoding, errors)
        for lineno, cut in enumerate(_raw_lines(source, handle, limit, whole), start=1):
            if isinstance(cut, InputError):
                yield lineno, cut
                continue
            text = decoder.decode(lineno, *cut)
            if text is not None:
                yield lineno, text
    except OSError as exc:
        raise InputError(f"{source.name}: read failed: {exc.strerror or exc}") from None
    finally:
        if not source.is_stdin:
            handle.close()


def iter_source_lines(
    source: Source,
    env: Environment,
    encoding: str = "utf-8",
    errors: str = "strict",
    max_line: int = DEFAULT_MAX_ITEM_BYTES,
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every line, blank ones included, streaming.

    A line longer than ``max_line`` bytes is an error, raised before it is kept whole.
    """
    for lineno, text in _source_lines(source, env, encoding, errors, max_line):
        if isinstance(text, InputError):
            raise text
        yield lineno, text


def read_text(
    source: Source,
    env: Environment,
    encoding: str = "utf-8",
    errors: str = "strict",
    max_bytes: int = DEFAULT_MAX_ITEM_BYTES,
) -> str:
    """The whole source as one string (line ends normalised to ``\\n``).

    A source longer than ``max_bytes`` is an error, raised once that many bytes are read.
    """
    lines = []
    for _, text in _source_lines(source, env, encoding, errors, max_bytes, whole=True):
        assert not isinstance(text, InputError)  # whole: the limit raises
        lines.append(text)
    return "\n".join(lines)


def read_lines(
    source: Source,
    env: Environment,
    encoding: str = "utf-8",
    errors: str = "strict",
    max_line: int = DEFAULT_MAX_ITEM_BYTES,
) -> list[str]:
    """All lines of a source, blank ones included; an empty source is an error."""
    lines = [text for _, text in iter_source_lines(source, env, encoding, errors, max_line)]
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
    source: Source,
    env: Environment,
    encoding: str = "utf-8",
    errors: str = "strict",
    max_line: int = DEFAULT_MAX_ITEM_BYTES,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` for each non-blank line of a JSON Lines source."""
    for lineno, text in iter_source_lines(source, env, encoding, errors, max_line):
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
    max_item: int = DEFAULT_MAX_ITEM_BYTES
    #: Whole mode: an empty stdin is one item with no text instead of an error (what
    #: ``generate PROMPT`` gets from a script whose stdin is /dev/null: the prompt alone).
    empty_stdin: bool = False

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
            max_item=self.max_item,
            empty_stdin=self.empty_stdin,
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
    max_item: int = DEFAULT_MAX_ITEM_BYTES,
    empty_stdin: bool = False,
) -> Iterator[Item]:
    """Cut every source into items, lazily, in order.

    No item is longer than ``max_item`` bytes: a line (or a file read whole) that is, is
    an error. With ``keep_going``, input errors become items carrying a :class:`Failure`
    instead of ending the stream: a JSON Lines line that is not an object or lacks the
    field, or a line longer than ``max_item``, is one failed item; a file that cannot be
    opened, read or decoded is one failed item, and the rest of that file is skipped
    (lines read before the error stay).
    """
    index = 0
    for source in sources:
        try:
            for line, text, record, failure in _source_items(
                source, mode, env, field_name, encoding, errors, keep_going, max_item, empty_stdin
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
    max_item: int,
    empty_stdin: bool = False,
) -> Iterator[_Cut]:
    """``(line, text, record, failure)`` for each item of one source."""
    if mode is InputMode.WHOLE:
        whole = read_text(source, env, encoding, errors, max_item)
        if not whole.strip() and not (empty_stdin and source.is_stdin):
            # Nothing for a model to work on: an error, not a made-up summary or label.
            raise InputError(
                f"{source.name}: empty input", hint="the whole file is one item and holds no text"
            )
        yield None, whole, {}, None
        return
    for lineno, text in _source_lines(source, env, encoding, errors, max_item):
        if isinstance(text, InputError):  # longer than max_item
            if not keep_going:
                raise text
            yield lineno, "", {}, Failure.of(text)
            continue
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
