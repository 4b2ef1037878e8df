"""Summaries and answers that point back into their text (issue 12), on tiny models.

The reader is the tiny random Llama (or T5), the sentence embedder the tiny random
BertModel (tests/tiny_models.py): their outputs are gibberish, so these tests check the
contracts that hold whatever the weights are: summary sentences and evidence are spans
of the input with the right offsets and ``file:line:col``, support entries are present,
``--strict`` drops what it flags, the language guard falls back to extraction.

Where a test needs similarity to mean something (a copied sentence is supported, an
invented one is not) it uses :class:`WordEmbedder`, a bag-of-words stand-in.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.models.base import LoadedModel, ModelChoice
from llmcli.models.embedding import Embedder
from llmcli.models.loading import load_model
from llmcli.tasks import ask as ask_module
from llmcli.tasks.ask import AskSettings
from llmcli.tasks.base import TaskContext, TaskInput, TaskResult
from llmcli.tasks.registry import build_task
from llmcli.tasks.summarize import SummarizeSettings

Loader = Callable[[str], LoadedModel]

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
DOC_SENTENCES = [
    "The library opened in March after two years of building work.",
    "It cost 6.2 million euros, paid by the city and a private donor.",
    "The reading room has space for 120 people and stays open until ten in the evening.",
    "Visitors borrowed more than 2,000 books in the first month.",
    "The staff plan a series of talks for children in the summer.",
]
ZH_DOC = (
    "图书馆在三月开放，经过两年的建设工作。它花费了六百二十万欧元，由市政府和一位私人捐赠者支付。"
    "阅览室可容纳一百二十人，晚上十点关门。第一个月，读者借阅了两千多本书。"
    "工作人员计划在夏天为孩子们举办一系列讲座。"
)
LONG_DOC = "\n\n".join(
    [
        "The council met on a cold Tuesday morning in the old town hall.",
        "The mayor opened the meeting with a short speech about the harbour.",
        "Fishing boats have used the harbour for more than two hundred years.",
        "The new bridge will cost 4.5 million euros and open next spring.",
        "Engineers say the bridge needs steel from a factory in the north.",
        "Several residents asked about the noise during the building work.",
        "The meeting ended at noon and the council will meet again in May.",
        "Coffee and cake were served in the hall after the meeting ended.",
    ]
)
# Short enough that the tiny models' 256-token context leaves room for a summary.
MAX_LENGTH = 24


class WordEmbedder:
    """A stand-in sentence embedder: unit bag-of-words vectors (cosine = word overlap)."""

    DIM = 512

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> Any:
        import torch

        self.calls += 1
        out = torch.zeros((len(texts), self.DIM))
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, zlib.crc32(word.encode()) % self.DIM] += 1.0
        return torch.nn.functional.normalize(out, dim=1)


def expected_location(source: str, text: str, offset: int, first_line: int = 1) -> str:
    line = first_line + text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{source}:{line}:{col}"


def check_span(entry: dict[str, Any], item: TaskInput) -> None:
    """``entry`` has start/end into ``item.text`` and a location that points at start."""
    start, end = entry["start"], entry["end"]
    assert 0 <= start < end <= len(item.text)
    assert entry["location"] == expected_location(
        item.source or "", item.text, start, item.first_line
    )
    if "text" in entry:
        assert entry["text"] == item.text[start:end]


@pytest.fixture(scope="module")
def bert(tiny_model_dirs: dict[str, Path]) -> Embedder:
    return Embedder(
        load_model(
            ModelChoice(str(tiny_model_dirs["bert_embedder"]), device="cpu"), "embed", env={}
        )
    )


@pytest.fixture
def notes() -> list[str]:
    return []


@pytest.fixture
def make_context(notes: list[str], bert: Embedder) -> Callable[..., TaskContext]:
    def make(embedder: Any = None) -> TaskContext:
        chosen = bert if embedder is None else embedder
        return TaskContext(notes.append, lambda: chosen)

    return make


def english_only(loaded: LoadedModel) -> LoadedModel:
    return dataclasses.replace(loaded, extra={**loaded.extra, "languages": ("en",)})


def summarize(
    loaded: LoadedModel, context: TaskContext, items: Sequence[TaskInput], **options: Any
) -> list[TaskResult]:
    settings = SummarizeSettings(**{"max_length": MAX_LENGTH, **options})
    return build_task("summarize", loaded, settings, context).run(items)


# --- extractive summaries -----------------------------------------------------------------


def test_extractive_summary_is_sentences_of_the_input(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    item = TaskInput(DOC, source="report.txt", first_line=5)
    (result,) = summarize(tiny("llama"), make_context(), [item], method="extractive", ratio=0.5)
    fields = result.fields
    assert fields["method"] == "extractive"
    assert fields["input_sentences"] == len(DOC_SENTENCES)
    sentences = fields["sentences"]
    assert sentences
    for s in sentences:
        assert s["text"] in DOC_SENTENCES
        check_span(s, item)
        assert s["supported"] is True
        assert s["support"] and all(
            sup["start"] == s["start"] and sup["end"] == s["end"] for sup in s["support"]
        )
        for sup in s["support"]:
            check_span(sup, item)
    starts = [s["start"] for s in sentences]
    assert starts == sorted(starts)  # the document's order
    assert fields["summary"] == " ".join(s["text"] for s in sentences) == result.text
    assert "Annual Report" not in fields["summary"]
    assert fields["language"]["code"] == "en"
    assert 0.5 <= fields["language"]["confidence"] <= 1


def test_extractive_location_by_hand(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    text = "Title Line\n\nFirst real sentence of the text.\n  Second real sentence is indented.\n"
    item = TaskInput(text, source="a.txt", first_line=10)
    (result,) = summarize(tiny("llama"), make_context(), [item], method="extractive", ratio=1.0)
    got = {s["text"]: s["location"] for s in result.fields["sentences"]}
    assert got == {
        "First real sentence of the text.": "a.txt:12:1",
        "Second real sentence is indented.": "a.txt:13:3",
    }


@pytest.mark.parametrize("count", [1, 2, 3])
def test_extractive_sentences_option(
    tiny: Loader, make_context: Callable[..., TaskContext], count: int
) -> None:
    (result,) = summarize(
        tiny("llama"), make_context(), [TaskInput(DOC)], method="extractive", sentences=count
    )
    assert len(result.fields["sentences"]) == count


def test_extractive_ratio_controls_length(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    lengths = []
    for ratio in (0.01, 0.2, 0.5, 1.0):
        (result,) = summarize(
            tiny("llama"), make_context(), [TaskInput(DOC)], method="extractive", ratio=ratio
        )
        lengths.append(len(result.fields["sentences"]))
    assert lengths[0] == 1
    assert lengths[-1] == len(DOC_SENTENCES)
    assert lengths == sorted(lengths)
    assert lengths[1] < lengths[-1]


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.5])
def test_ratio_out_of_range(
    tiny: Loader, make_context: Callable[..., TaskContext], ratio: float
) -> None:
    with pytest.raises(UsageError, match="ratio"):
        summarize(tiny("llama"), make_context(), [TaskInput(DOC)], ratio=ratio)


def test_unknown_method(tiny: Loader, make_context: Callable[..., TaskContext]) -> None:
    with pytest.raises(UsageError, match="bogus"):
        summarize(tiny("llama"), make_context(), [TaskInput(DOC)], method="bogus")


def test_extractive_never_runs_the_reader(
    tiny: Loader, make_context: Callable[..., TaskContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_generation(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model wrote text for an extractive summary")

    loaded = tiny("llama")
    monkeypatch.setattr(loaded.runtime, "generate", no_generation)
    (result,) = summarize(loaded, make_context(), [TaskInput(DOC)], method="extractive")
    assert result.fields["sentences"]


def test_extractive_batch_keeps_each_document_apart(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    items = [
        TaskInput(DOC, source="one.txt"),
        TaskInput(LONG_DOC, source="two.txt"),
        TaskInput("Only A Heading", source="three.txt"),
    ]
    results = summarize(tiny("llama"), make_context(), items, method="extractive", sentences=2)
    assert len(results) == 3
    for item, result in zip(items, results, strict=True):
        for s in result.fields["sentences"]:
            check_span(s, item)
            assert s["location"].startswith(f"{item.source}:")


def test_a_document_of_only_a_heading_is_its_own_summary(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    (result,) = summarize(
        tiny("llama"), make_context(), [TaskInput("Only A Heading\n")], method="extractive"
    )
    assert result.fields["summary"] == "Only A Heading"
    assert result.fields["language"] is None  # too short to tell


@pytest.mark.parametrize("text", ["   \n\t\n", ""])
def test_a_blank_document_is_a_usage_error(
    tiny: Loader, make_context: Callable[..., TaskContext], text: str
) -> None:
    with pytest.raises(UsageError, match="no sentence"):
        summarize(
            tiny("llama"), make_context(), [TaskInput(text, source="x.txt")], method="extractive"
        )


def test_built_in_models_default_to_extractive(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    llama = tiny("llama")
    built_in = dataclasses.replace(llama, extra={**llama.extra, "builtin": "smollm2"})
    task = build_task(
        "summarize", built_in, SummarizeSettings(max_length=MAX_LENGTH), make_context()
    )
    assert task.settings()["method"] == "extractive"
    other = build_task("summarize", llama, SummarizeSettings(max_length=MAX_LENGTH), make_context())
    assert other.settings()["method"] == "abstractive"
    (result,) = task.run([TaskInput(DOC)])
    assert result.fields["method"] == "extractive"


def test_extractive_without_an_embedder_takes_the_leading_sentences(
    tiny: Loader, notes: list[str]
) -> None:
    """An embedder that cannot be had is said once; the summary is still the text's own."""

    def unavailable() -> Embedder:
        raise ModelUnavailableError("minilm is not prepared")

    context = TaskContext(notes.append, unavailable, "minilm")
    settings = SummarizeSettings(max_length=MAX_LENGTH, method="extractive", sentences=2)
    task = build_task("summarize", tiny("llama"), settings, context)
    (first,) = task.run([TaskInput(DOC)])
    (second,) = task.run([TaskInput(DOC)])
    assert [s["text"] for s in first.fields["sentences"]] == DOC_SENTENCES[:2]
    assert second.fields["sentences"] == first.fields["sentences"]
    assert len([n for n in notes if "no sentence embedder" in n]) == 1
    (bare,) = build_task("summarize", tiny("llama"), settings, TaskContext()).run([TaskInput(DOC)])
    assert [s["text"] for s in bare.fields["sentences"]] == DOC_SENTENCES[:2]


# --- abstractive summaries ------------------------------------------------------------------


# The chat Llama writes an empty summary; the plain one and T5 write gibberish sentences.
@pytest.mark.parametrize("name", ["llama", "llama_plain", "t5"])
@pytest.mark.parametrize("strict", [False, True])
def test_abstractive_sentences_carry_their_support(
    tiny: Loader,
    make_context: Callable[..., TaskContext],
    notes: list[str],
    name: str,
    strict: bool,
) -> None:
    items = [TaskInput(DOC, source="a.txt"), TaskInput(LONG_DOC, source="b.txt")]
    results = summarize(
        tiny(name), make_context(), items, method="abstractive", strict=strict, max_length=40
    )
    for item, result in zip(items, results, strict=True):
        fields = result.fields
        assert fields["method"] == "abstractive"
        assert "language" in fields
        for s in fields["sentences"]:
            assert isinstance(s["supported"], bool)
            assert s["support"], s
            for sup in s["support"]:
                check_span(sup, item)
                assert -1.0 - 1e-4 <= sup["similarity"] <= 1.0 + 1e-4
            if strict:
                assert s["supported"] is True
        joined = " ".join(s["text"] for s in fields["sentences"])
        assert fields["summary"] == joined
    # At most one notice line per document, naming it.
    for source in ("a.txt", "b.txt"):
        assert len([n for n in notes if n.startswith(f"{source}:")]) <= 1
    assert all(n.startswith(("a.txt:", "b.txt:")) for n in notes)


def test_gibberish_is_unsupported_and_strict_drops_it(
    tiny: Loader, make_context: Callable[..., TaskContext], notes: list[str]
) -> None:
    # The tiny T5 writes gibberish; with word-overlap vectors nothing of it is supported.
    words = WordEmbedder()
    item = TaskInput(DOC, source="doc.txt")
    (loose,) = summarize(tiny("t5"), make_context(words), [item], method="abstractive")
    written = loose.fields["sentences"]
    assert written, "the tiny T5 wrote nothing to check"
    assert all(s["supported"] is False for s in written)
    assert len(notes) == 1 and "not supported by the text" in notes[0]
    notes.clear()
    (strict,) = summarize(
        tiny("t5"), make_context(words), [item], method="abstractive", strict=True
    )
    assert strict.fields["sentences"] == []
    assert strict.fields["summary"] == ""
    assert len(notes) == 1
    assert notes[0].startswith("doc.txt:") and "dropped (--strict)" in notes[0]
    assert f"{len(written)} of {len(written)}" in notes[0]
    assert repr(written[0]["text"][:60]) in notes[0]


def scripted(task: Any, summaries: Sequence[str]) -> None:
    """Make ``task`` 'write' ``summaries`` instead of running its model."""

    def write(inputs: Sequence[TaskInput]) -> list[TaskResult]:
        assert len(inputs) == len(summaries)
        return [
            TaskResult(text=s, fields={"summary": s, "chunks": 1, "truncated": False})
            for s in summaries
        ]

    task._abstractive = write


FAITHFUL = DOC_SENTENCES[1]
INVENTED = "Mayor Berg paid 160 million euros for a zoo in the summer."


@pytest.mark.parametrize("strict", [False, True])
def test_invented_facts_are_flagged(
    tiny: Loader, make_context: Callable[..., TaskContext], notes: list[str], strict: bool
) -> None:
    settings = SummarizeSettings(max_length=MAX_LENGTH, method="abstractive", strict=strict)
    task = build_task("summarize", tiny("llama"), settings, make_context(WordEmbedder()))
    scripted(task, [f"{FAITHFUL} {INVENTED}"])
    item = TaskInput(DOC, source="doc.txt")
    (result,) = task.run([item])
    sentences = result.fields["sentences"]
    first = sentences[0]
    assert first["text"] == FAITHFUL and first["supported"] is True
    assert "unsupported" not in first
    best = first["support"][0]
    assert best["text"] == FAITHFUL and best["similarity"] == pytest.approx(1.0)
    check_span(best, item)
    assert len(notes) == 1 and notes[0].startswith("doc.txt: 1 of 2 summary sentence(s)")
    assert "160" in notes[0] and "Berg" in notes[0]
    if strict:
        assert len(sentences) == 1
        assert result.fields["summary"] == FAITHFUL
        assert "dropped" in notes[0]
    else:
        second = sentences[1]
        assert second["text"] == INVENTED and second["supported"] is False
        assert {"160", "Berg"} <= set(second["unsupported"])
        assert result.fields["summary"] == f"{FAITHFUL} {INVENTED}"


def test_a_sentence_cut_by_the_length_limit_is_left_out(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    settings = SummarizeSettings(max_length=MAX_LENGTH, method="abstractive")
    task = build_task("summarize", tiny("llama"), settings, make_context(WordEmbedder()))
    scripted(task, [f"{FAITHFUL} The reading room has space for"])
    (result,) = task.run([TaskInput(DOC)])
    assert [s["text"] for s in result.fields["sentences"]] == [FAITHFUL]
    assert result.fields["summary"] == FAITHFUL


# --- the language guard -----------------------------------------------------------------------


def test_uncovered_language_falls_back_to_extraction(
    tiny: Loader, make_context: Callable[..., TaskContext], notes: list[str]
) -> None:
    llama = english_only(tiny("llama"))
    item = TaskInput(ZH_DOC, source="zh.txt")
    (result,) = summarize(llama, make_context(), [item], method="abstractive")
    fields = result.fields
    assert fields["method"] == "extractive"
    assert fields["language"]["code"] == "zh"
    assert fields["summary"] and set(fields["summary"]) <= set(ZH_DOC)
    for s in fields["sentences"]:
        check_span(s, item)
    assert not re.search(r"[A-Za-z]", fields["summary"])
    assert len(notes) == 1
    assert notes[0].startswith("zh.txt:") and "Chinese" in notes[0]


def test_covered_language_stays_abstractive(
    tiny: Loader, make_context: Callable[..., TaskContext], notes: list[str]
) -> None:
    llama = english_only(tiny("llama"))
    (result,) = summarize(llama, make_context(), [TaskInput(DOC)], method="abstractive")
    assert result.fields["method"] == "abstractive"
    assert not any("trained" in n for n in notes)


def test_guard_applies_per_document(
    tiny: Loader, make_context: Callable[..., TaskContext], notes: list[str]
) -> None:
    llama = english_only(tiny("llama"))
    items = [TaskInput(DOC, source="en.txt"), TaskInput(ZH_DOC, source="zh.txt")]
    results = summarize(llama, make_context(), items, method="abstractive")
    assert [r.fields["method"] for r in results] == ["abstractive", "extractive"]
    assert [n.split(":")[0] for n in notes if "Chinese" in n] == ["zh.txt"]


def test_a_model_of_unknown_languages_is_not_guarded(
    tiny: Loader, make_context: Callable[..., TaskContext], notes: list[str]
) -> None:
    llama = tiny("llama")
    assert llama.extra.get("languages") is None
    (result,) = summarize(llama, make_context(), [TaskInput(ZH_DOC)], method="abstractive")
    assert result.fields["method"] == "abstractive"
    assert not any("Chinese" in n for n in notes)


# --- ask with retrieval -------------------------------------------------------------------------


def ask(
    loaded: LoadedModel, context: TaskContext, items: Sequence[TaskInput], **options: Any
) -> list[TaskResult]:
    settings = AskSettings(max_answer_tokens=options.pop("max_answer_tokens", 6), **options)
    return build_task("ask", loaded, settings, context).run(items)


def check_answer_in_evidence(fields: dict[str, Any], item: TaskInput) -> None:
    evidence = fields["evidence"]
    assert evidence
    for passage in evidence:
        check_span(passage, item)
    assert [p["start"] for p in evidence] == sorted(p["start"] for p in evidence)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(evidence))
    assert isinstance(fields["answerable"], bool)
    if fields.get("start") is not None:
        start, end = fields["start"], fields["end"]
        assert fields["answer"] == item.text[start:end]
        assert fields["location"] == expected_location(
            item.source or "", item.text, start, item.first_line
        )
        assert any(p["start"] <= start < end <= p["end"] for p in evidence), (fields, evidence)
        assert fields["grounded"] is True


@pytest.mark.parametrize("grounding", ask_module.GROUNDING)
def test_ask_retrieves_evidence_from_the_text(
    tiny: Loader, make_context: Callable[..., TaskContext], grounding: str
) -> None:
    item = TaskInput(LONG_DOC, question="How much will the bridge cost?", source="t.txt")
    (result,) = ask(tiny("llama"), make_context(), [item], grounding=grounding)
    fields = result.fields
    check_answer_in_evidence(fields, item)
    assert fields["language"]["code"] == "en"


@pytest.mark.parametrize("grounding", ask_module.GROUNDING)
def test_ask_evidence_in_separate_passages(
    tiny: Loader, make_context: Callable[..., TaskContext], grounding: str
) -> None:
    # Word vectors put the 2nd and 5th sentences of 8 on top; no neighbours: two passages,
    # so the reader's offsets cross the line break that joins them.
    item = TaskInput(
        LONG_DOC, question="mayor speech engineers steel factory", source="t.txt", first_line=3
    )
    (result,) = ask(
        tiny("llama"),
        make_context(WordEmbedder()),
        [item],
        grounding=grounding,
        retrieve=2,
        neighbours=0,
    )
    check_answer_in_evidence(result.fields, item)
    texts = [p["text"] for p in result.fields["evidence"]]
    assert texts == [
        "The mayor opened the meeting with a short speech about the harbour.",
        "Engineers say the bridge needs steel from a factory in the north.",
    ]


def test_ask_batch_of_two_documents(tiny: Loader, make_context: Callable[..., TaskContext]) -> None:
    items = [
        TaskInput(LONG_DOC, question="When will the council meet again?", source="a.txt"),
        TaskInput(DOC, question="How much did the library cost?", source="b.txt"),
    ]
    results = ask(tiny("llama"), make_context(), items, retrieve=1, neighbours=1)
    for item, result in zip(items, results, strict=True):
        check_answer_in_evidence(result.fields, item)
        assert all(p["location"].startswith(f"{item.source}:") for p in result.fields["evidence"])


def test_ask_without_retrieval_never_loads_the_embedder(tiny: Loader, notes: list[str]) -> None:
    def no_embedder() -> Embedder:
        raise AssertionError("the embedder was loaded")

    item = TaskInput(DOC, question="How much did it cost?", source="d.txt")
    context = TaskContext(notes.append, no_embedder)
    (result,) = ask(tiny("llama"), context, [item], retrieve=0)
    assert "evidence" not in result.fields
    assert "answerable" not in result.fields
    if result.fields.get("start") is not None:
        assert result.fields["answer"] == DOC[result.fields["start"] : result.fields["end"]]


def test_ask_without_retrieval_still_answers_with_a_span(
    tiny: Loader, make_context: Callable[..., TaskContext]
) -> None:
    item = TaskInput(DOC, question="How much did it cost?", source="d.txt")
    (result,) = ask(tiny("llama"), make_context(), [item], retrieve=0, max_answer_tokens=4)
    fields = result.fields
    assert fields["method"] == "constrained"
    assert fields["answer"] is None or fields["grounded"] is True


def test_extractive_qa_ignores_retrieval(
    tiny: Loader, tiny_model_dirs: dict[str, Path], notes: list[str]
) -> None:
    def no_embedder() -> Embedder:
        raise AssertionError("the embedder was loaded")

    qa = tiny("distilbert_qa")
    item = TaskInput(DOC, question="How much did it cost?", source="d.txt")
    (result,) = ask(qa, TaskContext(notes.append, no_embedder), [item], retrieve=3)
    assert "evidence" not in result.fields
    assert result.fields["method"] == "extractive"
    task = build_task("ask", qa, AskSettings(retrieve=3), TaskContext())
    assert "retrieve" not in task.settings()


def test_retrieval_without_an_embedder_uses_word_overlap(tiny: Loader) -> None:
    task = build_task("ask", tiny("llama"), AskSettings(max_answer_tokens=4), TaskContext())
    (result,) = task.run([TaskInput(DOC, question="How much did the library cost?")])
    evidence = result.fields["evidence"]
    assert "6.2 million euros" in evidence[0]["text"]
    assert all(DOC[p["start"] : p["end"]] == p["text"] for p in evidence)
    assert DOC[result.fields["start"] : result.fields["end"]] == result.fields["answer"]


def test_an_embedder_the_user_chose_is_not_replaced(tiny: Loader, notes: list[str]) -> None:
    def unavailable() -> Embedder:
        raise ModelUnavailableError("no-such-embedder is not prepared")

    chosen = TaskContext(notes.append, unavailable, "no-such-embedder", embedder_optional=False)
    task = build_task("ask", tiny("llama"), AskSettings(max_answer_tokens=4), chosen)
    with pytest.raises(ModelUnavailableError, match="no-such-embedder"):
        task.run([TaskInput(DOC, question="How much did it cost?")])
    assert notes == []


@pytest.mark.parametrize("field", ["retrieve", "neighbours"])
def test_negative_retrieval_settings(
    tiny: Loader, make_context: Callable[..., TaskContext], field: str
) -> None:
    with pytest.raises(UsageError, match="negative"):
        build_task("ask", tiny("llama"), AskSettings(**dict[str, Any]({field: -1})), make_context())


def test_ask_in_an_uncovered_language_says_so(
    tiny: Loader, make_context: Callable[..., TaskContext], notes: list[str]
) -> None:
    item = TaskInput(ZH_DOC, question="图书馆花了多少钱？", source="zh.txt")
    (result,) = ask(english_only(tiny("llama")), make_context(), [item])
    check_answer_in_evidence(result.fields, item)
    assert result.fields["language"]["code"] == "zh"
    assert len([n for n in notes if "Chinese" in n]) == 1


def test_evidence_offsets_map_back_to_the_context() -> None:
    from llmcli.tasks.retrieval import Passage

    text = "Zero one. Two three four. Five six. Seven eight nine."
    first, second = (10, 25), (36, 53)  # "Two three four." and "Seven eight nine."
    joined = text[first[0] : first[1]] + "\n" + text[second[0] : second[1]]
    pieces = [(0, *first), (first[1] - first[0] + 1, *second)]
    passages = [Passage(*first, 0.5), Passage(*second, 0.7)]
    cosines = {first[0]: 0.4, second[0]: 0.7}
    evidence = ask_module._Evidence(joined, pieces, passages, passages, cosines)
    for word in ("three", "eight", "Seven eight", "Two"):
        at = joined.index(word)
        start, end = evidence.to_context(at, at + len(word))
        assert text[start:end] == word
    # A span running over the join is cut at its passage's end.
    at = joined.index("four.")
    start, end = evidence.to_context(at, len(joined))
    assert text[start:end] == "four."
    assert evidence.best == 0.7
    assert evidence.similarity(passages[0]) == 0.4
