"""The model commands through the CLI, on tiny random-weight models (tests/tiny_models.py).

These check the shared contract, not quality: pipes, line alignment, JSON Lines
pass-through, the run record, chunking being recorded, atomic output and exit codes.
Random weights produce arbitrary text, so assertions are about shape, never content.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from eval_support import assert_error, cli
from llmcli.cli.app import run
from llmcli.environment import Environment

LONG_TEXT = " ".join(
    f"Sentence number {i} talks about the weather in a small town by the sea." for i in range(60)
)


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """Every line of stdout as a JSON object."""
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture
def offline(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> dict[str, str]:
    """Variables for a run that must not touch the network or the user's cache."""
    return {
        "HF_HUB_OFFLINE": "1",
        "LLMCLI_HOME": str(tmp_path / "home"),
        # A tiny local sentence embedder: the built-in one would be fetched from PyPI.
        "LLMCLI_MODEL_EMBED": str(tiny_model_dirs["bert_embedder"]),
    }


def test_summarize_lines_stay_aligned(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    stdin = b"The first line of text.\n\nThe third line, after a blank one.\r\nLast.\n"
    args = ["summarize", "--lines", "--max-length", "5", "--model", tiny_model_dirs["t5"]]
    result = cli(*args, stdin=stdin, variables=offline)
    assert result.code == 0, result.stderr
    lines = result.stdout.split("\n")
    assert len(lines) == 5 and lines[-1] == ""  # four input lines, four output lines
    assert lines[1] == ""  # the blank input line stays blank


def test_jsonl_fields_ride_along(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    records = [
        {"id": "a1", "body": "A short review of a film.", "meta": {"stars": 4}},
        {"id": 7, "body": "Another one, longer and more detailed than the first."},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    model = tiny_model_dirs["distilbert_classifier"]
    args = ["sentiment", "--jsonl", "--field", "body", "--json", "--model", model, source]
    result = cli(*args, variables=offline)
    assert result.code == 0, result.stderr
    out = json_lines(result.stdout)
    assert [o["id"] for o in out] == ["a1", 7]
    assert out[0]["meta"] == {"stars": 4}
    assert all("body" not in o for o in out)  # the text itself is not echoed
    for o in out:
        assert o["label"] in o["scores"]
        assert sum(o["scores"].values()) == pytest.approx(1.0, abs=1e-4)
        run_record = o["run"]
        assert run_record["task"] == "sentiment" and run_record["family"] == "classifier"
        assert run_record["model"] == str(model) and "llmcli" in run_record


def test_long_input_is_chunked_and_recorded(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    args = [
        "summarize",
        "--json",
        "--max-length",
        "4",
        "--max-input-tokens",
        "64",
        "--model",
        tiny_model_dirs["bart"],
    ]
    result = cli(*args, stdin=LONG_TEXT.encode(), variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["chunks"] > 1
    assert record["source"] == "<stdin>" and record["index"] == 0


def test_ask_reports_offsets_and_location(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    context = "Intro line.\nThe treaty was signed by Alice Martin in 1921 in Geneva.\n"
    doc = tmp_path / "contract.txt"
    doc.write_text(context, "utf-8")
    model = tiny_model_dirs["distilbert_qa"]
    result = cli("ask", "Who signed it?", doc, "--json", "--model", model, variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert "answer" in record and "score" in record
    if record.get("start") is not None:
        assert context[record["start"] : record["end"]] == record["answer"]
        assert record["location"].startswith(f"{doc}:")


def test_ask_without_context_says_so(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    env = Environment(
        stdin=io.BytesIO(b""),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin_isatty=True,
        stdout_isatty=False,
        stderr_isatty=False,
        variables=offline,
    )
    args = ["ask", "What is the capital of France?", "--json", "--max-answer-tokens", "4"]
    code = run([*args, "--model", str(tiny_model_dirs["llama"])], env)
    assert code == 0, env.stderr.getvalue()  # type: ignore[attr-defined]
    (record,) = json_lines(env.stdout.getvalue())  # type: ignore[attr-defined]
    assert record["grounded"] is False


def test_translate_lines_with_marian(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    args = [
        "translate",
        "--lines",
        "--to",
        "de",
        "--max-length",
        "6",
        "--model",
        tiny_model_dirs["marian"],
        "-o",
        out,
    ]
    result = cli(*args, stdin=b"Good morning.\nSee you soon.\n", variables=offline)
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert len(out.read_text("utf-8").splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left


def test_missing_model_directory_exits_3(offline: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    missing = tmp_path / "no-such-model"
    result = cli("summarize", "--model", f"{missing}/", "-o", out, stdin=b"text", variables=offline)
    assert_error(result, 3)
    assert not out.exists()


def test_unknown_hub_model_offline_exits_3(offline: dict[str, str]) -> None:
    result = cli("sentiment", "--model", "nobody/no-such-model", stdin=b"hi", variables=offline)
    assert_error(result, 3, "nobody/no-such-model")


def test_partial_model_folder_exits_3(offline: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}', "utf-8")
    result = cli("sentiment", "--model", folder, stdin=b"hi", variables=offline)
    assert_error(result, 3)


def test_lines_and_jsonl_together_is_a_usage_error(offline: dict[str, str]) -> None:
    result = cli("summarize", "--lines", "--jsonl", stdin=b"x", variables=offline)
    assert_error(result, 2, "--lines", "--jsonl")


def test_ask_needs_a_question(offline: dict[str, str]) -> None:
    assert_error(cli("ask", variables=offline), 2, "question")


def test_jsonl_missing_field_names_the_line(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    stdin = b'{"text": "fine"}\n{"other": 1}\n'
    model = tiny_model_dirs["distilbert_classifier"]
    result = cli("sentiment", "--jsonl", "--model", model, stdin=stdin, variables=offline)
    assert result.code == 2
    assert "<stdin>:2: no field 'text'" in result.stderr


def test_models_lists_the_defaults(offline: dict[str, str]) -> None:
    result = cli("models", variables=offline)
    assert result.code == 0, result.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert "summarize" in rows["smollm2"][2] and "translate" in rows["gemma3"][2]
    assert rows["smollm2"][4] == "absent"  # a fresh LLMCLI_HOME has nothing prepared
    as_json = json_lines(cli("models", "--json", variables=offline).stdout)
    assert {"name", "present", "license", "default_for"} <= set(as_json[0])


def test_model_commands_do_not_import_torch_for_help() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "llmcli", "summarize", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    assert " torch" not in proc.stderr and "transformers" not in proc.stderr


def test_missing_models_extra_exits_3(
    offline: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmcli.models import loading

    monkeypatch.setattr(loading, "MODEL_PACKAGES", (*loading.MODEL_PACKAGES, "no_such_pkg_x"))
    result = cli("sentiment", stdin=b"fine", variables=offline)
    assert_error(result, 3, "no_such_pkg_x", "llmcli[models]")
