"""The built-in default models on clear-cut cases (slow: real weights, minutes on 2 cores).

These guard the prompt design: each case is one a working setup gets right every time
(greedy decoding is deterministic). bench/quality.py measures the same on larger sets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llmcli.models.base import LoadedModel
from llmcli.tasks import facts
from llmcli.tasks.ask import AskSettings
from llmcli.tasks.base import TaskContext, TaskInput
from llmcli.tasks.registry import build_task
from llmcli.tasks.sentiment import SentimentSettings
from llmcli.tasks.summarize import SummarizeSettings
from llmcli.tasks.translate import TranslateSettings

Real = Callable[[str], LoadedModel]
# The default precision of this CPU, as users get it (bfloat16 where gated and native).
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("real_cpu")]

PARAGRAPH = (
    "The city council of Millbrook voted on Tuesday to turn the old railway station into "
    "a public library. The building, which has been empty since 2009, will be renovated "
    "over the next two years at a cost of 4 million dollars. Supporters said the town has "
    "needed a larger library for a long time, while critics argued that the money should "
    "have been spent on repairing roads. The new library is expected to open in the "
    "spring of 2027 and will include a café and a children's reading room."
)


def test_sentiment_clear_cut_reviews(real: Real) -> None:
    task = build_task("sentiment", real("sentiment"), SentimentSettings())
    positive, negative = task.run(
        [
            TaskInput("Absolutely wonderful hotel: friendly staff and a spotless room."),
            TaskInput("The charger broke after two days and support never answered."),
        ]
    )
    assert positive.fields["label"] == "positive" and positive.fields["score"] > 0.6
    assert negative.fields["label"] == "negative" and negative.fields["score"] > 0.6


def test_ask_factual_paragraph_is_grounded(real: Real, real_context: TaskContext) -> None:
    context = (
        "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.\n"
        "It is named after the engineer Gustave Eiffel, whose company built it "
        "between 1887 and 1889."
    )
    task = build_task("ask", real("ask"), AskSettings(), real_context)
    item = TaskInput(context, question="Who is the tower named after?", source="tower.txt")
    (result,) = task.run([item])
    fields = result.fields
    assert "Gustave Eiffel" in fields["answer"]
    assert fields["grounded"] is True
    assert context[fields["start"] : fields["end"]] == fields["answer"]
    column = fields["start"] - context.index("\n")
    assert fields["location"] == f"tower.txt:2:{column}"


def test_ask_without_context_says_so(real: Real) -> None:
    task = build_task("ask", real("ask"), AskSettings(max_answer_tokens=16))
    (result,) = task.run([TaskInput("", question="What is the capital of France?")])
    assert result.fields["grounded"] is False
    assert "Paris" in (result.fields["answer"] or "")


def test_written_summary_is_short_and_on_topic(real: Real, real_context: TaskContext) -> None:
    settings = SummarizeSettings(max_length=80, method="abstractive")
    task = build_task("summarize", real("summarize"), settings, real_context)
    (result,) = task.run([TaskInput(PARAGRAPH)])
    summary = result.text
    assert summary and len(summary.split()) < len(PARAGRAPH.split())
    assert "library" in summary.lower()
    assert result.fields["chunks"] == 1 and result.fields["truncated"] is False
    assert all("support" in s for s in result.fields["sentences"])


REPORT = (Path(__file__).resolve().parents[2] / "examples" / "report.txt").read_text("utf-8")


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("How many visits did the library count in April?", "18,400"),
        ("When will the boiler be replaced?", "the end of June"),
        ("What does the board recommend?", "keeping the extended weekend hours"),
        ("How much was the renovation budget?", "2.1 million euros"),
    ],
)
def test_ask_answers_the_report_questions(
    real: Real, real_context: TaskContext, question: str, gold: str
) -> None:
    """The README's example document: before retrieval, four questions got one sentence."""
    task = build_task("ask", real("ask"), AskSettings(), real_context)
    (result,) = task.run([TaskInput(REPORT, question=question, source="report.txt")])
    fields = result.fields
    assert gold in fields["answer"] and len(fields["answer"].split()) <= 6
    assert REPORT[fields["start"] : fields["end"]] == fields["answer"]
    assert any(p["start"] <= fields["start"] < p["end"] for p in fields["evidence"])


def test_default_summary_states_only_what_the_report_says(
    real: Real, real_context: TaskContext
) -> None:
    task = build_task("summarize", real("summarize"), SummarizeSettings(), real_context)
    (result,) = task.run([TaskInput(REPORT, source="report.txt")])
    fields = result.fields
    assert fields["method"] == "extractive" and fields["language"]["code"] == "en"
    assert fields["sentences"]
    for sentence in fields["sentences"]:
        assert REPORT[sentence["start"] : sentence["end"]] == sentence["text"]
        assert sentence["supported"] and facts.unsupported(sentence["text"], REPORT) == []
        assert "Quarterly report" not in sentence["text"]  # the title is no sentence
    words = len(result.text.split())
    assert 0.1 * len(REPORT.split()) <= words <= 0.4 * len(REPORT.split())


def test_translate_sentences_to_french(real: Real) -> None:
    task = build_task("translate", real("translate"), TranslateSettings(target="fr"))
    children, museum = task.run(
        [
            TaskInput("The children are playing in the garden."),
            TaskInput("The museum opens at ten o'clock."),
        ]
    )
    assert "enfants" in children.text.lower()
    assert "musée" in museum.text.lower()
    for result in (children, museum):
        assert "\n" not in result.text.strip() and result.fields["target_lang"] == "fr"


def test_generate_writes_english_text_on_the_default(real: Real) -> None:
    from llmcli.tasks.detect import detect
    from llmcli.tasks.generate import GenerateSettings

    settings = GenerateSettings(seed=0, max_new_tokens=60)
    task = build_task("generate", real("generate"), settings)
    (result,) = task.run([TaskInput("Write two sentences about a walk in the rain.")])
    text = result.fields["text"]
    assert len(text.split()) >= 5, text
    found = detect(text)
    assert found is not None and found.code == "en", text
    assert result.fields["finish_reason"] in ("stop", "length")
    assert result.fields["new_tokens"] <= 60
