"""xCAT synclist files (``xdcp -F``): a pure parser, no file system access.

>>> sl = parse_synclist('''
... # comment
... /etc/hosts /etc/passwd -> /etc
... /tmp/share/file2 -> /tmp/file2
... /tmp/share/file2.post -> /tmp/file2.post
... /opt/app/*.conf -> (cn1,cn2) /opt/app/
... /etc/motd
... APPEND:
... /tmp/share/hosts.add -> /etc/hosts
... MERGE:
... /tmp/share/passwd.add -> /etc/passwd
... EXECUTE:
... /tmp/share/file2.post
... EXECUTEALWAYS:
... /tmp/share/always.sh
... ''')
>>> [(e.sources, e.dest, e.dest_is_dir, e.noderange) for e in sl.entries]
... # doctest: +NORMALIZE_WHITESPACE
[(('/etc/hosts', '/etc/passwd'), '/etc', True, None),
 (('/tmp/share/file2',), '/tmp/file2', False, None),
 (('/tmp/share/file2.post',), '/tmp/file2.post', False, None),
 (('/opt/app/*.conf',), '/opt/app', True, 'cn1,cn2'),
 (('/etc/motd',), '/etc/motd', False, None)]
>>> sl.appends[0].dest, sl.merges[0].dest, sl.execute, sl.execute_always
('/etc/hosts', '/etc/passwd', ('/tmp/share/file2.post',), ('/tmp/share/always.sh',))

Format (``syncfile_synclist_file.rst``, ``parse_rsync_input_file_on_MN``): blank lines and
``#`` lines are skipped. ``src... -> dest`` syncs each source to ``dest``; ``src... ->
(noderange) dest`` only to the nodes of that noderange; a line with a single path syncs it
to the same path. Spaces and ``;`` are removed from ``dest`` (as xCAT does). ``dest`` is a
directory when it ends in ``/``, when there are several sources or a source is a glob;
otherwise it is the file's new path (a rename when the names differ). A source ending in
``/`` is a directory whose *contents* go into ``dest``. A line ``APPEND:``, ``MERGE:``,
``EXECUTE:`` or ``EXECUTEALWAYS:`` starts a clause that holds every following line up to the
next clause line: ``APPEND:`` lines ``src -> file`` (append ``src`` to the node's ``file``),
``MERGE:`` lines ``src -> /etc/passwd|/etc/group|/etc/shadow`` (merge entries by name),
``EXECUTE:`` lines ``<file>.post`` (run on a node where ``<file>``'s entry changed it),
``EXECUTEALWAYS:`` lines a script run on every node after the sync.

Stricter than xCAT (errors name the line): every path must be absolute; a destination may
not contain ``.`` or ``..`` components or a newline; an ``EXECUTE:`` script must end in
``.post``; a file with nothing to do is an error (xCAT's ``Found no lines to process in
<file>.``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from snflow.models.errors import SnflowError

__all__ = [
    "MERGE_TARGETS",
    "AppendEntry",
    "SyncEntry",
    "SyncList",
    "SynclistError",
    "is_glob",
    "parse_synclist",
]

#: The only files ``MERGE:`` may change.
MERGE_TARGETS = ("/etc/passwd", "/etc/group", "/etc/shadow")
_CLAUSES = ("EXECUTEALWAYS:", "EXECUTE:", "APPEND:", "MERGE:")
_ARROW = re.compile(r"\s->\s")
_FILTER = re.compile(r"^\((.+)\)\s+(.+)$")
_GLOB = re.compile(r"[*?\[]")

Clause = Literal["EXECUTEALWAYS:", "EXECUTE:", "APPEND:", "MERGE:"]


class SynclistError(SnflowError, ValueError):
    """A synclist that cannot be used; ``line`` is the 1-based line (0: the whole file)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


class SyncEntry(BaseModel):
    """One plain line: ``sources -> [(noderange)] dest``."""

    model_config = ConfigDict(frozen=True)

    sources: tuple[str, ...]
    dest: str
    dest_is_dir: bool
    noderange: str | None = None
    line: int = 0


class AppendEntry(BaseModel):
    """One ``APPEND:`` or ``MERGE:`` line: ``source -> dest``."""

    model_config = ConfigDict(frozen=True)

    source: str
    dest: str
    line: int = 0


class SyncList(BaseModel):
    """A parsed synclist."""

    model_config = ConfigDict(frozen=True)

    entries: tuple[SyncEntry, ...] = ()
    appends: tuple[AppendEntry, ...] = ()
    merges: tuple[AppendEntry, ...] = ()
    execute: tuple[str, ...] = ()
    execute_always: tuple[str, ...] = ()

    @property
    def has_clauses(self) -> bool:
        """Whether anything beyond plain copies happens on the nodes."""
        return bool(self.appends or self.merges or self.execute or self.execute_always)

    def sources(self) -> list[str]:
        """Every local path (or glob) the synclist reads, in file order, once each:
        what is staged on the service nodes (noderange filters do not matter there)."""
        seen: dict[str, None] = {}
        for entry in self.entries:
            seen.update(dict.fromkeys(entry.sources))
        for extra in (*self.appends, *self.merges):
            seen[extra.source] = None
        seen.update(dict.fromkeys((*self.execute, *self.execute_always)))
        return list(seen)


def is_glob(path: str) -> bool:
    """Whether ``path`` holds a shell glob character (``*``, ``?``, ``[``)."""
    return bool(_GLOB.search(path))


def _absolute(path: str, number: int, what: str) -> str:
    if not path.startswith("/"):
        raise SynclistError(f"line {number}: {what} {path!r} is not an absolute path", number)
    return path


def _dest(text: str, number: int) -> str:
    dest = text.replace(" ", "").replace("\t", "").replace(";", "")
    _absolute(dest, number, "destination")
    if any(part in (".", "..") for part in dest.split("/")):
        raise SynclistError(f"line {number}: destination {dest!r} contains . or ..", number)
    return dest


def _plain(body: str, number: int) -> SyncEntry:
    parts = _ARROW.split(body, maxsplit=1)
    noderange = None
    if len(parts) == 1:
        sources = body.split()
        if len(sources) != 1:
            raise SynclistError(f"line {number}: several sources need '-> destination'", number)
        dest = _dest(sources[0], number)
    else:
        sources = parts[0].split()
        rest = parts[1].strip()
        match = _FILTER.match(rest)
        if match:
            noderange = re.sub(r"\s+", "", match.group(1))
            rest = match.group(2)
        if not sources or not rest:
            raise SynclistError(f"line {number}: expected 'source... -> destination'", number)
        dest = _dest(rest, number)
    for source in sources:
        _absolute(source, number, "source")
    is_dir = dest.endswith("/") or len(sources) > 1 or any(is_glob(s) for s in sources)
    return SyncEntry(
        sources=tuple(sources),
        dest=dest.rstrip("/") or "/",
        dest_is_dir=is_dir or dest == "/",
        noderange=noderange,
        line=number,
    )


def _pair(body: str, number: int, clause: str) -> AppendEntry:
    parts = _ARROW.split(body, maxsplit=1)
    if len(parts) != 2 or len(parts[0].split()) != 1:
        raise SynclistError(f"line {number}: {clause} lines are 'source -> file'", number)
    source = _absolute(parts[0].strip(), number, "source")
    dest = _dest(parts[1].strip(), number)
    if clause == "MERGE:" and dest not in MERGE_TARGETS:
        raise SynclistError(
            f"line {number}: MERGE: works only on {', '.join(MERGE_TARGETS)}, not {dest}", number
        )
    if dest.endswith("/"):
        raise SynclistError(f"line {number}: {clause} needs a file, not {dest}", number)
    return AppendEntry(source=source, dest=dest, line=number)


def parse_synclist(text: str, name: str = "the synclist") -> SyncList:
    """Parse a synclist's ``text``; :class:`SynclistError` names the first bad line."""
    entries: list[SyncEntry] = []
    appends: list[AppendEntry] = []
    merges: list[AppendEntry] = []
    execute: list[str] = []
    always: list[str] = []
    clause: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        body = raw.strip()
        if not body or body.startswith("#"):
            continue
        keyword = next((c for c in _CLAUSES if c in body), None)
        if keyword is not None:
            if body != keyword:
                raise SynclistError(f"line {number}: {keyword} must be alone on its line", number)
            clause = keyword
            continue
        if clause is None:
            entries.append(_plain(body, number))
        elif clause == "APPEND:":
            appends.append(_pair(body, number, clause))
        elif clause == "MERGE:":
            merges.append(_pair(body, number, clause))
        else:
            script = _absolute(body, number, "script")
            if len(body.split()) != 1:
                raise SynclistError(f"line {number}: one script per {clause} line", number)
            if clause == "EXECUTE:":
                if not script.endswith(".post"):
                    raise SynclistError(
                        f"line {number}: EXECUTE: scripts are named <file>.post", number
                    )
                execute.append(script)
            else:
                always.append(script)
    result = SyncList(
        entries=tuple(entries),
        appends=tuple(appends),
        merges=tuple(merges),
        execute=tuple(execute),
        execute_always=tuple(always),
    )
    if not (result.entries or result.has_clauses):
        raise SynclistError(f"Found no lines to process in {name}.")
    return result
