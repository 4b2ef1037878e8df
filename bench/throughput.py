"""Throughput of llmcli's model commands against a naive loop and CTranslate2, in one run.

Seven workloads, each on the same inputs and the same model for every path:

- ``classifier``: a DistilBERT-base-size classifier (random weights), ``sentiment``;
- ``t5-small`` and ``marian``: T5-small-size and Marian (opus-mt-en-de)-size
  sequence-to-sequence models (random weights), ``summarize`` with a fixed generated
  length (``--min-length N --max-length N``);
- ``smollm2-sentiment``, ``smollm2-summarize``, ``gemma-translate``: the built-in default
  models on real text from ``bench/data/``;
- ``smollm2-generate``: ``generate --lines --greedy`` with a fixed token limit, each
  sentence a prompt (a chat turn), against a per-prompt ``generate`` loop.

Paths, each in its own process (so its peak RSS is its own):

1. the naive baseline a user would write: per item, the tokenizer, then the model's
   forward pass or ``generate`` with its defaults (same prompt, stop tokens and length
   budget as llmcli, so that greedy outputs can be compared);
2. llmcli through its core (``load_model``, ``build_task``, ``run_task``) and through its
   CLI (``llmcli TASK --lines``, process start and model load included);
3. llmcli's optional fast path (``--backend ctranslate2``, int8 and float32) when this
   llmcli has it;
4. for the sequence-to-sequence models: CTranslate2 itself (``Translator.translate_batch``
   on a conversion of the same folder), float32 and int8.

Results go to the ``throughput`` section of docs/benchmarks.md::

    .venv/bin/python bench/throughput.py            # the default sizes (~15-20 min, 2 idle cores)
    .venv/bin/python bench/throughput.py --quick --no-doc   # smoke run (~4 min), prints only

Random-weight models (tests/tiny_models.py's "real" configs) and their tokenizers (trained
here on English prose shipped with CPython plus the benchmark's own texts, padded to the
real vocabulary sizes) are built once into bench/out/throughput/ (git-ignored) and reused,
as are the CTranslate2 conversions.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report as report

# The random-weight models' factory, shared with the tests and bench/gpu.py (last on the
# path: nothing in tests/ is to shadow another module).
sys.path.append(str(report.REPO / "tests"))
import tiny_models

OUT = report.REPO / "bench" / "out" / "throughput"
DATA = report.REPO / "bench" / "data"
BIN = Path(sys.executable).parent
LLMCLI = str(BIN / "llmcli")
PACKAGES = ["llmcli", "torch", "transformers", "tokenizers", "ctranslate2", "numpy"]
BUILD_VERSION = 3  # bump when the random models change, to rebuild them in bench/out/

CLASSIFIER_SPEEDUP = 3.0  # llmcli vs the naive loop, classifier
CLASSIFIER_CEILING = 0.40  # fraction of the measured fp32 GEMM rate
GENERATION_SPEEDUP = 2.0  # llmcli vs the naive loop, generation (identical greedy outputs)
FAST_SPEEDUP = 1.5  # the fast path vs llmcli's default path
CT2_PARITY = 1.0  # llmcli vs CTranslate2 float32, sequence-to-sequence

# Real vocabulary sizes: the random models are tests/tiny_models.py's "real" configs.
T5_VOCAB = tiny_models.CONFIGS["t5"].sizes["real"]["vocab_size"]  # t5-small: 32,128
MARIAN_VOCAB = tiny_models.CONFIGS["marian"].sizes["real"]["vocab_size"]  # opus-mt-en-de: 58,101
BERT_VOCAB = tiny_models.CONFIGS["distilbert"].sizes["real"]["vocab_size"]  # distilbert: 30,522


# --- texts ------------------------------------------------------------------------------


def _jsonl(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _dedupe(texts: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for text in texts:
        text = " ".join(text.split())
        if text:
            seen.setdefault(text)
    return list(seen)


def text_pools() -> dict[str, list[str]]:
    """Real English from bench/data/: one-sentence items and paragraph items."""
    sentences = [
        r["text"] for f in ("sentiment.jsonl", "sentiment_heldout.jsonl") for r in _jsonl(f)
    ]
    sentences += [r["en"] for r in _jsonl("translate.jsonl")]
    sentences += [r["question"] for f in ("qa.jsonl", "qa_heldout.jsonl") for r in _jsonl(f)]
    paragraphs = [r["text"] for r in _jsonl("summarize.jsonl")]
    paragraphs += [r["context"] for f in ("qa.jsonl", "qa_heldout.jsonl") for r in _jsonl(f)]
    reviews = [r["text"] for f in ("sentiment.jsonl", "sentiment_heldout.jsonl") for r in _jsonl(f)]
    return {
        "sentences": _dedupe(sentences),
        "paragraphs": _dedupe(paragraphs),
        "reviews": _dedupe(reviews),
    }


def take(pool: Sequence[str], count: int) -> list[str]:
    """``count`` items from ``pool``, cycling through it when it is shorter."""
    return [pool[i % len(pool)] for i in range(count)]


# --- random-weight models of the real sizes ----------------------------------------------


def _corpus() -> list[str]:
    """Tokenizer training text: CPython's English prose, plus the benchmark's own texts
    (five times), so that their common words are single tokens as in a real vocabulary."""
    from eval_speed import _prose

    lines = [line.strip() for text in _prose() for line in text.splitlines() if line.strip()]
    pools = text_pools()
    return lines + (pools["sentences"] + pools["paragraphs"]) * 5


def _make_distilbert(path: Path, corpus: list[str]) -> None:
    from transformers import DistilBertForSequenceClassification, DistilBertTokenizer

    vocab = tiny_models.wordpiece_vocab(BERT_VOCAB, corpus, pad=True)
    tokenizer = DistilBertTokenizer(vocab=vocab, do_lower_case=True)
    config = tiny_models.config(  # distilbert-base-uncased, with a two-label head
        "distilbert",
        "real",
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    model = tiny_models.build(DistilBertForSequenceClassification, config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def _make_t5(path: Path, corpus: list[str]) -> None:
    import torch
    from transformers import GenerationConfig, T5ForConditionalGeneration, T5Tokenizer

    pieces = tiny_models.unigram_pieces(32000, ["<pad>", "</s>", "<unk>"], corpus, pad=True)
    # 32,000 pieces + 128 extra ids = t5-small's 32,128 embedding rows, all decodable.
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=T5_VOCAB - 32000)
    model = tiny_models.build(T5ForConditionalGeneration, tiny_models.config("t5", "real"))
    # transformers ties T5's output head to its input embeddings; with T5's random init
    # (std 1) greedy search then keeps copying its last token, starting with the decoder
    # start token (pad). Smaller embeddings (same cost) give varied tokens instead.
    with torch.no_grad():
        model.shared.weight.normal_(0.0, 0.02)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=0, eos_token_id=1, pad_token_id=0
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def _make_marian(path: Path, corpus: list[str]) -> None:
    from transformers import GenerationConfig, MarianMTModel

    with tempfile.TemporaryDirectory() as tmp:
        # opus-mt's vocab.json: </s>=0, <unk>=1, pieces, ..., <pad> last (58,100).
        tokenizer = tiny_models.marian_tokenizer(
            Path(tmp), 32000, vocab_size=MARIAN_VOCAB, texts=corpus
        )
        pad = MARIAN_VOCAB - 1
        config = tiny_models.config(
            "marian",
            "real",
            # An output head of its own (same shape and cost as a tied one): tied to the
            # random input embeddings, greedy search mostly copies its last token.
            tie_word_embeddings=False,
            pad_token_id=pad,
            eos_token_id=0,
            decoder_start_token_id=pad,
        )
        model = tiny_models.build(MarianMTModel, config)
        # Greedy, without opus-mt's beams, bad-word and forced-end processors: every path
        # runs plain greedy search.
        model.generation_config = GenerationConfig(
            decoder_start_token_id=pad, eos_token_id=0, pad_token_id=pad, max_length=512
        )
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)


RANDOM_MODELS: dict[str, Callable[[Path, list[str]], None]] = {
    "distilbert-base-classifier": _make_distilbert,
    "t5-small-size": _make_t5,
    "marian-en-de-size": _make_marian,
}


def build_models(names: Sequence[str]) -> dict[str, Path]:
    """Build (or reuse from bench/out/) the random-weight models; name → folder."""
    folders: dict[str, Path] = {}
    corpus: list[str] | None = None
    for name in names:
        folder = OUT / "models" / name
        marker = folder / ".bench-complete"
        if not (marker.exists() and marker.read_text().strip() == str(BUILD_VERSION)):
            started = time.perf_counter()
            corpus = corpus or _corpus()
            tmp = folder.with_name(folder.name + ".tmp")
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Recommended: pip install sacremoses"
                RANDOM_MODELS[name](tmp, corpus)
            (tmp / ".bench-complete").write_text(f"{BUILD_VERSION}\n")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
            _progress(f"built {name} in {time.perf_counter() - started:.0f} s")
        folders[name] = folder
    return folders


# --- workloads --------------------------------------------------------------------------


@dataclass
class Workload:
    """One model on one task: every path runs it on the same items."""

    key: str
    title: str
    task: str  # sentiment, summarize, translate
    kind: str  # classify (classifier head), score (label likelihood), generate
    family: str  # classifier, causal, seq2seq
    folder: str  # the transformers folder (naive loop, CTranslate2)
    model: str | None  # what llmcli is given: a folder, or None for the built-in default
    pool: str  # which texts
    items: int
    max_new: int | None = None  # summarize --max-length
    min_new: int = 0  # summarize --min-length
    target: str | None = None  # translate --to
    random: bool = False

    def cli_options(self) -> list[str]:
        options = []
        if self.model is not None:
            options += ["--model", self.model]
        if self.task == "summarize":
            options += ["--method", "abstractive", "--max-length", str(self.max_new)]
            if self.min_new:
                options += ["--min-length", str(self.min_new)]
        if self.task == "translate":
            options += ["--to", str(self.target), "--num-beams", "1"]
        if self.task == "generate":
            options += ["--greedy", "--max-new-tokens", str(self.max_new)]
        return options

    def describe(self) -> str:
        return f"`llmcli {self.task} --lines {' '.join(self.cli_options())}`".replace(
            str(OUT) + "/", "bench/out/throughput/"
        )


@dataclass
class Sizes:
    classifier: int
    seq2seq: int
    new_tokens: int
    sentiment: int
    summarize: int
    summary_tokens: int
    translate: int
    generate: int = 50
    generate_tokens: int = 32


FULL = Sizes(
    classifier=800,
    seq2seq=160,
    new_tokens=32,
    sentiment=90,
    summarize=22,
    summary_tokens=64,
    translate=40,
)
QUICK = Sizes(
    classifier=64,
    seq2seq=12,
    new_tokens=12,
    sentiment=8,
    summarize=3,
    summary_tokens=16,
    generate=4,
    generate_tokens=8,
    translate=4,
)
#: --quick runs one workload of each kind (classifier, label scoring, seq2seq with
#: CTranslate2, causal generation), Gemma left out because it loads slowest;
#: --workloads overrides it.
QUICK_WORKLOADS = ("classifier", "t5-small", "smollm2-sentiment", "smollm2-summarize")
WORKLOADS = (
    "classifier",
    "t5-small",
    "marian",
    "smollm2-sentiment",
    "smollm2-summarize",
    "gemma-translate",
    "smollm2-generate",
)


def w_task(key: str) -> str:
    """The llmcli command a workload runs."""
    named = {
        "smollm2-summarize": "summarize",
        "t5-small": "summarize",
        "marian": "summarize",
        "gemma-translate": "translate",
        "smollm2-generate": "generate",
    }
    return named.get(key, "sentiment")


_RANDOM_FOR = {
    "classifier": "distilbert-base-classifier",
    "t5-small": "t5-small-size",
    "marian": "marian-en-de-size",
}


def setup_folders(keys: Sequence[str], env: dict[str, str]) -> dict[str, str]:
    """Each workload's model folder: random models built, built-in models prepared."""
    built = build_models([_RANDOM_FOR[k] for k in keys if k in _RANDOM_FOR])
    folders = {k: str(built[_RANDOM_FOR[k]]) for k in keys if k in _RANDOM_FOR}
    for key in keys:
        if key.startswith("smollm2"):
            folders[key] = builtin_folder(w_task(key), env)
        elif key == "gemma-translate":
            folders[key] = builtin_folder("translate", env, ("en", "fr"))
    return folders


def make_workloads(keys: Sequence[str], sizes: Sizes, folders: dict[str, str]) -> list[Workload]:
    n = sizes.new_tokens
    out: list[Workload] = []
    for key in keys:
        if key == "classifier":
            f = folders[key]
            out.append(
                Workload(key, "DistilBERT-base-size classifier (random weights), `sentiment`",
                         "sentiment", "classify", "classifier", f, f, "sentences",
                         sizes.classifier, random=True)
            )  # fmt: skip
        elif key == "t5-small":
            f = folders[key]
            out.append(
                Workload(key, f"T5-small-size seq2seq (random weights), `summarize`, {n} "
                         "new tokens",
                         "summarize", "generate", "seq2seq", f, f, "paragraphs", sizes.seq2seq,
                         max_new=n, min_new=n, random=True)
            )  # fmt: skip
        elif key == "marian":
            f = folders[key]
            out.append(
                Workload(key, f"Marian-size seq2seq (opus-mt-en-de sizes, random weights), "
                         f"`summarize`, {n} new tokens",
                         "summarize", "generate", "seq2seq", f, f, "sentences", sizes.seq2seq,
                         max_new=n, min_new=n, random=True)
            )  # fmt: skip
        elif key == "smollm2-sentiment":
            f = folders[key]
            out.append(
                Workload(key, "SmolLM2-135M-Instruct (built-in default), `sentiment` "
                         "(label likelihood: one forward pass per item)",
                         "sentiment", "score", "causal", f, None, "reviews", sizes.sentiment)
            )  # fmt: skip
        elif key == "smollm2-summarize":
            f = folders[key]
            out.append(
                Workload(key, "SmolLM2-135M-Instruct (built-in default), "
                         "`summarize --method abstractive`, "
                         f"at most {sizes.summary_tokens} new tokens",
                         "summarize", "generate", "causal", f, None, "paragraphs",
                         sizes.summarize, max_new=sizes.summary_tokens)
            )  # fmt: skip
        elif key == "smollm2-generate":
            f = folders[key]
            out.append(
                Workload(key, "SmolLM2-135M-Instruct (built-in default), `generate --greedy`, "
                         f"at most {sizes.generate_tokens} new tokens",
                         "generate", "generate", "causal", f, None, "sentences",
                         sizes.generate, max_new=sizes.generate_tokens)
            )  # fmt: skip
        elif key == "gemma-translate":
            f = folders[key]
            out.append(
                Workload(key, "Gemma 3 270M (built-in default), `translate --to fr --num-beams 1`",
                         "translate", "generate", "causal", f, None, "sentences",
                         sizes.translate, target="fr")
            )  # fmt: skip
    return out


def builtin_folder(task: str, env: dict[str, str], languages: tuple[str, str] | None = None) -> str:
    """The prepared folder of the built-in default model for ``task`` (prepared if needed)."""
    from llmcli.models import builtin
    from llmcli.models.registry import SourceKind, resolve

    ref = resolve(None, task, env, languages)
    if ref.kind is not SourceKind.BUILTIN:
        raise SystemExit(f"the default {task} model is {ref.target}, not a built-in model")
    return str(builtin.prepare(ref.target, env, lambda m: _progress(f"llmcli: {m}")))


# --- the worker: one path in its own process ---------------------------------------------


def _threads(count: int) -> None:
    import torch

    torch.set_num_threads(count)


def model_structure(model: Any, family: str) -> dict[str, Any]:
    """Weights per kind of position, for the FLOP count (nn.Linear weights only)."""
    import torch.nn as nn

    head_module = None if family == "classifier" else model.get_output_embeddings()
    cross = ("EncDecAttention.k", "EncDecAttention.v", "encoder_attn.k_proj", "encoder_attn.v_proj")
    sizes = {"body": 0, "encoder": 0, "decoder": 0, "cross_kv": 0, "head": 0}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        count = module.weight.numel()
        if module is head_module or (
            family == "classifier" and name.split(".")[0] in ("pre_classifier", "classifier")
        ):
            sizes["head"] += count
        elif family == "seq2seq" and "decoder" in name:
            sizes["cross_kv" if name.endswith(cross) else "decoder"] += count
        elif family == "seq2seq":
            sizes["encoder"] += count
        else:
            sizes["body"] += count
    cfg = model.config
    cfg = getattr(cfg, "text_config", None) or cfg

    def first(*names: str) -> int:
        for n in names:
            value = getattr(cfg, n, None)
            if isinstance(value, int) and value > 0:
                return value
        raise ValueError(f"config has none of {names}")

    heads = first("num_attention_heads", "num_heads", "n_heads", "encoder_attention_heads")
    hidden = first("d_model", "dim", "hidden_size")
    head_dim = getattr(cfg, "head_dim", None) or getattr(cfg, "d_kv", None) or hidden // heads
    return {
        **sizes,
        "d_attn": int(heads * head_dim),
        "enc_layers": first("num_layers", "encoder_layers", "n_layers", "num_hidden_layers"),
        "dec_layers": first(
            "num_decoder_layers", "decoder_layers", "num_hidden_layers", "n_layers", "num_layers"
        ),
        "params": sum(p.numel() for p in model.parameters()),
    }


def _ns(model: Any, tokenizer: Any) -> Any:
    """Enough of a LoadedModel for llmcli's prompt and stop-token helpers."""
    from types import SimpleNamespace

    return SimpleNamespace(
        model=model,
        tokenizer=tokenizer,
        extra={},
        config=model.config,
        generation_config=getattr(model, "generation_config", None),
    )


def _cut(tokens: list[int], ends: set[int]) -> tuple[list[int], int]:
    """Tokens before the first end token, and the decoding steps (end token included)."""
    for k, t in enumerate(tokens):
        if t in ends:
            return tokens[:k], k + 1
    return tokens, len(tokens)


def worker_naive(spec: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """Per item: tokenizer, then forward or ``generate`` with defaults."""
    import torch
    import transformers

    from llmcli.models.runtime import tokens as runtime_tokens
    from llmcli.tasks import languages, prompts

    w = Workload(**spec["workload"])
    started = time.perf_counter()
    auto = {
        "classifier": transformers.AutoModelForSequenceClassification,
        "causal": transformers.AutoModelForCausalLM,
        "seq2seq": transformers.AutoModelForSeq2SeqLM,
    }[w.family]
    tok = transformers.AutoTokenizer.from_pretrained(w.folder)
    model = auto.from_pretrained(w.folder, dtype=torch.float32)
    model.eval()
    load_s = time.perf_counter() - started
    ns = _ns(model, tok)
    structure = model_structure(model, w.family)

    def classify(text: str) -> dict[str, Any]:
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0]
        probs = torch.softmax(logits, -1).tolist()
        return {"probs": probs, "prompt_len": enc["input_ids"].shape[1], "steps": 0}

    labels = ["negative", "positive"]
    label_first = [tok(f" {lab}", add_special_tokens=False)["input_ids"][0] for lab in labels]

    def score(text: str) -> dict[str, Any]:
        enc = tok(prompts.sentiment_prompt(text, labels), return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0, -1]
        logp = torch.log_softmax(logits, -1)
        probs = runtime_tokens.normalise([float(logp[t]) for t in label_first])
        ids = enc["input_ids"][0].tolist()
        return {"probs": probs, "prompt": ids, "prompt_len": len(ids), "steps": 0}

    ends = set(runtime_tokens.stop_ids(ns))
    if w.task == "translate":
        ends |= set(runtime_tokens.newline_ids(tok))
    pad = runtime_tokens.pad_id(ns)
    prefix = ""
    if w.family == "seq2seq":
        from llmcli.tasks.summarize import seq2seq_prefix

        prefix = seq2seq_prefix(ns)
    pairs = languages.few_shot_pairs("en", w.target) if w.task == "translate" else []
    limit = runtime_tokens.context_length(ns)

    def generate(text: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"do_sample": False, "num_beams": 1, "pad_token_id": pad}
        kwargs["eos_token_id"] = sorted(ends)
        if w.family == "seq2seq":
            enc = tok(prefix + text, return_tensors="pt")
            kwargs.update(max_new_tokens=w.max_new, min_new_tokens=w.min_new)
            kwargs["no_repeat_ngram_size"] = 3  # what llmcli's summarize uses on seq2seq
        elif w.task == "summarize":
            enc = tok(prompts.summarize_prompt(ns, text, None), return_tensors="pt")
            kwargs["max_new_tokens"] = w.max_new
        elif w.task == "generate":
            # The prompt as a user turn, as llmcli gives a chat model (no extra specials).
            turn = prompts.chat(tok, [{"role": "user", "content": text}])
            enc = tok(turn, add_special_tokens=False, return_tensors="pt")
            kwargs["max_new_tokens"] = w.max_new
        else:
            prompt, _ = prompts.translate_prompt(
                ns, text, languages.name("en"), languages.name(str(w.target)), pairs
            )
            enc = tok(prompt, return_tensors="pt")
            size = len(tok(text, add_special_tokens=False)["input_ids"])
            budget = 2 * size + 16  # llmcli's default budget for a segment
            kwargs["max_new_tokens"] = max(1, min(budget, limit - enc["input_ids"].shape[1] - 1))
        out = model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        new = out[0, width:] if w.family == "causal" else out[0, 1:]
        kept, steps = _cut(new.tolist(), ends)
        return {
            "prompt": enc["input_ids"][0].tolist(),
            "new": kept,
            "steps": steps,
            "prompt_len": width,
            "text": tok.decode(kept, skip_special_tokens=True).strip(),
        }

    run = {"classify": classify, "score": score, "generate": generate}[w.kind]
    for text in texts[: spec["warmup"]]:
        run(text)
    wall, cpu = time.perf_counter(), time.process_time()
    results = [run(text) for text in texts]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "load_s": load_s,
        "wall": wall,
        "cpu": cpu,
        "structure": structure,
        "results": results,
        "jobs": [[r["prompt_len"], r["steps"]] for r in results],
    }


def _capture(loaded: Any, log: list[tuple[list[int], list[int], int]]) -> None:
    """Record every generation the task asks of ``loaded``: prompt, new tokens, steps.

    Wraps the model's runtime (what tasks generate through), so nothing of the tasks'
    own modules is patched.
    """
    loaded.runtime = _RecordingRuntime(loaded.runtime, log)


class _RecordingRuntime:
    """A runtime that passes everything on and logs what ``generate`` made."""

    def __init__(self, inner: Any, log: list[tuple[list[int], list[int], int]]) -> None:
        self._inner = inner
        self._log = log

    def generate(self, prompts: Any, request: Any) -> Any:
        outputs = self._inner.generate(prompts, request)
        for prompt, out in zip(prompts, outputs, strict=True):
            steps = len(out.token_ids) + (1 if out.finished else 0)
            self._log.append((list(prompt), list(out.token_ids), steps))
        return outputs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _settings(w: Workload, batch_size: int | None) -> Any:
    extra: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    if w.task == "sentiment":
        from llmcli.tasks.sentiment import SentimentSettings

        return SentimentSettings(**extra)
    if w.task == "summarize":
        from llmcli.tasks.summarize import SummarizeSettings

        # Written summaries: the built-in models would default to extraction, which
        # generates nothing and is not what these rows measure.
        return SummarizeSettings(
            max_length=int(w.max_new or 128), min_length=w.min_new, method="abstractive", **extra
        )
    if w.task == "generate":
        from llmcli.tasks.generate import GenerateSettings

        return GenerateSettings(do_sample=False, max_new_tokens=int(w.max_new or 32), **extra)
    from llmcli.tasks.translate import TranslateSettings

    # Greedy, as the naive loop decodes (the command's default is beam search).
    return TranslateSettings(target=str(w.target), markdown=False, num_beams=1, **extra)


def worker_core(spec: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """llmcli's core: load_model, build_task, run_task over Items."""
    from llmcli.inputs import Item
    from llmcli.models.base import ModelChoice
    from llmcli.models.loading import load_model
    from llmcli.runner import run_task
    from llmcli.tasks.registry import build_task

    w = Workload(**spec["workload"])
    started = time.perf_counter()
    choice = ModelChoice(
        w.model,
        device="cpu",
        threads=spec["threads"],
        backend=spec["backend"],
        compute_type=spec["compute_type"] if spec["backend"] != "torch" else "auto",
        languages=("en", str(w.target)) if w.task == "translate" else None,
        # bench/precision.py's rows; the default path otherwise.
        dtype=spec.get("dtype", "auto"),
        quantize=spec.get("quantize", "auto"),
    )
    loaded = load_model(choice, w.task)
    _threads(spec["threads"])  # the same thread count as every other path
    task = build_task(w.task, loaded, _settings(w, spec["batch_size"]))
    load_s = time.perf_counter() - started
    log: list[tuple[list[int], list[int], int]] = []
    _capture(loaded, log)
    items = [Item(text=t, source="bench", index=i, line=i + 1) for i, t in enumerate(texts)]
    params = inspect.signature(run_task).parameters
    extra = [spec["batch_size"] or 8] if "batch_size" in params else []  # older runner

    def run(batch: list[Item]) -> list[Any]:
        return [o.result for o in run_task(task, batch, *extra)]

    run(items[: spec["warmup"]])
    log.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    results = run(items)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    out: list[dict[str, Any]] = []
    for r in results:
        entry: dict[str, Any] = {"text": r.text}
        if w.task == "sentiment":
            scores = r.fields["scores"]
            entry["probs"] = list(scores.values())  # in the task's label order
            entry["label"] = r.fields["label"]
        out.append(entry)
    weights = getattr(loaded.model, "named_parameters", None)
    return {
        "load_s": load_s,
        "wall": wall,
        "cpu": cpu,
        "results": out,
        # For bench/precision.py's share of a ceiling (a classifier's forward FLOPs).
        "params": sum(p.numel() for n, p in weights() if "embed" not in n) if weights else 0,
        "tokens": sum(len(loaded.tokenizer(t)["input_ids"]) for t in texts)
        if w.kind == "classify"
        else 0,
        "generations": [[p, n, s] for p, n, s in log],
        "jobs": [[len(p), s] for p, _, s in log],
    }


def worker_convert(spec: dict[str, Any]) -> dict[str, Any]:
    import ctranslate2

    target = Path(spec["ct2_dir"])
    if not (target / "model.bin").exists():
        tmp = target.with_name(target.name + ".tmp")
        converter = ctranslate2.converters.TransformersConverter(spec["workload"]["folder"])
        converter.convert(str(tmp), quantization=spec["quantization"], force=True)
        os.replace(tmp, target)
    return {}


def worker_ct2(spec: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """CTranslate2 directly: tokenizer, ``Translator.translate_batch``, detokenize."""
    import ctranslate2
    import transformers

    w = Workload(**spec["workload"])
    started = time.perf_counter()
    tok = transformers.AutoTokenizer.from_pretrained(w.folder)
    translator = ctranslate2.Translator(
        spec["ct2_dir"],
        device="cpu",
        compute_type="default",  # what the conversion stored: float32 or int8
        intra_threads=spec["threads"],
        inter_threads=1,
    )
    load_s = time.perf_counter() - started
    from llmcli.tasks.summarize import seq2seq_prefix

    prefix = seq2seq_prefix(_ns(_FakeModel(transformers.AutoConfig.from_pretrained(w.folder)), tok))

    def run(batch: list[str]) -> list[dict[str, Any]]:
        ids = tok([prefix + t for t in batch])["input_ids"]
        source = [tok.convert_ids_to_tokens(i) for i in ids]
        results = translator.translate_batch(
            source,
            max_batch_size=spec["ct2_batch"],
            beam_size=1,
            min_decoding_length=w.min_new,
            max_decoding_length=int(w.max_new or 0),
            no_repeat_ngram_size=3,
        )
        out = []
        for src, res in zip(ids, results, strict=True):
            new = [int(i) for i in tok.convert_tokens_to_ids(res.hypotheses[0])]
            out.append(
                {
                    "prompt": list(src),
                    "new": new,
                    "steps": len(new),
                    "prompt_len": len(src),
                    "text": tok.decode(new, skip_special_tokens=True).strip(),
                }
            )
        return out

    run(texts[: spec["warmup"]])
    wall, cpu = time.perf_counter(), time.process_time()
    results = run(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "load_s": load_s,
        "wall": wall,
        "cpu": cpu,
        "results": results,
        "jobs": [[r["prompt_len"], r["steps"]] for r in results],
    }


@dataclass
class _FakeModel:
    config: Any


def worker_gemm(spec: dict[str, Any]) -> dict[str, Any]:
    """Best fp32 matrix-multiply rate at the thread count (n x n by n x n, torch.mm)."""
    import torch

    n = spec["gemm_n"]
    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=c)
    best = math.inf
    for _ in range(spec["gemm_reps"]):
        start = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * n**3 / best / 1e9, "n": n, "reps": spec["gemm_reps"]}


def worker_main(spec_file: str) -> int:
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    warnings.simplefilter("ignore")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    _threads(spec["threads"])
    texts = spec.get("texts") or []
    path = spec["path"]
    if path == "naive":
        result = worker_naive(spec, texts)
    elif path == "core":
        result = worker_core(spec, texts)
    elif path == "ct2":
        result = worker_ct2(spec, texts)
    elif path == "convert":
        result = worker_convert(spec)
    elif path == "setup":
        result = setup_folders(spec["keys"], dict(os.environ))
    else:
        result = worker_gemm(spec)
    Path(spec["out"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


# --- the parent: running the paths --------------------------------------------------------


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    """One path on one workload."""

    label: str
    path: str  # naive, core, cli, ct2
    items: int
    wall: float | None = None  # processing only (naive, core, ct2); whole process (cli)
    cpu: float | None = None
    load_s: float | None = None
    rss: int | None = None
    jobs: list[list[int]] = field(default_factory=list)  # (input tokens, decoding steps)
    flops: float | None = None
    same: str = ""  # agreement with the reference
    note: str = ""  # failure or skip
    load_avg: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.wall is not None

    @property
    def items_per_s(self) -> float:
        return self.items / self.wall if self.wall else 0.0

    @property
    def gen_tokens(self) -> int:
        return sum(s for _, s in self.jobs)


@dataclass
class Runner:
    threads: int
    batch_size: int | None
    ct2_batch: int
    timeout: float
    env: dict[str, str]
    warmup: int = 2
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="throughput-")))
    counter: int = 0

    def worker(self, spec: dict[str, Any]) -> tuple[report.Run, dict[str, Any] | None]:
        self.counter += 1
        spec = {
            "threads": self.threads,
            "batch_size": self.batch_size,
            "ct2_batch": self.ct2_batch,
            "warmup": self.warmup,
            "backend": "torch",
            "compute_type": "auto",
            **spec,
        }
        spec["out"] = str(self.tmp / f"result-{self.counter}.json")
        spec_file = self.tmp / f"spec-{self.counter}.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        argv = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_file)]
        run = report.run_measured(argv, timeout=self.timeout, env=self.env)
        result = None
        if run.ok and Path(spec["out"]).exists():
            result = json.loads(Path(spec["out"]).read_text(encoding="utf-8"))
        return run, result

    def setup(self, keys: Sequence[str]) -> dict[str, str]:
        """Build or prepare the models in a child whose messages go straight to stderr."""
        out = self.tmp / "setup.json"
        spec = {"path": "setup", "keys": list(keys), "threads": self.threads, "out": str(out)}
        spec_file = self.tmp / "setup-spec.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        argv = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_file)]
        proc = subprocess.run(argv, env=self.env, stdout=subprocess.DEVNULL, check=False)
        if proc.returncode != 0 or not out.exists():
            raise SystemExit(f"preparing the models failed (exit status {proc.returncode})")
        return dict(json.loads(out.read_text(encoding="utf-8")))

    def cli(self, argv: list[str]) -> report.Run:
        return report.run_measured(argv, timeout=self.timeout, env=self.env)


def _failure(run: report.Run) -> str:
    text = run.stderr.decode("utf-8", "replace").strip().splitlines()
    tail = next((line for line in reversed(text) if line.strip()), "")
    return run.failure() if run.timed_out or not tail else tail[:300]


def _cli_features(tasks: Sequence[str]) -> dict[str, Any]:
    """What this llmcli's CLI offers, from ``llmcli TASK --help``."""
    features: dict[str, Any] = {
        "backend": set(),
        "threads": True,
        "auto_batch": True,
        "refused": {},  # task -> why llmcli refused its fast path (learnt while running)
    }
    for task in sorted(set(tasks)):
        proc = subprocess.run(
            [LLMCLI, task, "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
            check=False,
        )
        text = proc.stdout
        if "--backend" in text:
            features["backend"].add(task)
        features["threads"] = features["threads"] and "--threads" in text
        features["auto_batch"] = features["auto_batch"] and "[default: 8]" not in text
    return features


def run_workload(
    w: Workload, runner: Runner, features: dict[str, Any], fast: bool, quick: bool
) -> dict[str, Any]:
    """Every path on one workload; rows and agreement checks."""
    pools = text_pools()
    texts = take(pools[w.pool], w.items)
    OUT.mkdir(parents=True, exist_ok=True)
    input_file = OUT / f"inputs-{w.key}-{w.items}.txt"
    input_file.write_text("\n".join(texts) + "\n", encoding="utf-8")
    base = {"workload": asdict(w), "texts": texts}
    rows: list[Row] = []
    _progress(f"{w.key}: {w.items} items")

    def worker_row(label: str, path: str, **spec: Any) -> Row:
        row = Row(label, "ct2" if path == "ct2" else path, w.items, load_avg=report.load_average())
        run, result = runner.worker({**base, "path": path, **spec})
        row.rss = run.max_rss_bytes
        if result is None:
            row.note = _failure(run)
        else:
            row.wall, row.cpu, row.load_s = result["wall"], result["cpu"], result["load_s"]
            row.jobs, row.data = result["jobs"], result
        _progress(f"  {label}: {_row_progress(row)}")
        rows.append(row)
        return row

    def cli_row(label: str, extra: list[str]) -> Row:
        argv = [LLMCLI, w.task, "--lines", "-q", *w.cli_options(), *extra]
        if features["threads"]:
            argv += ["--threads", str(runner.threads)]
        if runner.batch_size is not None:
            argv += ["--batch-size", str(runner.batch_size)]
        argv.append(str(input_file))
        row = Row(label, "cli", w.items, load_avg=report.load_average())
        run = runner.cli(argv)
        row.rss = run.max_rss_bytes
        if run.ok:
            row.wall, row.cpu = run.seconds, run.cpu_seconds
            row.data = {"lines": run.stdout.decode("utf-8").splitlines()}
        else:
            row.note = _failure(run)
        _progress(f"  {label}: {_row_progress(row)}")
        rows.append(row)
        return row

    naive = worker_row("naive loop (per item)", "naive")
    core = worker_row("llmcli core", "core")
    cli = cli_row("llmcli CLI", [])
    fast_rows: dict[str, tuple[Row, Row | None]] = {}
    fast_note = ""
    if fast and w.task not in features["backend"]:
        fast_note = f"`llmcli {w.task}` has no `--backend` option here: no fast-path rows"
    elif fast and w.task in features["refused"]:
        fast_note = "no fast-path rows: llmcli says " + features["refused"][w.task]
    elif fast:
        for ct in ("int8",) if quick else ("int8", "float32"):
            fc = worker_row(
                f"llmcli core, `--backend ctranslate2 --compute-type {ct}`",
                "core",
                backend="ctranslate2",
                compute_type=ct,
            )
            if not fc.ok and "UsageError" in fc.note:
                # This command or model family has no fast path: a note, not a failed row.
                rows.remove(fc)
                reason = fc.note.split(": ", 1)[-1]
                fast_note = "no fast-path rows: llmcli says " + reason
                if f"not {w.task}" in reason:  # the command itself: skip it next time
                    features["refused"][w.task] = reason
                break
            fcli = None
            if fc.ok and ct == "int8" and not quick:
                fcli = cli_row(
                    f"llmcli CLI, `--backend ctranslate2 --compute-type {ct}`",
                    ["--backend", "ctranslate2", "--compute-type", ct],
                )
            fast_rows[ct] = (fc, fcli)
    ct2_rows: dict[str, Row] = {}
    if w.family == "seq2seq":
        for quant in ("float32", "int8"):
            target = OUT / "ct2" / f"{Path(w.folder).name}-{quant}-v{BUILD_VERSION}"
            target.parent.mkdir(parents=True, exist_ok=True)
            run, result = None, {}
            if not (target / "model.bin").exists():
                run, result = runner.worker(
                    {**base, "texts": [], "path": "convert", "ct2_dir": str(target),
                     "quantization": quant}
                )  # fmt: skip
            if result is None and run is not None:
                row = Row(f"CTranslate2 {quant}", "ct2", w.items, note=_failure(run))
                rows.append(row)
                ct2_rows[quant] = row
                continue
            ct2_rows[quant] = worker_row(
                f"CTranslate2 {quant} (`translate_batch`, max_batch_size {runner.ct2_batch})",
                "ct2",
                ct2_dir=str(target),
            )
    # Work per row: its own (input tokens, decoding steps) where it reports them; the CLI
    # rows do what the matching core row did.
    structure = naive.data.get("structure") if naive.ok else None
    for row in rows:
        if not row.jobs:  # a CLI row
            source = next((fc for fc, fcli in fast_rows.values() if row is fcli), core)
            row.jobs = source.jobs or naive.jobs
        if w.kind != "generate":
            row.jobs = naive.jobs  # forward passes: the same work on every path
        if structure and row.ok:
            row.flops = sum(job_flops(structure, w, s, g) for s, g in row.jobs)
            if w.kind == "score" and row.path in ("core", "cli") and naive.ok:
                # llmcli runs the prompts' shared prefix once per window: count what it ran.
                prompts = [r["prompt"] for r in naive.data["results"]]
                row.flops = shared_prefix_flops(structure, prompts)
            elif w.family == "causal" and row.path in ("core", "cli") and naive.ok:
                # Generation after the shared prefix: it too is run once per window.
                prompts = [r["prompt"] for r in naive.data["results"]]
                row.flops -= prefix_savings(structure, prompts)
    checks = agreement(w, naive, core, cli, fast_rows, ct2_rows)
    # Everything each path printed or returned, to look into a disagreement afterwards.
    dump = OUT / f"outputs-{w.key}.json"
    dump.write_text(
        json.dumps(
            {
                "texts": texts,
                "rows": [
                    {"label": r.label, "note": r.note, "same": r.same, "data": r.data} for r in rows
                ],
            }
        ),
        encoding="utf-8",
    )
    return {
        "workload": w,
        "rows": rows,
        "naive": naive,
        "core": core,
        "cli": cli,
        "fast": fast_rows,
        "fast_note": fast_note,
        "ct2": ct2_rows,
        "checks": checks,
        "structure": structure,
        "texts": texts,
    }


def _row_progress(row: Row) -> str:
    if not row.ok:
        return f"FAILED: {row.note}"
    return (
        f"{row.wall:.1f} s ({row.cpu:.1f} s CPU), {row.items_per_s:.2f} items/s, "
        f"peak RSS {report.fmt_bytes(row.rss or 0)}"
    )


# --- work and agreement ---------------------------------------------------------------------


def job_flops(st: dict[str, Any], w: Workload, s: int, g: int) -> float:
    """Useful FLOPs of one model input: ``s`` input tokens, ``g`` decoding steps.

    2 x weights x positions for every nn.Linear (embedding lookups are free; padding and
    finished rows of a batch are not useful work), plus 4 x d_attn per query-key pair per
    layer for attention (QK^T and AV).
    """
    att = 4 * st["d_attn"]
    if w.family == "classifier":
        return 2 * st["body"] * s + 2 * st["head"] + att * st["enc_layers"] * s * s
    if w.kind == "score":  # causal forward; the label needs the last position's logits
        pairs = s * (s + 1) / 2
        return 2 * st["body"] * s + 2 * st["head"] + att * st["dec_layers"] * pairs
    if w.family == "causal":  # prefill, then g - 1 single-token steps; g logits rows
        pairs = s * (s + 1) / 2 + (g - 1) * s + (g - 1) * g / 2
        return 2 * st["body"] * (s + g - 1) + 2 * st["head"] * g + att * st["dec_layers"] * pairs
    enc = 2 * st["encoder"] * s + att * st["enc_layers"] * s * s + 2 * st["cross_kv"] * s
    dec = 2 * (st["decoder"] + st["head"]) * g
    dec += att * st["dec_layers"] * (g * (g + 1) / 2 + g * s)
    return enc + dec


def shared_prefix_flops(st: dict[str, Any], prompts: list[list[int]]) -> float:
    """FLOPs of causal label scoring with the shared prefix run once per runner window.

    As :func:`job_flops` counts them, for the work llmcli's core does: the prefix once per
    window of items, then each prompt's own tail attending to the prefix and itself.
    """
    from llmcli.models.runtime.tokens import MIN_SHARED_PREFIX, shared_prefix_length
    from llmcli.runner import WINDOW_ITEMS

    att = 4 * st["d_attn"] * st["dec_layers"]
    total = 0.0
    for start in range(0, len(prompts), WINDOW_ITEMS):
        window = prompts[start : start + WINDOW_ITEMS]
        size = shared_prefix_length(window)
        mean = sum(len(p) for p in window) / len(window)
        if len(window) < 2 or size < MIN_SHARED_PREFIX or 2 * size < mean:
            size = 0
        total += 2 * st["body"] * size + att * size * (size + 1) / 2
        for prompt in window:
            tail = len(prompt) - size
            total += 2 * st["body"] * tail + 2 * st["head"]
            total += att * (tail * size + tail * (tail + 1) / 2)
    return total


def prefix_savings(st: dict[str, Any], prompts: list[list[int]]) -> float:
    """FLOPs that :func:`job_flops` counts but llmcli's causal generation does not run.

    Its core (both backends) runs the prefix every prompt of a window shares once (as
    ``generation_prefix_length`` decides): the other prompts' prefix positions, their
    linear layers and the attention among them, are not computed again. One last-position
    logits row per window is what the extra prefix pass adds.
    """
    from llmcli.models.runtime.tokens import generation_prefix_length
    from llmcli.runner import WINDOW_ITEMS

    att = 4 * st["d_attn"] * st["dec_layers"]
    saved = 0.0
    for start in range(0, len(prompts), WINDOW_ITEMS):
        window = prompts[start : start + WINDOW_ITEMS]
        size = generation_prefix_length(window)
        if not size:
            continue
        per_prompt = 2 * st["body"] * size + att * size * (size + 1) / 2
        saved += (len(window) - 1) * per_prompt - 2 * st["head"]
    return saved


def _same_tokens(a: dict[tuple[int, ...], list[int]], b: dict[tuple[int, ...], list[int]]) -> str:
    """How many of ``a``'s prompts got the same new tokens in ``b``."""
    if not a:
        return "n/a"
    found = [p for p in a if p in b]
    same = sum(1 for p in found if a[p] == b[p])
    text = f"{same}/{len(a)} prompts identical ({100 * same / len(a):.0f}%)"
    if len(found) < len(a):
        text += f"; {len(a) - len(found)} prompts differ"
    return text


def _gens(row: Row, key: str = "generations") -> dict[tuple[int, ...], list[int]]:
    if not row.ok:
        return {}
    if key == "generations":
        return {tuple(p): n for p, n, _ in row.data.get("generations", [])}
    return {tuple(r["prompt"]): r["new"] for r in row.data.get("results", [])}


def _labels(row: Row) -> list[int]:
    results = row.data.get("results", []) if row.ok else []
    return [max(range(len(r["probs"])), key=lambda k: r["probs"][k]) for r in results]


def _same_labels(a: Row, b: Row) -> str:
    la, lb = _labels(a), _labels(b)
    if not la or len(la) != len(lb):
        return "n/a"
    same = sum(1 for x, y in zip(la, lb, strict=True) if x == y)
    pa = [r["probs"] for r in a.data["results"]]
    pb = [r["probs"] for r in b.data["results"]]
    diff = max(
        abs(x - y) for ra, rb in zip(pa, pb, strict=True) for x, y in zip(ra, rb, strict=True)
    )
    return f"{same}/{len(la)} same label ({100 * same / len(la):.0f}%), max |Δp| {diff:.1e}"


def _same_lines(cli: Row, core: Row) -> str:
    if not (cli.ok and core.ok):
        return "n/a"
    lines = cli.data["lines"]
    texts = [" ".join(r["text"].split("\n")) for r in core.data["results"]]
    if len(lines) != len(texts):
        return f"{len(lines)} lines for {len(texts)} items"
    if cli.path == "cli" and core.data["results"] and "label" in core.data["results"][0]:
        same = sum(
            1 for x, y in zip(lines, texts, strict=True) if x.split("\t")[0] == y.split("\t")[0]
        )
        return f"{same}/{len(texts)} same label as its core row"
    same = sum(1 for x, y in zip(lines, texts, strict=True) if x == y)
    return f"{same}/{len(texts)} same text as its core row"


def agreement(
    w: Workload,
    naive: Row,
    core: Row,
    cli: Row,
    fast_rows: dict[str, tuple[Row, Row | None]],
    ct2_rows: dict[str, Row],
) -> dict[str, Any]:
    """Fill each row's ``same`` column; return the fractions the targets need."""
    checks: dict[str, Any] = {}
    naive.same = "(the reference)"
    if w.kind == "generate":
        ref = _gens(naive, "results")
        core_gens = _gens(core)
        core.same = _same_tokens(ref, core_gens) + " vs naive"
        checks["core_identical"] = _fraction(ref, core_gens)
        for ct, (fc, fcli) in fast_rows.items():
            fast_gens = _gens(fc)
            fc.same = _same_tokens(core_gens, fast_gens) + " vs llmcli core"
            if fc.ok and core.ok:
                same_text = sum(
                    1
                    for a, b in zip(core.data["results"], fc.data["results"], strict=True)
                    if a["text"] == b["text"]
                )
                fc.same += f"; same text: {same_text}/{len(core.data['results'])}"
            checks[f"fast_{ct}_identical"] = _fraction(core_gens, fast_gens)
            if fcli is not None:
                fcli.same = _same_lines(fcli, fc)
        for row in ct2_rows.values():
            if row.ok:
                row.same = _same_tokens(ref, _gens(row, "results")) + " vs naive"
    else:
        core.same = _same_labels(naive, core) + " vs naive"
        labels_n, labels_c = _labels(naive), _labels(core)
        if labels_n and len(labels_n) == len(labels_c):
            checks["core_identical"] = sum(
                1 for x, y in zip(labels_n, labels_c, strict=True) if x == y
            ) / len(labels_n)
        for ct, (fc, fcli) in fast_rows.items():
            if fc.ok:
                fc.same = _same_labels(core, fc) + " vs llmcli core"
                lf = _labels(fc)
                if len(lf) == len(labels_c) and lf:
                    checks[f"fast_{ct}_identical"] = sum(
                        1 for x, y in zip(labels_c, lf, strict=True) if x == y
                    ) / len(lf)
            if fcli is not None:
                fcli.same = _same_lines(fcli, fc)
    cli.same = _same_lines(cli, core)
    return checks


def _fraction(a: dict[Any, Any], b: dict[Any, Any]) -> float | None:
    if not a:
        return None
    return sum(1 for p in a if p in b and a[p] == b[p]) / len(a)


# --- the report ---------------------------------------------------------------------------


def _fmt_rate(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def workload_section(res: dict[str, Any], ceiling: float, index: int) -> str:
    w: Workload = res["workload"]
    naive: Row = res["naive"]
    st = res["structure"]
    rows = []
    for row in res["rows"]:
        if not row.ok:
            rows.append([row.label, "-", "-", "-", "-", "-", "-", "-", "-", f"failed: {row.note}"])
            continue
        gflops = (row.flops or 0) / row.wall / 1e9
        speed = f"{naive.wall / row.wall:.2f}x" if naive.ok and row is not naive else "1x"
        if not naive.ok:
            speed = "-"
        tok_s = _fmt_rate(row.gen_tokens / row.wall) if w.kind == "generate" else "-"
        load = f" (load {row.load_s:.1f} s)" if row.load_s is not None else ""
        rows.append(
            [
                row.label,
                f"{report.fmt_seconds(row.wall)} / {report.fmt_seconds(row.cpu or 0)}{load}",
                _fmt_rate(row.items_per_s),
                tok_s,
                f"{gflops:.1f}",
                f"{100 * gflops / ceiling:.0f}%",
                report.fmt_bytes(row.rss or 0),
                speed,
                row.load_avg.split(" / ")[0],
                row.same or "-",
            ]
        )
    texts = res["texts"]
    distinct = len(set(texts))
    lens = [s for s, _ in naive.jobs] if naive.ok else []
    gen = [g for _, g in naive.jobs] if naive.ok else []
    parts = [
        f"### {index}. {w.title}",
        "",
        f"{w.items} items ({distinct} distinct texts from `bench/data/`, "
        f"{'cycled' if distinct < w.items else 'each once'}); command: {w.describe()}.",
    ]
    if st:
        parts[-1] += (
            f" Model: {st['params'] / 1e6:.0f}M parameters; FLOPs counted per position on "
            f"{(st['body'] + st['encoder'] + st['decoder'] + st['cross_kv']) / 1e6:.1f}M "
            f"non-embedding matrix weights and a {st['head'] / 1e6:.1f}M-weight head."
        )
    if lens:
        parts[-1] += (
            f" Inputs (as the model sees them): {statistics.mean(lens):.0f} tokens on average "
            f"({min(lens)}-{max(lens)})"
        )
        if w.kind == "generate":
            parts[-1] += (
                f"; the naive loop's outputs: {statistics.mean(gen):.1f} decoding steps on "
                f"average ({min(gen)}-{max(gen)})"
            )
        parts[-1] += "."
    if res["fast_note"]:
        parts[-1] += f" {res['fast_note']}."
    parts += [
        "",
        report.markdown_table(
            [
                "path",
                "time / CPU",
                "items/s",
                "gen. tokens/s",
                "GFLOP/s",
                "of ceiling",
                "peak RSS",
                "vs naive",
                "load avg",
                "outputs",
            ],
            rows,
        ),
    ]
    return "\n".join(parts)


def _speedup(a: Row | None, b: Row | None) -> float | None:
    """How many times faster ``a`` is than ``b`` (items/s), None when either failed."""
    if a is None or b is None or not (a.ok and b.ok):
        return None
    return b.wall / a.wall  # type: ignore[operator]


def targets(results: list[dict[str, Any]], ceiling: float) -> tuple[list[list[str]], list[str]]:
    """Target rows (what, measured, met) and sentences for the interpretation."""
    table: list[list[str]] = []
    met_list: list[str] = []
    missed: list[str] = []

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else ("**yes**" if ok else "**no**")

    def add(what: str, measured: str, ok: bool | None) -> None:
        table.append([what, measured, verdict(ok)])
        if ok is True:
            met_list.append(what)
        elif ok is False:
            missed.append(what)

    for res in results:
        w: Workload = res["workload"]
        naive, core, cli = res["naive"], res["core"], res["cli"]
        checks = res["checks"]
        sp_core, sp_cli = _speedup(core, naive), _speedup(cli, naive)
        ident = checks.get("core_identical")
        ident_text = "n/a" if ident is None else f"{100 * ident:.0f}%"
        if w.key == "classifier":
            ok = None if sp_core is None else sp_core >= CLASSIFIER_SPEEDUP
            add(
                f"{w.key}: llmcli core ≥ {CLASSIFIER_SPEEDUP:.0f}x the naive loop",
                _x(sp_core) + f" (CLI, start-up and load included: {_x(sp_cli)}); "
                f"same labels: {ident_text}",
                ok,
            )
            frac = None
            if core.ok and core.flops:
                frac = core.flops / core.wall / 1e9 / ceiling
            add(
                f"{w.key}: llmcli core ≥ {100 * CLASSIFIER_CEILING:.0f}% of the GEMM ceiling",
                "n/a" if frac is None else f"{100 * frac:.0f}% of {ceiling:.0f} GFLOP/s",
                None if frac is None else frac >= CLASSIFIER_CEILING,
            )
            continue
        ok = None
        if sp_core is not None and ident is not None:
            ok = sp_core >= GENERATION_SPEEDUP and ident == 1.0
        what = "identical greedy outputs" if w.kind == "generate" else "same labels"
        add(
            f"{w.key}: llmcli core ≥ {GENERATION_SPEEDUP:.0f}x the naive loop, {what}",
            f"{_x(sp_core)} (CLI: {_x(sp_cli)}); {what}: {ident_text}",
            ok,
        )
        for ct, (fc, _) in res["fast"].items():
            sp = _speedup(fc, core)
            agree = checks.get(f"fast_{ct}_identical")
            add(
                f"{w.key}: fast path ({ct}) ≥ {FAST_SPEEDUP}x llmcli's default path",
                f"{_x(sp)}; outputs as the default path: "
                f"{'n/a' if agree is None else f'{100 * agree:.0f}%'}"
                + ("" if fc.ok else f" (failed: {fc.note[:120]})"),
                None if sp is None else sp >= FAST_SPEEDUP,
            )
        ct2_fp32 = res["ct2"].get("float32")
        if ct2_fp32 is not None:
            sp = _speedup(core, ct2_fp32)
            add(
                f"{w.key}: llmcli (default path) ≥ CTranslate2 float32",
                f"{_x(sp)} CTranslate2's throughput",
                None if sp is None else sp >= CT2_PARITY,
            )
            for ct, (fc, _) in res["fast"].items():
                sp = _speedup(fc, ct2_fp32)
                add(
                    f"{w.key}: llmcli fast path ({ct}) ≥ CTranslate2 float32",
                    f"{_x(sp)} CTranslate2's throughput",
                    None if sp is None else sp >= CT2_PARITY,
                )
    summary = []
    if met_list:
        summary.append(f"Met in this run ({len(met_list)}): " + "; ".join(met_list) + ".")
    if missed:
        summary.append(f"Not met in this run ({len(missed)}): " + "; ".join(missed) + ".")
    return table, summary


def _load_caveat(results: list[dict[str, Any]], threads: int) -> str:
    loads = [
        float(row.load_avg.split(" / ")[0])
        for res in results
        for row in res["rows"]
        if row.load_avg and row.load_avg != "n/a"
    ]
    text = (
        "Ratios between rows of one run are more reliable than absolute rates on a shared "
        "machine; the *load avg* column is the 1-minute load average when each row started."
    )
    if loads and max(loads) > threads + 0.5:
        text += (
            f" It reached {max(loads):.1f} during this run, above the {threads} threads every "
            "path uses (this benchmark itself adds about 1): other processes competed for "
            "the cores, which slows multi-threaded work made of many small operations (the "
            "per-item naive loop, single-sequence decoding) most, so every figure here is "
            "less reliable than on an idle machine."
        )
    return text


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


# --- main -------------------------------------------------------------------------------


def _resident_mib() -> float:
    """This process's resident size now, in MiB (0 where /proc is missing)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _physical_cores() -> int:
    try:
        from llmcli.models.threads import physical_cores
    except ImportError:  # an llmcli without it: every usable CPU
        return len(os.sched_getaffinity(0))
    return int(physical_cores())


def run_gemm(runner: Runner, n: int, reps: int) -> float:
    run, result = runner.worker({"path": "gemm", "gemm_n": n, "gemm_reps": reps})
    if result is None:
        raise SystemExit(f"GEMM measurement failed: {_failure(run)}")
    return float(result["gflops"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: four workloads, small sizes, fast path in int8 through the core only "
        "(~4 min on 2 idle cores)",
    )
    parser.add_argument(
        "--section",
        default="throughput",
        help="the docs/benchmarks.md section to write (another name keeps the full run's "
        "section and adds this run beside it, e.g. a rerun of one workload)",
    )
    parser.add_argument(
        "--workloads",
        default=None,
        help=f"comma-separated subset of {', '.join(WORKLOADS)} (default: all; with "
        f"--quick: {', '.join(QUICK_WORKLOADS)})",
    )
    d, q = FULL, QUICK
    parser.add_argument(
        "--classifier-items", type=int, help=f"default {d.classifier} ({q.classifier} with --quick)"
    )
    parser.add_argument(
        "--seq2seq-items", type=int, help=f"T5 and Marian; default {d.seq2seq} ({q.seq2seq})"
    )
    parser.add_argument(
        "--new-tokens",
        type=int,
        help=f"fixed generated length, T5 and Marian; default {d.new_tokens} ({q.new_tokens})",
    )
    parser.add_argument(
        "--sentiment-items", type=int, help=f"SmolLM2; default {d.sentiment} ({q.sentiment})"
    )
    parser.add_argument(
        "--summarize-items", type=int, help=f"SmolLM2; default {d.summarize} ({q.summarize})"
    )
    parser.add_argument(
        "--summary-tokens",
        type=int,
        help=f"SmolLM2 --max-length; default {d.summary_tokens} ({q.summary_tokens})",
    )
    parser.add_argument(
        "--translate-items", type=int, help=f"Gemma; default {d.translate} ({q.translate})"
    )
    parser.add_argument(
        "--generate-items", type=int, help=f"SmolLM2 prompts; default {d.generate} ({q.generate})"
    )
    parser.add_argument(
        "--generate-tokens",
        type=int,
        help=f"SmolLM2 generate --max-new-tokens; default {d.generate_tokens} "
        f"({q.generate_tokens})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for every path (default: the physical cores, as llmcli chooses)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="llmcli --batch-size (default: llmcli's own choice)",
    )
    parser.add_argument("--ct2-batch-size", type=int, default=32, help="CTranslate2 max_batch_size")
    parser.add_argument("--no-fast", action="store_true", help="skip llmcli's fast-path rows")
    parser.add_argument("--gemm-size", type=int, default=2048, help="n of the n x n GEMM")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per path")
    parser.add_argument(
        "--no-doc", action="store_true", help="print the section; leave docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker)

    base = QUICK if args.quick else FULL
    sizes = Sizes(
        classifier=args.classifier_items or base.classifier,
        seq2seq=args.seq2seq_items or base.seq2seq,
        new_tokens=args.new_tokens or base.new_tokens,
        sentiment=args.sentiment_items or base.sentiment,
        summarize=args.summarize_items or base.summarize,
        summary_tokens=args.summary_tokens or base.summary_tokens,
        translate=args.translate_items or base.translate,
        generate=args.generate_items or base.generate,
        generate_tokens=args.generate_tokens or base.generate_tokens,
    )
    chosen = args.workloads or ",".join(QUICK_WORKLOADS if args.quick else WORKLOADS)
    keys = [k.strip() for k in chosen.split(",") if k.strip()]
    unknown = [k for k in keys if k not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    threads = args.threads or _physical_cores()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    info = report.machine_info(PACKAGES)
    load_before = report.load_average()
    started = time.perf_counter()
    features = _cli_features([w_task(k) for k in keys])
    runner = Runner(threads, args.batch_size, args.ct2_batch_size, args.timeout, env)
    runner.warmup = 1 if args.quick else 2
    print("GEMM ceiling ...", file=sys.stderr)
    gemm_before = run_gemm(runner, args.gemm_size, 10)
    _progress(f"{gemm_before:.0f} GFLOP/s fp32 at {threads} threads")
    print("models ...", file=sys.stderr)
    # In a child, so that this process stays small: a child's peak RSS, as wait4 reports
    # it, starts from its parent's resident size at fork.
    folders = runner.setup(keys)
    workloads = make_workloads(keys, sizes, folders)
    results = []
    for w in workloads:
        print(f"{w.key} ...", file=sys.stderr)
        results.append(run_workload(w, runner, features, not args.no_fast, args.quick))
    gemm_after = run_gemm(runner, args.gemm_size, 10)
    shutil.rmtree(runner.tmp, ignore_errors=True)  # the workers' specs and results
    _progress(f"GEMM after: {gemm_after:.0f} GFLOP/s")
    ceiling = max(gemm_before, gemm_after)
    elapsed = time.perf_counter() - started
    table, summary = targets(results, ceiling)
    section = render(
        info, load_before, elapsed, args, sizes, threads, features, ceiling,
        (gemm_before, gemm_after), results, table, summary,
    )  # fmt: skip
    if args.no_doc:
        print(section)
    else:
        path = report.write_section(args.section, section)
        print(section)
        print(f"\nwrote the {args.section} section of {path}", file=sys.stderr)
    return 0


def render(
    info: dict[str, str],
    load_before: str,
    elapsed: float,
    args: argparse.Namespace,
    sizes: Sizes,
    threads: int,
    features: dict[str, Any],
    ceiling: float,
    gemm: tuple[float, float],
    results: list[dict[str, Any]],
    table: list[list[str]],
    summary: list[str],
) -> str:
    runner_warmup = 1 if args.quick else 2
    batch = (
        f"`--batch-size {args.batch_size}`"
        if args.batch_size
        else "llmcli's own default batch size" + (" (automatic)" if features["auto_batch"] else "")
    )
    parent_mib = _resident_mib()
    with_fast = sorted(features["backend"])
    fast = (
        "llmcli's fast path (`--backend ctranslate2`, an option of "
        + ", ".join(f"`{t}`" for t in with_fast)
        + ") is measured where the command accepts it (summarize and translate; on the "
        "classifier and sentiment rows its FAILED line is llmcli refusing it)"
        if with_fast and not args.no_fast
        else "no fast-path rows ("
        + ("skipped with `--no-fast`" if args.no_fast else "this llmcli has no `--backend`")
        + ")"
    )
    quick = (
        "**This is a `--quick` smoke run (four workloads, small sizes, fast path in int8 "
        "through the core only, one warm-up item): its "
        "figures show the suite works, not where llmcli stands; run the command without "
        "`--quick` for those.**"
        if args.quick
        else ""
    )
    method = (
        f"All paths run at {threads} threads (torch `set_num_threads`, `OMP_NUM_THREADS`, "
        f"`--threads` for the CLI{'' if features['threads'] else ' (not in this llmcli)'}, "
        f"CTranslate2 `intra_threads`), on CPU in float32 unless a row says int8, each in its "
        "own process, one after the other, once. *Time* is wall-clock seconds of the work: for "
        "the naive, core and CTranslate2 rows after loading the model and an untimed warm-up "
        f"on the first {runner_warmup} item(s) (the load time is shown beside it); for the "
        "CLI rows the whole process (start-up, imports, model load, reading and writing "
        "included). CPU is user + system time of all threads over the same span. *Peak "
        "RSS* is the process's own maximum resident set (`wait4`; Linux counts the parent's "
        "resident memory at fork in it too, here that of this benchmark's small parent "
        f"process, about {parent_mib:.0f} MiB). *vs naive* is the naive loop's time over the "
        "row's. The naive loop is per item: the tokenizer, then the model's forward pass, "
        "or `generate(..., do_sample=False, num_beams=1)` with the same prompt, stop tokens "
        "and length budget llmcli uses (and `no_repeat_ngram_size=3`, which llmcli's "
        "`summarize` uses on seq2seq models), so that greedy outputs can be compared; "
        f"llmcli runs with {batch}; {fast}. *Outputs*: greedy new tokens compared token by "
        "token on the same prompt ids (llmcli's are recorded inside its core), labels for "
        "`sentiment`, and each CLI row's printed lines against its core row's results."
    )
    flops = (
        f"*GFLOP/s* is useful work over wall time, and *of ceiling* that rate over this "
        f"machine's fp32 matrix-multiply ceiling, measured here: the best of 10 "
        f"`torch.mm` of {args.gemm_size}x{args.gemm_size} matrices at {threads} threads, "
        f"{gemm[0]:.0f} GFLOP/s before the workloads and {gemm[1]:.0f} after (the higher, "
        f"{ceiling:.0f}, is used). Useful work counts 2 FLOPs per weight of every `nn.Linear` "
        "per position it is applied to (embedding lookups free; encoder weights per input "
        "token, decoder weights per decoding step, cross-attention keys/values per input "
        "token, the output head per generated token or, for scoring, per item; causal "
        "models: prompt plus all but the last step), plus 4 x d_attn FLOPs per query-key "
        "pair per layer for attention (QK^T and AV). For llmcli's rows on the causal models, "
        "the work it actually does: the prompt prefix every prompt shares (few-shot "
        "examples, instructions) once per window of 256 items, then each item's own tokens "
        "(the naive loop runs every whole prompt, so the same result costs it more FLOPs). "
        "Padding and the steps a batch spends "
        "on sequences that already ended are not counted: they are waste. *gen. tokens/s* "
        "counts decoding steps (an end token included) of the row's own outputs; CLI rows "
        "use those of their core row."
    )
    random_note = (
        "Random-weight models: built by this script from the real configs "
        "(distilbert-base-uncased with a 2-label head; t5-small; opus-mt-en-de: d_model 512, "
        "6+6 layers, 8 heads, FFN 2048, vocabulary 58,101) and saved in "
        "`bench/out/throughput/models/`. Their tokenizers (WordPiece, Unigram, "
        "SentencePiece) are trained here on the English prose shipped with CPython plus this "
        "benchmark's own texts, and padded with unused entries to the real vocabulary "
        "sizes, so compute per token matches the real models'. Random weights give "
        "gibberish at the same cost (T5's input embeddings, which transformers ties to its "
        "output head, are drawn with std 0.02 instead of 1, and Marian's head is untied, so "
        "that greedy search does not just copy its last token): their generated length is fixed "
        "(`--min-length N --max-length N`; `min_new_tokens`/`max_new_tokens`; CTranslate2 "
        "`min_decoding_length`/`max_decoding_length`)."
    )
    head = [
        "## throughput"
        + ("" if args.section == "throughput" else f" ({args.section}: {args.workloads})"),
        "Throughput of llmcli's model commands against the naive loop a user would write "
        "and against CTranslate2, side by side in one run of `bench/throughput.py`. Every "
        "figure below comes from that one run, on this machine, at this date:",
        report.machine_block(info, load_before, report.load_average()),
        f"Whole run: {elapsed / 60:.1f} min. " + quick,
        "\n".join(
            [
                "| target | measured | met |",
                "| --- | --- | --- |",
                *["| " + " | ".join(r) + " |" for r in table],
            ]
        ),
        "**Interpretation** (computed from the figures above): "
        + " ".join(summary or ["no target could be evaluated (every path failed)."])
        + " "
        + _load_caveat(results, threads),
        method,
        flops,
        random_note,
    ]
    sections = [workload_section(res, ceiling, i + 1) for i, res in enumerate(results)]
    return "\n\n".join(part for part in [*head, *sections] if part)


if __name__ == "__main__":
    raise SystemExit(main())
