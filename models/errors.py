"""The errors a user can cause, one type per kind, each naming the offending input.

Every error derives from :class:`SnflowError` and from a builtin (``ValueError``,
``LookupError``, ``RuntimeError``) so callers may catch either. Library code raises these;
only the CLI turns them into a stderr line and an exit status.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseError",
    "DefinitionError",
    "NodeNameError",
    "NoderangeError",
    "RegexAttributeError",
    "SnflowError",
    "StanzaError",
]


class SnflowError(Exception):
    """Root of every error snflow reports to the user (the message is the whole story)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NoderangeError(SnflowError, ValueError):
    """A noderange that cannot be parsed, or names that do not exist.

    ``part`` is the faulty fragment; ``missing`` the unknown names, in expansion order.
    """

    def __init__(self, message: str, part: str = "", missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.part = part
        self.missing = missing


class NodeNameError(SnflowError, ValueError):
    """An object name that xCAT would not accept (``isobjnamevalid``)."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class DefinitionError(SnflowError, ValueError):
    """A definition command (mkdef, chdef, lsdef, ...) that cannot be carried out as asked."""


class StanzaError(SnflowError, ValueError):
    """A stanza file that cannot be read; ``line`` is the 1-based line number (0 if unknown)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


class RegexAttributeError(SnflowError, ValueError):
    """A malformed attribute value in xCAT's regex form (``/pat/repl/``, ``|pat|repl|``)."""

    def __init__(self, message: str, value: str) -> None:
        super().__init__(message)
        self.value = value


class ConfigError(SnflowError, ValueError):
    """A setting that is missing or invalid."""


class DatabaseError(SnflowError, RuntimeError):
    """The cluster database cannot be reached, or its schema is not what snflow expects."""
