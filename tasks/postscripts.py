"""Finding the postscripts a move runs: the site's own directory first, then snflow's.

``$SNFLOW_HOME/postscripts/<name>`` (an administrator's scripts, e.g. copied from xCAT's
``/install/postscripts``) wins over the scripts that ship with snflow (``snflow.postscripts``:
``syslog``, ``mkresolvconf``, ``setupntp``, ``snflow-xcatinfo``, ``snflow-gateway``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

import snflow.postscripts
from snflow.models.settings import get_settings
from snflow.models.snmove_runner import valid_script_name

__all__ = ["find_postscripts", "load_postscripts", "postscript_dirs"]


def postscript_dirs() -> list[Path]:
    """Where postscripts are looked for, in order."""
    return [get_settings().home / "postscripts", Path(snflow.postscripts.__file__).parent]


def find_postscripts(names: Iterable[str]) -> tuple[dict[str, bytes], list[str]]:
    """The bodies of ``names`` that exist, and the names that do not (in order)."""
    found: dict[str, bytes] = {}
    missing: list[str] = []
    dirs = postscript_dirs()
    for name in dict.fromkeys(names):
        path = next((d / name for d in dirs if (d / name).is_file()), None)
        if path is None or not valid_script_name(name) or name == "__init__.py":
            missing.append(name)
        else:
            found[name] = path.read_bytes()
    return found, missing


@task(name="load-postscripts", cache_policy=NO_CACHE)
def load_postscripts(names: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """:func:`find_postscripts` as a task (local files only)."""
    return find_postscripts(names)
