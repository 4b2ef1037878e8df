"""All process I/O goes through an :class:`Environment`, so tests can swap it.

Modelled on httpie's ``Environment``: the CLI layer builds one from the real process,
tests build one over in-memory streams and choose which of them pretend to be terminals.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


@dataclass
class Environment:
    """Standard streams, whether each is a terminal, and environment variables."""

    stdin: IO[bytes] = field(default_factory=lambda: sys.stdin.buffer)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    variables: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    quiet: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)

    @property
    def show_progress(self) -> bool:
        """Progress bars and notices only for a person at a terminal."""
        return bool(self.stderr_isatty) and not self.quiet

    def stderr_console(self) -> Console:
        """A rich console on stderr; colour only when stderr is a terminal."""
        from rich.console import Console

        return Console(
            file=self.stderr,
            force_terminal=bool(self.stderr_isatty),
            no_color=not self.stderr_isatty or "NO_COLOR" in self.variables,
            highlight=False,
            soft_wrap=True,
        )

    def stdout_console(self) -> Console:
        """A rich console on stdout, used only when stdout is a terminal."""
        from rich.console import Console

        return Console(
            file=self.stdout,
            force_terminal=bool(self.stdout_isatty),
            no_color="NO_COLOR" in self.variables,
            highlight=False,
        )

    def warn(self, message: str) -> None:
        """A one-line warning on stderr (always shown unless --quiet)."""
        if not self.quiet:
            print(f"llmcli: warning: {message}", file=self.stderr)
