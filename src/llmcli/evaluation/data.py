"""Loading hypotheses and references for ``eval``: parallel text files or JSON Lines."""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmcli.environment import Environment
from llmcli.errors import InputError, UsageError
from llmcli.inputs import (
    DEFAULT_MAX_ITEM_BYTES,
    Source,
    field_names,
    iter_json_records,
    read_lines,
    sources_from_args,
    text_field,
)


@dataclass
class System:
    """One system's outputs, one string per segment."""

    name: str
    hypotheses: list[str]


@dataclass
class EvalData:
    """Systems (the first is the baseline) and per-segment references."""

    systems: list[System]
    references: list[list[str]]  # references[i] = every reference of segment i
    reference_names: list[str]
    notes: list[str] = field(default_factory=list)  # for the user, e.g. a dropped BOM


def load_parallel(
    hyp_paths: Sequence[str],
    ref_paths: Sequence[str],
    env: Environment,
    encoding: str = "utf-8",
    errors: str = "strict",
    num_refs: int = 1,
    max_line: int = DEFAULT_MAX_ITEM_BYTES,
) -> EvalData:
    """Hypothesis files (or stdin) and reference files, one segment per line.

    As in sacrebleu's CLI, trailing whitespace is stripped from every line, and with
    ``num_refs`` above 1 the one reference file holds that many tab-separated references
    per line.
    """
    if not ref_paths:
        raise UsageError("no reference given", hint="pass --ref FILE (repeat it for more)")
    if any(p == "-" for p in ref_paths):
        raise UsageError("references must be files; stdin carries the hypotheses")
    if num_refs < 1:
        raise UsageError("--num-refs must be 1 or more")
    if num_refs > 1 and len(ref_paths) > 1:
        raise UsageError(
            "--num-refs reads several references from one file; pass one --ref",
            hint="or drop --num-refs and pass one --ref per reference file",
        )
    sources = sources_from_args(hyp_paths)
    _check_distinct(sources)
    notes: list[str] = []
    ref_sources = [Source(p) for p in ref_paths]
    ref_streams = [_read_segments(s, env, encoding, errors, notes, max_line) for s in ref_sources]
    systems = [
        System(s.name, _read_segments(s, env, encoding, errors, notes, max_line)) for s in sources
    ]
    if num_refs > 1:
        ref_streams = _split_references(ref_sources[0], ref_streams[0], num_refs)
        ref_sources = [ref_sources[0]] * num_refs
    expected = len(ref_streams[0])
    for source, stream in zip(ref_sources[1:], ref_streams[1:], strict=True):
        if len(stream) != expected:
            raise InputError(
                f"{source.name} has {len(stream)} lines but {ref_sources[0].name} has {expected}",
                hint="every reference file needs one line per segment",
            )
    for system in systems:
        if len(system.hypotheses) != expected:
            raise InputError(
                f"{system.name} has {len(system.hypotheses)} lines but "
                f"{ref_sources[0].name} has {expected}",
                hint="hypotheses and references must be line-aligned",
            )
    references = [list(refs) for refs in zip(*ref_streams, strict=True)]
    return EvalData(systems, references, [s.name for s in ref_sources], notes)


def _read_segments(
    source: Source,
    env: Environment,
    encoding: str,
    errors: str,
    notes: list[str],
    max_line: int = DEFAULT_MAX_ITEM_BYTES,
) -> list[str]:
    """One segment per line, trailing whitespace stripped (sacrebleu's ``line.rstrip()``)."""
    if _starts_with_utf8_bom(source, env, encoding):
        # read_lines drops it; sacrebleu keeps it as a character of the first segment.
        notes.append(
            f"{source.name}: dropped the UTF-8 byte-order mark at its start "
            "(sacrebleu keeps it, so scores can differ slightly)"
        )
    return [line.rstrip() for line in read_lines(source, env, encoding, errors, max_line)]


def _starts_with_utf8_bom(source: Source, env: Environment, encoding: str) -> bool:
    if codecs.lookup(encoding).name != "utf-8":
        return False  # utf-8-sig asks for the BOM to go; other codecs have their own
    if not source.is_stdin:
        try:
            # Only a regular file can be opened twice: a FIFO's writer would see its
            # first reader go (and stop), a device would lose what was read.
            if not stat.S_ISREG(os.stat(source.name).st_mode):
                return False
            with open(source.name, "rb") as handle:
                return handle.read(3) == codecs.BOM_UTF8
        except OSError:
            return False  # read_lines reports it
    # Look without consuming: a buffered pipe can peek, an in-memory stream can seek back.
    stream = env.stdin
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bool(peek(3)[:3] == codecs.BOM_UTF8)
    if stream.seekable():
        start = stream.tell()
        head = stream.read(3)
        stream.seek(start)
        return head == codecs.BOM_UTF8
    return False


def _split_references(source: Source, lines: list[str], num_refs: int) -> list[list[str]]:
    """``num_refs`` reference streams from tab-separated lines (sacrebleu's ``-nr``)."""
    streams: list[list[str]] = [[] for _ in range(num_refs)]
    for lineno, line in enumerate(lines, start=1):
        fields = line.split("\t", num_refs - 1)
        if len(fields) != num_refs:
            raise InputError(
                f"{source.name}:{lineno}: expected {num_refs} tab-separated references, "
                f"found {len(fields)}",
                hint="--num-refs N needs N references on every line",
            )
        for stream, ref in zip(streams, fields, strict=True):
            stream.append(ref)
    return streams


def _check_distinct(sources: Sequence[Source]) -> None:
    if sum(1 for s in sources if s.is_stdin) > 1:
        raise UsageError("stdin can be read only once")


def load_jsonl(
    paths: Sequence[str],
    pred_field: str,
    ref_field: str,
    env: Environment,
    encoding: str = "utf-8",
    errors: str = "strict",
    max_line: int = DEFAULT_MAX_ITEM_BYTES,
) -> EvalData:
    """JSON Lines systems: each object carries a prediction and its reference(s)."""
    sources = sources_from_args(paths)
    _check_distinct(sources)
    systems: list[System] = []
    references: list[list[str]] | None = None
    for source in sources:
        hyps: list[str] = []
        refs: list[list[str]] = []
        for lineno, record in iter_json_records(source, env, encoding, errors, max_line):
            hyps.append(text_field(source, lineno, record, pred_field, "--pred-field"))
            refs.append(_reference_field(source, lineno, record, ref_field))
        if not hyps:
            raise InputError(f"{source.name}: empty input", hint="expected JSON Lines")
        if references is None:
            references = refs
        elif len(refs) != len(references):
            raise InputError(
                f"{source.name} has {len(refs)} records but {sources[0].name} has "
                f"{len(references)}",
                hint="every system must cover the same segments",
            )
        elif refs != references:
            raise InputError(
                f"{source.name}: its references differ from {sources[0].name}'s",
                hint="systems compared in one run must share their references",
            )
        systems.append(System(source.name, hyps))
    assert references is not None
    return EvalData(systems, references, [f"{sources[0].name}#{ref_field}"])


def _reference_field(
    source: Source, lineno: int, record: dict[str, object], name: str
) -> list[str]:
    if name not in record:
        raise InputError(
            f"{source.name}:{lineno}: no field {name!r}",
            hint=f"fields here: {field_names(record)}; choose one with --ref-field",
        )
    value = record[name]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError(
        f"{source.name}:{lineno}: field {name!r} must be a string or a non-empty list of strings"
    )
