"""Label scoring and generation with a shared prompt prefix run once (its KV cache reused
per batch).

The cached path must give the plain path's log-probabilities (float32 rounding aside),
labels and greedy tokens, on a Llama and on a Gemma 3 with sliding-window layers; prompts
without a long enough shared prefix, caches it cannot reuse, and decoding options that
depend on the padding's place fall back to the plain path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tiny_models
from llmcli.models.base import LoadedModel, ModelChoice
from llmcli.models.loading import load_model
from llmcli.models.runtime import tokens, torch_runtime
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest, Generation
from llmcli.tasks.base import TaskInput
from llmcli.tasks.registry import build_task
from llmcli.tasks.sentiment import SentimentSettings

Loader = Callable[[str], LoadedModel]
PREFIX_TEXT = (
    "Review: The staff were kind and the room was lovely.\nSentiment: positive\n\n"
    "Review: The food was cold and the service was slow.\nSentiment: negative\n\n"
    "Review:"
)
TAILS = [
    " The cat likes the blue door.\nSentiment:",
    " Awful.\nSentiment:",
    " My neighbour visited the market in the morning before the storm.\nSentiment:",
    " Fine.\nSentiment:",
    " The small company sold the book last week, and everyone was happy.\nSentiment:",
    " Paris!\nSentiment:",
    " The old train crossed the mountain road.\nSentiment:",
]


def generate(loaded: LoadedModel, prompts: Any, **request: Any) -> list[Generation]:
    """``loaded.runtime.generate`` with the request's fields as keywords."""
    return loaded.runtime.generate(prompts, GenerateRequest(**request))


def spy_forward(loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the keyword arguments of every forward pass of ``loaded.model``."""
    calls: list[dict[str, Any]] = []
    original = loaded.model.forward

    # wraps: model_inputs reads the forward's signature, which must stay the real one.
    @functools.wraps(original)
    def forward(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "forward", forward)
    return calls


def cached_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The forward passes that read a prefix cache (its tail batches)."""
    return [c for c in calls if has_cache(c) and c["input_ids"].shape[0] > 1]


def has_cache(call: dict[str, Any]) -> bool:
    # transformers 5 renamed past_key_values to cache.
    return any(call.get(k) is not None for k in ("cache", "past_key_values"))


def prompts_and_labels(loaded: LoadedModel) -> tuple[list[list[int]], list[list[int]]]:
    tokenizer = loaded.tokenizer
    lead = tokens.special_tokens(tokenizer)[0]
    prompts = [lead + ids for ids in tokens.encode(tokenizer, [PREFIX_TEXT + t for t in TAILS])]
    labels = tokens.encode(tokenizer, [" negative", " positive"])
    return prompts, labels


def plain(loaded: LoadedModel, prompts: Any, labels: Any, batch: int | None) -> list[list[float]]:
    """Scores without the prefix cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "MIN_SHARED_PREFIX", 10**9)
        return loaded.runtime.label_logprobs(prompts, labels, batch)


def assert_same(got: list[list[float]], want: list[list[float]]) -> None:
    assert len(got) == len(want)
    for row, expected in zip(got, want, strict=True):
        assert row == pytest.approx(expected, abs=1e-4)
        assert max(range(len(row)), key=row.__getitem__) == max(
            range(len(expected)), key=expected.__getitem__
        )


def check_cached_matches_plain(
    loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    prompts, labels = prompts_and_labels(loaded)
    size = tokens.shared_prefix_length(prompts)
    assert size >= tokens.MIN_SHARED_PREFIX
    assert len({len(p) for p in prompts}) > 3  # tails of many lengths: real padding
    want = plain(loaded, prompts, labels, batch)
    calls = spy_forward(loaded, monkeypatch)
    got = loaded.runtime.label_logprobs(prompts, labels, batch)
    assert_same(got, want)
    # The prefix ran once, then only tails: no pass sees a whole prompt again.
    assert len([c for c in calls if c["input_ids"].shape[1] == size]) == 1
    assert all(c["input_ids"].shape[1] <= max(len(p) for p in prompts) - size for c in calls[1:])
    assert sum(c["input_ids"].shape[0] for c in calls[1:]) == len(prompts)
    if batch != 1:
        assert cached_calls(calls)


@pytest.fixture(scope="module")
def sharp_llama(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """A tiny Llama whose attention is far from uniform, so positions matter.

    With the tiny models' small random weights every token attends almost equally to
    all others: a tail placed one position off would still score within 1e-4.
    """
    import torch

    folder = tiny_models.make_llama(tmp_path_factory.mktemp("sharp") / "llama", False)
    loaded = load_model(ModelChoice(str(folder), device="cpu"), "sentiment", env={})
    with torch.no_grad():
        for layer in loaded.model.model.layers:
            layer.self_attn.q_proj.weight.mul_(8.0)
            layer.self_attn.k_proj.weight.mul_(8.0)
    return loaded


@pytest.mark.parametrize("batch", [1, 3, None])
def test_cached_prefix_matches_plain_scoring_on_llama(
    sharp_llama: LoadedModel, monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    check_cached_matches_plain(sharp_llama, monkeypatch, batch)


def test_shared_prefix_length() -> None:
    prefix = list(range(20))
    assert tokens.shared_prefix_length([]) == 0
    assert tokens.shared_prefix_length([[*prefix, 1], [*prefix, 2, 3]]) == 20
    # A prompt that is all prefix keeps its last token to run.
    assert tokens.shared_prefix_length([prefix, [*prefix, 5]]) == 19
    assert tokens.shared_prefix_length([[1, 2], [2, 2]]) == 0


def test_prompts_without_a_shared_prefix_are_scored_plainly(
    tiny: Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = tiny("llama_plain")
    tokenizer = loaded.tokenizer
    texts = [t.strip() + " " + PREFIX_TEXT for t in TAILS]  # the long part comes last
    prompts = tokens.encode(tokenizer, texts)
    labels = tokens.encode(tokenizer, [" negative", " positive"])
    assert tokens.shared_prefix_length(prompts) < tokens.MIN_SHARED_PREFIX
    assert (
        torch_runtime.shared_prefix_scores(loaded.runtime, prompts, [lab[0] for lab in labels])
        is None
    )
    calls = spy_forward(loaded, monkeypatch)
    got = loaded.runtime.label_logprobs(prompts, labels, 3)
    assert len(got) == len(prompts) and all(len(row) == 2 for row in got)
    assert not any(has_cache(c) for c in calls)
    # A single prompt has nothing to share; it still gets its scores.
    (alone,) = loaded.runtime.label_logprobs(prompts[:1], labels)
    assert alone == pytest.approx(got[0], abs=1e-4)


def test_sentiment_task_uses_the_prefix_cache(
    tiny: Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = build_task("sentiment", tiny("llama_plain"), SentimentSettings(batch_size=4))
    inputs = [TaskInput(t.split("\n")[0].strip()) for t in TAILS]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "MIN_SHARED_PREFIX", 10**9)
        want = [r.fields for r in task.run(inputs)]
    calls = spy_forward(task.loaded, monkeypatch)
    got = [r.fields for r in task.run(inputs)]
    assert cached_calls(calls)
    for new, old in zip(got, want, strict=True):
        assert new["label"] == old["label"]
        assert new["scores"] == pytest.approx(old["scores"], abs=1e-4)


# --- Gemma 3: sliding-window layers, its own layer types in the cache ----------------------


def make_gemma3(path: Path, tokenizer_dir: Path, sliding_window: int) -> Path:
    """A tiny Gemma3ForCausalLM (the built-in translate model's architecture)."""
    from transformers import AutoTokenizer, Gemma3ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = tiny_models.config(
        "gemma3",
        vocab_size=len(tokenizer),
        sliding_window=sliding_window,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    tiny_models.build(Gemma3ForCausalLM, config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def gemma3(
    tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[int], LoadedModel]:
    """Load a tiny Gemma 3 with the given sliding window (built once per window)."""
    root = tmp_path_factory.mktemp("tiny-gemma3")
    source = tiny_model_dirs["llama_plain"]

    @functools.cache
    def load(window: int) -> LoadedModel:
        folder = make_gemma3(root / f"gemma3-{window}", source, window)
        return load_model(ModelChoice(str(folder), device="cpu"), "sentiment", env={})

    return load


@pytest.mark.parametrize("batch", [1, 3, None])
def test_cached_prefix_matches_plain_scoring_on_gemma3(
    gemma3: Callable[[int], LoadedModel], monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    # A window wider than any prompt: the sliding layers see what full ones would.
    check_cached_matches_plain(gemma3(256), monkeypatch, batch)


@pytest.mark.parametrize("where", ["in the prefix", "in the tails"])
def test_gemma3_window_shorter_than_the_prompts_is_scored_plainly(
    gemma3: Callable[[int], LoadedModel], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    prompts, labels = prompts_and_labels(gemma3(256))  # the same tokenizer in each
    size = tokens.shared_prefix_length(prompts)
    assert size >= tokens.MIN_SHARED_PREFIX
    # Tokens leave the window inside the prefix, or only once the tails are added
    # (where the padding between prefix and tail would shift what each token sees).
    window = 16 if where == "in the prefix" else (size + max(len(p) for p in prompts)) // 2
    loaded = gemma3(window)
    assert (
        torch_runtime.shared_prefix_scores(loaded.runtime, prompts, [lab[0] for lab in labels])
        is None
    )
    want = plain(loaded, prompts, labels, 3)
    calls = spy_forward(loaded, monkeypatch)
    assert_same(loaded.runtime.label_logprobs(prompts, labels, 3), want)
    assert not cached_calls(calls)


# --- generation: the shared prefix run once, each batch generating after it -------------


def generate_both(
    loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch, batch: int | None, **options: Any
) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    """(plain, with the prefix path, the forward passes of the latter)."""
    prompts = prompts_and_labels(loaded)[0]
    settings = DecodingSettings(batch_size=batch)
    run = functools.partial(
        generate, loaded, prompts, max_new_tokens=6, decoding=settings, **options
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "MIN_SHARED_PREFIX", 10**9)
        want = run()
    calls = spy_forward(loaded, monkeypatch)
    got = run()
    monkeypatch.undo()
    return want, got, calls


def check_generation_matches_plain(
    loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    prompts = prompts_and_labels(loaded)[0]
    size = tokens.shared_prefix_length(prompts)
    want, got, calls = generate_both(loaded, monkeypatch, batch, want_logprobs=True)
    assert [g.token_ids for g in got] == [w.token_ids for w in want]
    assert [g.finished for g in got] == [w.finished for w in want]
    for g, w in zip(got, want, strict=True):
        assert g.logprobs == pytest.approx(w.logprobs, abs=1e-4)
    # One pass over the prefix alone; every later pass starts from its cache, so none
    # sees a whole prompt again.
    assert calls[0]["input_ids"].shape == (1, size)
    widest_tail = max(len(p) for p in prompts) - size
    assert all(has_cache(c) and c["input_ids"].shape[1] <= widest_tail for c in calls[1:])
    firsts = [c for c in calls[1:] if c["input_ids"].shape[1] > 1]  # each batch's prefill
    assert sum(c["input_ids"].shape[0] for c in firsts) == len(prompts)


@pytest.mark.parametrize("batch", [3, None])
def test_generation_after_a_cached_prefix_matches_plain_on_llama(
    sharp_llama: LoadedModel, monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    check_generation_matches_plain(sharp_llama, monkeypatch, batch)


@pytest.mark.parametrize("batch", [3, None])
def test_generation_after_a_cached_prefix_matches_plain_on_gemma3(
    gemma3: Callable[[int], LoadedModel], monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    check_generation_matches_plain(gemma3(256), monkeypatch, batch)


@pytest.mark.parametrize("model", ["llama", "gemma3"])
@pytest.mark.parametrize("batch", [3, None])
def test_beam_search_after_a_cached_prefix_matches_plain(
    sharp_llama: LoadedModel,
    gemma3: Callable[[int], LoadedModel],
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    batch: int | None,
) -> None:
    loaded = sharp_llama if model == "llama" else gemma3(256)
    prompts = prompts_and_labels(loaded)[0]
    beams = DecodingSettings(num_beams=3, batch_size=batch)
    run = functools.partial(
        generate, loaded, prompts, max_new_tokens=6, decoding=beams, want_logprobs=True
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "MIN_SHARED_PREFIX", 10**9)
        want = run()
    calls = spy_forward(loaded, monkeypatch)
    got = run()
    assert [g.token_ids for g in got] == [w.token_ids for w in want]
    for g, w in zip(got, want, strict=True):
        assert g.extra["sequence_score"] == pytest.approx(w.extra["sequence_score"], abs=1e-4)
    size = tokens.shared_prefix_length(prompts)
    # One batch-1 pass over the prefix, then beams x rows that never see it again.
    assert calls[0]["input_ids"].shape == (1, size)
    assert all(c["input_ids"].shape[1] <= max(len(p) for p in prompts) - size for c in calls[1:])


@pytest.mark.parametrize(
    "options",
    [{"no_repeat_ngram_size": 2}],  # n-grams would span the moved padding
    ids=["no-repeat-ngrams"],
)
def test_generation_options_that_see_the_layout_run_plainly(
    sharp_llama: LoadedModel, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    prompts = prompts_and_labels(sharp_llama)[0]
    calls = spy_forward(sharp_llama, monkeypatch)
    settings = {"decoding": DecodingSettings(), **options}
    generate(sharp_llama, prompts, max_new_tokens=3, **settings)
    assert calls and not any(c["input_ids"].shape[0] == 1 for c in calls)  # no prefix pass
    assert calls[0]["input_ids"].shape[1] == max(len(p) for p in prompts)


def test_gemma3_window_shorter_than_prompt_and_output_generates_plainly(
    gemma3: Callable[[int], LoadedModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = prompts_and_labels(gemma3(256))[0]
    # The window holds every prompt, but not a prompt and its 6 new tokens.
    loaded = gemma3(max(len(p) for p in prompts) + 3)
    want, got, calls = generate_both(loaded, monkeypatch, 3)
    assert [g.token_ids for g in got] == [w.token_ids for w in want]
    # The longest prompts' batch comes first, whole: no prefix pass before it.
    assert calls[0]["input_ids"].shape == (3, max(len(p) for p in prompts))
