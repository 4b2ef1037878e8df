"""The fast paths: length-sorted batching, input windows, threads, the CTranslate2 backend.

Speed itself is measured by bench/throughput.py, never asserted here. These tests check
that the fast paths give the same answers as the slow ones: batched results equal
one-at-a-time results, windows keep input order, and CTranslate2 in float32 produces the
same greedy tokens as transformers on tiny random models of each architecture.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval_support import assert_error, cli
from llmcli.inputs import Item
from llmcli.models.base import LoadedModel, ModelChoice
from llmcli.models.loading import clear_cache, load_model
from llmcli.models.runtime import batching
from llmcli.models.runtime.base import DecodingSettings, GenerateRequest, Generation
from llmcli.models.threads import apply_threads, default_threads, physical_cores
from llmcli.runner import run_task
from llmcli.tasks.base import TaskInput, TaskResult
from tiny_models import corpus

# --- batching.plan ----------------------------------------------------------------------


def generate(loaded: LoadedModel, prompts: Any, **request: Any) -> list[Generation]:
    """``loaded.runtime.generate`` with the request's fields as keywords."""
    return loaded.runtime.generate(prompts, GenerateRequest(**request))


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=3000), max_size=300),
    batch_size=st.one_of(st.none(), st.integers(min_value=1, max_value=70)),
    device=st.sampled_from(["cpu", "cuda"]),
    new_tokens=st.sampled_from([0, 1, 64, 400]),
)
def test_plan_covers_every_index_once_longest_first(
    lengths: list[int], batch_size: int | None, device: str, new_tokens: int
) -> None:
    batches = batching.plan(lengths, batch_size, device, new_tokens=new_tokens)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))
    # Longest first across the whole plan, so each batch holds neighbouring lengths.
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    assert all(batches)
    kind = "cpu" if device == "cpu" else "gpu"
    budget = (batching.GENERATE_BUDGET if new_tokens else batching.FORWARD_BUDGET)[kind]
    for batch in batches:
        if batch_size is not None:
            assert len(batch) <= batch_size
            continue
        assert len(batch) <= batching.MAX_ROWS[kind]
        width = max(lengths[i] for i in batch) + new_tokens
        assert len(batch) == 1 or len(batch) * width <= budget
    assert batches == batching.plan(lengths, batch_size, device, new_tokens=new_tokens)


def test_plan_puts_short_items_in_big_batches_and_long_ones_in_small() -> None:
    lengths = [20] * 100 + [2000] * 6
    batches = batching.plan(lengths, None, "cpu")
    assert [len(b) for b in batches[:3]] == [2, 2, 2]  # 4096-token budget, 2000 each
    assert max(len(b) for b in batches) == batching.MAX_ROWS["cpu"]


# --- threads ----------------------------------------------------------------------------


def _fake_topology(root: Path, cores: list[tuple[int, int]]) -> None:
    for cpu, (package, core) in enumerate(cores):
        folder = root / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        (folder / "physical_package_id").write_text(f"{package}\n")
        (folder / "core_id").write_text(f"{core}\n")


def test_physical_cores_counts_hyperthread_siblings_once(tmp_path: Path) -> None:
    # Two sockets of two cores, each with two hyper-threads: 8 logical CPUs, 4 cores.
    layout = [(p, c) for p in (0, 1) for c in (0, 1)] * 2
    _fake_topology(tmp_path, layout)
    assert physical_cores(set(range(8)), root=tmp_path) == 4
    assert physical_cores({0, 4}, root=tmp_path) == 1  # siblings of one core
    assert physical_cores({0, 1}, root=tmp_path) == 2
    assert physical_cores({42}, root=tmp_path) == 1  # no topology: count the CPU


def test_default_threads_honours_omp_num_threads() -> None:
    assert default_threads({"OMP_NUM_THREADS": "3"}) == 3
    assert default_threads({"OMP_NUM_THREADS": "zero"}) == physical_cores()
    assert default_threads({}) == physical_cores()


def test_apply_threads_sets_torch() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert apply_threads(1, {}) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# --- runner windows ---------------------------------------------------------------------


class _Recorder:
    name = "echo"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def settings(self) -> dict[str, Any]:
        return {}

    def run(self, inputs: Any) -> list[TaskResult]:
        self.calls.append(len(inputs))
        return [TaskResult(text=i.text.upper()) for i in inputs]


def test_windows_keep_order_and_blank_lines() -> None:
    texts = ["a", "", "bb", "ccc", "", "d", "ee", "f"]
    items = [
        Item(text=t, source="x", index=i, line=i + 1, blank=not t) for i, t in enumerate(texts)
    ]
    task = _Recorder()
    outcomes = list(run_task(task, items, window_items=2))
    assert [o.item.text for o in outcomes] == texts
    assert [o.result.text if o.result else None for o in outcomes] == [
        "A",
        None,
        "BB",
        "CCC",
        None,
        "D",
        "EE",
        "F",
    ]
    assert task.calls == [2, 2, 2]  # six non-blank items, two per window


def test_windows_close_on_characters_too() -> None:
    items = [Item(text="x" * 10, source="x", index=i) for i in range(7)]
    task = _Recorder()
    list(run_task(task, items, window_items=100, window_chars=25))
    assert task.calls == [3, 3, 1]


# --- batched equals one at a time -------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {"HF_HUB_OFFLINE": "1", "LLMCLI_HOME": str(tmp_path / "home")}


def test_sorted_classifier_batches_equal_one_at_a_time(
    tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    from llmcli.tasks.sentiment import SentimentSettings, SentimentTask

    loaded = load_model(
        ModelChoice(str(tiny_model_dirs["distilbert_classifier"])), "sentiment", env=home
    )
    texts = [" ".join(corpus(40)[:k]) for k in range(1, 13)]  # lengths vary a lot
    inputs = [TaskInput(text=t) for t in texts]
    batched = SentimentTask(loaded, SentimentSettings()).run(inputs)
    single = [SentimentTask(loaded, SentimentSettings(batch_size=1)).run([i])[0] for i in inputs]
    for a, b in zip(batched, single, strict=True):
        assert a.fields["label"] == b.fields["label"]
        for label, p in a.fields["scores"].items():
            assert p == pytest.approx(b.fields["scores"][label], abs=1e-5)


@pytest.mark.parametrize("name", ["t5", "bart", "marian", "llama"])
def test_batched_greedy_equals_one_at_a_time(
    name: str, tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    loaded = load_model(ModelChoice(str(tiny_model_dirs[name])), "summarize", env=home)
    texts = corpus(30)[:24]
    prompts = [loaded.tokenizer(t)["input_ids"] for t in texts]
    batched = generate(loaded, prompts, max_new_tokens=8, decoding=DecodingSettings())
    single = [
        generate(loaded, [p], max_new_tokens=8, decoding=DecodingSettings(batch_size=1))[0]
        for p in prompts
    ]
    same = sum(a.token_ids == b.token_ids for a, b in zip(batched, single, strict=True))
    # Padding changes float rounding, which can flip a near-tie in a random model; real
    # agreement is reported by bench/throughput.py. Here nearly all must agree.
    assert same >= len(texts) - 1, f"{same}/{len(texts)}"


# --- CTranslate2 ------------------------------------------------------------------------

needs_ct2 = pytest.mark.skipif(
    importlib.util.find_spec("ctranslate2") is None,
    reason="ctranslate2 is not installed (pip install 'llmcli[fast]')",
)


@needs_ct2
@pytest.mark.parametrize("name", ["t5", "bart", "marian", "llama"])
def test_ctranslate2_float32_gives_the_same_greedy_tokens(
    name: str, tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    folder = str(tiny_model_dirs[name])
    torch_model = load_model(ModelChoice(folder), "summarize", env=home)
    fast = load_model(
        ModelChoice(folder, backend="ctranslate2", compute_type="float32"), "summarize", env=home
    )
    assert fast.backend == "ctranslate2" and fast.dtype == "float32"
    prompts = [torch_model.tokenizer(t)["input_ids"] for t in corpus(30)[:16]]
    for new in (1, 9):
        want = generate(torch_model, prompts, max_new_tokens=new, decoding=DecodingSettings())
        got = generate(fast, prompts, max_new_tokens=new, decoding=DecodingSettings())
        assert [g.token_ids for g in got] == [w.token_ids for w in want]
        assert [g.finished for g in got] == [w.finished for w in want]
    int8 = load_model(
        ModelChoice(folder, backend="ctranslate2", compute_type="int8"), "summarize", env=home
    )
    assert len(generate(int8, prompts, max_new_tokens=4, decoding=DecodingSettings())) == 16


@needs_ct2
def test_ctranslate2_runs_a_shared_prompt_prefix_once(
    tiny_model_dirs: dict[str, Path], home: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmcli.models.runtime import ct2_runtime, tokens

    folder = str(tiny_model_dirs["llama"])
    torch_model = load_model(ModelChoice(folder), "summarize", env=home)
    clear_cache()  # a fresh CTranslate2 model: no prefixes cached yet
    fast = load_model(
        ModelChoice(folder, backend="ctranslate2", compute_type="float32"), "summarize", env=home
    )
    tokenizer = torch_model.tokenizer
    texts = corpus(30)[:12]
    own = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]

    def prompts_with(instruction: str) -> list[list[int]]:
        head = tokenizer(instruction)["input_ids"]
        assert len(head) >= tokens.MIN_SHARED_PREFIX
        return [head + ids for ids in own]

    calls: list[dict[str, Any]] = []
    engine = fast.model.engine

    class Spy:
        def generate_batch(self, start: Any, **options: Any) -> Any:
            calls.append(options)
            return engine.generate_batch(start, **options)

    monkeypatch.setattr(fast.model, "engine", Spy())
    settings = DecodingSettings(batch_size=5)  # several batches share the cached prefix
    instruction = " ".join(corpus(31)[:3])
    prompts = prompts_with(instruction)
    want = generate(torch_model, prompts, max_new_tokens=6, decoding=settings)
    got = generate(fast, prompts, max_new_tokens=6, decoding=settings)
    assert [g.token_ids for g in got] == [w.token_ids for w in want]
    assert len(calls) == 3 and all(c["static_prompt"] for c in calls)
    assert all(c["cache_static_prompt"] for c in calls)
    assert len(fast.model.cached_prefixes) == 1

    # Without the prefix path (too short to pay), the same tokens.
    minimum = tokens.MIN_SHARED_PREFIX
    monkeypatch.setattr(tokens, "MIN_SHARED_PREFIX", 10**6)
    calls.clear()
    plain = generate(fast, prompts, max_new_tokens=6, decoding=settings)
    assert [g.token_ids for g in plain] == [g.token_ids for g in got]
    assert calls and not any("static_prompt" in c for c in calls)
    monkeypatch.setattr(tokens, "MIN_SHARED_PREFIX", minimum)

    # Prefixes kept are bounded; further ones are still passed, but not cached.
    monkeypatch.setattr(ct2_runtime, "MAX_CACHED_PREFIXES", 2)
    for k in range(3):
        calls.clear()
        generate(fast, prompts_with(f"{k} {instruction}"), max_new_tokens=2, decoding=settings)
        assert all(c["static_prompt"] for c in calls)
        assert all(c["cache_static_prompt"] is (k < 1) for c in calls)
    assert len(fast.model.cached_prefixes) == 2


@needs_ct2
def test_ctranslate2_converts_once_into_the_cache(
    tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    folder = str(tiny_model_dirs["marian"])
    clear_cache()  # loaded models are kept per process; this test needs a fresh load
    first = load_model(ModelChoice(folder, backend="ctranslate2"), "summarize", env=home)
    converted = Path(first.model.path)
    assert converted.parent == Path(home["LLMCLI_HOME"]) / "models" / "ctranslate2"
    marker = json.loads((converted / "llmcli-model.json").read_text())
    assert marker["name"] == "marian"
    stamp = (converted / "model.bin").stat().st_mtime_ns
    clear_cache()
    again = load_model(ModelChoice(folder, backend="ctranslate2"), "summarize", env=home)
    assert Path(again.model.path) == converted
    assert (converted / "model.bin").stat().st_mtime_ns == stamp  # not converted again


@needs_ct2
def test_ctranslate2_through_the_cli_records_the_backend(
    tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    args = ["summarize", "--lines", "--json", "--backend", "ctranslate2", "--threads", "1"]
    stdin = b"One short line.\n\nAnother line of text.\n"
    result = cli(*args, "--model", tiny_model_dirs["t5"], stdin=stdin, variables=home)
    assert result.code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3
    run = records[0]["run"]
    assert run["backend"] == "ctranslate2" and run["dtype"] == "int8" and run["threads"] == 1
    assert run["settings"]["batch_size"] is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(
            ["sentiment", "--backend", "ctranslate2"],
            "runs summarize, translate and generate, not sentiment",
            marks=needs_ct2,
        ),
        (["summarize", "--backend", "onnx"], "invalid backend 'onnx'"),
        (["summarize", "--compute-type", "int8"], "--compute-type needs --backend ctranslate2"),
        (["summarize", "--backend", "ctranslate2", "--compute-type", "int4"], "compute type"),
    ],
)
def test_backend_usage_errors(
    args: list[str], fragment: str, tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    model = tiny_model_dirs["t5"]
    result = cli(*args, "--model", model, stdin=b"Some text.\n", variables=home)
    assert_error(result, 2, fragment)


@needs_ct2
def test_ctranslate2_refuses_a_classifier(
    tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    model = tiny_model_dirs["distilbert_classifier"]
    args = ["summarize", "--backend", "ctranslate2", "--model", model]
    result = cli(*args, stdin=b"Some text.\n", variables=home)
    assert_error(result, 2, "runs generative models")


def test_missing_ctranslate2_exits_3_with_the_install_command(
    tiny_model_dirs: dict[str, Path], home: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # import now raises ImportError
    args = ["summarize", "--backend", "ctranslate2", "--model", tiny_model_dirs["t5"]]
    result = cli(*args, stdin=b"Some text.\n", variables=home)
    assert_error(result, 3, "needs the ctranslate2 package", "llmcli[fast]")


@needs_ct2
def test_a_model_ctranslate2_cannot_convert_exits_3(
    tiny_model_dirs: dict[str, Path], home: dict[str, str]
) -> None:
    # The tiny M2M100 pads its embedding past its vocabulary, which CTranslate2 refuses.
    model = tiny_model_dirs["m2m100"]
    args = ["summarize", "--quiet", "--backend", "ctranslate2", "--model", model]
    result = cli(*args, stdin=b"Some text.\n", variables=home)
    assert_error(result, 3, "CTranslate2 cannot convert", "--backend torch")
    leftovers = list((Path(home["LLMCLI_HOME"]) / "models" / "ctranslate2").glob("*"))
    assert not [p for p in leftovers if p.is_dir()]  # no half-converted folder stays


def test_a_long_run_of_blank_lines_closes_windows() -> None:
    from llmcli.runner import WINDOW_PENDING, run_windows

    count = WINDOW_PENDING * 2 + 5
    items = [Item(text="", source="x", index=i, line=i + 1, blank=True) for i in range(count)]
    items.append(Item(text="last", source="x", index=count, line=count + 1))
    sizes = [len(w) for w in run_windows(_Recorder(), items)]
    assert sizes == [WINDOW_PENDING, WINDOW_PENDING, 6]  # memory held stays bounded
