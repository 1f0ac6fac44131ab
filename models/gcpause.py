"""Pause Python's cyclic garbage collector around bulk, allocation-heavy steps.

Reading, planning and writing a 10,000-node move allocates millions of small objects
that all stay alive until the step ends (rows, dicts, models): none of them is cyclic
garbage, yet each allocation burst triggers full collections that scan every live
object again, which was about a third of such a step's time. Reference counting still
frees everything as usual; only the cycle scans wait until the outermost pause ends.
Re-entrant and thread-safe: the collector comes back when the last pause ends, and only
if it was enabled when the first began.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["gc_paused", "pauses_gc"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic collector disabled (restored afterwards)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def pauses_gc(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorator form of :func:`gc_paused`."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with gc_paused():
            return func(*args, **kwargs)

    return wrapper
