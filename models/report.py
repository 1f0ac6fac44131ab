"""What a command has to say: xCAT-style messages and whether anything failed.

A query or definition command returns a :class:`CommandReport`; the CLI prints ``info``
lines on stdout and ``warning``/``error`` lines on stderr as xCAT's client does
(``Warning: ...``, ``Error: ...``), and exits non-zero when any error was reported
(design decision 1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CommandReport", "Message"]

Level = Literal["info", "warning", "error"]


class Message(BaseModel):
    """One line (or block) for the user."""

    model_config = ConfigDict(frozen=True)

    level: Level
    text: str


class CommandReport(BaseModel):
    """Messages of one command, in order, and whether it changed the database."""

    messages: list[Message] = Field(default_factory=list)
    changed: bool = False

    def info(self, text: str) -> None:
        self.messages.append(Message(level="info", text=text))

    def warning(self, text: str) -> None:
        self.messages.append(Message(level="warning", text=text))

    def error(self, text: str) -> None:
        self.messages.append(Message(level="error", text=text))

    @property
    def failed(self) -> bool:
        """True when any error was reported."""
        return any(m.level == "error" for m in self.messages)
