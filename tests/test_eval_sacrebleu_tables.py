"""sacrebleu's own test tables (2.x ``test/test_bleu.py``, ``test_chrf.py``, ``test_ter.py``),
written out here, run through ``llmcli eval`` and compared with sacrebleu called directly.

Only the cases the command line can express are here: corpus scores of files (and
sentence chrF through ``--segments``), with the options sacrebleu's tests pass. sacrebleu's
expected numbers are not copied: each case is scored by sacrebleu's API on the lines its
own CLI would read (trailing whitespace stripped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER

from eval_support import eval_json, ref_args, scores, write_lines

_REFS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
_HYPS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]

# sacrebleu's raw_corpus_bleu: no tokenization, floor smoothing.
RAW = ["-tok", "none", "--force", "--smooth-method", "floor"]
RAW_KW: dict[str, Any] = {"tokenize": "none", "force": True, "smooth_method": "floor"}
# raw_corpus_bleu(..., 0.01), as sacrebleu's tables call it.
RAW01 = [*RAW, "--smooth-value", "0.01"]
RAW01_KW = {**RAW_KW, "smooth_value": 0.01}

# (id, hypotheses, reference streams, llmcli options, sacrebleu class, its kwargs)
BLEU_CASES: list[tuple[str, list[str], list[list[str]], list[str], dict[str, Any]]] = [
    ("corpus-default", _HYPS, _REFS, [], {}),
    ("corpus-empty-hyps", ["", "", ""], _REFS, [], {}),
    ("corpus-tok-none", _HYPS, _REFS, ["-tok", "none"], {"tokenize": "none"}),
    ("corpus-tok-13a", _HYPS, _REFS, ["-tok", "13a"], {"tokenize": "13a"}),
    ("corpus-tok-intl", _HYPS, _REFS, ["-tok", "intl"], {"tokenize": "intl"}),
    ("corpus-smooth-none", _HYPS, _REFS, ["--smooth-method", "none"], {"smooth_method": "none"}),
    ("raw-1", ["this is a test", "another test"], [["ref1", "ref2"]], RAW01, RAW01_KW),
    ("raw-2", ["this is a test"], [["this is a test"]], RAW01, RAW01_KW),
    ("raw-3", ["this is a fest"], [["this is a test"]], RAW01, RAW01_KW),
    ("effective-order-1", ["test"], [["a test"]], RAW01, RAW01_KW),
    ("effective-order-2", ["a test"], [["a test"]], RAW01, RAW01_KW),
    ("effective-order-3", ["a little test"], [["a test"]], RAW01, RAW01_KW),
    ("offset-0", ["am I am a character sequence"], [["I am a symbol string sequence a a"]],
     [*RAW, "--smooth-value", "0.0"], {**RAW_KW, "smooth_value": 0.0}),
    ("offset-default", ["am I am a character sequence"], [["I am a symbol string sequence a a"]],
     RAW, RAW_KW),
]  # fmt: skip

_RISK_HYP = (
    " risk assessment must be made of those who are qualified and expertise in the sector "
    "- these are the scientists ."
)
_RISK_REF = (
    "risk assessment has to be undertaken by those who are qualified and expert in that "
    "area - that is the scientists ."
)
_OBAMA_HYP = " Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "
_OBAMA_REF = "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."
_MAUER = "Niemand hat die Absicht, eine Mauer zu errichten"

# test_chrf.py's corpus tables: (hypotheses, references); all with beta 3.
CHRF_EPS = [
    (["abcdefg"], ["hijklmnop"]), (["a"], ["b"]), ([""], ["b"]), ([""], ["ref"]),
    ([""], ["reference"]), (["aa"], ["ab"]), (["a", "b"], ["a", "c"]), (["a"], ["a"]),
    (["a b c"], ["a b c"]), (["a b c"], ["abc"]), ([_RISK_HYP], [_RISK_REF]),
    ([_OBAMA_HYP], [_OBAMA_REF]), ([_MAUER], [_MAUER]),
]  # fmt: skip
CHRF_EFFECTIVE_ORDER = [
    (["a"], ["a"]), ([""], ["reference"]), (["a b c"], ["a b c"]), (["a b c"], ["abc"]),
    ([""], ["c"]), (["a", "b"], ["a", "c"]), (["aa"], ["ab"]),
]  # fmt: skip
CHRF_WHITESPACE = [
    (["Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."], [_OBAMA_REF]),
    ([_RISK_HYP.strip()], [_RISK_REF]),
]
CHRF_CASES: list[tuple[str, list[str], list[str], list[str], dict[str, Any]]] = [
    *(
        (f"eps-{i}", h, r, ["--chrf-eps-smoothing"], {"eps_smoothing": True})
        for i, (h, r) in enumerate(CHRF_EPS)
    ),
    *((f"eff-{i}", h, r, [], {}) for i, (h, r) in enumerate(CHRF_EFFECTIVE_ORDER)),
    *(
        (f"whitespace-{i}", h, r, ["--chrf-whitespace"], {"whitespace": True})
        for i, (h, r) in enumerate(CHRF_WHITESPACE)
    ),
]

# test_chrf.py's sentence-level table (default beta, epsilon smoothing).
CHRF_SENTENCES = [
    (
        "Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
        "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.",
    ),
    (
        "Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
        "A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.",
    ),
    (
        "Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
        "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.",
    ),
]

TER_CASES = [
    (["aaaa bbbb cccc dddd"], ["aaaa bbbb cccc dddd"]),
    (["dddd eeee ffff"], ["aaaa bbbb cccc"]),
    ([""], ["a"]),
    (["d e f g h a b c"], ["a b c d e f g h"]),
    (
        ['wählen Sie " Bild neu berechnen , " um beim Ändern der Bildgröße Pixel hinzuzufügen '
         "oder zu entfernen , damit das Bild ungefähr dieselbe Größe aufweist wie die andere "
         "Größe .",
         "Sie können beispielsweise ein Dokument erstellen , das ein Auto über die Bühne "
         "enthält ."],
        ['wählen Sie " Bild neu berechnen , " um beim Ändern der Bildgröße Pixel hinzuzufügen '
         "oder zu entfernen , damit die Darstellung des Bildes in einer anderen Größe "
         "beibehalten wird .",
         "Sie können beispielsweise ein Dokument erstellen , das ein Auto enthalt , das sich "
         "über die Bühne bewegt ."],
    ),
]  # fmt: skip


def _files(tmp_path: Path, hyps: list[str], refs: list[list[str]]) -> tuple[Path, list[Path]]:
    hyp = write_lines(tmp_path / "hyp.txt", hyps)
    return hyp, [write_lines(tmp_path / f"ref{i}.txt", r) for i, r in enumerate(refs)]


def _stripped(lines: list[str]) -> list[str]:
    """What sacrebleu's CLI reads from a file: each line with trailing whitespace removed."""
    return [line.rstrip() for line in lines]


@pytest.mark.parametrize(
    ("hyps", "refs", "options", "kwargs"),
    [pytest.param(*case[1:], id=case[0]) for case in BLEU_CASES],
)
def test_sacrebleu_bleu_table(
    tmp_path: Path, hyps: list[str], refs: list[list[str]], options: list[str], kwargs: Any
) -> None:
    hyp, ref_paths = _files(tmp_path, hyps, refs)
    doc = eval_json(hyp, *ref_args(*ref_paths), "-m", "bleu", *options)
    metric = BLEU(**kwargs)
    expected = metric.corpus_score(_stripped(hyps), [_stripped(r) for r in refs])
    assert scores(doc)["BLEU"]["score"] == expected.score
    assert scores(doc)["BLEU"]["signature"] == metric.get_signature().format()


@pytest.mark.parametrize(
    ("hyps", "refs", "options", "kwargs"),
    [pytest.param(*case[1:], id=case[0]) for case in CHRF_CASES],
)
def test_sacrebleu_chrf_table(
    tmp_path: Path, hyps: list[str], refs: list[str], options: list[str], kwargs: Any
) -> None:
    hyp, ref_paths = _files(tmp_path, hyps, [refs])
    doc = eval_json(hyp, *ref_args(*ref_paths), "-m", "chrf", "--chrf-beta", "3", *options)
    metric = CHRF(beta=3, **kwargs)
    expected = metric.corpus_score(_stripped(hyps), [_stripped(refs)])
    assert scores(doc)["chrF3"]["score"] == expected.score
    assert scores(doc)["chrF3"]["signature"] == metric.get_signature().format()


def test_sacrebleu_sentence_chrf_table(tmp_path: Path) -> None:
    hyps, refs = [h for h, _ in CHRF_SENTENCES], [r for _, r in CHRF_SENTENCES]
    hyp, ref_paths = _files(tmp_path, hyps, [refs])
    doc = eval_json(hyp, *ref_args(*ref_paths), "-m", "chrf", "--chrf-eps-smoothing", "--segments")
    metric = CHRF(eps_smoothing=True)
    want = [metric.sentence_score(h, [r]).score for h, r in zip(hyps, refs, strict=True)]
    assert doc["systems"][0]["segment_scores"]["chrF2"] == want


@pytest.mark.parametrize(("hyps", "refs"), TER_CASES)
def test_sacrebleu_ter_table(tmp_path: Path, hyps: list[str], refs: list[str]) -> None:
    hyp, ref_paths = _files(tmp_path, hyps, [refs])
    doc = eval_json(hyp, *ref_args(*ref_paths), "-m", "ter")
    expected = TER().corpus_score(_stripped(hyps), [_stripped(refs)])
    assert scores(doc)["TER"]["score"] == expected.score
