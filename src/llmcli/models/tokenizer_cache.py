"""Load a tokenizer folder faster: ``tokenizer.json`` read once, from a quick-to-read copy.

transformers 5 parses ``tokenizer.json`` with Python's ``json`` up to twice per load (for
its added tokens, then for the vocabulary and merges of classes that rebuild their
backend, such as Gemma's), while the garbage collector re-scans the millions of objects
that creates: about 5 s of Gemma 3's 7 s load on 2 cores. :func:`load_tokenizer` makes the
same ``AutoTokenizer.from_pretrained`` call with the collector paused, and answers
transformers' ``json.load`` of that file with the document it would have parsed, built
from a compact copy in llmcli's cache: keyed by the file's sha256, written on the first
load, and kept only once it has been checked to rebuild the identical document.

Everything else is transformers' own code working from that document, so the tokenizer
is the one it would build (same class, backend, special tokens, settings). Anything
unexpected (no or a small ``tokenizer.json``, another transformers layout, an unreadable
file, a damaged copy) leaves the reading to transformers.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TOKENIZER_JSON = "tokenizer.json"
CACHE_FORMAT = 1
# Smaller files parse in tens of milliseconds; a copy would mostly cost disk space.
MIN_CACHED_BYTES = 1 << 20
# The modules whose ``json.load`` reads tokenizer.json while a tokenizer loads.
_READERS = ("transformers.tokenization_utils_base", "transformers.tokenization_utils_tokenizers")

_serving_lock = threading.Lock()


def load_tokenizer(folder: Path, cache_dir: Path | None = None) -> Any:
    """``AutoTokenizer.from_pretrained(folder, local_files_only=True)``, faster.

    ``cache_dir`` holds the compact copies of large ``tokenizer.json`` files (None: none
    is read or written; the file is still parsed once instead of twice).
    """
    from transformers import AutoTokenizer

    source = folder / TOKENIZER_JSON
    try:
        large = source.stat().st_size >= MIN_CACHED_BYTES
    except OSError:
        large = False
    with paused_gc():
        if not large:
            return AutoTokenizer.from_pretrained(folder, local_files_only=True)
        served = _ServedFile(source, cache_dir)
        with _serving(served):
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        served.save_copy()
        return tokenizer


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees objects).

    Parsing builds millions of small lists and dicts, each batch of which triggers a
    collection that walks everything still alive; a load leaves little cyclic garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def cached_copy_path(cache_dir: Path, sha256: str) -> Path:
    """Where the compact copy of the ``tokenizer.json`` with this sha256 lives."""
    return cache_dir / f"{sha256}.tokenizer"


class _ServedFile:
    """One ``tokenizer.json``: recognises transformers' handles on it, builds its document."""

    def __init__(self, path: Path, cache_dir: Path | None) -> None:
        self.path = path
        self.cache_dir = cache_dir
        self.served = 0  # documents handed out; 0 means transformers never parsed the file
        self._failed = False
        self._skeleton_text: str | None = None  # the document without vocab and merges
        self._vocab: Any = None
        self._merges: Any = None
        self._sha256: str | None = None
        self._original: Any = None  # the parsed file, when there was no usable copy
        self._identity: tuple[int, int, int, int] | None = None  # of the file served

    def document(self, handle: IO[Any]) -> Any | None:
        """What ``json.load(handle)`` would return, or None to let it read the file."""
        if self._failed:
            return None
        try:
            opened = os.fstat(handle.fileno())
        except (AttributeError, OSError, ValueError):  # not a real file
            return None
        identity = (opened.st_dev, opened.st_ino, opened.st_size, opened.st_mtime_ns)
        if self._identity is None:
            try:
                if (opened.st_dev, opened.st_ino) != _identity(os.stat(self.path))[:2]:
                    return None  # another file (tokenizer_config.json, ...)
                self._prepare(identity)
            except (OSError, ValueError, KeyError, TypeError):
                self._failed = True  # json.load reads it and raises its own error, if any
                return None
        elif identity != self._identity:
            return None
        self.served += 1
        return self._build()

    def _prepare(self, identity: tuple[int, int, int, int]) -> None:
        with self.path.open("rb") as file:
            if _identity(os.fstat(file.fileno())) != identity:
                raise ValueError("tokenizer.json was replaced while being opened")
            raw = file.read()
        if len(raw) != identity[2]:
            raise ValueError("tokenizer.json changed while being read")
        self._sha256 = hashlib.sha256(raw).hexdigest()
        if self.cache_dir is None or not self._load_copy(self._sha256):
            # As transformers reads it: strict UTF-8 (a BOM is an error), then json.
            self._original = json.loads(raw.decode("utf-8"))
            self._skeleton_text, self._vocab, self._merges = _split(self._original)
        self._identity = identity

    def _load_copy(self, sha256: str) -> bool:
        assert self.cache_dir is not None
        try:
            data = cached_copy_path(self.cache_dir, sha256).read_bytes()
        except OSError:
            return False
        parts = _parse_copy(data, sha256)
        if parts is None:
            return False  # half-written by a crash, damaged, another format: parse the file
        self._skeleton_text, self._vocab, self._merges = parts
        return True

    def _build(self) -> Any:
        # Fresh containers for each reader: transformers pops keys from the document and
        # from each added token. The vocabulary and merges are shared between the readers
        # of one load: they only read them (the last one keeps them).
        assert self._skeleton_text is not None
        return _assemble(self._skeleton_text, self._vocab, self._merges)

    def save_copy(self) -> None:
        """Keep a compact copy for later loads, if this load parsed the file itself."""
        if self.cache_dir is None or self._original is None or not self.served:
            return
        assert self._sha256 is not None and self._skeleton_text is not None
        data = _encode_copy(self._sha256, self._skeleton_text, self._vocab, self._merges)
        if data is None or not _rebuilds(data, self._sha256, self._original):
            return
        target = cached_copy_path(self.cache_dir, self._sha256)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".tokenizer", dir=self.cache_dir)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, target)  # readers see the whole copy or none
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # a read-only or full cache only costs the next load its speed


def _split(document: Any) -> tuple[str, Any, Any]:
    """The document as JSON text without its vocabulary and merges, and those two.

    Only a dict vocabulary and merges that are all pairs of strings are taken out
    (to be stored flat); anything else stays in the text as it is.
    """
    model = document.get("model") if isinstance(document, dict) else None
    if not isinstance(model, dict):
        return json.dumps(document), None, None
    vocab = model.get("vocab")
    merges = model.get("merges")
    if not isinstance(vocab, dict):
        vocab = None
    if not (isinstance(merges, list) and all(map(_is_pair, merges))):
        merges = None
    stripped = dict(model)
    if vocab is not None:
        stripped["vocab"] = None  # keeps the key's place; filled in again by _build
    if merges is not None:
        stripped["merges"] = None
    return json.dumps({**document, "model": stripped}), vocab, merges


def _is_pair(merge: Any) -> bool:
    return type(merge) is list and len(merge) == 2 and type(merge[0]) is type(merge[1]) is str


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _assemble(skeleton_text: str, vocab: Any, merges: Any) -> Any:
    document = json.loads(skeleton_text)
    if vocab is not None:
        document["model"]["vocab"] = vocab
    if merges is not None:
        document["model"]["merges"] = merges
    return document


# A compact copy: one line of JSON (the format, the source's sha256, the document
# without its vocabulary and merges, how to rebuild those, the rest's sha256), then the
# vocabulary's tokens and the merges' halves as UTF-8 joined by a character none contains.
# str.split reads that about twice as fast as json reads the same strings.
_SEPARATORS = ("\x00", "\x01", "\x02", "\x03", "\ue000", "\U0010fffd")


def _encode_copy(sha256: str, skeleton_text: str, vocab: Any, merges: Any) -> bytes | None:
    tokens = list(vocab) if vocab is not None else []
    ids = list(vocab.values()) if vocab is not None else []
    halves = [half for pair in merges for half in pair] if merges is not None else []
    strings = tokens + halves
    header: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "sha256": sha256,
        "skeleton": json.loads(skeleton_text),
        "vocab": None if vocab is None else len(tokens),
        # Token ids are usually 0, 1, 2... in file order; store them only when not.
        "ids": None if ids == list(range(len(ids))) else ids,
        "merges": None if merges is None else len(merges),
    }
    for separator in _SEPARATORS:
        payload = separator.join(strings)
        if payload.count(separator) == max(len(strings) - 1, 0):  # in none of the strings
            encoded = payload.encode("utf-8")
            header["separator"] = separator
            header["payload_sha256"] = hashlib.sha256(encoded).hexdigest()
            return json.dumps(header).encode("ascii") + b"\n" + encoded
    return None


def _parse_copy(data: bytes, sha256: str) -> tuple[str, Any, Any] | None:
    """A compact copy's skeleton text, vocabulary and merges; None if it is not usable."""
    try:
        newline = data.index(b"\n")
        header = json.loads(data[:newline])
        if header.get("format") != CACHE_FORMAT or header.get("sha256") != sha256:
            return None
        encoded = data[newline + 1 :]
        if hashlib.sha256(encoded).hexdigest() != header["payload_sha256"]:
            return None  # damaged on disk
        skeleton, vocab_count, merge_count = header["skeleton"], header["vocab"], header["merges"]
        payload = encoded.decode("utf-8")
        strings = payload.split(header["separator"]) if payload else []
        if len(strings) != (vocab_count or 0) + 2 * (merge_count or 0):
            return None
        vocab = None
        if vocab_count is not None:
            ids = header["ids"]
            ids = range(vocab_count) if ids is None else ids
            vocab = dict(zip(strings[:vocab_count], ids, strict=True))
            if skeleton["model"]["vocab"] is not None:
                return None
        merges = None
        if merge_count is not None:
            halves = iter(strings[vocab_count or 0 :])
            merges = [[first, second] for first, second in zip(halves, halves, strict=True)]
            if skeleton["model"]["merges"] is not None:
                return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return json.dumps(skeleton), vocab, merges


def _rebuilds(data: bytes, sha256: str, original: Any) -> bool:
    """Whether the copy ``data`` gives back exactly ``original``: values and key order."""
    parts = _parse_copy(data, sha256)
    if parts is None:
        return False
    rebuilt = _assemble(*parts)
    if not isinstance(original, dict):
        return bool(rebuilt == original)
    if rebuilt != original or list(rebuilt) != list(original):
        return False
    # Nested dicts went through json, which keeps their order; these were rebuilt.
    model, original_model = rebuilt.get("model"), original.get("model")
    if isinstance(model, dict) and isinstance(original_model, dict):
        if list(model) != list(original_model):
            return False
        if isinstance(model.get("vocab"), dict) and list(model["vocab"]) != list(
            original_model["vocab"]
        ):
            return False
    return True


@contextlib.contextmanager
def _serving(served: _ServedFile) -> Iterator[None]:
    """Route the tokenizer readers' ``json.load`` of ``served``'s file to it, for a while."""
    modules: list[Any] = []
    for name in _READERS:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    with _serving_lock:
        patched = []
        for module in modules:
            if getattr(module, "json", None) is json:  # another json, or patched: leave it
                module.json = _JsonReader(served)
                patched.append(module)
        try:
            yield
        finally:
            for module in patched:
                module.json = json


class _JsonReader:
    """Stands in for the ``json`` module: ``load`` of the served file gets its document."""

    def __init__(self, served: _ServedFile) -> None:
        self._served = served

    def load(self, fp: IO[Any], *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs:
            document = self._served.document(fp)
            if document is not None:
                return document
        return json.load(fp, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)
