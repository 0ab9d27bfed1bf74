"""Errors by kind. Every kind of bad input derives from :class:`InputError`, which the
command line reports on one line with exit code 2; anything else is an internal error
(exit code 1). Each names what was wrong and where it came from.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input, located as precisely as known: the command line prints it on one line and
    exits with code 2 (never a traceback).

    Attributes:
        message: What is wrong, in one sentence.
        path: Dotted key path (``market.segments.mass.share``), column or ``""``.
        file: Where the bad input came from: a file (for a key a scenario inherits through
            ``extends``, the extended file), a command-line option (``--seed``), or
            ``None`` for a value given through the Python API.
        line: 1-based line in ``file``, if known.
    """

    def __init__(self, message: str, path: str = "", file: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        key = f"{self.path}: " if self.path else ""
        return f"{where}{key}{self.message}"


class ScenarioError(InputError):
    """A scenario file or scenario value that cannot be used."""


class DataError(InputError, ValueError):
    """A data file (a retention table) that cannot be read or used."""


class OptionError(InputError):
    """A command-line option or function argument that cannot be used (``file`` names the
    option, e.g. ``--replications``)."""


class ResultsError(InputError):
    """A results folder that cannot be used: another experiment's, or one to resume that
    does not match."""
