"""Random-weight models of every architecture llmcli supports, built locally.

One factory for the tests and the benchmarks: :data:`CONFIGS` holds each architecture's
transformers config at two sizes, ``"tiny"`` (the test models here) and ``"real"`` (the
checkpoint it stands for, as bench/throughput.py and bench/gpu.py build it);
:func:`config` makes one, :func:`build` gives it seeded random weights.

Each ``make_*`` function builds a model of the same architecture as a real one (T5,
BART, Marian, M2M100, DistilBERT, Llama, all-MiniLM's bare BERT) with a few thousand
random weights and a small tokenizer trained here on a generated English corpus, saves
both with ``save_pretrained`` into ``path`` and returns ``path``. Nothing is downloaded: the
folders load with ``AutoConfig``/``AutoTokenizer``/``AutoModelFor*.from_pretrained``.
Outputs are gibberish by design; they exercise the plumbing, not the quality.

``build_all(root)`` builds every one of them under ``root`` once per process (and
reuses complete folders left on disk by an earlier call).
"""

from __future__ import annotations

import copy
import io
import json
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Size = Literal["tiny", "real"]

# Small sizes shared by every model: each builds and saves in well under a second.
D_MODEL = 32
FFN = 64
LAYERS = 2
HEADS = 4
MAX_POSITIONS = 256


def encoder_decoder_sizes(d_model: int, layers: int, heads: int, ffn: int) -> dict[str, int]:
    """BART-family config fields (BART, Marian, M2M100), the encoder's equal to the decoder's."""
    return dict(
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=ffn,
    )


def _gemma3_layer_types(layers: int) -> list[str]:
    # Gemma 3's pattern: five sliding-window layers, then one global one.
    return ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(layers)]


@dataclass(frozen=True)
class Architecture:
    """A transformers config class and its fields at each size it is built at."""

    config_class: str
    sizes: dict[Size, dict[str, Any]]


_TINY_SEQ2SEQ = dict(
    encoder_decoder_sizes(D_MODEL, LAYERS, HEADS, FFN), max_position_embeddings=MAX_POSITIONS
)
_T5_IDS = dict(pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)  # T5's fixed layout

# Real sizes are those of the checkpoints' config.json files on the Hugging Face hub.
# Fields that the tokenizer decides (vocabulary size of the tiny models, most special-token
# ids) are left to callers: see config().
CONFIGS: dict[str, Architecture] = {
    "t5": Architecture(
        "T5Config",
        {
            "tiny": dict(
                d_model=D_MODEL,
                d_kv=D_MODEL // HEADS,
                d_ff=FFN,
                num_layers=LAYERS,
                num_decoder_layers=LAYERS,
                num_heads=HEADS,
                relative_attention_num_buckets=8,
                feed_forward_proj="gated-gelu",  # like flan-t5
                tie_word_embeddings=False,
                **_T5_IDS,
            ),
            # google-t5/t5-small (T5Config's defaults): 32,000 sentencepiece pieces + 128
            # extra ids, relu feed-forward, 32 relative-position buckets, tied embeddings.
            "real": dict(
                vocab_size=32128,
                d_model=512,
                d_kv=64,
                d_ff=2048,
                num_layers=6,
                num_decoder_layers=6,
                num_heads=8,
                relative_attention_num_buckets=32,
                feed_forward_proj="relu",
                tie_word_embeddings=True,
                **_T5_IDS,
            ),
        },
    ),
    "bart": Architecture(
        "BartConfig",
        {
            # The byte-level BPE's layout: <s>=0, <pad>=1, </s>=2.
            "tiny": dict(
                _TINY_SEQ2SEQ,
                bos_token_id=0,
                pad_token_id=1,
                eos_token_id=2,
                decoder_start_token_id=2,
                forced_bos_token_id=0,
                forced_eos_token_id=2,
            ),
        },
    ),
    "marian": Architecture(
        "MarianConfig",
        {
            "tiny": _TINY_SEQ2SEQ,
            # Helsinki-NLP/opus-mt-en-de: swish, static sinusoidal positions (max 512),
            # scale_embedding, shared embeddings.
            "real": dict(
                vocab_size=58101,
                decoder_vocab_size=58101,
                **encoder_decoder_sizes(512, 6, 8, 2048),
                max_position_embeddings=512,
                activation_function="swish",
                scale_embedding=True,
                share_encoder_decoder_embeddings=True,
            ),
        },
    ),
    "m2m100": Architecture(
        "M2M100Config",
        {
            # fairseq's dictionary layout: <s>=0, <pad>=1, </s>=2.
            "tiny": dict(
                _TINY_SEQ2SEQ,
                bos_token_id=0,
                pad_token_id=1,
                eos_token_id=2,
                decoder_start_token_id=2,
            ),
        },
    ),
    "distilbert": Architecture(
        "DistilBertConfig",
        {
            "tiny": dict(
                dim=D_MODEL,
                hidden_dim=FFN,
                n_layers=LAYERS,
                n_heads=HEADS,
                max_position_embeddings=MAX_POSITIONS,
                pad_token_id=0,
            ),
            # distilbert-base-uncased (and its sst-2 and squad fine-tunings).
            "real": dict(
                vocab_size=30522,
                dim=768,
                hidden_dim=3072,
                n_layers=6,
                n_heads=12,
                max_position_embeddings=512,
                pad_token_id=0,
            ),
        },
    ),
    "llama": Architecture(
        "LlamaConfig",
        {
            "tiny": dict(
                hidden_size=D_MODEL,
                intermediate_size=FFN,
                num_hidden_layers=LAYERS,
                num_attention_heads=HEADS,
                num_key_value_heads=2,
                max_position_embeddings=MAX_POSITIONS,
                tie_word_embeddings=True,
            ),
            # HuggingFaceTB/SmolLM2-135M: 3 key/value heads (head_dim 64).
            "real": dict(
                hidden_size=576,
                num_hidden_layers=30,
                num_attention_heads=9,
                num_key_value_heads=3,
                intermediate_size=1536,
                vocab_size=49152,
                max_position_embeddings=8192,
                rope_theta=100000.0,
                rms_norm_eps=1e-5,
                tie_word_embeddings=True,
            ),
        },
    ),
    "bert": Architecture(
        "BertConfig",
        {
            "tiny": dict(
                hidden_size=D_MODEL,
                num_hidden_layers=LAYERS,
                num_attention_heads=HEADS,
                intermediate_size=FFN,
                max_position_embeddings=MAX_POSITIONS,
                pad_token_id=0,
                architectures=["BertModel"],
            ),
        },
    ),
    "gemma3": Architecture(
        "Gemma3TextConfig",
        {
            # Two sliding-window layers and a global one; callers set the window.
            "tiny": dict(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=3,
                num_attention_heads=4,
                num_key_value_heads=1,
                head_dim=8,
                max_position_embeddings=512,
                layer_types=["sliding_attention", "sliding_attention", "full_attention"],
            ),
            # google/gemma-3-270m's text config (Gemma3ForCausalLM): sliding window 512
            # with every 6th layer global, rope 1e6 global / 1e4 local (the class defaults).
            "real": dict(
                hidden_size=640,
                num_hidden_layers=18,
                layer_types=_gemma3_layer_types(18),
                sliding_window=512,
                num_attention_heads=4,
                num_key_value_heads=1,
                head_dim=256,
                intermediate_size=2048,
                vocab_size=262144,
                query_pre_attn_scalar=256,
                max_position_embeddings=32768,
                tie_word_embeddings=True,
            ),
        },
    ),
}


def config(arch: str, size: Size = "tiny", **overrides: Any) -> Any:
    """``arch``'s transformers config at ``size`` (see :data:`CONFIGS`), ``overrides`` on top.

    Pass what the tokenizer decides: the vocabulary size (tiny models) and the special-token
    ids the table leaves out; any other field may be overridden too (a smaller size).
    """
    import transformers

    spec = CONFIGS[arch]
    if size not in spec.sizes:
        raise ValueError(f"no {size!r} size of {arch} here, only {', '.join(spec.sizes)}")
    # Copied: a config keeps list fields (layer_types) that callers may edit.
    fields = copy.deepcopy({**spec.sizes[size], **overrides})
    return getattr(transformers, spec.config_class)(**fields)


def build(model_class: Any, config: Any, seed: int = 0, device: str | None = None) -> Any:
    """A ``model_class`` with random weights for ``config``: the same weights on every build.

    ``model_class`` is a transformers model class or an ``AutoModel*`` class; ``device``,
    when given, is where the weights are made.
    """
    import torch

    # Seeded: tests compare outputs across runs, benchmarks their figures across builds.
    torch.manual_seed(seed)
    # Model classes take the config; Auto classes are only built through from_config.
    make = getattr(model_class, "from_config", model_class)
    if device is None:
        return make(config)
    with torch.device(device):
        return make(config)


# SmolLM2's chat template (ChatML), so chat-formatting code paths see a real one.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant.<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_SUBJECTS = [
    "The cat", "A young doctor", "My neighbour", "The old train", "Our teacher",
    "The small company", "A tired student", "The river", "The government", "Her brother",
    "The new phone", "This film", "The restaurant", "The weather", "Paris",
]  # fmt: skip
_VERBS = [
    "likes", "found", "crossed", "closed", "opened", "visited", "described", "ignored",
    "improved", "painted", "sold", "watched", "explained", "loved", "hated",
]  # fmt: skip
_OBJECTS = [
    "the blue door", "a long report", "the market", "every question", "the quiet garden",
    "the final match", "a strange letter", "the city of London", "the capital of France",
    "the summer holiday", "an excellent meal", "the terrible service", "the book",
    "twenty three apples", "the mountain road",
]  # fmt: skip
_TAILS = [
    "yesterday.", "last week.", "in the morning.", "without a word.", "with great care.",
    "before the storm.", "after dinner.", "again and again.", "for 12 hours.", "at 5 pm.",
    "?", "!", "because it was raining.", "and everyone was happy.", "but nobody cared.",
]  # fmt: skip
# A few French and German words so translation tokenizers see more than English.
_FOREIGN = [
    "Le chat aime la porte bleue.", "Der Zug ist alt.", "La ville de Paris est belle.",
    "Ich habe das Buch gelesen.", "Nous avons visité le marché.", "Das Wetter ist schön.",
    "Elle a vendu la maison.", "Wir essen um fünf Uhr.", "Où est la gare ?",
    "Guten Morgen, wie geht es?", "Très bien, merci.", "Straße, Größe, naïve, café.",
]  # fmt: skip


def corpus(size: int = 400) -> list[str]:
    """A deterministic corpus of short sentences to train the tiny tokenizers on."""
    sentences: list[str] = []
    n = len(_SUBJECTS)
    for i in range(size):
        # Coprime strides walk the product of the lists without repeating soon.
        sentences.append(
            f"{_SUBJECTS[i % n]} {_VERBS[(i * 7) % n]} {_OBJECTS[(i * 11) % n]} "
            f"{_TAILS[(i * 13 + i // n) % n]}"
        )
    return sentences + _FOREIGN * 3


def _save(model: Any, tokenizer: Any, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _train(tokenizer: Any, trainer: Any, texts: Sequence[str] | None = None) -> Any:
    tokenizer.train_from_iterator(corpus() if texts is None else texts, trainer=trainer)
    return tokenizer


def _byte_level_bpe(
    vocab_size: int, special_tokens: list[str]
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train a byte-level BPE (GPT-2 / RoBERTa style); returns vocab and merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    _train(tok, trainer)
    model = json.loads(tok.to_str())["model"]
    # Older tokenizers store a merge as "a b", newer ones as ["a", "b"].
    pairs = [m.split(" ", 1) if isinstance(m, str) else m for m in model["merges"]]
    merges = [(str(a), str(b)) for a, b in pairs]
    return dict(model["vocab"]), merges


def unigram_pieces(
    vocab_size: int,
    special_tokens: list[str],
    texts: Sequence[str] | None = None,
    pad: bool = False,
) -> list[tuple[str, float]]:
    """Train a sentencepiece-style Unigram on ``texts`` (default :func:`corpus`).

    Returns (piece, score) pairs, specials first. The trainer may stop short of
    ``vocab_size``; ``pad`` fills up to it with ``<unused_N>`` pieces (a real model's size).
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        unk_token=special_tokens[-1],
        show_progress=False,
    )
    _train(tok, trainer, texts)
    pieces = [(str(p), float(s)) for p, s in json.loads(tok.to_str())["model"]["vocab"]]
    if pad:
        pieces += [(f"<unused_{i}>", -99.0) for i in range(vocab_size - len(pieces))]
    return pieces


def sentencepiece_model(path: Path, vocab_size: int, texts: Sequence[str] | None = None) -> Path:
    """Train a real sentencepiece model file (Marian and M2M100 tokenizers read one)."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus() if texts is None else texts),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,  # it logs every step to stderr otherwise
    )
    path.write_bytes(model.getvalue())
    return path


def sentencepiece_pieces(spm_file: Path) -> list[str]:
    """Every piece of a sentencepiece model file, in id order."""
    import sentencepiece as spm

    proc = spm.SentencePieceProcessor(model_file=str(spm_file))
    return [proc.id_to_piece(i) for i in range(proc.get_piece_size())]


def marian_tokenizer(
    folder: Path,
    spm_size: int = 200,
    target_codes: Sequence[str] = (),
    vocab_size: int | None = None,
    texts: Sequence[str] | None = None,
) -> Any:
    """A MarianTokenizer (one sentencepiece model for source and target) with files in ``folder``.

    Keep ``folder`` until the tokenizer is saved. The vocabulary has opus-mt's layout:
    </s>=0, <unk>=1, the pieces, ``>>code<<`` tokens for ``target_codes``, ``<unused_N>``
    fillers up to ``vocab_size`` entries when it is given, and <pad> last.
    """
    from transformers import MarianTokenizer

    spm_file = sentencepiece_model(folder / "source.spm", spm_size, texts)
    tokens = ["</s>", "<unk>"]
    tokens += [p for p in sentencepiece_pieces(spm_file) if p not in ("<unk>", "<s>", "</s>")]
    tokens += [f">>{code}<<" for code in target_codes]
    if vocab_size is not None:
        tokens += [f"<unused_{i}>" for i in range(vocab_size - 1 - len(tokens))]
    tokens.append("<pad>")
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Recommended: pip install sacremoses"
        return MarianTokenizer(
            source_spm=str(spm_file), target_spm=str(spm_file), vocab=str(vocab_file)
        )


def wordpiece_vocab(
    vocab_size: int = 400, texts: Sequence[str] | None = None, pad: bool = False
) -> dict[str, int]:
    """Train a lower-casing BERT WordPiece on ``texts`` (default :func:`corpus`); token → id.

    Specials first: [PAD], [UNK], [CLS], [SEP], [MASK]. ``pad`` fills up to
    ``vocab_size`` with ``[unusedN]`` entries, as BERT's own vocabulary has.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    _train(tok, trainer, texts)
    vocab: dict[str, int] = tok.get_vocab()
    if pad:
        for i in range(vocab_size - len(vocab)):
            vocab[f"[unused{i}]"] = len(vocab)
    return vocab


def make_t5(path: str | Path) -> Path:
    """A tiny T5ForConditionalGeneration (flan-t5 architecture) with a Unigram tokenizer."""
    from transformers import T5ForConditionalGeneration, T5Tokenizer

    pieces = unigram_pieces(300, ["<pad>", "</s>", "<unk>"])
    # T5's layout: <pad>=0, </s>=1, <unk>=2, then the pieces, then <extra_id_*> sentinels.
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=8)
    model = build(T5ForConditionalGeneration, config("t5", vocab_size=len(tokenizer)))
    return _save(model, tokenizer, Path(path))


def make_bart(path: str | Path) -> Path:
    """A tiny BartForConditionalGeneration (distilbart-cnn architecture), byte-level BPE."""
    from transformers import BartForConditionalGeneration, BartTokenizer

    vocab, merges = _byte_level_bpe(500, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tokenizer = BartTokenizer(vocab=vocab, merges=merges)
    model = build(BartForConditionalGeneration, config("bart", vocab_size=len(tokenizer)))
    return _save(model, tokenizer, Path(path))


def make_marian(path: str | Path, target_codes: tuple[str, ...] = ()) -> Path:
    """A tiny MarianMTModel (opus-mt architecture) with sentencepiece source/target models.

    ``target_codes`` (e.g. ``("fra", "deu")``) adds ``>>fra<<``-style target-language
    tokens, as the multi-target opus-mt models have; by default it is bilingual.
    """
    from transformers import MarianMTModel

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = marian_tokenizer(Path(tmp), 200, target_codes)
        vocab = len(tokenizer)
        pad = vocab - 1
        cfg = config(
            "marian",
            vocab_size=vocab,
            decoder_vocab_size=vocab,
            pad_token_id=pad,
            eos_token_id=0,
            decoder_start_token_id=pad,
            forced_eos_token_id=0,
            bad_words_ids=[[pad]],
        )
        return _save(build(MarianMTModel, cfg), tokenizer, Path(path))


def make_m2m100(path: str | Path) -> Path:
    """A tiny M2M100ForConditionalGeneration; its tokenizer has every ``__xx__`` language."""
    from transformers import M2M100ForConditionalGeneration, M2M100Tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        spm_file = sentencepiece_model(Path(tmp) / "sentencepiece.bpe.model", 200)
        # fairseq's dictionary layout: <s>, <pad>, </s>, <unk>, then the pieces.
        tokens = ["<s>", "<pad>", "</s>", "<unk>"]
        tokens += [p for p in sentencepiece_pieces(spm_file) if p not in tokens]
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
        tokenizer = M2M100Tokenizer(vocab_file=str(vocab_file), spm_file=str(spm_file))
        # The tokenizer puts 100 language tokens and 8 made-up words after the pieces.
        cfg = config("m2m100", vocab_size=len(tokens) + 100 + 8)
        return _save(build(M2M100ForConditionalGeneration, cfg), tokenizer, Path(path))


def _wordpiece_tokenizer() -> Any:
    from transformers import DistilBertTokenizer

    return DistilBertTokenizer(vocab=wordpiece_vocab(), do_lower_case=True)


def make_distilbert_qa(path: str | Path) -> Path:
    """A tiny DistilBertForQuestionAnswering (the squad model's architecture)."""
    from transformers import DistilBertForQuestionAnswering

    tokenizer = _wordpiece_tokenizer()
    model = build(DistilBertForQuestionAnswering, config("distilbert", vocab_size=len(tokenizer)))
    return _save(model, tokenizer, Path(path))


def make_distilbert_classifier(
    path: str | Path, labels: tuple[str, ...] = ("NEGATIVE", "POSITIVE")
) -> Path:
    """A tiny DistilBertForSequenceClassification (the sst2 model's architecture)."""
    from transformers import DistilBertForSequenceClassification

    tokenizer = _wordpiece_tokenizer()
    cfg = config(
        "distilbert",
        vocab_size=len(tokenizer),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return _save(build(DistilBertForSequenceClassification, cfg), tokenizer, Path(path))


def make_llama(path: str | Path, chat_template: bool = True) -> Path:
    """A tiny LlamaForCausalLM shaped like SmolLM2: byte-level BPE, ChatML, no pad token.

    The missing pad token is deliberate: the loader must supply one (SmolLM2 has one,
    many chat models don't). ``chat_template=False`` makes a "base" model without one.
    """
    from transformers import GPT2Tokenizer, LlamaForCausalLM

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab, merges = _byte_level_bpe(500, specials)
    tokenizer = GPT2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token="<|endoftext|>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        additional_special_tokens=specials,
    )
    if chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    cfg = config(
        "llama",
        vocab_size=len(tokenizer),
        bos_token_id=vocab["<|im_start|>"],
        eos_token_id=vocab["<|im_end|>"],
        pad_token_id=None,
    )
    return _save(build(LlamaForCausalLM, cfg), tokenizer, Path(path))


def make_bert_embedder(path: str | Path, pooling: str = "mean") -> Path:
    """A tiny bare BertModel (all-MiniLM-L6-v2's architecture): a sentence embedder.

    A WordPiece tokenizer (lowercasing BERT normalizer, [CLS]/[SEP]/[PAD]/[UNK]/[MASK])
    trained on :func:`corpus`, saved as a fast ``BertTokenizer`` (``tokenizer.json``),
    and sentence-transformers' ``1_Pooling/config.json``: mean pooling, or ``"cls"``.
    """
    from transformers import BertModel, BertTokenizer

    path = Path(path)
    tokenizer = BertTokenizer(vocab=wordpiece_vocab(), do_lower_case=True)
    _save(build(BertModel, config("bert", vocab_size=len(tokenizer))), tokenizer, path)
    pooling_dir = path / "1_Pooling"
    pooling_dir.mkdir(exist_ok=True)
    mode = {
        "word_embedding_dimension": D_MODEL,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
    }
    (pooling_dir / "config.json").write_text(json.dumps(mode), encoding="utf-8")
    return path


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "t5": make_t5,
    "bart": make_bart,
    "marian": make_marian,
    "m2m100": make_m2m100,
    "distilbert_qa": make_distilbert_qa,
    "distilbert_classifier": make_distilbert_classifier,
    "llama": make_llama,
    "bert_embedder": make_bert_embedder,
}

_DONE = ".tiny-model-complete"  # written last: a folder without it was interrupted
_BUILT: dict[Path, dict[str, Path]] = {}


def build_all(root: str | Path) -> dict[str, Path]:
    """Build every tiny model under ``root`` (once per root per process); name → folder.

    Names: t5, bart, marian, m2m100, distilbert_qa, distilbert_classifier, llama,
    bert_embedder.
    """
    root = Path(root).resolve()
    if root not in _BUILT:
        dirs: dict[str, Path] = {}
        for name, builder in BUILDERS.items():
            folder = root / name
            if not (folder / _DONE).exists():
                builder(folder)
                (folder / _DONE).write_text("ok\n", encoding="utf-8")
            dirs[name] = folder
        _BUILT[root] = dirs
    return dict(_BUILT[root])


def iter_families() -> Iterator[tuple[str, str]]:
    """(tiny model name, llmcli Family value) pairs, for parametrized tests."""
    yield from [
        ("t5", "seq2seq"),
        ("bart", "seq2seq"),
        ("marian", "seq2seq"),
        ("m2m100", "seq2seq"),
        ("distilbert_qa", "extractive-qa"),
        ("distilbert_classifier", "classifier"),
        ("llama", "causal"),
        ("bert_embedder", "embedding"),
    ]
