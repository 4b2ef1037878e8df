"""``summarize`` and ``ask`` with a sentence embedder, through the CLI (in-process).

The reader is the tiny random Llama, the embedder the tiny random BertModel
(tests/tiny_models.py), both given as folders: ``-M DIR --embedder DIR``. Shapes and
exit codes only; the outputs are gibberish.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from eval_support import assert_error, cli

DOC = (
    "Annual Report\n"
    "\n"
    "The library opened in March after two years of building work. It cost 6.2 million "
    "euros, paid by the city and a private donor.\n"
    "The reading room has space for 120 people and stays open until ten in the evening.\n"
    "\n"
    "Visitors borrowed more than 2,000 books in the first month. The staff plan a series "
    "of talks for children in the summer.\n"
)
SENTENCES = [
    "The library opened in March after two years of building work.",
    "It cost 6.2 million euros, paid by the city and a private donor.",
    "The reading room has space for 120 people and stays open until ten in the evening.",
    "Visitors borrowed more than 2,000 books in the first month.",
    "The staff plan a series of talks for children in the summer.",
]
# The tiny Llama's 256-token context leaves too little room for the default 128.
SHORT = ("--max-length", "24")


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture
def offline(tmp_path: Path) -> dict[str, str]:
    return {"HF_HUB_OFFLINE": "1", "LLMCLI_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}


@pytest.fixture
def doc(tmp_path: Path) -> str:
    path = tmp_path / "report.txt"
    path.write_text(DOC, "utf-8")
    return str(path)


@pytest.fixture
def llama(tiny_model_dirs: dict[str, Path]) -> str:
    return str(tiny_model_dirs["llama"])


@pytest.fixture
def bert(tiny_model_dirs: dict[str, Path]) -> str:
    return str(tiny_model_dirs["bert_embedder"])


def check_sentence(entry: dict[str, Any], doc: str) -> None:
    assert DOC[entry["start"] : entry["end"]] == entry["text"]
    line = 1 + DOC.count("\n", 0, entry["start"])
    col = entry["start"] - (DOC.rfind("\n", 0, entry["start"]) + 1) + 1
    assert entry["location"] == f"{doc}:{line}:{col}"


# --- summarize ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", [None, "extractive", "abstractive", "EXTRACTIVE"])
def test_summarize_json_has_method_and_sentences(
    doc: str, llama: str, bert: str, offline: dict[str, str], method: str | None
) -> None:
    args = ["summarize", doc, "-M", llama, "--embedder", bert, "--json", *SHORT]
    if method is not None:
        args += ["--method", method]
    result = cli(*args, variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    # A model folder is not a built-in model: abstractive unless asked otherwise.
    assert record["method"] == (method or "abstractive").lower()
    assert isinstance(record["sentences"], list)
    for entry in record["sentences"]:
        assert isinstance(entry["supported"], bool) and entry["support"]
        for support in entry["support"]:
            check_sentence({"text": DOC[support["start"] : support["end"]], **support}, doc)
    if record["method"] == "extractive":
        assert record["sentences"]
        for entry in record["sentences"]:
            check_sentence(entry, doc)
    assert record["language"]["code"] == "en"
    settings = record["run"]["settings"]
    assert settings["method"] == record["method"] and settings["ratio"] == 0.2


def test_summarize_extractive_plain_output(
    doc: str, llama: str, bert: str, offline: dict[str, str]
) -> None:
    args = ["summarize", doc, "-M", llama, "--embedder", bert, "--method", "extractive"]
    result = cli(*args, "--sentences", "2", *SHORT, variables=offline)
    assert result.code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    # Two sentences of the text, in its order, joined by a space.
    assert line in {f"{a} {b}" for a, b in itertools.combinations(SENTENCES, 2)}


def test_summarize_ratio_and_strict_reach_the_task(
    doc: str, llama: str, bert: str, offline: dict[str, str]
) -> None:
    args = ["summarize", doc, "-M", llama, "--embedder", bert, "--json", *SHORT]
    result = cli(*args, "--method", "extractive", "--ratio", "1", variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert len(record["sentences"]) == record["input_sentences"] == 5
    result = cli(*args, "--strict", variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["run"]["settings"]["strict"] is True
    assert all(s["supported"] for s in record["sentences"])


def test_embedder_from_the_environment(
    doc: str, llama: str, bert: str, offline: dict[str, str]
) -> None:
    variables = {**offline, "LLMCLI_MODEL_EMBED": bert}
    args = ["summarize", doc, "-M", llama, "--method", "extractive", "--json", *SHORT]
    result = cli(*args, variables=variables)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["sentences"]


def test_summarize_bogus_method(doc: str, llama: str, bert: str, offline: dict[str, str]) -> None:
    args = ["summarize", doc, "-M", llama, "--embedder", bert, "--method", "bogus", *SHORT]
    assert_error(cli(*args, variables=offline), 2, "bogus")


@pytest.mark.parametrize("ratio", ["0", "1.5", "-1"])
def test_summarize_bad_ratio(
    doc: str, llama: str, bert: str, offline: dict[str, str], ratio: str
) -> None:
    args = ["summarize", doc, "-M", llama, "--embedder", bert, "--ratio", ratio, *SHORT]
    assert_error(cli(*args, variables=offline), 2, "ratio")


def test_an_embedder_that_is_not_one(doc: str, llama: str, offline: dict[str, str]) -> None:
    args = ["summarize", doc, "-M", llama, "--embedder", llama, "--method", "extractive", *SHORT]
    assert_error(cli(*args, variables=offline), 2, "not a sentence embedder")


def test_a_missing_embedder_exits_3(
    doc: str, llama: str, offline: dict[str, str], tmp_path: Path
) -> None:
    missing = f"{tmp_path / 'no-such-embedder'}/"
    args = ["summarize", doc, "-M", llama, "--embedder", missing, "--method", "extractive"]
    assert_error(cli(*args, *SHORT, variables=offline), 3, "no-such-embedder")


# --- ask ------------------------------------------------------------------------------------


def test_ask_json_has_evidence(doc: str, llama: str, bert: str, offline: dict[str, str]) -> None:
    args = ["ask", "How much did it cost?", doc, "-M", llama, "--embedder", bert, "--json"]
    result = cli(*args, "--max-answer-tokens", "6", variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["evidence"]
    for passage in record["evidence"]:
        check_sentence(passage, doc)
    assert isinstance(record["answerable"], bool)
    if record.get("start") is not None:
        assert DOC[record["start"] : record["end"]] == record["answer"]
        assert any(
            p["start"] <= record["start"] < record["end"] <= p["end"] for p in record["evidence"]
        )
    assert record["run"]["settings"]["retrieve"] == 4


def test_ask_top_k(doc: str, llama: str, bert: str, offline: dict[str, str]) -> None:
    args = ["ask", "How much did it cost?", doc, "-M", llama, "--embedder", bert, "--json"]
    result = cli(*args, "--top-k", "1", "--max-answer-tokens", "4", variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["run"]["settings"]["retrieve"] == 1
    assert len(record["evidence"]) == 1
    # --top-k 0: the whole text is read; no embedder needed, not even a valid one.
    args = ["ask", "How much did it cost?", doc, "-M", llama, "--embedder", "/no/such/dir/"]
    result = cli(*args, "--json", "--top-k", "0", "--max-answer-tokens", "4", variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert "evidence" not in record


@pytest.mark.parametrize("value", ["-1", "many"])
def test_ask_bad_top_k(
    doc: str, llama: str, bert: str, offline: dict[str, str], value: str
) -> None:
    args = ["ask", "How much did it cost?", doc, "-M", llama, "--embedder", bert]
    assert_error(cli(*args, "--top-k", value, variables=offline), 2, "--top-k")


def test_ask_extractive_qa_needs_no_embedder(
    doc: str, tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    qa = str(tiny_model_dirs["distilbert_qa"])
    args = ["ask", "How much did it cost?", doc, "-M", qa, "--embedder", "/no/such/dir/"]
    result = cli(*args, "--json", variables=offline)
    assert result.code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert "evidence" not in record and record["method"] == "extractive"
