"""Tiny random-weight models of every architecture llmcli supports, built locally.

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

import io
import json
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Small sizes shared by every model: each builds and saves in well under a second.
D_MODEL = 32
FFN = 64
LAYERS = 2
HEADS = 4
MAX_POSITIONS = 256

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


def _seed() -> None:
    import torch

    # Same random weights on every build: tests may compare outputs across runs.
    torch.manual_seed(0)


def _save(model: Any, tokenizer: Any, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _train(tokenizer: Any, trainer: Any) -> Any:
    tokenizer.train_from_iterator(corpus(), trainer=trainer)
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


def _unigram(vocab_size: int, special_tokens: list[str]) -> list[tuple[str, float]]:
    """Train a sentencepiece-style Unigram; returns (piece, score) pairs, specials first."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        unk_token=special_tokens[-1],
        show_progress=False,
    )
    _train(tok, trainer)
    return [(str(p), float(s)) for p, s in json.loads(tok.to_str())["model"]["vocab"]]


def _sentencepiece(path: Path, vocab_size: int) -> Path:
    """Train a real sentencepiece model file (Marian and M2M100 tokenizers read one)."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,  # it logs every step to stderr otherwise
    )
    path.write_bytes(model.getvalue())
    return path


def _sentencepiece_pieces(spm_file: Path) -> list[str]:
    import sentencepiece as spm

    proc = spm.SentencePieceProcessor(model_file=str(spm_file))
    return [proc.id_to_piece(i) for i in range(proc.get_piece_size())]


def make_t5(path: str | Path) -> Path:
    """A tiny T5ForConditionalGeneration (flan-t5 architecture) with a Unigram tokenizer."""
    from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

    path = Path(path)
    pieces = _unigram(300, ["<pad>", "</s>", "<unk>"])
    # T5's layout: <pad>=0, </s>=1, <unk>=2, then the pieces, then <extra_id_*> sentinels.
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=8)
    _seed()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=D_MODEL,
        d_kv=D_MODEL // HEADS,
        d_ff=FFN,
        num_layers=LAYERS,
        num_decoder_layers=LAYERS,
        num_heads=HEADS,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",  # like flan-t5
        tie_word_embeddings=False,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return _save(T5ForConditionalGeneration(config), tokenizer, path)


def make_bart(path: str | Path) -> Path:
    """A tiny BartForConditionalGeneration (distilbart-cnn architecture), byte-level BPE."""
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer

    path = Path(path)
    vocab, merges = _byte_level_bpe(500, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tokenizer = BartTokenizer(vocab=vocab, merges=merges)
    _seed()
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=D_MODEL,
        encoder_layers=LAYERS,
        decoder_layers=LAYERS,
        encoder_attention_heads=HEADS,
        decoder_attention_heads=HEADS,
        encoder_ffn_dim=FFN,
        decoder_ffn_dim=FFN,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
    )
    return _save(BartForConditionalGeneration(config), tokenizer, path)


def make_marian(path: str | Path, target_codes: tuple[str, ...] = ()) -> Path:
    """A tiny MarianMTModel (opus-mt architecture) with sentencepiece source/target models.

    ``target_codes`` (e.g. ``("fra", "deu")``) adds ``>>fra<<``-style target-language
    tokens, as the multi-target opus-mt models have; by default it is bilingual.
    """
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        spm_file = _sentencepiece(Path(tmp) / "source.spm", 200)
        # Marian's vocab.json: </s>=0, <unk>=1, the pieces, language codes, <pad> last.
        tokens = ["</s>", "<unk>"]
        tokens += [p for p in _sentencepiece_pieces(spm_file) if p not in ("<unk>", "<s>", "</s>")]
        tokens += [f">>{code}<<" for code in target_codes]
        tokens.append("<pad>")
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Recommended: pip install sacremoses"
            tokenizer = MarianTokenizer(
                source_spm=str(spm_file), target_spm=str(spm_file), vocab=str(vocab_file)
            )
        _seed()
        pad = len(tokens) - 1
        config = MarianConfig(
            vocab_size=len(tokens),
            decoder_vocab_size=len(tokens),
            d_model=D_MODEL,
            encoder_layers=LAYERS,
            decoder_layers=LAYERS,
            encoder_attention_heads=HEADS,
            decoder_attention_heads=HEADS,
            encoder_ffn_dim=FFN,
            decoder_ffn_dim=FFN,
            max_position_embeddings=MAX_POSITIONS,
            pad_token_id=pad,
            eos_token_id=0,
            decoder_start_token_id=pad,
            forced_eos_token_id=0,
            bad_words_ids=[[pad]],
        )
        return _save(MarianMTModel(config), tokenizer, path)


def make_m2m100(path: str | Path) -> Path:
    """A tiny M2M100ForConditionalGeneration; its tokenizer has every ``__xx__`` language."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        spm_file = _sentencepiece(Path(tmp) / "sentencepiece.bpe.model", 200)
        # fairseq's dictionary layout: <s>, <pad>, </s>, <unk>, then the pieces.
        tokens = ["<s>", "<pad>", "</s>", "<unk>"]
        tokens += [p for p in _sentencepiece_pieces(spm_file) if p not in tokens]
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
        tokenizer = M2M100Tokenizer(vocab_file=str(vocab_file), spm_file=str(spm_file))
        _seed()
        config = M2M100Config(
            # The tokenizer puts 100 language tokens and 8 made-up words after the pieces.
            vocab_size=len(tokens) + 100 + 8,
            d_model=D_MODEL,
            encoder_layers=LAYERS,
            decoder_layers=LAYERS,
            encoder_attention_heads=HEADS,
            decoder_attention_heads=HEADS,
            encoder_ffn_dim=FFN,
            decoder_ffn_dim=FFN,
            max_position_embeddings=MAX_POSITIONS,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
        )
        return _save(M2M100ForConditionalGeneration(config), tokenizer, path)


def _wordpiece_tokenizer() -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import DistilBertTokenizer

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=400,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    _train(tok, trainer)
    return DistilBertTokenizer(vocab=tok.get_vocab(), do_lower_case=True)


def _distilbert_config(vocab_size: int, **kwargs: Any) -> Any:
    from transformers import DistilBertConfig

    return DistilBertConfig(
        vocab_size=vocab_size,
        dim=D_MODEL,
        hidden_dim=FFN,
        n_layers=LAYERS,
        n_heads=HEADS,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=0,
        **kwargs,
    )


def make_distilbert_qa(path: str | Path) -> Path:
    """A tiny DistilBertForQuestionAnswering (the squad model's architecture)."""
    from transformers import DistilBertForQuestionAnswering

    tokenizer = _wordpiece_tokenizer()
    _seed()
    model = DistilBertForQuestionAnswering(_distilbert_config(len(tokenizer)))
    return _save(model, tokenizer, Path(path))


def make_distilbert_classifier(
    path: str | Path, labels: tuple[str, ...] = ("NEGATIVE", "POSITIVE")
) -> Path:
    """A tiny DistilBertForSequenceClassification (the sst2 model's architecture)."""
    from transformers import DistilBertForSequenceClassification

    tokenizer = _wordpiece_tokenizer()
    _seed()
    config = _distilbert_config(
        len(tokenizer),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return _save(DistilBertForSequenceClassification(config), tokenizer, Path(path))


def make_llama(path: str | Path, chat_template: bool = True) -> Path:
    """A tiny LlamaForCausalLM shaped like SmolLM2: byte-level BPE, ChatML, no pad token.

    The missing pad token is deliberate: the loader must supply one (SmolLM2 has one,
    many chat models don't). ``chat_template=False`` makes a "base" model without one.
    """
    from transformers import GPT2Tokenizer, LlamaConfig, LlamaForCausalLM

    path = Path(path)
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
    _seed()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=D_MODEL,
        intermediate_size=FFN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=2,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=vocab["<|im_start|>"],
        eos_token_id=vocab["<|im_end|>"],
        pad_token_id=None,
        tie_word_embeddings=True,
    )
    return _save(LlamaForCausalLM(config), tokenizer, path)


def make_bert_embedder(path: str | Path, pooling: str = "mean") -> Path:
    """A tiny bare BertModel (all-MiniLM-L6-v2's architecture): a sentence embedder.

    A WordPiece tokenizer (lowercasing BERT normalizer, [CLS]/[SEP]/[PAD]/[UNK]/[MASK])
    trained on :func:`corpus`, saved as a fast ``BertTokenizer`` (``tokenizer.json``),
    and sentence-transformers' ``1_Pooling/config.json``: mean pooling, or ``"cls"``.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizer

    path = Path(path)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=400,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    _train(tok, trainer)
    tokenizer = BertTokenizer(vocab=tok.get_vocab(), do_lower_case=True)
    _seed()
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=D_MODEL,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=0,
        architectures=["BertModel"],
    )
    _save(BertModel(config), tokenizer, path)
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
