"""Shared helpers for bench/ scripts: machine facts, timing, and docs/benchmarks.md sections.

Every script writes one section of ``docs/benchmarks.md`` between the markers
``<!-- NAME:start -->`` and ``<!-- NAME:end -->``; everything outside its own markers
(other scripts' sections, hand-written text) is kept as it is.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"
DOC_HEADER = """# Benchmarks

Every figure on this page comes from a script under `bench/` (see `bench/README.md`),
run on the machine and at the date stated next to it, with the exact command shown;
rerun that command to regenerate its section. Each script rewrites only its own section
(between its `<!-- name:start -->` / `<!-- name:end -->` markers) and leaves the rest
of the page alone. Timings are wall-clock unless a column says CPU, and were taken on
whatever machine is named there, often a small shared one, so compare ratios within a
section rather than absolute numbers across sections.
"""


# --- machine and run facts -------------------------------------------------------------


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 2**20 if match else None


def mem_available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where unknown)."""
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s*(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}{' (src/ modified)' if dirty else ''}"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def command_line() -> str:
    """This process's command line, as typed from the repository root."""
    exe = Path(sys.executable)
    try:
        shown = str(exe.relative_to(REPO))
    except ValueError:
        shown = str(exe)
    script = Path(sys.argv[0]).resolve()
    try:
        script_shown = str(script.relative_to(REPO))
    except ValueError:
        script_shown = str(script)
    return shlex.join([shown, script_shown, *sys.argv[1:]])


def machine_info(packages: Sequence[str]) -> dict[str, str]:
    """Facts a figure needs next to it: CPU, cores, memory, OS, Python, packages, date."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    mem = _mem_total_gib()
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "memory": f"{mem:.1f} GiB" if mem is not None else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(f"{p} {package_version(p)}" for p in packages),
        "revision": _git_revision(),
        "command": command_line(),
    }


def machine_block(info: Mapping[str, str], load_before: str, load_after: str) -> str:
    """The markdown lines stating where, when and how a section's figures were made."""
    return "\n".join(
        [
            f"- **Command** (from the repository root): `{info['command']}`",
            f"- **Date**: {info['date']}; llmcli revision {info['revision']}",
            f"- **Machine**: {info['cpu']}, {info['cores']} cores, {info['memory']} RAM, "
            f"{info['os']}",
            f"- **Software**: {info['python']}; {info['packages']}",
            f"- **Load average** (1/5/15 min) before: {load_before}; after: {load_after} "
            "(the machine is shared; high load means noisier timings)",
        ]
    )


# --- running and timing commands -------------------------------------------------------


@dataclass
class Run:
    """One subprocess run: wall time, peak RSS and what it printed."""

    argv: list[str]
    seconds: float
    cpu_seconds: float  # user + system time of the child
    max_rss_bytes: int
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def failure(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s (killed)"
        if self.returncode < 0:
            return f"killed by signal {signal.Signals(-self.returncode).name}"
        tail = self.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return f"exit status {self.returncode}: {tail[0][:200]}"


def reset_peak_rss() -> None:
    """Reset this process's peak RSS to its current RSS (Linux 4.0+; else nothing).

    Without it, every child started after this process once held a lot of memory
    reports that as its own peak: ``wait4``'s ``ru_maxrss`` includes the high-water mark
    of the forked address space that ``exec`` replaces.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        pass


def run_measured(
    argv: Sequence[str],
    *,
    timeout: float | None = None,
    address_space_limit: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Run:
    """Run ``argv`` in a fresh process; wall time, CPU time and the child's own peak RSS.

    CPU time and peak RSS come from ``wait4``'s rusage of that one child. On Linux a
    child's peak RSS also counts the memory of this process at the moment it forks (the
    high-water mark of the address space it replaces at exec), so this process's own
    high-water mark is reset first (``/proc/self/clear_refs``): the figure is the child's
    own peak, or this process's current RSS if that is larger.

    Output goes to temporary files, not pipes, so a chatty child never blocks on a
    full pipe and no reader thread competes for the CPU while it runs.
    ``address_space_limit`` (bytes) sets RLIMIT_AS in the child: a run that would
    exhaust the machine's memory fails with MemoryError instead.
    """

    def limit() -> None:  # runs in the child between fork and exec
        if address_space_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space_limit, address_space_limit))

    reset_peak_rss()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=dict(env) if env is not None else None,
            preexec_fn=limit if address_space_limit is not None else None,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            list(argv),
            seconds,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss * 1024,  # Linux reports kilobytes
            proc.returncode,
            out.read(),
            err.read(),
            timed_out.is_set(),
        )


def summarize(seconds: Sequence[float]) -> tuple[float, float]:
    """(median, min) of a list of timings."""
    return statistics.median(seconds), min(seconds)


def fmt_seconds(value: float) -> str:
    if value >= 100:
        return f"{value:.0f} s"
    if value >= 10:
        return f"{value:.1f} s"
    return f"{value:.2f} s"


def fmt_bytes(value: int) -> str:
    if value >= 2**30:
        return f"{value / 2**30:.2f} GiB"
    return f"{value / 2**20:.0f} MiB"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- docs/benchmarks.md ----------------------------------------------------------------


def write_section(name: str, body: str, doc: Path = DOC) -> Path:
    """Put ``body`` between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``doc``.

    The markers are replaced with their content if present, else appended at the end;
    a missing file is created with the page heading and intro. Written atomically.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else DOC_HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=doc.parent, prefix=f".{doc.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, doc)
    except BaseException:
        os.unlink(tmp)
        raise
    return doc
