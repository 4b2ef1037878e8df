"""What ``llmcli models`` shows and does: every known model, whether it is here, pulling."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmcli.errors import UsageError
from llmcli.models import builtin, cache
from llmcli.models.registry import DEFAULTS, SPECS, ModelSpec, SourceKind, env_var

Notice = Callable[[str], None]


@dataclass(frozen=True)
class ModelInfo:
    """One row of ``llmcli models``."""

    spec: ModelSpec
    present: bool
    location: str | None  # where the local copy is, when there is one
    disk_size: int  # bytes on disk, 0 when absent
    default_for: tuple[str, ...]  # tasks it is the default of, here and now

    def to_json(self) -> dict[str, Any]:
        """A stable JSON object for ``llmcli models --json``."""
        spec = self.spec
        return {
            "name": spec.name,
            "tasks": list(spec.tasks),
            "default_for": list(self.default_for),
            "kind": spec.kind.value,
            "family": spec.family.value,
            "hub_id": spec.hub_id,
            "license": spec.license,
            "size": spec.size,
            "present": self.present,
            "location": self.location,
            "disk_size": self.disk_size,
            "description": spec.description,
        }


def _hub_presence(spec: ModelSpec, env: Mapping[str, str]) -> tuple[bool, str | None, int]:
    from llmcli.models.loading import cached_snapshot

    if spec.hub_id is None or spec.is_template:
        return False, None, 0  # a per-language-pair template has no single copy
    try:
        snapshot = cached_snapshot(spec.hub_id, env)
    except ImportError:  # without the models extra there is no Hugging Face cache reader
        return False, None, 0
    if snapshot is None:
        return False, None, 0
    return True, str(snapshot), cache.folder_size(snapshot)


def list_models(env: Mapping[str, str]) -> list[ModelInfo]:
    """Every model in the registry with its local status; configured defaults honoured."""
    defaults = {task: env.get(env_var(task)) or name for task, name in DEFAULTS.items()}
    rows: list[ModelInfo] = []
    for spec in SPECS.values():
        location: str | None
        if spec.kind is SourceKind.BUILTIN:
            state = builtin.status(spec.name, env)
            present, size = state.present, state.size
            location = str(state.path) if present else None
        else:
            present, location, size = _hub_presence(spec, env)
        default_for = tuple(task for task, name in defaults.items() if name == spec.name)
        rows.append(ModelInfo(spec, present, location, size, default_for))
    return rows


def pull(name: str, env: Mapping[str, str], notice: Notice | None = None) -> Path:
    """Get ``name`` ready ahead of time: prepare a built-in, or download a hub model."""
    spec = SPECS.get(name.lower())
    if spec is not None and spec.kind is SourceKind.BUILTIN:
        return builtin.pull(spec.name, env, notice)
    if spec is not None and spec.is_template:
        raise UsageError(
            f"{spec.name} is one model per language pair",
            hint=f"pull the pair you need, e.g. {spec.hub_id.format(src='en', tgt='de')}"
            if spec.hub_id
            else None,
        )
    from llmcli.models.loading import hub_folder

    return hub_folder(spec.hub_id if spec is not None and spec.hub_id else name, env, notice)
