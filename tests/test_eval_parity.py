"""``llmcli eval`` where sacrebleu users compare numbers: its CLI semantics and options.

Expected values come from sacrebleu (its API, or its own CLI run as a process) and
rouge-score, called here on the same text; nothing is copied from llmcli's output.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

from eval_support import (
    EN_REF,
    EN_REF2,
    EN_SYS_A,
    EN_SYS_B,
    EN_SYS_C,
    assert_error,
    cli,
    eval_json,
    make_env,
    read_lines,
    ref_streams,
    scores,
    write_lines,
)
from llmcli.evaluation import evaluate as evaluation
from llmcli.evaluation.data import load_parallel

CASED_HYP = ["The Quick Brown Fox Jumps", "Over The Lazy Dog"]
CASED_REF = ["the quick brown fox jumps", "over the lazy dog"]


def sacrebleu_cli(*args: str | os.PathLike[str]) -> str:
    """stdout of sacrebleu's own command line (``python -m sacrebleu ARGS``)."""
    env = {k: v for k, v in os.environ.items() if k != "SACREBLEU_FORMAT"}
    proc = subprocess.run(
        [sys.executable, "-m", "sacrebleu", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def score_only(*args: str | os.PathLike[str]) -> str:
    """``llmcli eval ARGS -b``: stdout, which must succeed."""
    result = cli("eval", *args, "-b")
    assert result.code == 0, result.stderr
    return result.stdout


# --- 1. trailing whitespace ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "options"),
    [("chrf", ["--chrf-whitespace"]), ("chrf", []), ("bleu", []), ("ter", [])],
)
def test_trailing_whitespace_is_stripped_as_sacrebleu_does(
    tmp_path: Path, metric: str, options: list[str]
) -> None:
    hyp_lines = [line + ("  " if i % 2 else " \t ") for i, line in enumerate(read_lines(EN_SYS_B))]
    ref_lines = [line + " " for line in read_lines(EN_REF)]
    hyp = write_lines(tmp_path / "hyp.txt", hyp_lines)
    ref = write_lines(tmp_path / "ref.txt", ref_lines)
    ours = score_only(hyp, "-r", ref, "-m", metric, *options, "-w", "6")
    assert ours == sacrebleu_cli(ref, "-i", hyp, "-m", metric, *options, "-b", "-w", "6")


def test_trailing_whitespace_changes_chrf_with_whitespace(tmp_path: Path) -> None:
    """The case of the issue: spaces at the end of a hypothesis cost nothing."""
    hyp = write_lines(tmp_path / "hyp.txt", [line + "   " for line in read_lines(EN_REF)])
    doc = eval_json(hyp, "-r", EN_REF, "-m", "chrf", "--chrf-whitespace")
    refs = ref_streams(EN_REF)
    stripped = CHRF(whitespace=True).corpus_score(read_lines(EN_REF), refs).score
    kept = CHRF(whitespace=True).corpus_score(read_lines(hyp), refs).score
    assert scores(doc)["chrF2"]["score"] == stripped
    assert kept < stripped  # what llmcli printed before


# --- 2. -lc is BLEU's; chrF has --chrf-lowercase -------------------------------------------


def test_lowercase_is_bleus_only(tmp_path: Path) -> None:
    hyp = write_lines(tmp_path / "hyp.txt", CASED_HYP)
    ref = write_lines(tmp_path / "ref.txt", CASED_REF)
    doc = eval_json(hyp, "-r", ref, "-lc", "-m", "bleu", "-m", "chrf")
    bleu, chrf = BLEU(lowercase=True), CHRF()
    assert scores(doc)["BLEU"]["score"] == bleu.corpus_score(CASED_HYP, [CASED_REF]).score
    assert scores(doc)["chrF2"]["score"] == chrf.corpus_score(CASED_HYP, [CASED_REF]).score
    assert scores(doc)["chrF2"]["signature"] == chrf.get_signature().format()
    assert scores(doc)["chrF2"]["score"] < 100
    for metric in ("bleu", "chrf"):
        ours = score_only(hyp, "-r", ref, "-lc", "-m", metric, "-w", "4")
        assert ours == sacrebleu_cli(ref, "-i", hyp, "-lc", "-m", metric, "-b", "-w", "4")


def test_chrf_lowercase(tmp_path: Path) -> None:
    hyp = write_lines(tmp_path / "hyp.txt", CASED_HYP)
    ref = write_lines(tmp_path / "ref.txt", CASED_REF)
    doc = eval_json(hyp, "-r", ref, "-m", "chrf,bleu", "--chrf-lowercase")
    chrf = CHRF(lowercase=True)
    assert scores(doc)["chrF2"]["score"] == chrf.corpus_score(CASED_HYP, [CASED_REF]).score
    assert scores(doc)["chrF2"]["signature"] == chrf.get_signature().format()
    assert scores(doc)["BLEU"]["score"] == BLEU().corpus_score(CASED_HYP, [CASED_REF]).score
    ours = score_only(hyp, "-r", ref, "-m", "chrf", "--chrf-lowercase", "-w", "4")
    assert ours == sacrebleu_cli(ref, "-i", hyp, "-m", "chrf", "--chrf-lowercase", "-b", "-w", "4")


# --- 3. the options sacrebleu users type -----------------------------------------------------


def test_chrf_eps_smoothing(tmp_path: Path) -> None:
    hyp = write_lines(tmp_path / "hyp.txt", ["aa"])
    ref = write_lines(tmp_path / "ref.txt", ["ab"])
    doc = eval_json(hyp, "-r", ref, "-m", "chrf", "--chrf-eps-smoothing", "--segments")
    metric = CHRF(eps_smoothing=True)
    expected = metric.corpus_score(["aa"], [["ab"]])
    entry = scores(doc)["chrF2"]
    assert entry["score"] == expected.score
    assert entry["signature"] == metric.get_signature().format()
    assert "eff:no" in entry["signature"]
    assert entry["score"] != CHRF().corpus_score(["aa"], [["ab"]]).score
    assert doc["systems"][0]["segment_scores"]["chrF2"] == [
        CHRF(eps_smoothing=True).sentence_score("aa", ["ab"]).score
    ]
    ours = score_only(hyp, "-r", ref, "-m", "chrf", "--chrf-eps-smoothing", "-w", "4")
    assert ours == sacrebleu_cli(
        ref, "-i", hyp, "-m", "chrf", "--chrf-eps-smoothing", "-b", "-w", "4"
    )


@pytest.mark.parametrize("metric", ["bleu", "chrf", "ter"])
def test_num_refs_reads_tab_separated_references(tmp_path: Path, metric: str) -> None:
    both = [f"{a}\t{b}" for a, b in zip(read_lines(EN_REF), read_lines(EN_REF2), strict=True)]
    ref = write_lines(tmp_path / "refs.tsv", both)
    ours = score_only(EN_SYS_B, "-r", ref, "-nr", "2", "-m", metric, "-w", "6")
    assert ours == sacrebleu_cli(ref, "-i", EN_SYS_B, "-nr", "2", "-m", metric, "-b", "-w", "6")
    two_files = eval_json(EN_SYS_B, "-r", EN_REF, "-r", EN_REF2, "-m", metric)
    one_file = eval_json(EN_SYS_B, "-r", ref, "--num-refs", "2", "-m", metric)
    assert one_file["references"] == 2
    assert scores(one_file) == scores(two_files)


def test_num_refs_errors(tmp_path: Path) -> None:
    ref = write_lines(tmp_path / "refs.tsv", ["a\tb", "only one"])
    hyp = write_lines(tmp_path / "hyp.txt", ["a", "b"])
    assert_error(cli("eval", hyp, "-r", ref, "-nr", "2"), 2, "refs.tsv:2", "expected 2")
    assert_error(cli("eval", hyp, "-r", ref, "-r", ref, "-nr", "2"), 2, "one --ref")
    assert_error(cli("eval", hyp, "-r", ref, "-nr", "0"), 2, "--num-refs")


@pytest.mark.parametrize("width", ["0", "1", "3"])
def test_width_and_score_only(width: str) -> None:
    expected = BLEU().corpus_score(read_lines(EN_SYS_A), ref_streams(EN_REF)).score
    assert score_only(EN_SYS_A, "-r", EN_REF, "-m", "bleu", "-w", width) == sacrebleu_cli(
        EN_REF, "-i", EN_SYS_A, "-m", "bleu", "-b", "-w", width
    )
    text = cli("eval", EN_SYS_A, EN_SYS_B, "-r", EN_REF, "-m", "bleu", "-w", width).stdout
    first = text.splitlines()[0].split("\t")
    assert first[2] == f"{expected:.{int(width)}f}"
    lines = score_only(EN_SYS_A, EN_SYS_B, "-r", EN_REF, "-m", "bleu,chrf", "-w", width)
    assert len(lines.splitlines()) == 4


def test_score_only_without_width_prints_the_full_score() -> None:
    expected = BLEU().corpus_score(read_lines(EN_SYS_A), ref_streams(EN_REF)).score
    assert score_only(EN_SYS_A, "-r", EN_REF, "-m", "bleu") == f"{expected!r}\n"


def test_short_signatures_are_sacrebleus() -> None:
    doc = eval_json(EN_SYS_A, "-r", EN_REF, "-m", "bleu,chrf,ter,rouge1", "--short", "--confidence")
    hyps, refs = read_lines(EN_SYS_A), ref_streams(EN_REF)
    for cls, name in ((BLEU, "BLEU"), (CHRF, "chrF2"), (TER, "TER")):
        metric = cls()
        metric.corpus_score(hyps, refs)
        signature = metric.get_signature()
        signature.update("bs", "1000")
        signature.update("seed", "12345")
        assert scores(doc)[name]["signature"] == signature.format(short=True)
    rouge = scores(doc)["rouge1"]["signature"]
    assert rouge.startswith("#:1|") and "|rs:12345|" in rouge and "|v:llmcli-" in rouge


def test_latex_table() -> None:
    systems = (EN_SYS_A, EN_SYS_B, EN_SYS_C)
    result = cli("eval", *systems, "-r", EN_REF, "-m", "bleu,chrf", "-f", "latex", "-w", "1")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "\\begin{tabular}{lrr}"
    assert lines[2] == "System & BLEU & chrF2 \\\\"
    refs = ref_streams(EN_REF)
    for path, line in zip(systems, lines[4:7], strict=True):
        hyps = read_lines(path)
        bleu = BLEU().corpus_score(hyps, refs).score
        chrf = CHRF().corpus_score(hyps, refs).score
        name = str(path).replace("_", "\\_")
        assert line == f"{name} & {bleu:.1f} & {chrf:.1f} \\\\"
    assert "\\end{tabular}" in lines


def test_format_json_is_json_and_conflicts_are_usage_errors() -> None:
    args = (EN_SYS_A, "-r", EN_REF, "-m", "bleu")
    assert cli("eval", *args, "-f", "json").stdout == cli("eval", *args, "--json").stdout
    assert_error(cli("eval", *args, "--json", "-f", "latex"), 2, "--json")
    assert_error(cli("eval", *args, "-b", "--json"), 2, "--score-only")
    assert_error(cli("eval", *args, "-f", "html"), 2, "text, json, latex")


# --- 4. a missing MeCab ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokenizer", "module", "extra"),
    [("ja-mecab", "MeCab", "sacrebleu[ja]"), ("ko-mecab", "mecab_ko", "sacrebleu[ko]")],
)
def test_missing_mecab_says_what_to_install(tokenizer: str, module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    result = cli("eval", EN_SYS_A, "-r", EN_REF, "-m", "bleu", "-tok", tokenizer)
    assert_error(result, 3, tokenizer, f"pip install {extra}")


# --- 5. the same system twice in a paired test ------------------------------------------------


@pytest.mark.parametrize("test", ["--paired-bs", "--paired-ar"])
def test_same_system_twice_in_a_paired_test_is_refused(test: str) -> None:
    same = Path(os.path.relpath(EN_SYS_B)).as_posix()
    for pair in ((EN_SYS_B, EN_SYS_B), (EN_SYS_A, EN_SYS_B, f"./{same}")):
        result = cli("eval", *pair, "-r", EN_REF, "-m", "bleu", test, "--ar-trials", "10")
        assert_error(result, 2, "given twice", "with itself")


def test_same_file_twice_without_a_test_is_scored_twice() -> None:
    doc = eval_json(EN_SYS_B, EN_SYS_B, "-r", EN_REF, "-m", "bleu")
    assert scores(doc, 0) == scores(doc, 1)


# --- 6. a byte-order mark ------------------------------------------------------------------


def test_bom_is_dropped_with_one_warning_naming_the_file(tmp_path: Path) -> None:
    hyp = tmp_path / "bom.txt"
    hyp.write_bytes(b"\xef\xbb\xbf" + EN_SYS_B.read_bytes())
    result = cli("eval", hyp, "-r", EN_REF, "-m", "bleu,chrf", "--json")
    assert result.code == 0
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1 and str(hyp) in warnings[0] and "byte-order mark" in warnings[0]
    doc = result.json()
    hyps, refs = read_lines(EN_SYS_B), ref_streams(EN_REF)
    assert scores(doc)["chrF2"]["score"] == CHRF().corpus_score(hyps, refs).score
    quiet = cli("eval", hyp, "-r", EN_REF, "-m", "bleu", "-q")
    assert quiet.code == 0 and quiet.stderr == ""
    plain = cli("eval", EN_SYS_B, "-r", EN_REF, "-m", "bleu")
    assert plain.stderr == ""


def test_bom_on_stdin_is_reported_too() -> None:
    result = cli("eval", "-r", EN_REF, "-m", "bleu", stdin=b"\xef\xbb\xbf" + EN_SYS_B.read_bytes())
    assert result.code == 0
    assert "<stdin>" in result.stderr and "byte-order mark" in result.stderr


# --- 7. sentence-level signatures -----------------------------------------------------------


def test_segment_signatures_are_sentence_levels() -> None:
    doc = eval_json(EN_SYS_A, "-r", EN_REF, "-m", "bleu,chrf", "--segments")
    hyps, refs = read_lines(EN_SYS_A), ref_streams(EN_REF)
    for cls, kwargs, name in ((BLEU, {"effective_order": True}, "BLEU"), (CHRF, {}, "chrF2")):
        sentence = cls(**kwargs)
        sentence.sentence_score(hyps[0], [refs[0][0]])
        assert scores(doc)[name]["segment_signature"] == sentence.get_signature().format()
    assert "eff:yes" in scores(doc)["BLEU"]["segment_signature"]
    assert "eff:no" in scores(doc)["BLEU"]["signature"]
    assert "segment_signature" not in scores(eval_json(EN_SYS_A, "-r", EN_REF))["BLEU"]


# --- 8. bootstrap means ----------------------------------------------------------------------


@pytest.mark.parametrize(("flag", "cls", "name"), [("chrf", CHRF, "chrF2"), ("ter", TER, "TER"),
                                                    ("bleu", BLEU, "BLEU")])  # fmt: skip
def test_confidence_mean_equals_sacrebleus_exactly(
    sacrebleu_seed: int, flag: str, cls: type, name: str
) -> None:
    expected = cls().corpus_score(read_lines(EN_SYS_B), ref_streams(EN_REF), n_bootstrap=1000)
    interval = scores(eval_json(EN_SYS_B, "-r", EN_REF, "-m", flag, "--confidence"))[name]
    assert interval["interval"]["mean"] == float(expected._mean)
    assert interval["interval"]["ci"] == float(expected._ci)


@pytest.mark.parametrize(("flag", "cls", "name"), [("chrf", CHRF, "chrF2"), ("ter", TER, "TER")])
def test_paired_bootstrap_mean_equals_sacrebleus_exactly(
    sacrebleu_seed: int, flag: str, cls: type, name: str
) -> None:
    systems = (EN_SYS_A, EN_SYS_B)
    named = [(p.name, read_lines(p)) for p in systems]
    _, results = PairedTest(named, {name: cls()}, ref_streams(EN_REF), test_type="bs")()
    doc = eval_json(*systems, "-r", EN_REF, "-m", flag, "--paired-bs")
    entry = scores(doc, 1)[name]
    assert entry["interval"]["mean"] == float(results[name][1].mean)
    assert entry["interval"]["ci"] == float(results[name][1].ci)
    assert entry["p_value"] == results[name][1].p_value


# --- 9. references processed once per metric ---------------------------------------------------


@pytest.mark.parametrize("cls", [BLEU, CHRF, TER])
def test_references_are_processed_once_for_all_systems(
    monkeypatch: pytest.MonkeyPatch, cls: type
) -> None:
    calls: list[int] = []
    original = cls._extract_reference_info

    def counting(self: Any, refs: Any) -> Any:
        calls.append(1)
        return original(self, refs)

    monkeypatch.setattr(cls, "_extract_reference_info", counting)
    flag = {BLEU: "bleu", CHRF: "chrf", TER: "ter"}[cls]
    systems = (EN_SYS_A, EN_SYS_B, EN_SYS_C)
    doc = eval_json(*systems, "-r", EN_REF, "-m", flag)
    segments = len(read_lines(EN_REF))
    assert len(calls) == segments  # once per segment, not once per segment and system
    monkeypatch.undo()
    for i, path in enumerate(systems):
        expected = cls().corpus_score(read_lines(path), ref_streams(EN_REF)).score
        assert doc["systems"][i]["scores"][0]["score"] == expected


# --- 10. ROUGE reach ---------------------------------------------------------------------------


def test_rouge3_to_rouge9_and_segment_precision_recall() -> None:
    types = [f"rouge{n}" for n in range(3, 10)]
    doc = eval_json(EN_SYS_A, "-r", EN_REF, "-m", ",".join(types), "--segments")
    scorer = rouge_scorer.RougeScorer(types)
    pairs = zip(read_lines(EN_SYS_A), read_lines(EN_REF), strict=True)
    expected = [scorer.score(r, h) for h, r in pairs]
    details = doc["systems"][0]["segment_details"]
    assert doc["metrics"] == types
    for rouge_type in types:
        for part in ("precision", "recall", "fmeasure"):
            want = [getattr(e[rouge_type], part) for e in expected]
            assert details[rouge_type][part] == want
        assert doc["systems"][0]["segment_scores"][rouge_type] == details[rouge_type]["fmeasure"]
    assert any(f > 0 for f in details["rouge3"]["fmeasure"])


def test_rouge_sentence_separator(tmp_path: Path) -> None:
    hyps = ["the cat sat on the mat <n> it was happy", "a dog barked <n> then it slept <n> ok"]
    refs = ["it was happy <n> the cat sat on the mat", "the dog barked loudly <n> it slept"]
    hyp = write_lines(tmp_path / "hyp.txt", hyps)
    ref = write_lines(tmp_path / "ref.txt", refs)
    types = ["rouge1", "rougeL", "rougeLsum"]
    doc = eval_json(hyp, "-r", ref, "-m", ",".join(types), "--segments",
                    "--rouge-sentence-sep", "<n>")  # fmt: skip
    scorer = rouge_scorer.RougeScorer(types)
    expected = [
        scorer.score(r.replace("<n>", "\n"), h.replace("<n>", "\n"))
        for h, r in zip(hyps, refs, strict=True)
    ]
    for rouge_type in types:
        want = [e[rouge_type].fmeasure for e in expected]
        assert doc["systems"][0]["segment_scores"][rouge_type] == want
        assert "sep:<n>" in scores(doc)[rouge_type]["signature"]
    lsum, lcs = (doc["systems"][0]["segment_scores"][t] for t in ("rougeLsum", "rougeL"))
    assert lsum != lcs
    # Without the separator each line is one sentence: rougeLsum is rougeL.
    plain = eval_json(hyp, "-r", ref, "-m", "rougeL,rougeLsum", "--segments")
    plain_scores = plain["systems"][0]["segment_scores"]
    assert plain_scores["rougeLsum"] == plain_scores["rougeL"]


# --- 11. messages --------------------------------------------------------------------------


def test_download_tokenizer_offline_says_a_download_failed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if importlib.util.find_spec("sentencepiece") is None:
        pytest.skip("sentencepiece is not installed")
    from sacrebleu.tokenizers import tokenizer_spm

    def offline(*args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    result = cli("eval", EN_SYS_A, "-r", EN_REF, "-m", "bleu", "-tok", "flores101")
    line = assert_error(result, 3, "flores101", "downloading", "no network", str(tmp_path))
    assert tokenizer_spm.SPM_MODELS["flores101"]["url"] in line


def test_unknown_rouge_tokenizer_lists_the_choices() -> None:
    result = cli("eval", EN_SYS_A, "-r", EN_REF, "-m", "rouge1", "--rouge-tokenizer", "bogus")
    assert_error(result, 2, "'bogus'", "default, unicode, character")


# --- also: progress counts what runs --------------------------------------------------------


def test_progress_counts_expanded_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmcli.output.progress as progress_module

    seen: dict[str, int] = {"total": -1, "advanced": 0}
    original = progress_module.progress

    def recording(env: Any, description: str, total: int | None) -> Any:
        seen["total"] = -1 if total is None else total

        class Task:
            def advance(self, amount: int = 1) -> None:
                seen["advanced"] += amount

        class Context:
            def __enter__(self) -> Task:
                return Task()

            def __exit__(self, *exc: object) -> None:
                return None

        assert original is not None
        return Context()

    monkeypatch.setattr(progress_module, "progress", recording)
    doc = eval_json(EN_SYS_A, EN_SYS_B, "-r", EN_REF, "-m", "rouge", "-m", "bleu")
    assert len(doc["metrics"]) == 5
    assert seen == {"total": 2 * 5, "advanced": 2 * 5}


def test_step_count_equals_the_steps_evaluate_takes() -> None:
    env = make_env()
    data = load_parallel([str(EN_SYS_A), str(EN_SYS_B)], [str(EN_REF)], env)
    request = evaluation.EvalRequest(metrics=("rouge", "chrf++"))
    steps: list[int] = []
    report = evaluation.evaluate(data, request, step=lambda: steps.append(1))
    expected = evaluation.step_count(data, request)
    assert len(steps) == expected == 2 * len(report.metric_names) == 10
