"""The one error type of the virtual cluster: something the user asked that cannot be done."""

from __future__ import annotations

from snflow.models.errors import SnflowError

__all__ = ["SimError"]


class SimError(SnflowError, RuntimeError):
    """The virtual cluster cannot do what was asked (not running, unknown host, busy port...).

    ``host`` is the host name the error is about, when there is one.
    """

    def __init__(self, message: str, host: str = "") -> None:
        super().__init__(message)
        self.host = host
