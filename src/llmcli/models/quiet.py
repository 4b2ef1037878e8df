"""Keep transformers from printing while llmcli loads or converts models."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars, log lines and warnings inside the block.

    Core code never prints; what matters reaches the user as a notice or an error.
    """
    from transformers.utils import logging as _hf_logging

    hf_logging: Any = _hf_logging  # partially annotated; see builtin.convert_gguf
    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
