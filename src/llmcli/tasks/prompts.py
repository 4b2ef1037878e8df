"""Prompts for causal models, as token ids.

A prompt may embed pre-tokenized text (a QA context) at a sentinel, so the caller knows
exactly which prompt positions hold it. Instruction-tuned models with a chat template
get chat turns; others get plain text. Sentiment always uses a plain few-shot prompt:
measured on SmolLM2 (docs/quality.md), scoring label words after plain few-shot
examples was right on 95-100% of our reviews against 50% inside a chat turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcli.models.base import LoadedModel
from llmcli.models.runtime.tokens import encode, special_tokens

#: Marks where embedded token ids go in a rendered prompt (a private-use character
#: that real text does not contain).
SLOT = "\ue000"


@dataclass
class PromptIds:
    """A prompt's token ids and, when it embeds a text, the positions of that text."""

    ids: list[int]
    slot: tuple[int, int] | None = None


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer ships a chat template (an instruction-tuned model)."""
    return bool(getattr(tokenizer, "chat_template", None))


def chat(tokenizer: Any, messages: Sequence[dict[str, str]], prefill: str = "") -> str:
    """Render chat turns up to the assistant's turn, optionally starting its answer."""
    text: str = tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=True
    )
    return text + prefill


def assemble(
    loaded: LoadedModel, text: str, *, rendered_chat: bool, slot_ids: Sequence[int] = ()
) -> PromptIds:
    """Token ids for a prompt string, with ``slot_ids`` spliced in at :data:`SLOT`.

    A rendered chat string already holds its special tokens as text; a plain prompt
    gets the tokenizer's own leading specials (``<bos>``) and none at the end.
    """
    before, found, after = text.partition(SLOT)
    ids = [] if rendered_chat else list(special_tokens(loaded.tokenizer)[0])
    ids += encode(loaded.tokenizer, [before])[0] if before else []
    if not found:
        return PromptIds(ids)
    start = len(ids)
    ids += list(slot_ids)
    slot = (start, len(ids))
    if after:
        ids += encode(loaded.tokenizer, [after])[0]
    return PromptIds(ids, slot)


def assemble_many(
    loaded: LoadedModel, texts: Sequence[str], *, rendered_chat: bool
) -> list[list[int]]:
    """Token ids of many prompt strings (no slot), tokenized in one batched call."""
    lead = [] if rendered_chat else list(special_tokens(loaded.tokenizer)[0])
    return [lead + ids for ids in encode(loaded.tokenizer, texts)]


# --- sentiment ----------------------------------------------------------------------------

#: Few-shot examples for label scoring, written for this project (not from any benchmark).
SENTIMENT_SHOTS: tuple[tuple[str, str], ...] = (
    ("It stopped working after one day. Waste of money.", "negative"),
    ("The staff were kind and the room was lovely.", "positive"),
    ("The food was cold and the service was slow.", "negative"),
    ("A gripping story with superb acting.", "positive"),
    ("Cheap material, and it smells strange. I am sending it back.", "negative"),
    ("Works exactly as described and arrived quickly. Very pleased.", "positive"),
)
#: A neutral example, shown only when "neutral" is among the labels.
NEUTRAL_SHOT = ("The package arrived on Tuesday and contains two cables.", "neutral")


def sentiment_shots(labels: Sequence[str]) -> list[tuple[str, str]]:
    """The examples shown for these labels (those whose label is among them)."""
    shots = [s for s in SENTIMENT_SHOTS if s[1] in labels]
    if "neutral" in labels:
        shots.insert(2, NEUTRAL_SHOT)
    return shots


def sentiment_prompt(text: str, labels: Sequence[str], shots: int | None = None) -> str:
    """``Review: ... / Sentiment: label`` examples, then the text to classify.

    ``shots`` keeps only the last that many examples (small context windows).
    """
    examples = sentiment_shots(labels)
    if shots is not None:
        examples = examples[len(examples) - shots :] if shots else []
    lines = [f"Review: {review}\nSentiment: {label}\n\n" for review, label in examples]
    return "".join(lines) + f"Review: {_flat(text)}\nSentiment:"


def _flat(text: str) -> str:
    # The prompt format is one review per line; a multi-line text would look like a
    # new example to the model.
    return " ".join(text.split())


# --- summarize ----------------------------------------------------------------------------


def summary_instruction(sentences: int | None) -> str:
    """The instruction part of a summarization prompt."""
    if sentences is None:
        return "Summarize the following text in one or two sentences."
    unit = "sentence" if sentences == 1 else "sentences"
    return f"Summarize the following text in {sentences} {unit}."


def summarize_prompt(loaded: LoadedModel, text: str, sentences: int | None) -> str:
    """A summarization prompt: a chat turn, or ``text / TL;DR:`` for base models."""
    tokenizer = loaded.tokenizer
    if has_chat_template(tokenizer):
        content = f"{summary_instruction(sentences)}\n\n{text}"
        return chat(tokenizer, [{"role": "user", "content": content}])
    return f"{summary_instruction(sentences)}\n\nText:\n{text}\n\nSummary:"


# --- ask ------------------------------------------------------------------------------------

_ASK_INSTRUCTION = "Answer the question with a short phrase copied from the text."
_ASK_SYSTEM = (
    "You answer questions about a text by copying the exact words of the answer from the "
    "text, as briefly as possible."
)
#: Worked examples (written for this project): short answers copied from mid-sentence.
ASK_SHOTS: tuple[tuple[str, str, str], ...] = (
    (
        "The Amazon rainforest covers much of the Amazon basin in South America. Most of it "
        "lies in Brazil, and it is home to around 390 billion trees.",
        "In which country does most of the rainforest lie?",
        "Brazil",
    ),
    (
        "Our office moved to 12 Baker Road in March. The new building has a rooftop garden "
        "and parking for forty cars.",
        "How many cars can park at the new building?",
        "forty",
    ),
    (
        "The novel was written by Ana Ruiz in 1998 and tells the story of a lighthouse keeper "
        "on a remote island.",
        "Who wrote the novel?",
        "Ana Ruiz",
    ),
)


def grounded_question_prompt(
    loaded: LoadedModel, question: str, shots: int = len(ASK_SHOTS)
) -> tuple[str, bool]:
    """A few-shot QA prompt with :data:`SLOT` where the context goes; (prompt, is_chat).

    The answer is cued with ``Answer:`` in both styles so it starts like a word in
    running text (with a leading space), as the context's own tokens do. Measured on
    SmolLM2 (docs/quality.md): the system line and three worked examples turned
    sentence-long copies into short answers (63% → 80% of answers holding the gold span).
    ``shots`` limits the examples (small context windows).
    """
    examples = ASK_SHOTS[:shots]
    tokenizer = loaded.tokenizer
    question = _flat(question)
    if has_chat_template(tokenizer):
        turns: list[dict[str, str]] = []
        for context, shot_question, answer in examples:
            ask = f"{_ASK_INSTRUCTION}\n\nText:\n{context}\n\nQuestion: {shot_question}"
            turns += [
                {"role": "user", "content": ask},
                {"role": "assistant", "content": f"Answer: {answer}"},
            ]
        ask = f"{_ASK_INSTRUCTION}\n\nText:\n{SLOT}\n\nQuestion: {question}"
        turns.append({"role": "user", "content": ask})
        try:
            system = [{"role": "system", "content": _ASK_SYSTEM}]
            return chat(tokenizer, system + turns, prefill="Answer:"), True
        except Exception:  # some templates refuse a system turn
            return chat(tokenizer, turns, prefill="Answer:"), True
    worked = "".join(
        f"Text:\n{context}\nQuestion: {shot_question}\nAnswer: {answer}\n\n"
        for context, shot_question, answer in examples
    )
    return f"{_ASK_INSTRUCTION}\n\n{worked}Text:\n{SLOT}\nQuestion: {question}\nAnswer:", False


def open_question_prompt(loaded: LoadedModel, question: str) -> tuple[str, bool]:
    """A prompt for a question without context (answered from the model's knowledge)."""
    tokenizer = loaded.tokenizer
    if has_chat_template(tokenizer):
        content = f"Answer briefly.\n\n{question.strip()}"
        return chat(tokenizer, [{"role": "user", "content": content}]), True
    return f"Question: {_flat(question)}\nAnswer:", False


# --- translate ----------------------------------------------------------------------------


def translate_prompt(
    loaded: LoadedModel,
    text: str,
    source_name: str,
    target_name: str,
    examples: Sequence[tuple[str, str]],
) -> tuple[str, bool]:
    """A few-shot translation prompt; (prompt, is_chat).

    Base models see ``English: ... / French: ...`` pairs and stop at the line break;
    chat models see the same pairs as earlier turns of the conversation.
    """
    tokenizer = loaded.tokenizer
    if has_chat_template(tokenizer):
        messages: list[dict[str, str]] = []
        for src, tgt in examples:
            ask = f"Translate from {source_name} to {target_name}:\n{src}"
            messages += [{"role": "user", "content": ask}, {"role": "assistant", "content": tgt}]
        ask = f"Translate from {source_name} to {target_name}:\n{_flat(text)}"
        messages.append({"role": "user", "content": ask})
        return chat(tokenizer, messages), True
    shots = "".join(f"{source_name}: {src}\n{target_name}: {tgt}\n\n" for src, tgt in examples)
    return f"{shots}{source_name}: {_flat(text)}\n{target_name}:", False
