"""Exception types shared by every stage.

Each error subclasses the builtin it specialises, names the file or parameter,
shows the bad value, states the rule and, where possible, suggests a fix. The CLI
maps :class:`InputError` subclasses to exit code 2 and anything else to 1.
"""

from __future__ import annotations

from pathlib import Path


class TwinsepError(Exception):
    """Base class of every error twinsep raises on purpose."""


class InputError(TwinsepError, ValueError):
    """Bad user input (exit code 2): a scan, a stage file, a team file, an option."""

    def __init__(self, source: str | Path | None, reason: str) -> None:
        self.source = None if source is None else str(source)
        self.reason = reason
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Return the message as one line: ``<source>: <reason>``."""
        reason = " ".join(self.reason.split())
        return f"{self.source}: {reason}" if self.source else reason


class ScanError(InputError):
    """A scan cannot be used: unreadable, inconsistent geometry, not a head, ..."""


class AnatomyError(InputError):
    """The anatomy in a readable scan is outside what twinsep plans for.

    Examples: a single head, two heads that do not touch, a union of the face.
    """


class ConfigError(InputError):
    """A YAML or option value supplied by the user is invalid."""


class OutputError(InputError):
    """The output location cannot be used (exists, unwritable, disk full)."""


class InfeasibleScheduleError(TwinsepError, RuntimeError):
    """The operating-room schedule cannot satisfy its constraints.

    The message names the constraint that cannot be met.
    """


class SeparationError(TwinsepError, RuntimeError):
    """The separation could not be computed or verified."""
