"""Loading hypotheses and references for ``eval``: parallel text files or JSON Lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def load_parallel(
    hyp_paths: Sequence[str],
    ref_paths: Sequence[str],
    env: Environment,
    encoding: str = "utf-8",
    errors: str = "strict",
    max_line: int = DEFAULT_MAX_ITEM_BYTES,
) -> EvalData:
    """Hypothesis files (or stdin) and reference files, one segment per line."""
    if not ref_paths:
        raise UsageError("no reference given", hint="pass --ref FILE (repeat it for more)")
    if any(p == "-" for p in ref_paths):
        raise UsageError("references must be files; stdin carries the hypotheses")
    sources = sources_from_args(hyp_paths)
    _check_distinct(sources)
    ref_sources = [Source(p) for p in ref_paths]
    ref_streams = [read_lines(s, env, encoding, errors, max_line) for s in ref_sources]
    systems = [System(s.name, read_lines(s, env, encoding, errors, max_line)) for s in sources]
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
    return EvalData(systems, references, [s.name for s in ref_sources])


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
