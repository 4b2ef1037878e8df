"""``llmcli eval`` as a command: options, output formats, files, stdin and errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sacrebleu.metrics import BLEU
from typer.testing import CliRunner

import llmcli
from eval_support import (
    DE_HYP,
    DE_REF,
    EN_REF,
    EN_REF2,
    EN_SYS_A,
    EN_SYS_B,
    EN_SYS_C,
    ROUGE_TYPES,
    RU_HYP,
    RU_REF,
    CliResult,
    assert_error,
    cli,
    eval_json,
    make_env,
    read_lines,
    ref_args,
    scores,
    write_jsonl,
    write_lines,
)
from llmcli.cli.app import app, run
from llmcli.errors import InputError


def _punkt_installed() -> bool:
    try:
        import nltk

        nltk.data.find("tokenizers/punkt_tab")
    except (ImportError, LookupError):
        return False
    return True


# --- errors ------------------------------------------------------------------------------

BAD_UTF8 = b"first line\nsecond \xff line\n"
NUL_BYTES = b"one\ntwo\x00three\n"


@pytest.fixture
def bad(tmp_path: Path) -> dict[str, Path]:
    """Named bad inputs, written fresh for every test."""
    records = [{"prediction": h, "reference": r} for h, r in zip("ab", "ab", strict=True)]
    files: dict[str, Path] = {
        "short": write_lines(tmp_path / "short.txt", ["one line", "two lines"]),
        "empty": tmp_path / "empty.txt",
        "dir": tmp_path / "a_directory",
        "missing": tmp_path / "missing.txt",
        "bad_utf8": tmp_path / "latin.txt",
        "nul": tmp_path / "binary.txt",
        "good2": write_lines(tmp_path / "good2.txt", ["alpha beta", "gamma delta"]),
        "bad_json": tmp_path / "bad.jsonl",
        "not_object": write_jsonl(tmp_path / "list.jsonl", [*records, [1, 2]]),  # type: ignore[list-item]
        "no_pred": write_jsonl(tmp_path / "nopred.jsonl", [records[0], {"reference": "x"}]),
        "ref_number": write_jsonl(
            tmp_path / "refnum.jsonl", [records[0], {"prediction": "x", "reference": 3}]
        ),
        "ref_empty_list": write_jsonl(
            tmp_path / "reflist.jsonl", [{"prediction": "x", "reference": []}]
        ),
        "pred_number": write_jsonl(
            tmp_path / "prednum.jsonl", [{"prediction": 7, "reference": "x"}]
        ),
        "jsonl_a": write_jsonl(tmp_path / "a.jsonl", records),
        "jsonl_three": write_jsonl(tmp_path / "three.jsonl", [*records, records[0]]),
        "jsonl_other_refs": write_jsonl(
            tmp_path / "other.jsonl", [{"prediction": "a", "reference": "zzz"}, records[1]]
        ),
        "jsonl_empty": tmp_path / "blank.jsonl",
        "out_missing_dir": tmp_path / "no" / "such" / "dir" / "out.txt",
    }
    files["empty"].write_bytes(b"")
    files["dir"].mkdir()
    files["bad_utf8"].write_bytes(BAD_UTF8)
    files["nul"].write_bytes(NUL_BYTES)
    files["bad_json"].write_text('{"prediction": "a", "reference": "a"}\n{"prediction": \n')
    files["jsonl_empty"].write_text("\n  \n")
    return files


def _bad_offset(data: bytes, bad_byte: bytes) -> str:
    offset = data.index(bad_byte)
    line = data[:offset].count(b"\n") + 1
    return f"at byte {offset}, line {line}"


# id: (argv after "eval" with @name placeholders, stdin, exit code, fragments, origin)
# origin "core": an LlmcliError the command turns into a message; "click": a parse error.
ERROR_CASES: dict[str, tuple[list[str], bytes, int, list[str], str]] = {
    "hyp-lines-mismatch": (
        ["@short", "-r", str(EN_REF)], b"", 2,
        ["@short has 2 lines", f"{EN_REF} has {len(read_lines(EN_REF))}"], "core",
    ),
    "ref-lines-mismatch": (
        [str(EN_SYS_A), "-r", str(EN_REF), "-r", "@short"], b"", 2,
        ["@short has 2 lines", f"{EN_REF} has {len(read_lines(EN_REF))}"], "core",
    ),
    "stdin-lines-mismatch": (
        ["-r", str(EN_REF)], b"just one\n", 2, ["<stdin> has 1 lines", str(EN_REF)], "core"
    ),
    "empty-hyp": (["@empty", "-r", str(EN_REF)], b"", 2, ["@empty: empty input"], "core"),
    "empty-ref": ([str(EN_SYS_A), "-r", "@empty"], b"", 2, ["@empty: empty input"], "core"),
    "empty-stdin": (["-r", str(EN_REF)], b"", 2, ["<stdin>: empty input"], "core"),
    "unknown-metric": (
        [str(EN_SYS_A), "-r", str(EN_REF), "-m", "bleu,meteor"], b"", 2,
        ["unknown metric 'meteor'", "rougeLsum"], "core",
    ),
    "no-metric": ([str(EN_SYS_A), "-r", str(EN_REF), "-m", ","], b"", 2, ["no metric"], "core"),
    "missing-hyp": (["@missing", "-r", str(EN_REF)], b"", 2, ["@missing: no such file"], "core"),
    "missing-ref": ([str(EN_SYS_A), "-r", "@missing"], b"", 2, ["@missing: no such file"], "core"),
    "directory": (["@dir", "-r", str(EN_REF)], b"", 2, ["@dir: is a directory"], "core"),
    "non-utf8-file": (
        ["@bad_utf8", "-r", "@good2"], b"", 2,
        ["@bad_utf8: invalid utf-8", _bad_offset(BAD_UTF8, b"\xff")], "core",
    ),
    "non-utf8-stdin": (
        ["-r", "@good2"], BAD_UTF8, 2,
        ["<stdin>: invalid utf-8", _bad_offset(BAD_UTF8, b"\xff")], "core",
    ),
    "nul-byte": (
        ["@nul", "-r", "@good2"], b"", 2, ["@nul: binary data", _bad_offset(NUL_BYTES, b"\x00")],
        "core",
    ),
    "bad-jsonl": (["--jsonl", "@bad_json"], b"", 2, ["@bad_json:2:", "invalid JSON"], "core"),
    "jsonl-not-object": (
        ["--jsonl", "@not_object"], b"", 2, ["@not_object:3:", "expected a JSON object"], "core"
    ),
    "jsonl-missing-pred": (
        ["--jsonl", "@no_pred"], b"", 2, ["@no_pred:2:", "no field 'prediction'"], "core"
    ),
    "jsonl-missing-custom-ref": (
        ["--jsonl", "@jsonl_a", "--ref-field", "gold"], b"", 2,
        ["@jsonl_a:1:", "no field 'gold'"], "core",
    ),
    "jsonl-ref-number": (
        ["--jsonl", "@ref_number"], b"", 2, ["@ref_number:2:", "'reference'"], "core"
    ),
    "jsonl-ref-empty-list": (
        ["--jsonl", "@ref_empty_list"], b"", 2, ["@ref_empty_list:1:", "non-empty list"], "core"
    ),
    "jsonl-pred-number": (
        ["--jsonl", "@pred_number"], b"", 2, ["@pred_number:1:", "not a string"], "core"
    ),
    "jsonl-empty": (["--jsonl", "@jsonl_empty"], b"", 2, ["@jsonl_empty: empty input"], "core"),
    "jsonl-record-count": (
        ["--jsonl", "@jsonl_a", "@jsonl_three"], b"", 2,
        ["@jsonl_three has 3 records", "@jsonl_a has 2"], "core",
    ),
    "jsonl-other-refs": (
        ["--jsonl", "@jsonl_a", "@jsonl_other_refs"], b"", 2,
        ["@jsonl_other_refs: its references differ"], "core",
    ),
    "jsonl-with-ref": (
        ["--jsonl", "@jsonl_a", "-r", str(EN_REF)], b"", 2, ["--jsonl", "--ref"], "core"
    ),
    "paired-bs-one-system": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--paired-bs"], b"", 2, ["two hypothesis files"],
        "core",
    ),
    "paired-ar-one-system": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--paired-ar"], b"", 2, ["two hypothesis files"],
        "core",
    ),
    "both-paired-tests": (
        [str(EN_SYS_A), str(EN_SYS_B), "-r", str(EN_REF), "--paired-bs", "--paired-ar"], b"", 2,
        ["--paired-bs", "--paired-ar"], "core",
    ),
    "no-reference": ([str(EN_SYS_A)], b"", 2, ["no reference"], "core"),
    "stdin-twice": (["-", "-", "-r", str(EN_REF)], b"x\n", 2, ["stdin"], "core"),
    "stdin-reference": (
        [str(EN_SYS_A), "-r", "-"], b"x\n", 2, ["references must be files"], "core"
    ),
    "negative-worst": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--worst", "-1"], b"", 2, ["--worst"], "core"
    ),
    "zero-bootstrap": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--confidence", "--bootstrap-samples", "0"], b"", 2,
        ["--bootstrap-samples"], "core",
    ),
    "zero-ar-trials": (
        [str(EN_SYS_A), str(EN_SYS_B), "-r", str(EN_REF), "--paired-ar", "--ar-trials", "0"],
        b"", 2, ["--ar-trials"], "core",
    ),
    "unknown-encoding": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--encoding", "klingon"], b"", 2,
        ["unknown encoding 'klingon'"], "core",
    ),
    "unknown-errors-handler": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--errors", "shrug"], b"", 2, ["--errors", "shrug"],
        "core",
    ),
    "unknown-rouge-tokenizer": (
        [str(EN_SYS_A), "-r", str(EN_REF), "-m", "rouge1", "--rouge-tokenizer", "nltk"], b"", 2,
        ["ROUGE tokenizer 'nltk'"], "core",
    ),
    "unknown-rouge-engine": (
        [str(EN_SYS_A), "-r", str(EN_REF), "-m", "rouge1", "--rouge-engine", "java"], b"", 2,
        ["ROUGE engine 'java'"], "core",
    ),
    "unknown-lsum-split": (
        [str(EN_SYS_A), "-r", str(EN_REF), "-m", "rougeLsum", "--lsum-split", "para"], b"", 2,
        ["'para'"], "core",
    ),
    "output-dir-missing": (
        [str(EN_SYS_A), "-r", str(EN_REF), "-o", "@out_missing_dir"], b"", 1, ["does not exist"],
        "core",
    ),
    "unknown-option": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--frobnicate"], b"", 2,
        ["No such option: --frobnicate", "llmcli eval --help"], "click",
    ),
    "bad-integer": (
        [str(EN_SYS_A), "-r", str(EN_REF), "--worst", "many"], b"", 2, ["--worst", "integer"],
        "click",
    ),
    "missing-option-value": ([str(EN_SYS_A), "-r"], b"", 2, ["-r"], "click"),
}  # fmt: skip


def _substitute(items: list[str], files: dict[str, Path]) -> list[str]:
    out = []
    for item in items:
        for name, path in files.items():
            item = item.replace(f"@{name}", str(path))
        out.append(item)
    return out


def _run_error_params() -> list[Any]:
    """Every case; those the command itself reports hit the Environment bug."""
    return [pytest.param(case_id, marks=[], id=case_id) for case_id, case in ERROR_CASES.items()]


@pytest.mark.parametrize("case_id", _run_error_params())
def test_errors_via_run_and_environment(case_id: str, bad: dict[str, Path]) -> None:
    argv, stdin, code, fragments, _ = ERROR_CASES[case_id]
    result = cli("eval", *_substitute(argv, bad), stdin=stdin)
    assert_error(result, code, *_substitute(fragments, bad))
    assert not bad["out_missing_dir"].parent.parent.exists()


@pytest.mark.parametrize(
    "case_id", [c for c, case in ERROR_CASES.items() if case[4] == "core"]
)  # click's own standalone mode formats parse errors; run() is what the console script uses
def test_errors_via_clirunner(case_id: str, bad: dict[str, Path]) -> None:
    argv, stdin, code, fragments, _ = ERROR_CASES[case_id]
    result = CliRunner().invoke(app, ["eval", *_substitute(argv, bad)], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert_error(
        CliResult(result.exit_code, result.stdout, result.stderr),
        code,
        *_substitute(fragments, bad),
    )


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--tokenize", "klingon"], id="unknown-tokenizer"),
        pytest.param(["--smooth-method", "magic"], id="unknown-smooth-method"),
        pytest.param(["--confidence", "--seed", "-1"], id="negative-seed"),
    ],
)
def test_bad_option_values_are_usage_errors(argv: list[str]) -> None:
    result = CliRunner().invoke(app, ["eval", str(EN_SYS_A), "-r", str(EN_REF), *argv])
    assert_error(CliResult(result.exit_code, result.stdout, result.stderr), 2, argv[1])


def test_deeply_nested_jsonl_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    nested = "[" * 100_000 + "]" * 100_000
    path.write_text(f'{{"prediction": "a", "reference": "a"}}\n{{"prediction": {nested}}}\n')
    invoked = CliRunner().invoke(app, ["eval", "--jsonl", str(path)])
    assert_error(CliResult(invoked.exit_code, invoked.stdout, invoked.stderr), 2, f"{path}:2:")


def test_errors_in_a_real_process() -> None:
    """The console entry point: one line on stderr, exit 2, for core and parse errors."""
    for argv, fragment in (
        (["eval", str(EN_SYS_A), "-r", str(EN_REF2) + ".missing"], "no such file"),
        (["eval", str(EN_SYS_A), "-r", str(EN_REF), "--frobnicate"], "No such option"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "llmcli", *argv], capture_output=True, text=True, timeout=60
        )
        assert_error(CliResult(proc.returncode, proc.stdout, proc.stderr), 2, fragment)


@pytest.mark.parametrize(
    "via", [pytest.param("run", id="run"), pytest.param("clirunner", id="clirunner")]
)
@pytest.mark.skipif(_punkt_installed(), reason="NLTK punkt_tab is installed here")
def test_lsum_sentence_split_without_punkt_is_exit_3(via: str) -> None:
    argv = ["eval", str(EN_SYS_A), "-r", str(EN_REF), "-m", "rougeLsum", "--lsum-split", "sentence"]
    if via == "run":
        result = cli(*argv)
    else:
        invoked = CliRunner().invoke(app, argv)
        result = CliResult(invoked.exit_code, invoked.stdout, invoked.stderr)
    assert_error(result, 3, "punkt_tab", "--lsum-split newline")


def test_lsum_sentence_split_is_not_needed_without_rougelsum() -> None:
    result = cli("eval", EN_SYS_A, "-r", EN_REF, "-m", "rouge1", "--lsum-split", "sentence")
    assert result.code == 0 and result.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [["--rouge-engine", "rust"], ["--rouge-tokenizer", "unicode"]],
    ids=["rust-engine", "unicode-tokenizer"],
)
def test_missing_rust_engine_is_exit_3(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setattr("llmcli.metrics.rouge._has_rust_engine", lambda: False)
    invoked = CliRunner().invoke(
        app, ["eval", str(EN_SYS_A), "-r", str(EN_REF), "-m", "rouge1", *argv]
    )
    result = CliResult(invoked.exit_code, invoked.stdout, invoked.stderr)
    assert_error(result, 3, "rouge-score-rs")


def test_auto_engine_falls_back_to_rouge_score(monkeypatch: pytest.MonkeyPatch) -> None:
    rust = eval_json(EN_SYS_B, "-r", EN_REF, "-m", "rouge", "--segments")
    monkeypatch.setattr("llmcli.metrics.rouge._has_rust_engine", lambda: False)
    python = eval_json(EN_SYS_B, "-r", EN_REF, "-m", "rouge", "--segments")
    assert python["systems"][0]["segment_scores"] == rust["systems"][0]["segment_scores"]
    assert scores(python)["rouge1"]["signature"].endswith("+rouge-score")


def test_debug_raises_the_error() -> None:
    env = make_env()
    with pytest.raises(InputError):
        run(["eval", str(EN_SYS_A), "-r", str(EN_REF) + ".missing", "--debug"], env)


def test_llmcli_debug_variable_raises_the_error() -> None:
    env = make_env(variables={"LLMCLI_DEBUG": "1"})
    with pytest.raises(InputError):
        run(["eval", str(EN_SYS_A), "-r", str(EN_REF) + ".missing"], env)


# --- quiet, progress, TTY ----------------------------------------------------------------


def test_quiet_silences_warnings_via_run() -> None:
    result = cli("eval", RU_HYP, "-r", RU_REF, "-m", "rouge1", "--quiet")
    assert result.code == 0 and result.stderr == ""


def test_quiet_silences_warnings_via_clirunner() -> None:
    result = CliRunner().invoke(app, ["eval", str(RU_HYP), "-r", str(RU_REF), "-m", "rouge1", "-q"])
    assert result.exit_code == 0 and result.stderr == ""


def test_progress_on_a_terminal_does_not_disturb_results() -> None:
    plain = cli("eval", EN_SYS_A, EN_SYS_B, "-r", EN_REF, "--json")
    with_bar = cli("eval", EN_SYS_A, EN_SYS_B, "-r", EN_REF, "--json", stderr_isatty=True)
    assert with_bar.code == 0
    assert with_bar.json() == plain.json()
    assert "Traceback" not in with_bar.stderr


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--confidence"],
        ["--paired-bs", "--segments", "--worst", "2"],
        ["--paired-ar", "--ar-trials", "200", "--confidence"],
    ],
    ids=["plain", "confidence", "paired-bs-segments-worst", "paired-ar"],
)
def test_terminal_gets_a_rich_table(extra: list[str]) -> None:
    result = cli(
        "eval", EN_SYS_A, EN_SYS_B, "-r", EN_REF, "-m", "bleu,chrf,ter,rouge1", *extra,
        stdout_isatty=True,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    for name in ("BLEU", "chrF2", "TER", "rouge1", "signatures"):
        assert name in result.stdout
    assert "\t" not in result.stdout  # not the pipe format
    if "--paired-bs" in extra:
        assert "baseline" in result.stdout and "lowest BLEU" in result.stdout


def test_terminal_with_json_or_output_file_gets_no_table(tmp_path: Path) -> None:
    piped = cli("eval", EN_SYS_A, "-r", EN_REF)
    as_json = cli("eval", EN_SYS_A, "-r", EN_REF, "--json", stdout_isatty=True)
    assert as_json.json() == cli("eval", EN_SYS_A, "-r", EN_REF, "--json").json()
    out = tmp_path / "scores.tsv"
    to_file = cli("eval", EN_SYS_A, "-r", EN_REF, "-o", out, stdout_isatty=True)
    assert to_file.code == 0 and to_file.stdout == ""
    assert out.read_text("utf-8") == piped.stdout


# --- JSON document -----------------------------------------------------------------------


def test_json_document_shape() -> None:
    doc = eval_json(EN_SYS_A, EN_SYS_B, *ref_args(EN_REF, EN_REF2), "-m", "bleu,rouge1")
    assert set(doc) == {
        "format", "llmcli", "segments", "references", "metrics", "systems", "warnings"
    }  # fmt: skip
    assert doc["format"] == 1
    assert doc["llmcli"] == llmcli.__version__
    assert doc["segments"] == len(read_lines(EN_REF))
    assert doc["references"] == 2
    assert doc["metrics"] == ["BLEU", "rouge1"]
    assert doc["warnings"] == []
    assert [s["name"] for s in doc["systems"]] == [str(EN_SYS_A), str(EN_SYS_B)]
    assert [s["baseline"] for s in doc["systems"]] == [True, False]
    for system in doc["systems"]:
        assert set(system) == {"name", "baseline", "scores"}
        assert [entry["metric"] for entry in system["scores"]] == doc["metrics"]
        for entry in system["scores"]:
            assert list(entry)[:2] == ["metric", "score"]
            assert list(entry)[-1] == "signature"
            assert isinstance(entry["score"], float)
            assert "interval" not in entry and "p_value" not in entry
        rouge = scores(doc, doc["systems"].index(system))["rouge1"]
        assert {"precision", "recall", "fmeasure"} <= set(rouge)


def test_json_optional_parts() -> None:
    doc = eval_json(
        EN_SYS_A, EN_SYS_B, "-r", EN_REF, "-m", "chrf,rougeL", "--segments", "--paired-bs",
        "--worst", "2",
    )  # fmt: skip
    assert set(doc) == {
        "format", "llmcli", "segments", "references", "metrics", "test", "systems", "worst",
        "warnings",
    }  # fmt: skip
    assert doc["test"] == "bs"
    n = doc["segments"]
    for system in doc["systems"]:
        assert set(system) == {"name", "baseline", "scores", "segment_scores", "segment_details"}
        assert set(system["segment_scores"]) == {"chrF2", "rougeL"}
        assert set(system["segment_details"]) == {"rougeL"}
        assert all(len(v) == n for v in system["segment_scores"].values())
    assert doc["worst"]["metric"] == "chrF2"
    assert len(doc["worst"]["segments"]) == 4
    assert set(doc["worst"]["segments"][0]) == {
        "system", "segment", "score", "hypothesis", "references"
    }  # fmt: skip
    baseline, other = (scores(doc, i)["chrF2"] for i in (0, 1))
    assert "p_value" not in baseline and 0 < other["p_value"] <= 1
    assert set(other["interval"]) == {"mean", "ci", "low", "high"}


def test_json_is_plain_utf8_without_ascii_escapes(tmp_path: Path) -> None:
    hyp = write_lines(tmp_path / "hyp.txt", ["Zürich – “quoted”", "naïve café"])
    ref = write_lines(tmp_path / "ref.txt", ["Zürich — quoted", "naive cafe"])
    result = cli("eval", hyp, "-r", ref, "-m", "ter", "--worst", "1", "--json")
    doc = result.json()
    assert doc["worst"]["segments"][0]["hypothesis"] in read_lines(hyp)
    assert "\\u" not in result.stdout


# --- text output -------------------------------------------------------------------------


def _rows(result: CliResult) -> list[list[str]]:
    assert result.code == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_text_output_columns() -> None:
    args = (EN_SYS_A, EN_SYS_B, "-r", EN_REF)
    doc = eval_json(*args)
    rows = _rows(cli("eval", *args))
    assert len(rows) == 6
    expected = [
        (system["name"], entry["metric"], entry["score"], entry["signature"])
        for system in doc["systems"]
        for entry in system["scores"]
    ]
    assert [(r[0], r[1], float(r[2]), r[3]) for r in rows] == expected
    assert all(len(r) == 4 for r in rows)


def test_text_output_with_confidence() -> None:
    args = (EN_SYS_A, "-r", EN_REF, "-m", "bleu,rouge2", "--confidence")
    doc = eval_json(*args)
    for row, entry in zip(_rows(cli("eval", *args)), doc["systems"][0]["scores"], strict=True):
        assert len(row) == 6
        assert [float(v) for v in row[2:5]] == [
            entry["score"], entry["interval"]["low"], entry["interval"]["high"]
        ]  # fmt: skip
        assert row[5] == entry["signature"]


@pytest.mark.parametrize(
    ("flags", "width"), [(["--paired-bs"], 7), (["--paired-ar", "--ar-trials", "300"], 5)]
)
def test_text_output_with_paired_test(
    interleaved_systems: tuple[Path, Path], flags: list[str], width: int
) -> None:
    args = (*interleaved_systems, EN_SYS_C, "-r", EN_REF, "-m", "bleu,ter", *flags)
    doc = eval_json(*args)
    rows = _rows(cli("eval", *args))
    entries = [e for s in doc["systems"] for e in s["scores"]]
    assert len(rows) == len(entries) == 6
    for row, entry in zip(rows, entries, strict=True):
        assert len(row) == width
        p_value = entry.get("p_value")
        assert row[-2] == ("-" if p_value is None else f"{p_value:.4f}")
        assert row[-1] == entry["signature"]
    assert [r[-2] for r in rows[:2]] == ["-", "-"]


def test_text_segments_are_line_aligned_columns() -> None:
    args = (EN_SYS_A, EN_SYS_C, "-r", EN_REF, "-m", "ter,rouge2", "--segments")
    doc = eval_json(*args)
    rows = _rows(cli("eval", *args))
    assert len(rows) == doc["segments"]
    columns = [doc["systems"][s]["segment_scores"][m] for s in (0, 1) for m in ("TER", "rouge2")]
    for i, row in enumerate(rows):
        assert [float(v) for v in row] == [col[i] for col in columns]


# --- output files ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--segments"], ["--worst", "3"]])
def test_output_file_equals_stdout(tmp_path: Path, fmt: list[str]) -> None:
    args = ("eval", EN_SYS_B, "-r", EN_REF, "-m", "bleu,rougeL", *fmt)
    expected = cli(*args).stdout
    out = tmp_path / "result.out"
    out.write_text("old content\n")
    result = cli(*args, "-o", out)
    assert result.code == 0 and result.stdout == "" and result.stderr == ""
    assert out.read_bytes() == expected.encode("utf-8")
    assert sorted(os.listdir(tmp_path)) == ["result.out"]
    assert cli(*args, "-o", "-").stdout == expected


@pytest.mark.parametrize("existing", [False, True])
def test_output_file_untouched_on_error(tmp_path: Path, existing: bool) -> None:
    out = tmp_path / "result.out"
    if existing:
        out.write_text("keep me\n")
    result = cli("eval", EN_SYS_A, "-r", tmp_path / "missing.txt", "-o", out)
    assert result.code == 2 and result.stdout == ""
    assert sorted(os.listdir(tmp_path)) == (["result.out"] if existing else [])
    if existing:
        assert out.read_text() == "keep me\n"


def test_output_file_write_failure_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "result.out"
    out.write_text("keep me\n")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("llmcli.output.writer.os.fsync", full_disk)
    invoked = CliRunner().invoke(app, ["eval", str(EN_SYS_A), "-r", str(EN_REF), "-o", str(out)])
    assert_error(
        CliResult(invoked.exit_code, invoked.stdout, invoked.stderr), 1, "no space left on device"
    )
    assert sorted(os.listdir(tmp_path)) == ["result.out"]
    assert out.read_text() == "keep me\n"


# --- stdin -------------------------------------------------------------------------------


def test_hypotheses_from_stdin() -> None:
    from_file = eval_json(EN_SYS_B, "-r", EN_REF)
    data = EN_SYS_B.read_bytes()
    for argv in (["-r", str(EN_REF)], ["-", "-r", str(EN_REF)]):
        doc = eval_json(*argv, stdin=data)
        assert doc["systems"][0]["name"] == "<stdin>"
        assert doc["systems"][0]["scores"] == from_file["systems"][0]["scores"]


def test_stdin_with_bom_and_crlf_scores_like_the_file() -> None:
    from_file = eval_json(EN_SYS_B, "-r", EN_REF, "-m", "bleu,chrf,rouge1")
    crlf = b"\xef\xbb\xbf" + EN_SYS_B.read_bytes().replace(b"\n", b"\r\n")
    doc = eval_json("-r", EN_REF, "-m", "bleu,chrf,rouge1", stdin=crlf)
    assert doc["systems"][0]["scores"] == from_file["systems"][0]["scores"]


def test_stdin_as_one_of_several_systems() -> None:
    doc = eval_json(EN_SYS_A, "-", "-r", EN_REF, "-m", "bleu", stdin=EN_SYS_C.read_bytes())
    assert [s["name"] for s in doc["systems"]] == [str(EN_SYS_A), "<stdin>"]
    hyps = read_lines(EN_SYS_C)
    assert scores(doc, 1)["BLEU"]["score"] == BLEU().corpus_score(hyps, [read_lines(EN_REF)]).score


def test_clirunner_with_and_without_environment() -> None:
    expected = cli("eval", EN_SYS_A, "-r", EN_REF).stdout
    env = make_env()
    invoked = CliRunner().invoke(app, ["eval", str(EN_SYS_A), "-r", str(EN_REF)], obj=env)
    assert invoked.exit_code == 0
    assert env.stdout.getvalue() == expected  # type: ignore[attr-defined]
    assert invoked.stdout == ""
    plain = CliRunner().invoke(app, ["eval", str(EN_SYS_A), "-r", str(EN_REF)])
    assert plain.exit_code == 0 and plain.stdout == expected
    piped = CliRunner().invoke(app, ["eval", "-r", str(EN_REF)], input=EN_SYS_A.read_bytes())
    assert piped.exit_code == 0
    assert piped.stdout == expected.replace(str(EN_SYS_A), "<stdin>")


# --- JSON Lines input --------------------------------------------------------------------


def test_jsonl_string_and_list_references(tmp_path: Path) -> None:
    hyps, refs1, refs2 = (read_lines(p) for p in (EN_SYS_B, EN_REF, EN_REF2))
    single = write_jsonl(
        tmp_path / "single.jsonl",
        [{"prediction": h, "reference": r} for h, r in zip(hyps, refs1, strict=True)],
    )
    double = write_jsonl(
        tmp_path / "double.jsonl",
        [
            {"out": h, "gold": [r, s], "id": i}
            for i, (h, r, s) in enumerate(zip(hyps, refs1, refs2, strict=True))
        ],
    )
    metrics = ("-m", "bleu,chrf,ter,rouge", "--segments")
    as_text1 = eval_json(EN_SYS_B, "-r", EN_REF, *metrics)
    as_text2 = eval_json(EN_SYS_B, *ref_args(EN_REF, EN_REF2), *metrics)
    as_jsonl1 = eval_json("--jsonl", single, *metrics)
    as_jsonl2 = eval_json("--jsonl", double, "--pred-field", "out", "--ref-field", "gold", *metrics)
    assert as_jsonl1["references"] == 1 and as_jsonl2["references"] == 2
    for jsonl, text in ((as_jsonl1, as_text1), (as_jsonl2, as_text2)):
        for key in ("scores", "segment_scores"):
            assert jsonl["systems"][0][key] == text["systems"][0][key]


def test_jsonl_variable_reference_counts(tmp_path: Path) -> None:
    hyps, refs1, refs2 = (read_lines(p) for p in (EN_SYS_B, EN_REF, EN_REF2))
    per_segment = [
        [r, s] if i % 3 == 0 else [r] for i, (r, s) in enumerate(zip(refs1, refs2, strict=True))
    ]
    path = write_jsonl(
        tmp_path / "var.jsonl",
        [
            {"prediction": h, "reference": refs if len(refs) > 1 else refs[0]}
            for h, refs in zip(hyps, per_segment, strict=True)
        ],
    )
    doc = eval_json("--jsonl", path, "-m", "bleu,rouge1", "--segments")
    assert doc["references"] == "var"
    streams = [refs1, [s[1] if len(s) > 1 else None for s in per_segment]]
    bleu = BLEU()
    expected = bleu.corpus_score(hyps, streams)
    assert scores(doc)["BLEU"]["score"] == expected.score
    assert scores(doc)["BLEU"]["signature"] == bleu.get_signature().format()
    assert "nrefs:var" in scores(doc)["rouge1"]["signature"]
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1"])
    want = [
        (scorer.score(r[0], h) if len(r) == 1 else scorer.score_multi(r, h))["rouge1"].fmeasure
        for h, r in zip(hyps, per_segment, strict=True)
    ]
    assert doc["systems"][0]["segment_scores"]["rouge1"] == want


def test_jsonl_systems_from_files_and_stdin(tmp_path: Path) -> None:
    refs = read_lines(EN_REF)
    paths = []
    for name in (EN_SYS_A, EN_SYS_C):
        records = [
            {"prediction": h, "reference": r} for h, r in zip(read_lines(name), refs, strict=True)
        ]
        paths.append(write_jsonl(tmp_path / f"{name.stem}.jsonl", records))
    (tmp_path / "blanks.jsonl").write_text(paths[0].read_text().replace("\n", "\n\n"))
    doc = eval_json("--jsonl", tmp_path / "blanks.jsonl", paths[1], "-m", "bleu")
    text = eval_json(EN_SYS_A, EN_SYS_C, "-r", EN_REF, "-m", "bleu")
    assert [s["scores"] for s in doc["systems"]] == [s["scores"] for s in text["systems"]]
    piped = eval_json("--jsonl", "-m", "bleu", stdin=paths[1].read_bytes())
    assert piped["systems"][0]["name"] == "<stdin>"
    assert piped["systems"][0]["scores"] == text["systems"][1]["scores"]


# --- encodings ---------------------------------------------------------------------------


def test_encoding_option_reads_legacy_files(tmp_path: Path) -> None:
    hyp, ref = tmp_path / "hyp.latin1", tmp_path / "ref.latin1"
    hyp.write_bytes(DE_HYP.read_text("utf-8").encode("latin-1"))
    ref.write_bytes(DE_REF.read_text("utf-8").encode("latin-1"))
    as_utf8 = eval_json(DE_HYP, "-r", DE_REF, "-m", "bleu,chrf,ter")
    as_latin1 = eval_json(hyp, "-r", ref, "-m", "bleu,chrf,ter", "--encoding", "latin-1")
    assert as_latin1["systems"][0]["scores"] == as_utf8["systems"][0]["scores"]
    # and without the option the bytes are not UTF-8
    invoked = CliRunner().invoke(app, ["eval", str(hyp), "-r", str(ref)])
    assert_error(CliResult(invoked.exit_code, invoked.stdout, invoked.stderr), 2, "invalid utf-8")


@pytest.mark.parametrize(("errors", "expected"), [("replace", "caf\ufffd"), ("ignore", "caf")])
def test_errors_option(tmp_path: Path, errors: str, expected: str) -> None:
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes(b"caf\xe9\nsecond line here\n")
    ref = write_lines(tmp_path / "ref.txt", ["cafe", "second line here"])
    doc = eval_json(hyp, "-r", ref, "-m", "chrf", "--errors", errors, "--worst", "1")
    assert doc["worst"]["segments"][0]["hypothesis"] == expected


# --- metric selection --------------------------------------------------------------------


def test_metric_selection_and_defaults() -> None:
    assert eval_json(EN_SYS_A, "-r", EN_REF)["metrics"] == ["BLEU", "chrF2", "TER"]
    doc = eval_json(EN_SYS_A, "-r", EN_REF, "-m", "ter", "-m", "bleu,chrf++,ter", "-m", "rouge")
    assert doc["metrics"] == ["TER", "BLEU", "chrF2++", *ROUGE_TYPES]
    assert eval_json(EN_SYS_A, "-r", EN_REF, "-m", "chrfpp")["metrics"] == ["chrF2++"]


def test_lowercase_applies_to_bleu_only() -> None:
    args = (EN_SYS_B, "-r", EN_REF, "-m", "bleu,chrf,ter,rouge1")
    cased, lowered = eval_json(*args), eval_json(*args, "--lowercase")
    assert scores(cased)["BLEU"]["score"] != scores(lowered)["BLEU"]["score"]
    assert "case:lc" in scores(lowered)["BLEU"]["signature"]
    for name in ("chrF2", "TER", "rouge1"):
        assert scores(cased)[name] == scores(lowered)[name]
    chrf_lowered = eval_json(*args, "--chrf-lowercase")
    assert scores(cased)["chrF2"]["score"] != scores(chrf_lowered)["chrF2"]["score"]
    assert "case:lc" in scores(chrf_lowered)["chrF2"]["signature"]
    assert scores(cased)["BLEU"] == scores(chrf_lowered)["BLEU"]


# --- help, version and imports -----------------------------------------------------------


def test_no_arguments_prints_help() -> None:
    result = cli()
    assert result.code == 2
    assert "eval" in result.stdout and result.stderr == ""


def test_version_goes_to_the_environment() -> None:
    env = make_env()
    assert run(["--version"], env) == 0
    assert env.stdout.getvalue() == f"llmcli {llmcli.__version__}\n"  # type: ignore[attr-defined]


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    # click prints help through its own handle on the process stdout, not the Environment.
    assert run(["eval", "--help"], make_env()) == 0
    text = capsys.readouterr().out
    for option in ("--ref", "--metric", "--paired-bs", "--rouge-engine", "--output", "--worst"):
        assert option in text


def _imported_modules(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "llmcli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    return proc, modules


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["eval", str(EN_SYS_A), str(EN_SYS_B), "-r", str(EN_REF), "-m", "bleu,chrf,ter,rouge",
         "--paired-ar", "--ar-trials", "50", "--confidence", "--bootstrap-samples", "50"],
    ],
    ids=["help", "eval"],
)  # fmt: skip
def test_no_torch_or_transformers_import(argv: list[str]) -> None:
    proc, modules = _imported_modules(argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "llmcli" in modules  # the profile did record our imports
    assert "typer" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in {"torch", "transformers"})
    assert heavy == []
    for line in proc.stderr.splitlines():
        assert "torch" not in line and "transformers" not in line
    if argv[0] == "eval":
        assert len(proc.stdout.splitlines()) == 2 * 7  # 2 systems x 7 metrics
