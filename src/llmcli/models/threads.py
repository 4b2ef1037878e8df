"""How many CPU threads inference uses.

Hyper-threads share one core's matrix units: running a GEMM thread on each sibling
only adds OpenMP synchronisation, so the default is one thread per physical core the
process may run on. ``--threads`` or ``OMP_NUM_THREADS`` override it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_CPU_ROOT = Path("/sys/devices/system/cpu")


def allowed_cpus() -> set[int]:
    """The logical CPUs this process may run on (its affinity mask)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def physical_cores(cpus: set[int] | None = None, root: Path = _CPU_ROOT) -> int:
    """Distinct physical cores among ``cpus`` (default: the allowed ones), at least 1."""
    cpus = allowed_cpus() if cpus is None else cpus
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = root / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            cores.add(("cpu", str(cpu)))  # no topology: count the logical CPU
            continue
        cores.add((package, core))
    return max(1, len(cores))


def default_threads(env: Mapping[str, str]) -> int:
    """``OMP_NUM_THREADS`` when it is a positive integer, else the physical cores."""
    value = env.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return physical_cores()


def apply_threads(threads: int | None, env: Mapping[str, str]) -> int:
    """Set torch's intra-op threads (``None``: the default above); return the count."""
    import torch

    count = default_threads(env) if threads is None else threads
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
