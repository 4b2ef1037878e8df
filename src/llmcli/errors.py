"""Typed errors raised by the core; only the CLI layer turns them into exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmcli.exit_status import ExitStatus


class LlmcliError(Exception):
    """Base of every error the CLI reports as one line on stderr."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(LlmcliError):
    """A bad option or a combination of options that cannot work."""

    exit_status = ExitStatus.USAGE


class InputError(LlmcliError):
    """Unreadable, undecodable, empty or malformed input."""

    exit_status = ExitStatus.USAGE


class ModelUnavailableError(LlmcliError):
    """A model or optional component that is not installed or cannot be fetched offline."""

    exit_status = ExitStatus.MODEL_UNAVAILABLE


class OutputError(LlmcliError):
    """The result could not be written (full disk, missing directory, no permission)."""

    exit_status = ExitStatus.ERROR


class ItemsFailed(LlmcliError):
    """``--keep-going`` finished, but some items failed; their records say why.

    Not an error line: the CLI prints the message as a summary and exits 4.
    """

    exit_status = ExitStatus.ITEMS_FAILED


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, carrying what was finished before it; the CLI prints it and exits 130.

    A KeyboardInterrupt, so nothing that catches ``Exception`` swallows it.
    """


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when it has none)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@dataclass(frozen=True)
class Failure:
    """Why one item (a line, a record or a whole file) failed under ``--keep-going``."""

    type: str  # the exception's class name
    message: str  # one line, starting with the item's location
    exit_code: int  # what the error would have exited with on its own

    @classmethod
    def of(cls, exc: BaseException, location: str | None = None) -> Failure:
        """The failure ``exc`` stands for; ``location`` is prefixed unless already there."""
        text = first_line(exc)
        if location and not text.startswith(f"{location}:"):
            text = f"{location}: {text}"
        status = exc.exit_status if isinstance(exc, LlmcliError) else ExitStatus.ERROR
        return cls(type=type(exc).__name__, message=text, exit_code=int(status))

    def fields(self) -> dict[str, Any]:
        """The ``error`` object of the item's JSON record."""
        return {"type": self.type, "message": self.message, "exit_code": self.exit_code}


def isolatable(exc: BaseException) -> bool:
    """Whether ``--keep-going`` may record ``exc`` against one item and go on.

    Errors of an item or its input are; Ctrl-C, exit requests and running out of memory
    are not (they concern the whole run).
    """
    return isinstance(exc, Exception) and not isinstance(exc, (MemoryError, OutputError))
