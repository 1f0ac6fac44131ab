"""Per-node retries of the node phase: transient SSH errors only, with growing backoff."""

from __future__ import annotations

import pytest

from snflow.tasks.snmove_nodes import retry_transient
from snflow.tasks.ssh import CommandTimeout, ConnectError, SshError


class Flaky:
    """Raises the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_a_dropped_connection_is_retried_with_growing_backoff() -> None:
    waits: list[float] = []
    action = Flaky(SshError("connection lost", "cn1"), SshError("connection lost", "cn1"))
    assert retry_transient(action, attempts=3, sleep=waits.append) == "done"
    assert action.calls == 3
    assert len(waits) == 2 and waits[1] > waits[0] > 0


def test_retries_end_with_the_last_error() -> None:
    action = Flaky(*(SshError(f"lost {i}", "cn1") for i in range(3)))
    with pytest.raises(SshError, match="lost 2"):
        retry_transient(action, attempts=3, sleep=lambda _: None)


@pytest.mark.parametrize(
    "error", [CommandTimeout("too slow", "cn1", 5.0), ConnectError("refused", "cn1")]
)
def test_timeouts_and_refused_connections_are_not_retried(error: Exception) -> None:
    action = Flaky(error)
    with pytest.raises(type(error)):
        retry_transient(action, attempts=3, sleep=lambda _: None)
    assert action.calls == 1
