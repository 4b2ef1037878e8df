"""Rendering per-item results: one plain line or one JSON object per item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmcli.inputs import InputMode
from llmcli.output.writer import StreamedStdout
from llmcli.runner import Outcome


def plain(outcome: Outcome, mode: InputMode) -> str:
    """What plain output prints for one item (without the final newline).

    Line-aligned modes keep one output line per input line, so newlines inside a result
    become spaces; whole documents print the result as it is.
    """
    if outcome.result is None:  # a blank line, or a failed item (--keep-going)
        return ""
    text = outcome.result.text
    if mode is InputMode.WHOLE:
        return text.rstrip("\n")
    return " ".join(text.split("\n"))


def record(
    outcome: Outcome, mode: InputMode, text_field: str, run: dict[str, Any]
) -> dict[str, Any]:
    """The JSON object for one item.

    Input fields other than the text ride along first (so ``id`` and friends survive a
    round trip), then where the item came from, then the result (or, for an item that
    failed under ``--keep-going``, ``error``: its type, message and exit code), then the
    run record.
    """
    item = outcome.item
    out: dict[str, Any] = {}
    if mode is InputMode.JSONL:
        out.update({k: v for k, v in item.record.items() if k != text_field})
    out["source"] = item.source
    if item.line is not None:
        out["line"] = item.line
    out["index"] = item.index
    if outcome.failure is not None:
        out["error"] = outcome.failure.fields()
    elif outcome.result is None:
        out["skipped"] = "blank line"
    else:
        out.update(outcome.result.fields)
    out["run"] = outcome.run if outcome.run is not None else run
    return out


#: Renders one outcome; the flag says whether it is the first thing written.
Render = Callable[[Outcome, bool], str]


def plain_renderer(mode: InputMode, headers: bool) -> Render:
    """Plain output for one outcome: its line(s), under ``==> FILE <==`` with ``headers``."""

    def render(outcome: Outcome, first: bool) -> str:
        head = (("" if first else "\n") + f"==> {outcome.item.source} <==\n") if headers else ""
        return head + plain(outcome, mode) + "\n"

    return render


def streamed_renderer(mode: InputMode, stream: StreamedStdout) -> Render:
    """Plain output for an outcome whose text may have been streamed: the rest of it."""

    def render(outcome: Outcome, first: bool) -> str:
        text = plain(outcome, mode)
        done, stream.written = stream.written, ""
        if text.startswith(done):
            return text[len(done) :] + "\n"
        return "\n" + text + "\n"  # not expected: the stream only writes the text's start

    return render


def json_renderer(mode: InputMode, text_field: str, run: dict[str, Any]) -> Render:
    """One JSON line per outcome."""
    from llmcli.output.writer import to_json

    def render(outcome: Outcome, first: bool) -> str:
        return to_json(record(outcome, mode, text_field, run)) + "\n"

    return render
