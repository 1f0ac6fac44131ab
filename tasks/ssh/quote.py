"""Command lines for a remote POSIX shell, built from argument lists: every value quoted.

Pure string building (tested as strings); nothing here runs anything. A remote command is
one string that the node's login shell parses, so any value that comes from the database
or the user goes through :func:`build_command` (or :func:`quote`) and reaches the remote
program as exactly one argument, whatever shell metacharacters it holds.

>>> build_command(["echo", "$(touch /tmp/x)", "a b"])
"echo '$(touch /tmp/x)' 'a b'"
>>> build_command(["cat"], env={"XCATSERVER": "sn1 b"})
"XCATSERVER='sn1 b' cat"
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

__all__ = ["build_command", "join_commands", "quote"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote(value: str) -> str:
    """``value`` as one shell word (``shlex.quote``); NUL bytes are refused (``ValueError``)."""
    if "\x00" in value:
        raise ValueError(f"a shell argument cannot contain a NUL byte: {value!r}")
    return shlex.quote(value)


def build_command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """``argv`` as one shell command line, each element quoted; ``env`` assignments first.

    :raises ValueError: empty ``argv``, an invalid environment variable name, or a NUL byte.
    """
    if isinstance(argv, str) or not argv:
        raise ValueError("build_command needs a non-empty list of arguments")
    words = []
    for name, value in (env or {}).items():
        if not _ENV_NAME.fullmatch(name):
            raise ValueError(f"invalid environment variable name: {name!r}")
        words.append(f"{name}={quote(value)}")
    words.extend(quote(arg) for arg in argv)
    return " ".join(words)


def join_commands(*commands: str, operator: str = "&&") -> str:
    """Already built commands joined by ``&&`` (or ``;``, ``||``).

    >>> join_commands("mkdir -p /a", build_command(["touch", "/a/b c"]))
    "mkdir -p /a && touch '/a/b c'"
    """
    if operator not in ("&&", ";", "||"):
        raise ValueError(f"unsupported operator: {operator!r}")
    return f" {operator} ".join(commands)
