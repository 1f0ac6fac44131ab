"""The garbage-collector pause around bulk steps: nested, threaded, and restored."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from snflow.models.gcpause import gc_paused, pauses_gc


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_nested_pauses_restore_the_collector_only_at_the_outermost_end() -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_an_exception_still_restores_the_collector() -> None:
    @pauses_gc
    def fails() -> None:
        assert not gc.isenabled()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fails()
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_with_the_collector_back() -> None:
    first_in, second_out = threading.Event(), threading.Event()

    def first() -> None:
        with gc_paused():
            first_in.set()
            second_out.wait(10)
            assert not gc.isenabled()  # the other thread's end did not re-enable it

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(10)
    with gc_paused():
        pass
    second_out.set()
    thread.join(10)
    assert gc.isenabled()
