"""The synclist parser (``xdcp -F``): plain lines, filters, globs, renames, clauses, errors."""

from __future__ import annotations

import doctest

import pytest

from snflow.models import synclist
from snflow.models.synclist import SyncEntry, SynclistError, parse_synclist


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(synclist, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def entry(line: str) -> SyncEntry:
    return parse_synclist(line).entries[0]


@pytest.mark.parametrize(
    ("line", "sources", "dest", "is_dir", "noderange"),
    [
        ("/etc/hosts -> /etc/hosts", ("/etc/hosts",), "/etc/hosts", False, None),
        ("/etc/hosts -> /etc/hosts.new", ("/etc/hosts",), "/etc/hosts.new", False, None),
        ("/etc/hosts /etc/passwd -> /etc", ("/etc/hosts", "/etc/passwd"), "/etc", True, None),
        ("/etc/hosts -> /tmp/", ("/etc/hosts",), "/tmp", True, None),
        ("/home/mikev/* -> /home/mikev/", ("/home/mikev/*",), "/home/mikev", True, None),
        ("/opt/a?.conf -> /opt/conf", ("/opt/a?.conf",), "/opt/conf", True, None),
        ("/etc/motd", ("/etc/motd",), "/etc/motd", False, None),
        ("/etc/hosts -> (cn1, cn2) /etc/hosts", ("/etc/hosts",), "/etc/hosts", False, "cn1,cn2"),
        ("/etc/hosts -> (compute@rack1) /tmp/", ("/etc/hosts",), "/tmp", True, "compute@rack1"),
        ("/etc/hosts -> /etc/ho sts;", ("/etc/hosts",), "/etc/hosts", False, None),
        ("/src/dir/ -> /dst", ("/src/dir/",), "/dst", False, None),
        ("  /a   /b    ->   /c  ", ("/a", "/b"), "/c", True, None),
        ("/a -> /", ("/a",), "/", True, None),
    ],
)
def test_plain_lines(
    line: str, sources: tuple[str, ...], dest: str, is_dir: bool, noderange: str | None
) -> None:
    e = entry(line)
    assert (e.sources, e.dest, e.dest_is_dir, e.noderange, e.line) == (
        sources,
        dest,
        is_dir,
        noderange,
        1,
    )


def test_blank_and_comment_lines_are_skipped_and_line_numbers_kept() -> None:
    parsed = parse_synclist("\n# a comment\n   \n/etc/hosts -> /etc/hosts\n")
    assert [e.line for e in parsed.entries] == [4]


def test_clauses_hold_every_following_line() -> None:
    parsed = parse_synclist(
        "/a -> /a\nAPPEND:\n/x -> /etc/hosts\n/y -> /etc/motd\nEXECUTEALWAYS:\n/s1\n/s2\n"
        "MERGE:\n/p -> /etc/shadow\nEXECUTE:\n/a.post\n"
    )
    assert [(a.source, a.dest) for a in parsed.appends] == [
        ("/x", "/etc/hosts"),
        ("/y", "/etc/motd"),
    ]
    assert parsed.execute_always == ("/s1", "/s2")
    assert [(m.source, m.dest) for m in parsed.merges] == [("/p", "/etc/shadow")]
    assert parsed.execute == ("/a.post",)
    assert parsed.has_clauses


def test_sources_are_every_local_file_once_in_file_order() -> None:
    parsed = parse_synclist(
        "/a /b -> /d\n/b -> (cn1) /e\n/a.post -> /tmp/a.post\nAPPEND:\n/c -> /etc/hosts\n"
        "EXECUTE:\n/a.post\nEXECUTEALWAYS:\n/s\n"
    )
    assert parsed.sources() == ["/a", "/b", "/a.post", "/c", "/s"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Found no lines to process in the synclist."),
        ("# only a comment\n", "Found no lines to process in the synclist."),
        ("etc/hosts -> /etc/hosts", "line 1: source 'etc/hosts' is not an absolute path"),
        ("/etc/hosts -> etc/hosts", "line 1: destination 'etc/hosts' is not an absolute path"),
        ("/etc/hosts -> /etc/../root/x", "line 1: destination '/etc/../root/x' contains . or .."),
        ("/a /b", "line 1: several sources need '-> destination'"),
        ("\n\nAPPEND: /x -> /y", "line 3: APPEND: must be alone on its line"),
        ("MERGE:\n/p -> /etc/hosts", "line 2: MERGE: works only on /etc/passwd"),
        ("APPEND:\n/a /b -> /etc/hosts", "line 2: APPEND: lines are 'source -> file'"),
        ("EXECUTE:\n/tmp/script.sh", "line 2: EXECUTE: scripts are named <file>.post"),
        ("EXECUTEALWAYS:\nrelative.sh", "line 2: script 'relative.sh' is not an absolute path"),
    ],
)
def test_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(SynclistError) as raised:
        parse_synclist(text)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ValueError)


def test_the_file_name_is_in_the_empty_file_message() -> None:
    with pytest.raises(SynclistError, match=r"^Found no lines to process in /tmp/f\.$"):
        parse_synclist("\n", "/tmp/f")
