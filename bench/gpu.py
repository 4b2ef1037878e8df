"""GPU throughput: llmcli's batched core against the naive per-item loop and the roofline.

Five models with random weights and the real architectures and sizes (tests/tiny_models.py's
"real" configs; nothing is downloaded, speed does not depend on the weights' values), in
bf16 on one GPU:

- DistilBERT-base sequence classifier (forward only),
- T5-small and Marian (opus-mt-en-de size) seq2seq, generating a fixed number of tokens,
- SmolLM2-135M (Llama) and Gemma 3 270M causal LMs, generating a fixed number of tokens.

For each: (a) the naive loop a user writes, per item: tokenizer call, then one forward
(classifier) or ``model.generate`` (batch 1, greedy); (b) batched: llmcli's core,
``loaded.runtime.generate`` (length-sorted batches, left-padded for causal
models) for the generative ones and a length-sorted padded forward for the classifier,
at several batch sizes. Tokenization is timed apart: one batched fast-tokenizer call over
every input. Each figure is set against the roofline: about 790 TFLOP/s dense bf16 and
4.3 TB/s of memory bandwidth (the figures measured on the H200 this was written for;
``--peak-tflops`` / ``--peak-tbs`` change them).

Run from the repository root; needs only torch, transformers and tokenizers (llmcli's
core is imported from ``src/``; no other llmcli dependency)::

    python bench/gpu.py --out $OUT --budget-s 240     # on the GPU machine: $OUT/gpu.{json,md}
    python bench/gpu.py --render DIR/gpu.json --write-doc   # later: its section of the docs
    .venv/bin/python bench/gpu.py --device cpu --smoke      # tiny end-to-end check on a CPU

The run keeps to ``--budget-s`` (measured from the start of the process): time is shared
out between models and phases as it goes, a phase that would not fit is skipped and says
so, an alarm stops a phase that overruns (10 s after the budget), and a hard stop
(``faulthandler``) ends the process 30 s after that. Results are rewritten after every
phase, so whatever finished is in ``--out`` even when the run is cut short.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import math
import os
import random
import signal
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import _report as report  # standard library only

# The random-weight models' factory, shared with the tests and bench/throughput.py (last
# on the path: nothing in tests/ is to shadow another module). It imports transformers
# only when it builds something.
sys.path.append(str(report.REPO / "tests"))
import tiny_models

T0 = time.perf_counter()  # the budget counts from here (before torch is imported)

SECTION = "gpu"
PACKAGES = ["torch", "transformers", "tokenizers", "numpy"]
RESERVE_S = 6.0  # kept back at the end of the budget for writing results
ALARM_GRACE_S = 10.0  # a phase still running this long after the budget is interrupted
HARD_GRACE_S = 30.0  # after that, the process is ended whatever it is doing


# --- models -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    key: str
    title: str
    source: str  # the checkpoint whose configuration is reproduced
    kind: str  # "classifier" | "seq2seq" | "causal"
    tokenizer: str  # flavour of the tokenizer trained here: see build_tokenizer
    prefix: str = ""  # put before every input (T5's task prefix)


SPECS = [
    Spec(
        "distilbert",
        "DistilBERT-base classifier",
        "distilbert-base-uncased-finetuned-sst-2-english",
        "classifier",
        "wordpiece",
    ),
    Spec(
        "t5-small",
        "T5-small",
        "google-t5/t5-small",
        "seq2seq",
        "unigram",
        "translate English to German: ",
    ),
    Spec("marian", "Marian en-de", "Helsinki-NLP/opus-mt-en-de", "seq2seq", "unigram"),
    Spec("smollm2", "SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M", "causal", "bytelevel"),
    Spec("gemma3", "Gemma 3 270M", "google/gemma-3-270m", "causal", "gemma"),
]

# Special-token ids of the tokenizers trained here (each flavour puts them first).
SPECIALS = {
    "wordpiece": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "unigram": ["<pad>", "</s>", "<unk>"],
    "bytelevel": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "gemma": ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"],
}

SMOKE_VOCAB = 1024  # model vocabulary in --smoke (the tokenizer is trained smaller)

# Each model's architecture in the random-weight models' factory (tests/tiny_models.py,
# whose "real" configs have the checkpoints' sizes), and the fields set here on top:
# special-token ids of the tokenizers trained here (align_ids points them at the one used).
ARCHITECTURES: dict[str, tuple[str, dict[str, Any]]] = {
    "distilbert": ("distilbert", dict(num_labels=2)),
    "t5-small": ("t5", {}),
    # opus-mt's generation config (4 beams, bad_words_ids, forced EOS) is left out: greedy.
    "marian": (
        "marian",
        dict(
            pad_token_id=0,
            eos_token_id=1,
            bos_token_id=0,
            decoder_start_token_id=0,
            forced_eos_token_id=None,
        ),
    ),
    "smollm2": ("llama", dict(bos_token_id=0, eos_token_id=0, pad_token_id=None)),
    "gemma3": ("gemma3", dict(pad_token_id=0, eos_token_id=1, bos_token_id=2)),
}

# --smoke: the same architectures, shrunk (with a vocabulary of SMOKE_VOCAB).
SMOKE_SIZES: dict[str, dict[str, Any]] = {
    "distilbert": dict(dim=64, hidden_dim=128, n_layers=2, n_heads=4),
    "t5-small": dict(
        d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=2, num_decoder_layers=2
    ),
    "marian": dict(
        tiny_models.encoder_decoder_sizes(64, 2, 4, 128), decoder_vocab_size=SMOKE_VOCAB
    ),
    "smollm2": dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
    ),
    "gemma3": dict(
        hidden_size=64,
        num_hidden_layers=2,
        layer_types=["sliding_attention", "full_attention"],
        sliding_window=16,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        intermediate_size=128,
    ),
}


def make_config(spec: Spec, smoke: bool) -> Any:
    """The model configuration: the real one's sizes, or tiny ones for --smoke."""
    arch, fields = ARCHITECTURES[spec.key]
    if smoke:
        fields = {**fields, **SMOKE_SIZES[spec.key], "vocab_size": SMOKE_VOCAB}
    return tiny_models.config(arch, "real", **fields)


def build_model(spec: Spec, config: Any, device: str, dtype: Any) -> Any:
    """Random weights, built on the device, then cast with ``model.to(dtype)``."""
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoModelForSequenceClassification,
    )

    auto = {
        "classifier": AutoModelForSequenceClassification,
        "seq2seq": AutoModelForSeq2SeqLM,
        "causal": AutoModelForCausalLM,
    }[spec.kind]
    model = tiny_models.build(auto, config, device=device)
    model.to(device=device, dtype=dtype)
    model.eval()
    return model


# --- inputs and tokenizers --------------------------------------------------------------


def make_texts(count: int, seed: int, low: int, high: int) -> tuple[list[str], str]:
    """Deterministic English-like items of ``low``..``high`` words, and how they were made."""
    rng = random.Random(f"gpu-{seed}")
    try:
        import eval_speed  # the word-bigram chain over CPython's own English prose

        model = eval_speed.TextModel(eval_speed._prose())
        texts = [" ".join(model.sentence(rng, low, high)) for _ in range(count)]
        how = (
            "generated by the word-bigram chain of `bench/eval_speed.py` (trained on the "
            "English prose that ships with CPython: the language reference and standard-"
            "library docstrings)"
        )
        return texts, how
    except Exception as exc:  # any failure: a plainer generator, same lengths
        vocabulary = (
            "the a of to and in is for on that with as by this from at be it are or an "
            "model data time value system people result process file user number line "
            "first new large small every other same next last simple early late long "
            "reads writes keeps returns takes gives makes shows finds uses needs calls "
            "quickly often never always later again only still also here there today"
        )
        words = vocabulary.split()
        texts = []
        for _ in range(count):
            n = rng.randint(low, high)
            item = [rng.choice(words) for _ in range(n)]
            texts.append(" ".join(item).capitalize() + ".")
        return texts, f"drawn uniformly from a small word list (bigram chain failed: {exc})"


def build_tokenizer(flavour: str, texts: Sequence[str], vocab: int, max_length: int) -> Any:
    """A fast tokenizer of the model family's kind, trained here on the inputs.

    ``wordpiece`` (BERT: lower-cased WordPiece, [CLS] x [SEP]), ``unigram`` (T5/Marian
    SentencePiece-style Unigram, x </s>), ``bytelevel`` (SmolLM2 byte-level BPE, no
    specials added), ``gemma`` (SentencePiece-style BPE with byte fallback and no
    pre-tokenizer, <bos> x). Ids are below ``vocab``, so within every model's vocabulary.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers as tr
    from transformers import PreTrainedTokenizerFast

    specials = SPECIALS[flavour]
    names: dict[str, str] = {}
    if flavour == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer: Any = tr.WordPieceTrainer(
            vocab_size=vocab, special_tokens=specials, show_progress=False
        )
        names = dict(
            pad_token="[PAD]",
            unk_token="[UNK]",
            cls_token="[CLS]",
            sep_token="[SEP]",
            mask_token="[MASK]",
        )
        post = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
        )
    elif flavour == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = tr.UnigramTrainer(
            vocab_size=vocab, special_tokens=specials, unk_token="<unk>", show_progress=False
        )
        names = dict(pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
        post = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    elif flavour == "bytelevel":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = tr.BpeTrainer(
            vocab_size=vocab,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        names = dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>")
        post = None
    elif flavour == "gemma":
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
        tok.normalizer = normalizers.Replace(" ", "▁")
        # Trained word by word; applied, like Gemma's, to the whole text at once.
        tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
        tok.decoder = decoders.Sequence(
            [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
        )
        trainer = tr.BpeTrainer(
            vocab_size=vocab,
            special_tokens=specials + [f"<0x{i:02X}>" for i in range(256)],
            show_progress=False,
        )
        names = dict(pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", unk_token="<unk>")
        post = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 2)])
    else:
        raise ValueError(flavour)
    tok.train_from_iterator(list(texts), trainer)
    if flavour == "gemma":
        tok.pre_tokenizer = None
    if post is not None:
        tok.post_processor = post
    for i, name in enumerate(specials):
        assert tok.token_to_id(name) == i, (flavour, name, tok.token_to_id(name))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=max_length,
        model_input_names=["input_ids", "attention_mask"],
        **names,
    )


def load_tokenizer_dir(path: str, max_length: int) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if not 0 < getattr(tok, "model_max_length", 0) < 10**7:
        tok.model_max_length = max_length
    tok.model_input_names = ["input_ids", "attention_mask"]
    return tok


def align_ids(config: Any, tokenizer: Any, kind: str) -> None:
    """Point the configuration's special ids at the tokenizer's (a real one's may differ)."""
    pad = tokenizer.pad_token_id
    eos = tokenizer.eos_token_id
    if pad is not None:
        config.pad_token_id = pad
    if kind == "seq2seq":
        if eos is not None:
            config.eos_token_id = eos
        config.decoder_start_token_id = pad if pad is not None else 0
    elif kind == "causal":
        if eos is not None:
            config.eos_token_id = eos
        if tokenizer.bos_token_id is not None:
            config.bos_token_id = tokenizer.bos_token_id


# --- what a forward pass costs ----------------------------------------------------------


@dataclass
class Layer:
    q: int  # query width: heads x head dim
    kv: int  # key/value width: key/value heads x head dim
    window: int | None = None  # sliding window, in tokens


@dataclass
class Arch:
    """What FLOP and byte counts need to know about a model."""

    kind: str
    d: int  # model width (the LM head's input)
    vocab: int
    elt: int  # bytes per weight and cache element
    body: int  # non-embedding params applied to every token (decoder; classifier encoder)
    enc: int = 0  # seq2seq encoder non-embedding params
    cross_kv: int = 0  # decoder cross-attention K/V projections (once per encoder token)
    head: int = 0  # classifier head params (once per item)
    layers: list[Layer] = field(default_factory=list)  # self-attention of the main stack
    enc_layers: list[Layer] = field(default_factory=list)
    cross: list[Layer] = field(default_factory=list)  # decoder cross-attention
    params: dict[str, int] = field(default_factory=dict)


def describe_arch(spec: Spec, model: Any) -> Arch:
    import torch

    cfg = model.config
    elt = next(model.parameters()).element_size()
    emb = {
        id(p)
        for m in model.modules()
        if isinstance(m, torch.nn.Embedding)
        for p in m.parameters(recurse=False)
    }
    lm_head: set[int] = set()
    if spec.kind != "classifier" and model.get_output_embeddings() is not None:
        lm_head = {id(p) for p in model.get_output_embeddings().parameters()}
    encoder: set[int] = set()
    if spec.kind == "seq2seq":
        encoder = {id(p) for p in model.get_encoder().parameters()}
    base: set[int] = {id(p) for p in model.base_model.parameters()}
    counts = dict(total=0, embedding=0, lm_head_untied=0, encoder=0, body=0, cross_kv=0, head=0)
    for name, p in model.named_parameters():  # tied weights are listed once
        n = p.numel()
        counts["total"] += n
        if id(p) in emb:
            counts["embedding"] += n
        elif id(p) in lm_head:
            counts["lm_head_untied"] += n  # its cost is counted as the LM head's, 2 d V
        elif id(p) in encoder:
            counts["encoder"] += n
        elif spec.kind == "seq2seq" and (
            ".EncDecAttention.k." in name
            or ".EncDecAttention.v." in name
            or ".encoder_attn.k_proj." in name
            or ".encoder_attn.v_proj." in name
        ):
            counts["cross_kv"] += n
        elif spec.kind == "classifier" and id(p) not in base:
            counts["head"] += n
        else:
            counts["body"] += n
    counts["non_embedding"] = counts["total"] - counts["embedding"]
    kind = cfg.model_type
    if kind == "distilbert":
        d, layers = cfg.dim, [Layer(cfg.dim, cfg.dim)] * cfg.n_layers
        enc_layers: list[Layer] = []
        cross: list[Layer] = []
    elif kind == "t5":
        d = cfg.d_model
        width = cfg.num_heads * cfg.d_kv
        layers = [Layer(width, width)] * cfg.num_decoder_layers
        enc_layers = [Layer(width, width)] * cfg.num_layers
        cross = list(layers)
    elif kind == "marian":
        d = cfg.d_model
        layers = [Layer(d, d)] * cfg.decoder_layers
        enc_layers = [Layer(d, d)] * cfg.encoder_layers
        cross = list(layers)
    elif kind in ("llama", "gemma3_text"):
        d = cfg.hidden_size
        head_dim = getattr(cfg, "head_dim", None) or d // cfg.num_attention_heads
        types = getattr(cfg, "layer_types", None) or ["full_attention"] * cfg.num_hidden_layers
        window = getattr(cfg, "sliding_window", None)
        layers = [
            Layer(
                cfg.num_attention_heads * head_dim,
                cfg.num_key_value_heads * head_dim,
                window if t == "sliding_attention" else None,
            )
            for t in types
        ]
        enc_layers, cross = [], []
    else:
        raise ValueError(f"no FLOP model for {kind}")
    return Arch(
        kind=spec.kind,
        d=d,
        vocab=cfg.vocab_size,
        elt=elt,
        body=counts["body"],
        enc=counts["encoder"],
        cross_kv=counts["cross_kv"],
        head=counts["head"],
        layers=layers,
        enc_layers=enc_layers,
        cross=cross,
        params=counts,
    )


def _ctx_sum(a: int, b: int, window: int | None) -> int:
    """Keys attended to, summed over query positions a..b-1: sum of min(p + 1, window)."""
    if b <= a:
        return 0

    def tri(n: int) -> int:  # 1 + 2 + ... + n
        return n * (n + 1) // 2

    if window is None:
        return tri(b) - tri(a)
    total = 0
    if a < window:
        total += tri(min(b, window)) - tri(a)
    if b > max(a, window):
        total += (b - max(a, window)) * window
    return total


@dataclass
class Cost:
    """Useful work of one batch: FLOPs and minimum bytes read, prefill and decode apart.

    Padding is not counted: it is work the hardware does that the user did not ask for.
    """

    prefill_flops: float = 0.0
    prefill_bytes: float = 0.0
    decode_flops: float = 0.0
    decode_bytes: float = 0.0

    @property
    def flops(self) -> float:
        return self.prefill_flops + self.decode_flops

    def roofline_s(self, peak_flops: float, peak_bw: float) -> float:
        """Least time the hardware needs: each phase bound by compute or by memory."""
        prefill = max(self.prefill_flops / peak_flops, self.prefill_bytes / peak_bw)
        decode = max(self.decode_flops / peak_flops, self.decode_bytes / peak_bw)
        return prefill + decode


def classify_cost(arch: Arch, lens: Sequence[int]) -> Cost:
    flops = 0.0
    for n in lens:
        flops += 2 * arch.body * n + 2 * arch.head
        flops += sum(4 * layer.q * n * n for layer in arch.layers)  # QK^T and AV, all pairs
    return Cost(prefill_flops=flops, prefill_bytes=(arch.body + arch.head) * arch.elt)


def generate_cost(arch: Arch, lens: Sequence[int], new: int) -> Cost:
    """Prefill (encoder, or the prompt, and the first token) and ``new - 1`` decode steps."""
    steps = new - 1
    head = arch.d * arch.vocab  # LM head multiply-adds per token (tied or not)
    step_weights = (arch.body + head) * arch.elt  # read by every decode step
    cost = Cost()
    for n in lens:
        if arch.kind == "causal":
            cost.prefill_flops += 2 * arch.body * n + 2 * head  # logits for the last position
            for layer in arch.layers:
                cost.prefill_flops += 4 * layer.q * _ctx_sum(0, n, layer.window)
                cost.prefill_bytes += 2 * layer.kv * arch.elt * min(n, layer.window or n)
                attended = _ctx_sum(n, n + steps, layer.window)
                cost.decode_flops += 4 * layer.q * attended
                cost.decode_bytes += 2 * layer.kv * arch.elt * attended  # K and V read
            cost.decode_flops += steps * 2 * (arch.body + head)
        else:  # seq2seq: encoder, cross K/V once, then decoder steps 0..new-1
            encoder = 2 * arch.enc * n + sum(4 * layer.q * n * n for layer in arch.enc_layers)
            encoder += 2 * arch.cross_kv * n
            cross = sum(4 * layer.q * n for layer in arch.cross)  # per decoder step
            cost.prefill_flops += encoder + 2 * (arch.body + head) + cross
            cost.prefill_flops += sum(4 * layer.q for layer in arch.layers)
            attended = _ctx_sum(1, 1 + steps, None)
            cost.decode_flops += steps * (2 * (arch.body + head) + cross)
            cost.decode_flops += sum(4 * layer.q * attended for layer in arch.layers)
            cost.decode_bytes += sum(2 * layer.kv * arch.elt * attended for layer in arch.layers)
            cost.decode_bytes += steps * sum(2 * layer.kv * arch.elt * n for layer in arch.cross)
    if arch.kind == "seq2seq":
        cost.prefill_bytes += (arch.enc + arch.cross_kv) * arch.elt
    cost.prefill_bytes += step_weights
    cost.decode_bytes += steps * step_weights
    return cost


# --- timing -----------------------------------------------------------------------------


class BudgetExceeded(BaseException):
    """Raised by the alarm when a phase runs past the budget (not caught as Exception)."""


class Clock:
    def __init__(self, budget_s: float) -> None:
        self.deadline = T0 + budget_s

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - T0


class Device:
    """Synchronisation and step marks on CUDA (events) or the CPU (perf_counter)."""

    def __init__(self, name: str) -> None:
        import torch

        self.torch = torch
        self.name = name
        self.cuda = name.startswith("cuda")

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def mark(self) -> Any:
        if self.cuda:
            event = self.torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def between(self, a: Any, b: Any) -> float:
        """Seconds between two marks (call after sync)."""
        if self.cuda:
            return float(a.elapsed_time(b)) / 1000.0
        return float(b - a)

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def peak_bytes(self) -> int | None:
        return int(self.torch.cuda.max_memory_allocated()) if self.cuda else None

    def free(self) -> None:
        gc.collect()
        if self.cuda:
            self.torch.cuda.empty_cache()


def step_recorder(device: Device) -> tuple[list[dict[str, Any]], Callable[[list[int], int], Any]]:
    """A logits-processor factory for llmcli's ``generate(processor=...)``.

    Each batch gets a processor that changes nothing and marks the time of every step
    (a CUDA event, no synchronisation), so prefill and decode time can be told apart.
    """
    from transformers import LogitsProcessor

    batches: list[dict[str, Any]] = []

    class Marks(LogitsProcessor):
        def __init__(self, record: dict[str, Any]) -> None:
            self.record = record

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            self.record["marks"].append(device.mark())
            return scores

    def factory(rows: list[int], width: int) -> Any:
        record: dict[str, Any] = {"rows": list(rows), "width": width, "marks": [device.mark()]}
        batches.append(record)
        return Marks(record)

    return batches, factory


# --- the measurements -------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    clock: Clock
    device: Device
    dtype: Any
    peak_flops: float
    peak_bw: float
    results: dict[str, Any]

    def save(self) -> None:
        self.results["meta"]["elapsed_s"] = round(self.clock.elapsed(), 1)
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        _write_atomic(out / "gpu.json", json.dumps(self.results, indent=1) + "\n")
        _write_atomic(out / "gpu.md", render(self.results) + "\n")

    def log(self, message: str) -> None:
        left = self.clock.left()
        print(f"[{self.clock.elapsed():6.1f}s, {left:5.0f}s left] {message}", file=sys.stderr)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _rates(ctx: Context, cost: Cost, roofline_s: float, wall: float) -> dict[str, Any]:
    return {
        "flops": cost.flops,
        "tflops_per_s": cost.flops / wall / 1e12 if wall else None,
        "pct_peak_flops": 100 * cost.flops / wall / ctx.peak_flops if wall else None,
        "roofline_s": roofline_s,
        "pct_roofline": 100 * roofline_s / wall if wall else None,
    }


def tokenize_phase(ctx: Context, tokenizer: Any, texts: list[str]) -> tuple[list, dict]:
    """One batched call over every input, timed (median of up to 5, at most ~3 s)."""
    times: list[float] = []
    ids: list[list[int]] = []
    while len(times) < 5 and (not times or sum(times) < 3.0):
        start = time.perf_counter()
        ids = tokenizer(texts, truncation=True)["input_ids"]
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    tokens = sum(len(i) for i in ids)
    return [list(i) for i in ids], {
        "items": len(texts),
        "tokens": tokens,
        "seconds": seconds,
        "runs": len(times),
        "items_per_s": len(texts) / seconds,
        "tokens_per_s": tokens / seconds,
        "per_item_s": seconds / len(texts),
    }


def naive_phase(
    ctx: Context,
    spec: Spec,
    loaded: Any,
    arch: Arch,
    texts: list[str],
    lens: list[int],
    slice_s: float,
) -> dict[str, Any]:
    """Per item: tokenizer, then forward or ``generate`` at batch 1, as a user writes it."""
    torch = ctx.device.torch
    model, tokenizer, dev = loaded.model, loaded.tokenizer, ctx.device.name
    new = ctx.args.new_tokens

    def one(text: str) -> tuple[float, float]:
        start = time.perf_counter()
        inputs = tokenizer(text, return_tensors="pt", truncation=True).to(dev)
        tokenized = time.perf_counter()
        if spec.kind == "classifier":
            with torch.no_grad():
                int(model(**inputs).logits.argmax(-1).item())
        else:
            out = model.generate(**inputs, max_new_tokens=new, min_new_tokens=new)
            tokenizer.decode(out[0], skip_special_tokens=True)
        return tokenized - start, time.perf_counter() - start

    warm = [one(texts[i % len(texts)])[1] for i in range(3 if spec.kind == "classifier" else 1)]
    estimate = warm[-1]
    limit = min(ctx.args.naive_max, len(texts))
    ctx.device.sync()
    tok_s = wall = 0.0
    count = 0
    cost = Cost()
    roofline = 0.0
    while count < limit:
        if count and (wall + estimate > slice_s or ctx.clock.left() < RESERVE_S + 2 * estimate):
            break
        t, w = one(texts[count])
        tok_s += t
        wall += w
        item = (
            classify_cost(arch, [lens[count]])
            if spec.kind == "classifier"
            else generate_cost(arch, [lens[count]], new)
        )
        cost.prefill_flops += item.prefill_flops
        cost.decode_flops += item.decode_flops
        roofline += item.roofline_s(ctx.peak_flops, ctx.peak_bw)
        count += 1
        estimate = wall / count
    result: dict[str, Any] = {
        "path": "naive loop",
        "batch": 1,
        "items": count,
        "seconds": wall,
        "items_per_s": count / wall,
        "tokenizer_s": tok_s,
        "tokenizer_share": tok_s / wall,
        "input_tokens": sum(lens[:count]),
        "warmup_s": sum(warm),
    }
    if spec.kind != "classifier":
        result["new_tokens"] = count * new
        result["new_tokens_per_s"] = count * new / wall
    result.update(_rates(ctx, cost, roofline, wall))
    return result


def _batch_label(batch: int | None) -> str:
    return "auto" if batch is None else str(batch)


def classify_phase(
    ctx: Context,
    loaded: Any,
    arch: Arch,
    ids: list[list[int]],
    batch: int | None,
    slice_s: float,
    sort: bool = True,
) -> dict[str, Any]:
    """llmcli's classifier path on pre-tokenized ids: length-sorted batches, one forward each.

    The same steps as ``SentimentTask._classify`` after its tokenizer call: ``plan``,
    ``pad_rows`` (right-padded), ``model_inputs``, softmax, back to the host as lists.
    ``sort=False`` keeps input order instead (what sorting buys).
    """
    from llmcli.models.runtime.batching import plan
    from llmcli.models.runtime.tokens import pad_id
    from llmcli.models.runtime.torch_runtime import model_inputs, pad_rows

    torch = ctx.device.torch
    model = loaded.model
    pad = pad_id(loaded)
    lens = [len(i) for i in ids]
    order = plan(lens, batch, ctx.device.name)
    if not sort:
        size = max(len(rows) for rows in order)
        order = [list(range(i, min(i + size, len(ids)))) for i in range(0, len(ids), size)]

    def run(groups: list[list[int]]) -> tuple[float, int]:
        ctx.device.sync()
        start = time.perf_counter()
        padded = 0
        for rows in groups:
            input_ids, mask = pad_rows([ids[i] for i in rows], pad, False, ctx.device.name)
            padded += input_ids.numel()
            with torch.inference_mode():
                tensors = model_inputs(model, {"input_ids": input_ids, "attention_mask": mask})
                logits = model(**tensors).logits.float()
            torch.softmax(logits, -1).cpu().tolist()
        ctx.device.sync()
        return time.perf_counter() - start, padded

    warm, _ = run(order[:1])
    estimate = warm * len(order)
    if ctx.clock.left() < RESERVE_S + estimate:
        return {"skipped": f"one pass (~{estimate:.1f} s) no longer fits in the budget"}
    ctx.device.reset_peak()
    rounds: list[float] = []
    padded = 0
    while not rounds or (
        sum(rounds) + statistics.median(rounds) < min(slice_s, 3.0)
        and len(rounds) < 5
        and ctx.clock.left() > RESERVE_S + statistics.median(rounds)
    ):
        seconds, padded = run(order)
        rounds.append(seconds)
    wall = statistics.median(rounds)
    cost = Cost()
    roofline = 0.0
    for rows in order:
        part = classify_cost(arch, [lens[i] for i in rows])
        cost.prefill_flops += part.prefill_flops
        roofline += part.roofline_s(ctx.peak_flops, ctx.peak_bw)
    result: dict[str, Any] = {
        "path": "llmcli batching, length-sorted" if sort else "same, input order (unsorted)",
        "batch": _batch_label(batch),
        "items": len(ids),
        "batches": len(order),
        "rows_per_batch": len(ids) / len(order),
        "rounds": len(rounds),
        "seconds": wall,
        "items_per_s": len(ids) / wall,
        "input_tokens": sum(lens),
        "padding_pct": 100 * (padded - sum(lens)) / padded,
        "peak_mem_bytes": ctx.device.peak_bytes(),
        "warmup_s": warm,
    }
    result.update(_rates(ctx, cost, roofline, wall))
    return result


def generate_phase(
    ctx: Context,
    loaded: Any,
    arch: Arch,
    ids: list[list[int]],
    batch: int | None,
    slice_s: float,
) -> dict[str, Any]:
    """llmcli's ``generate`` over as many items as fit, a fixed number of new tokens each.

    ``batch`` None is llmcli's default: batches sized by a token budget for the device.
    """
    from llmcli.models.runtime.base import DecodingSettings, GenerateRequest
    from llmcli.models.runtime.batching import plan

    new = ctx.args.new_tokens
    settings = DecodingSettings(batch_size=batch)
    size = batch
    if size is None:  # rows llmcli would put in a batch, on average, for these inputs
        groups = plan([len(i) for i in ids], None, ctx.device.name, new_tokens=new)
        size = max(1, round(len(ids) / len(groups)))
    warm_new = min(new, 16)
    ctx.device.sync()
    start = time.perf_counter()
    warm_request = GenerateRequest(
        max_new_tokens=warm_new, decoding=settings, min_new_tokens=warm_new
    )
    loaded.runtime.generate(ids[:size], warm_request)
    ctx.device.sync()
    warm = time.perf_counter() - start
    per_batch = warm * new / warm_new
    batches = min(math.ceil(len(ids) / size), max(1, int(slice_s / per_batch)))
    while batches > 1 and ctx.clock.left() < RESERVE_S + batches * per_batch:
        batches -= 1
    if ctx.clock.left() < RESERVE_S + per_batch:
        return {"skipped": f"one batch (~{per_batch:.1f} s) no longer fits in the budget"}
    chosen = ids[: batches * size]
    records, factory = step_recorder(ctx.device)
    ctx.device.reset_peak()
    ctx.device.sync()
    start = time.perf_counter()
    request = GenerateRequest(
        max_new_tokens=new, decoding=settings, min_new_tokens=new, processor=factory
    )
    out = loaded.runtime.generate(chosen, request)
    ctx.device.sync()
    wall = time.perf_counter() - start
    made = sum(len(g.token_ids) for g in out)
    prefill_s = decode_s = 0.0
    decode_steps = 0
    cost = Cost()
    roofline = 0.0
    padded = 0
    for record in records:
        marks = record.pop("marks")
        lens = [len(chosen[i]) for i in record["rows"]]
        padded += record["width"] * len(lens)
        if len(marks) >= 2:
            prefill_s += ctx.device.between(marks[0], marks[1])
            decode_s += ctx.device.between(marks[1], marks[-1])
            decode_steps += len(marks) - 2
        part = generate_cost(arch, lens, new)
        cost.prefill_flops += part.prefill_flops
        cost.prefill_bytes += part.prefill_bytes
        cost.decode_flops += part.decode_flops
        cost.decode_bytes += part.decode_bytes
        roofline += part.roofline_s(ctx.peak_flops, ctx.peak_bw)
    input_tokens = sum(len(i) for i in chosen)
    result: dict[str, Any] = {
        "path": "llmcli generate",
        "batch": _batch_label(batch),
        "items": len(chosen),
        "batches": len(records),
        "rows_per_batch": len(chosen) / len(records) if records else None,
        "seconds": wall,
        "items_per_s": len(chosen) / wall,
        "new_tokens": len(chosen) * new,
        "new_tokens_kept": made,  # after llmcli cuts at a stop token: should equal new_tokens
        "new_tokens_per_s": len(chosen) * new / wall,
        "input_tokens": input_tokens,
        "padding_pct": 100 * (padded - input_tokens) / padded if padded else 0.0,
        "prefill_s": prefill_s,
        "decode_s": decode_s,
        "decode_step_ms": 1000 * decode_s / decode_steps if decode_steps else None,
        "prefill_tflops_per_s": cost.prefill_flops / prefill_s / 1e12 if prefill_s else None,
        "decode_tb_per_s": cost.decode_bytes / decode_s / 1e12 if decode_s else None,
        "pct_peak_bw": 100 * cost.decode_bytes / decode_s / ctx.peak_bw if decode_s else None,
        "peak_mem_bytes": ctx.device.peak_bytes(),
        "warmup_s": warm,
    }
    result.update(_rates(ctx, cost, roofline, wall))
    return result


def run_model(
    ctx: Context, spec: Spec, texts: list[str], share_s: float, entry: dict[str, Any]
) -> None:
    """Build one model, then tokenization, naive loop and batched runs within ``share_s``."""
    from llmcli.models.base import Family, LoadedModel
    from llmcli.models.runtime.torch_runtime import TorchRuntime

    args = ctx.args
    ends = time.perf_counter() + share_s
    started = time.perf_counter()
    config = make_config(spec, args.smoke)
    max_length = 512
    if spec.key in args.tokenizer_dirs:
        tokenizer = load_tokenizer_dir(args.tokenizer_dirs[spec.key], max_length)
        entry["tokenizer"] = f"{type(tokenizer).__name__} from {args.tokenizer_dirs[spec.key]}"
    else:
        vocab = min(config.vocab_size, args.tokenizer_vocab)
        tokenizer = build_tokenizer(spec.tokenizer, texts, vocab, max_length)
        entry["tokenizer"] = (
            f"{spec.tokenizer} trained here, {tokenizer.backend_tokenizer.get_vocab_size():,} ids"
        )
    entry["tokenizer_train_s"] = time.perf_counter() - started
    align_ids(config, tokenizer, spec.kind)
    built = time.perf_counter()
    model = build_model(spec, config, ctx.device.name, ctx.dtype)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = config.pad_token_id
        if config.pad_token_id is None:
            model.generation_config.pad_token_id = tokenizer.eos_token_id
    ctx.device.sync()
    entry["build_s"] = time.perf_counter() - built
    arch = describe_arch(spec, model)
    entry["params"] = arch.params
    entry["attention"] = getattr(model.config, "_attn_implementation", None)
    entry["dtype"] = str(next(model.parameters()).dtype).replace("torch.", "")
    family = {
        "classifier": Family.CLASSIFIER,
        "seq2seq": Family.SEQ2SEQ,
        "causal": Family.CAUSAL,
    }[spec.kind]
    loaded = LoadedModel(
        model=model,
        tokenizer=tokenizer,
        family=family,
        name=spec.key,
        source=f"random weights, {spec.source} configuration",
        device=ctx.device.name,
        dtype=entry["dtype"],
        config=model.config,
        runtime=TorchRuntime(model, tokenizer, family, ctx.device.name),
    )
    inputs = [spec.prefix + t for t in texts]
    ids, entry["tokenize"] = tokenize_phase(ctx, tokenizer, inputs)
    lens = [len(i) for i in ids]
    top = max(max(i) for i in ids if i)
    if top >= config.vocab_size:
        raise ValueError(f"token id {top} is outside the model's {config.vocab_size} ids")
    entry["input_tokens"] = {"mean": statistics.mean(lens), "min": min(lens), "max": max(lens)}
    ctx.log(
        f"{spec.key}: built in {entry['build_s']:.1f} s; {arch.params['total'] / 1e6:.1f}M "
        f"params; tokenized {len(ids)} items ({entry['tokenize']['seconds'] * 1000:.0f} ms)"
    )
    ctx.save()

    phases: list[tuple[str, Callable[[float], dict[str, Any]]]] = [
        ("naive", lambda s: naive_phase(ctx, spec, loaded, arch, inputs, lens, s))
    ]
    measure = classify_phase if spec.kind == "classifier" else generate_phase
    for b in args.batch_sizes:
        name = f"batch {_batch_label(b)}"
        phases.append((name, lambda s, b=b: measure(ctx, loaded, arch, ids, b, s)))
    if spec.kind == "classifier" and args.unsorted:
        phases.append(
            (
                "batch auto, input order",
                lambda s: classify_phase(ctx, loaded, arch, ids, None, s, False),
            )
        )
    entry["runs"] = []
    for i, (name, phase) in enumerate(phases):
        left = ends - time.perf_counter()
        slice_s = max(left / (len(phases) - i), 0.5)
        if ctx.clock.left() < RESERVE_S + 1:
            entry["runs"].append({"phase": name, "skipped": "time budget spent"})
            continue
        try:
            result = phase(slice_s)
        except BudgetExceeded:
            entry["runs"].append({"phase": name, "error": "interrupted: past the time budget"})
            raise
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            traceback.print_exc()
            if "out of memory" in str(exc).lower():
                ctx.device.free()
        result = {"phase": name, **result}
        entry["runs"].append(result)
        ctx.log(f"{spec.key} {name}: {_summary_line(result)}")
        ctx.save()
    phases.clear()  # drops the last references to the model
    ctx.device.free()


def _summary_line(run: dict[str, Any]) -> str:
    if "items_per_s" not in run:
        return run.get("skipped") or run.get("error") or "?"
    text = f"{run['items']} items in {run['seconds']:.2f} s = {run['items_per_s']:.1f} items/s"
    if run.get("new_tokens_per_s"):
        text += f", {run['new_tokens_per_s']:.0f} new tok/s"
    if run.get("tflops_per_s") is not None:
        text += f", {run['tflops_per_s']:.2f} TFLOP/s, {run['pct_roofline']:.1f}% of roofline"
    return text


# --- the report -------------------------------------------------------------------------


def _num(value: float | None, digits: int = 3) -> str:
    """Three significant figures, thousands separated (``-`` when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{_num(value, 2)}%"


def _best(entry: dict[str, Any]) -> dict[str, Any] | None:
    batched = [r for r in entry.get("runs", []) if r.get("phase") != "naive" and "items_per_s" in r]
    batched = [r for r in batched if "unsorted" not in r.get("path", "")]
    return max(batched, key=lambda r: r["items_per_s"]) if batched else None


def _naive(entry: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (r for r in entry.get("runs", []) if r.get("phase") == "naive" and "items_per_s" in r),
        None,
    )


def _batch_cell(run: dict[str, Any]) -> str:
    if run.get("batch") == "auto" and run.get("rows_per_batch"):
        return f"auto, {run['rows_per_batch']:.0f} rows"
    return str(run.get("batch", "-"))


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    models = results["models"]
    peak_tflops = meta["peak_tflops"]
    peak_tbs = meta["peak_tbs"]
    new = meta["args"]["new_tokens"]
    lines = [
        "## gpu",
        "",
        "Throughput of llmcli's batched core on one GPU, against the per-item loop a user "
        "would write and against the hardware roofline, from one run of `bench/gpu.py`. "
        "The models have random weights and the real architectures and sizes (speed does "
        f"not depend on the weights' values), in {meta['dtype']}; every generation makes "
        f"exactly {new} new tokens per item (`min_new_tokens = max_new_tokens`, greedy).",
        "",
        f"- **Command** (from the repository root): `{meta['command']}`",
        f"- **Date**: {meta['date']}; llmcli revision {meta['revision']}",
        f"- **Device**: {meta['device']}",
        f"- **Host**: {meta['cpu']}, {meta['cores']} cores, {meta['memory']} RAM, {meta['os']}",
        f"- **Software**: {meta['python']}; {meta['packages']}",
        f"- **Run**: {meta.get('elapsed_s', 0):.0f} s of a {meta['budget_s']:.0f} s budget; "
        f"{meta.get('status', 'running')}",
        f"- **Roofline**: {peak_tflops:g} TFLOP/s dense {meta['dtype']}, {peak_tbs:g} TB/s",
        "",
        f"Inputs: {meta['items']:,} items of {meta['words']} words, {meta['text_source']}; "
        "the same items for every model (T5 with its `translate English to German: ` "
        "prefix). Tokenizers: trained here on those items, one of each model family's kind "
        "(WordPiece for DistilBERT, Unigram for T5 and Marian, byte-level BPE for SmolLM2, "
        "BPE with byte fallback over the whole text for Gemma), since none can be "
        "downloaded on the GPU machine; their vocabularies are smaller than the real ones, "
        "so token counts and tokenizer speed are close to, not equal to, the real ones.",
    ]
    if meta.get("smoke"):
        lines += ["", "**Smoke run** (`--smoke`): tiny models; the figures only test the script."]
    header = [
        "model",
        "naive items/s",
        "batched items/s (batch)",
        "speed-up",
        "new tokens/s",
        "TFLOP/s (% of peak)",
        "decode TB/s (% of peak)",
        "% of roofline",
        "tokenizer share",
    ]
    rows = []
    for entry in models.values():
        naive, best = _naive(entry), _best(entry)
        tok = entry.get("tokenize")
        if not best and not naive:
            why = entry.get("error") or entry.get("skipped") or "no result"
            rows.append([entry["title"], why, *["-"] * (len(header) - 2)])
            continue
        speedup = best["items_per_s"] / naive["items_per_s"] if best and naive else None
        share = None
        if best and tok:
            tok_s = tok["per_item_s"] * best["items"]
            share = 100 * tok_s / (tok_s + best["seconds"])
        rows.append(
            [
                entry["title"],
                _num(naive["items_per_s"]) if naive else "-",
                f"{_num(best['items_per_s'])} ({_batch_cell(best)})" if best else "-",
                f"{_num(speedup)}x" if speedup else "-",
                _num(best.get("new_tokens_per_s")) if best else "-",
                f"{_num(best['tflops_per_s'])} ({_pct(best['pct_peak_flops'])})" if best else "-",
                f"{_num(best.get('decode_tb_per_s'))} ({_pct(best.get('pct_peak_bw'))})"
                if best and best.get("decode_tb_per_s")
                else "-",
                _pct(best["pct_roofline"]) if best else "-",
                _pct(share),
            ]
        )
    lines += [
        "",
        "### Summary (best batch size per model)",
        "",
        report.markdown_table(header, rows),
        "",
        "Speed-up: batched items/s over the naive loop's. Tokenizer share: the batched "
        "tokenizer call's time for those items, as a share of tokenizer plus model time.",
    ]
    header = [
        "model",
        "path",
        "batch",
        "items",
        "model time",
        "items/s",
        "new tokens/s",
        "prefill",
        "decode step",
        "TFLOP/s",
        "% of peak",
        "decode TB/s",
        "% of peak BW",
        "% of roofline",
        "padding",
        "peak memory",
    ]
    rows = []
    for entry in models.values():
        for run in entry.get("runs", []):
            if "items_per_s" not in run:
                why = run.get("skipped") or run.get("error") or "?"
                rows.append([entry["title"], run["phase"], why, *["-"] * (len(header) - 3)])
                continue
            mem = run.get("peak_mem_bytes")
            rows.append(
                [
                    entry["title"],
                    run["path"],
                    _batch_cell(run),
                    f"{run['items']:,}",
                    report.fmt_seconds(run["seconds"]),
                    _num(run["items_per_s"]),
                    _num(run.get("new_tokens_per_s")),
                    report.fmt_seconds(run["prefill_s"]) if "prefill_s" in run else "-",
                    f"{_num(run['decode_step_ms'])} ms" if run.get("decode_step_ms") else "-",
                    _num(run["tflops_per_s"]),
                    _pct(run["pct_peak_flops"]),
                    _num(run.get("decode_tb_per_s")),
                    _pct(run.get("pct_peak_bw")),
                    _pct(run["pct_roofline"]),
                    _pct(run.get("padding_pct")),
                    report.fmt_bytes(mem) if mem else "-",
                ]
            )
    lines += [
        "",
        "### Every run",
        "",
        report.markdown_table(header, rows),
        "",
        "Naive loop: per item, `tokenizer(text, return_tensors='pt')`, then "
        "`model(**inputs).logits.argmax(-1).item()` (classifier) or `model.generate(**inputs, "
        f"max_new_tokens={new}, min_new_tokens={new})` and `tokenizer.decode`; its time "
        "includes those tokenizer calls. Batched: pre-tokenized ids (tokenizer timed apart, "
        "below); `loaded.runtime.generate(ids, GenerateRequest(max_new_tokens=N, "
        "min_new_tokens=N, decoding=DecodingSettings(batch_size=B)))`, which batches "
        "longest first (`llmcli.models.runtime.batching.plan`), pads (left for causal models) "
        "and decodes the "
        "outputs; for the classifier, the steps of llmcli's sentiment classifier path after "
        "its tokenizer call (`plan`, `pad_rows`, one forward per batch, softmax to the "
        "host), plus one row in input order to show what sorting buys. Batch `auto` is "
        "llmcli's default (`batch_size=None`): rows per batch set by a token budget for the "
        "device (the mean is shown). Prefill and decode step come from CUDA events recorded "
        "by a pass-through logits processor at every step (llmcli's `processor` hook): "
        "prefill is the encoder or prompt pass up to the first token's logits; a decode step "
        "is one later forward of a whole batch. Peak memory: `torch.cuda.max_memory_allocated`.",
    ]
    header = [
        "model",
        "tokenizer",
        "items",
        "tokens (mean per item)",
        "time",
        "items/s",
        "tokens/s",
        "naive loop: tokenizer share",
    ]
    rows = []
    for entry in models.values():
        tok = entry.get("tokenize")
        if not tok:
            continue
        naive = _naive(entry)
        rows.append(
            [
                entry["title"],
                entry.get("tokenizer", "-"),
                f"{tok['items']:,}",
                f"{tok['tokens']:,} ({tok['tokens'] / tok['items']:.1f})",
                report.fmt_seconds(tok["seconds"]),
                _num(tok["items_per_s"]),
                _num(tok["tokens_per_s"]),
                _pct(100 * naive["tokenizer_share"]) if naive else "-",
            ]
        )
    lines += [
        "",
        "### Tokenization, timed apart",
        "",
        report.markdown_table(header, rows),
        "",
        "One batched fast-tokenizer call over every item (`tokenizer(texts, truncation=True)`, "
        "median of up to 5 calls), on the host CPU; the last column is the share of the naive "
        "loop's time spent in its per-item tokenizer calls.",
        "",
        "### How the figures are counted",
        "",
        "- **FLOPs** are useful work only (padding excluded), 2 per multiply-add: "
        "2 x non-embedding parameters x tokens processed, plus attention, 4 x (heads x head "
        "dim) x keys attended per query token and layer (QK^T and AV; causal prefixes and "
        "Gemma's 512-token sliding window counted exactly), plus the LM head, 2 x width x "
        "vocabulary per token whose logits are computed (the last prompt position and every "
        "new token; tied or not). For seq2seq models, the encoder runs over the source once, "
        "the decoder's cross-attention K/V projections run once per source token, and each "
        "decoder step attends over the source and the tokens so far. The classifier head "
        "counts once per item. Embedding lookups and norms are not counted.",
        "- **Bytes** (memory view of decode): per decode step, every weight the step uses "
        "(non-embedding decoder weights and the LM head matrix) read once for the batch, "
        "plus each sequence's K/V cache (its real length, self- and cross-attention) read "
        f"once; in {meta['dtype']}. Decode TB/s = those bytes over the measured decode time.",
        f"- **Roofline** time of a batch: for prefill and for decode apart, the larger of "
        f"FLOPs / {peak_tflops:g} TFLOP/s and bytes / {peak_tbs:g} TB/s (prefill reads the "
        "weights once); `% of roofline` is that least time over the measured model time. "
        "`% of peak` is TFLOP/s over the peak; both are for the whole model time (prefill, "
        "decode and llmcli's host work between batches).",
        "- **Timing**: `torch.cuda.synchronize()` before and after each timed run, "
        "`time.perf_counter()` around it; a warm-up before each (one item for the naive "
        "loop, three for the classifier's; one batch, with up to 16 new tokens, for each "
        f"batch size). {meta['budget_note']}",
    ]
    notes = meta.get("notes") or []
    if notes:
        lines += ["", "Notes: " + " ".join(notes)]
    return "\n".join(lines)


PLACEHOLDER = """## gpu

Throughput of llmcli's batched core on one GPU, against the per-item loop a user would
write and against the hardware roofline (about 790 TFLOP/s dense bf16 and 4.3 TB/s
measured on the H200 it targets), by `bench/gpu.py`: random-weight models with the real
architectures and sizes (DistilBERT-base classifier; T5-small and Marian opus-mt-en-de
seq2seq; SmolLM2-135M and Gemma 3 270M causal LMs), in bf16. For each model: the naive
loop (per item: tokenizer, then a forward or `model.generate` at batch 1), llmcli's
batched core (`loaded.runtime.generate`, a length-sorted padded forward for the
classifier) at batch sizes 64 and 256 and at llmcli's default (`auto`, batches sized by
tokens), and one batched tokenizer call timed apart.
It reports items/s, generated tokens/s, achieved TFLOP/s against the peak, decode
bandwidth (weights and K/V cache read per step) against 4.3 TB/s, and each run's share of
its roofline time; the section it writes explains how FLOPs and bytes are counted.

**Not run on an H200 yet**: no GPU was available in the session that wrote the script, so
there are no figures here. It was checked end to end on a CPU only (`--device cpu
--smoke`, tiny models). To fill this section, run on the GPU machine, from the repository
root (it needs only torch and transformers; it finishes within its 240 s budget, counted
from process start, and ends itself at 280 s whatever happens):

```sh
python bench/gpu.py --out $OUT --budget-s 240      # writes $OUT/gpu.json and $OUT/gpu.md
```

then, back here, `.venv/bin/python bench/gpu.py --render PATH/TO/gpu.json --write-doc`
(or `--write-doc` on the run itself, where the docs are writable)."""


# --- main -------------------------------------------------------------------------------


def _device_facts(device: Device) -> str:
    torch = device.torch
    if not device.cuda:
        return f"CPU only ({torch.get_num_threads()} torch threads)"
    props = torch.cuda.get_device_properties(torch.device(device.name))
    return (
        f"{props.name}, {props.total_memory / 2**30:.1f} GiB, compute capability "
        f"{props.major}.{props.minor}, {props.multi_processor_count} SMs; CUDA "
        f"{torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", default=str(report.REPO / "bench" / "out" / "gpu"))
    parser.add_argument("--budget-s", type=float, default=None, help="default 240 (smoke: 150)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--models", default=",".join(s.key for s in SPECS))
    parser.add_argument(
        "--batch-sizes",
        default=None,
        help="rows per batch; auto: llmcli's default, sized by tokens (default 64,256,auto; "
        "smoke: 4,auto)",
    )
    parser.add_argument(
        "--no-unsorted",
        dest="unsorted",
        action="store_false",
        help="skip the classifier's input-order row",
    )
    parser.add_argument("--items", type=int, default=None, help="default 2048 (smoke: 24)")
    parser.add_argument("--new-tokens", type=int, default=None, help="default 64 (smoke: 8)")
    parser.add_argument("--naive-max", type=int, default=256, help="most naive-loop items")
    parser.add_argument("--words", default=None, help="words per item, LOW-HIGH (default 8-96)")
    parser.add_argument("--tokenizer-vocab", type=int, default=None, help="default 8000")
    parser.add_argument(
        "--tokenizer-dir",
        action="append",
        default=[],
        metavar="MODEL=DIR",
        help="a real tokenizer saved in DIR for MODEL (e.g. smollm2=/data/smollm2)",
    )
    parser.add_argument("--peak-tflops", type=float, default=790.0)
    parser.add_argument("--peak-tbs", type=float, default=4.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny models and sizes")
    parser.add_argument("--write-doc", action="store_true", help="rewrite docs/benchmarks.md")
    parser.add_argument("--render", metavar="JSON", help="only render a finished run's JSON")
    parser.add_argument(
        "--placeholder",
        action="store_true",
        help="write the not-yet-run section (with --write-doc)",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    if args.budget_s is None:
        args.budget_s = 150.0 if smoke else 240.0
    sizes = (args.batch_sizes or ("4,auto" if smoke else "64,256,auto")).split(",")
    args.batch_sizes = [None if b.strip() == "auto" else int(b) for b in sizes]
    args.items = args.items or (24 if smoke else 2048)
    args.new_tokens = args.new_tokens or (8 if smoke else 64)
    args.tokenizer_vocab = args.tokenizer_vocab or (600 if smoke else 8000)
    low, _, high = (args.words or "8-96").partition("-")
    args.word_range = (int(low), int(high or low))
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = set(keys) - {s.key for s in SPECS}
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; known: {[s.key for s in SPECS]}")
    args.model_keys = keys
    args.tokenizer_dirs = {}
    for item in args.tokenizer_dir:
        key, _, path = item.partition("=")
        if key not in {s.key for s in SPECS} or not path:
            parser.error(f"--tokenizer-dir wants MODEL=DIR, got {item!r}")
        args.tokenizer_dirs[key] = path
    fixed = [b for b in args.batch_sizes if b is not None]
    if args.new_tokens < 2 or min(fixed, default=1) < 1 or args.items < max(fixed, default=1):
        parser.error("need --new-tokens >= 2, batch sizes >= 1 and --items >= largest batch")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render or args.placeholder:
        if args.placeholder:
            body = PLACEHOLDER
        else:
            body = render(json.loads(Path(args.render).read_text(encoding="utf-8")))
        if args.write_doc:
            print(f"wrote {report.write_section(SECTION, body)}", file=sys.stderr)
        else:
            print(body)
        return 0

    clock = Clock(args.budget_s)
    # Hard stop: ends the process (with a traceback) even if stuck in a native call.
    faulthandler.dump_traceback_later(
        max(1.0, clock.left() + ALARM_GRACE_S + HARD_GRACE_S), exit=True
    )

    def on_alarm(signum: int, frame: Any) -> None:
        raise BudgetExceeded(f"time budget of {args.budget_s:.0f} s exceeded")

    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(1.0, clock.left() + ALARM_GRACE_S))

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no GPU (use --device cpu)", file=sys.stderr)
        return 2
    try:  # fail fast, before any time is spent, if llmcli's core cannot be used here
        from llmcli.models.base import LoadedModel  # noqa: F401
        from llmcli.models.runtime.batching import plan  # noqa: F401
        from llmcli.models.runtime.torch_runtime import TorchRuntime, model_inputs  # noqa: F401
    except ImportError as exc:
        print(f"error: llmcli's core does not import here: {exc}", file=sys.stderr)
        return 2
    device = Device(args.device)
    dtype = getattr(torch, args.dtype)
    info = report.machine_info(PACKAGES)
    results: dict[str, Any] = {
        "meta": {
            **info,
            "device": _device_facts(device),
            "dtype": args.dtype,
            "smoke": args.smoke,
            "budget_s": args.budget_s,
            "peak_tflops": args.peak_tflops,
            "peak_tbs": args.peak_tbs,
            "items": args.items,
            "words": f"{args.word_range[0]}-{args.word_range[1]}",
            "status": "running",
            "args": {
                k: v for k, v in vars(args).items() if isinstance(v, (int, float, str, list, dict))
            },
            "budget_note": (
                f"The run had a {args.budget_s:.0f} s budget from process start, shared out "
                "between models and phases as it went; a phase that did not fit says so, and "
                "each timed run covers as many items as its share allowed (see `items`)."
            ),
            "notes": [],
        },
        "models": {},
    }
    ctx = Context(
        args=args,
        clock=clock,
        device=device,
        dtype=dtype,
        peak_flops=args.peak_tflops * 1e12,
        peak_bw=args.peak_tbs * 1e12,
        results=results,
    )
    specs = [s for s in SPECS if s.key in args.model_keys]
    for spec in specs:
        results["models"][spec.key] = {"title": spec.title, "source": spec.source, "runs": []}
    ctx.log(f"device: {results['meta']['device']}; torch {torch.__version__}")
    texts, how = make_texts(args.items, args.seed, *args.word_range)
    results["meta"]["text_source"] = how
    ctx.log(f"{len(texts)} input items ready")
    ctx.save()
    status = "complete"
    try:
        for i, spec in enumerate(specs):
            entry = results["models"][spec.key]
            share = (clock.left() - RESERVE_S) / (len(specs) - i)
            if share < 5:
                entry["skipped"] = "time budget spent before this model"
                status = "stopped by the time budget (some models skipped)"
                continue
            try:
                run_model(ctx, spec, texts, share, entry)
            except Exception as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
                traceback.print_exc()
                status = "finished with errors (see the tables)"
            finally:
                device.free()
                ctx.save()
        runs = [r for e in results["models"].values() for r in e.get("runs", [])]
        if status == "complete" and any("skipped" in r for r in runs):
            status = "complete, with phases skipped for time (see the tables)"
    except BudgetExceeded as exc:
        status = f"stopped: {exc}; partial results"
        ctx.log(status)
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.setitimer(signal.ITIMER_REAL, 0)
    results["meta"]["status"] = status
    # The GPU machine has torch and transformers only: nothing else of llmcli's may load.
    results["meta"]["llmcli_modules"] = sorted(m for m in sys.modules if m.startswith("llmcli"))
    extra = sorted(
        m
        for m in ("typer", "rich", "click", "sacrebleu", "rouge_score", "ctranslate2")
        if m in sys.modules
    )
    if extra:
        results["meta"]["notes"].append(f"Modules loaded beyond torch/transformers: {extra}.")
    ctx.save()
    faulthandler.cancel_dump_traceback_later()
    body = render(results)
    if args.write_doc:
        print(f"wrote {report.write_section(SECTION, body)}", file=sys.stderr)
    ctx.log(f"done ({status}); results in {args.out}/gpu.json and gpu.md")
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
