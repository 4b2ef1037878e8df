"""Small helpers every task shares."""

from __future__ import annotations

from llmcli.errors import UsageError
from llmcli.models.base import Family, LoadedModel


def one_line(text: str) -> str:
    """Collapse whitespace runs (line breaks included) so plain output stays one line."""
    return " ".join(text.split())


def unsupported(task: str, loaded: LoadedModel, families: tuple[Family, ...]) -> UsageError:
    """The error for a model whose family cannot do ``task``."""
    kinds = ", ".join(f.value for f in families)
    return UsageError(
        f"model {loaded.name!r} ({loaded.family.value}) cannot {task}",
        hint=f"{task} needs a {kinds} model",
    )


def check_positive(name: str, value: int | None, minimum: int = 1) -> None:
    """Raise UsageError unless ``value`` is None or at least ``minimum``."""
    if value is not None and value < minimum:
        raise UsageError(f"{name} must be at least {minimum} (got {value})")


def model_type(loaded: LoadedModel) -> str:
    """The config's ``model_type`` (``t5``, ``marian``...), for model-specific conventions."""
    return str(getattr(loaded.config, "model_type", "") or "")
