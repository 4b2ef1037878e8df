"""Shared helpers for the ``llmcli eval`` and input-reader tests.

They live here rather than in ``conftest.py`` because ``tests/models`` has a
``conftest.py`` of its own, which makes ``from conftest import ...`` ambiguous; the
fixtures stay in ``conftest.py``.

Every expected number in these tests is computed inside the test by the reference
libraries (sacrebleu, rouge-score) on the corpus in ``tests/data``; nothing is copied
from llmcli's own output.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmcli.cli.app import run
from llmcli.environment import Environment

DATA = Path(__file__).parent / "data"

#: English news-like corpus: two references and three systems of falling quality.
EN_REF = DATA / "en.ref.txt"
EN_REF2 = DATA / "en.ref2.txt"
EN_SYS_A = DATA / "en.sys_a.txt"  # close paraphrase
EN_SYS_B = DATA / "en.sys_b.txt"  # rough, non-native translation
EN_SYS_C = DATA / "en.sys_c.txt"  # keyword fragments
EN_SYSTEMS = (EN_SYS_A, EN_SYS_B, EN_SYS_C)
DE_REF, DE_HYP = DATA / "de.ref.txt", DATA / "de.hyp.txt"
RU_REF, RU_HYP = DATA / "ru.ref.txt", DATA / "ru.hyp.txt"
ZH_REF, ZH_HYP = DATA / "zh.ref.txt", DATA / "zh.hyp.txt"

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def read_lines(path: Path | str) -> list[str]:
    """The lines of a test data file, read without llmcli (the files end with LF)."""
    text = Path(path).read_bytes().decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    return text[:-1].split("\n")


def ref_streams(*paths: Path | str) -> list[list[str]]:
    """sacrebleu's reference layout: one list per reference file."""
    return [read_lines(p) for p in paths]


def ref_args(*paths: Path | str) -> list[str]:
    """``-r FILE`` for every reference file."""
    return [arg for p in paths for arg in ("-r", str(p))]


def segment_refs(*paths: Path | str) -> list[list[str]]:
    """Per-segment reference lists (rouge-score's layout)."""
    return [list(refs) for refs in zip(*ref_streams(*paths), strict=True)]


def make_env(
    stdin: bytes = b"",
    *,
    stdout_isatty: bool = False,
    stderr_isatty: bool = False,
    variables: dict[str, str] | None = None,
) -> Environment:
    """An Environment over in-memory streams (stdout/stderr are ``io.StringIO``)."""
    return Environment(
        stdin=io.BytesIO(stdin),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin_isatty=False,
        stdout_isatty=stdout_isatty,
        stderr_isatty=stderr_isatty,
        variables={} if variables is None else variables,
    )


@dataclass
class CliResult:
    """What one in-process CLI run produced."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """stdout as the single JSON document ``--json`` prints."""
        assert self.code == 0, self.stderr
        assert self.stdout.endswith("\n") and self.stdout.count("\n") == 1, self.stdout
        doc = json.loads(self.stdout)
        assert isinstance(doc, dict)
        return doc


def cli(
    *args: str | os.PathLike[str],
    stdin: bytes = b"",
    stdout_isatty: bool = False,
    stderr_isatty: bool = False,
    variables: dict[str, str] | None = None,
) -> CliResult:
    """Run ``llmcli ARGS`` in-process through :func:`llmcli.cli.app.run`."""
    env = make_env(
        stdin, stdout_isatty=stdout_isatty, stderr_isatty=stderr_isatty, variables=variables
    )
    code = run([str(a) for a in args], env)
    assert isinstance(code, int)
    assert "Traceback" not in env.stderr.getvalue()  # type: ignore[attr-defined]
    return CliResult(code, env.stdout.getvalue(), env.stderr.getvalue())  # type: ignore[attr-defined]


def eval_json(*args: str | os.PathLike[str], stdin: bytes = b"") -> dict[str, Any]:
    """``llmcli eval ARGS --json``, which must succeed; the parsed document."""
    return cli("eval", *args, "--json", stdin=stdin).json()


def assert_error(result: CliResult, code: int, *fragments: str) -> str:
    """One line ``llmcli: error: ...`` on stderr, the given exit code, nothing on stdout."""
    assert result.code == code, (result.code, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.endswith("\n")
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("llmcli: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def scores(doc: dict[str, Any], system: int = 0) -> dict[str, dict[str, Any]]:
    """``{metric name: score entry}`` for one system of an eval JSON document."""
    return {entry["metric"]: entry for entry in doc["systems"][system]["scores"]}


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    """One segment per line, UTF-8, LF."""
    path.write_bytes("".join(f"{line}\n" for line in lines).encode("utf-8"))
    return path


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """JSON Lines, one object per line."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path
