"""Command lines built from argument lists: exact strings, and what a shell makes of them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ssh_fixtures import SshTestBed, bed, ssh_bed

from snflow.tasks.ssh import SshPool, build_command, join_commands, quote

__all__ = ["bed", "ssh_bed"]  # fixtures used by name


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["uptime"], None, "uptime"),
        (["echo", "a b"], None, "echo 'a b'"),
        (["echo", "$(touch /tmp/x)"], None, "echo '$(touch /tmp/x)'"),
        (["echo", "it's"], None, "echo 'it'\"'\"'s'"),
        (["echo", ""], None, "echo ''"),
        (["echo", "a;b|c&d"], None, "echo 'a;b|c&d'"),
        (["echo", "l1\nl2"], None, "echo 'l1\nl2'"),
        (
            ["/opt/xcat/postscripts/syslog"],
            {"MASTER": "sn1b"},
            "MASTER=sn1b /opt/xcat/postscripts/syslog",
        ),
        (["env"], {"A": "x y", "B_2": "$z"}, "A='x y' B_2='$z' env"),
    ],
)
def test_build_command_quotes_every_word(
    argv: list[str], env: dict[str, str] | None, expected: str
) -> None:
    assert build_command(argv, env) == expected


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        ([], None, "non-empty"),
        ("echo hi", None, "non-empty list"),
        (["echo", "a\x00b"], None, "NUL"),
        (["env"], {"A-B": "x"}, "invalid environment variable name"),
        (["env"], {"1A": "x"}, "invalid environment variable name"),
    ],
)
def test_build_command_refuses_what_cannot_be_passed(
    argv: list[str], env: dict[str, str] | None, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        build_command(argv, env)


def test_join_commands() -> None:
    assert join_commands("a", "b") == "a && b"
    assert join_commands("a", "b", operator=";") == "a ; b"
    with pytest.raises(ValueError):
        join_commands("a", "b", operator="|")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", codec="utf-8")))
def test_any_value_reaches_a_local_shell_as_one_argument(value: str) -> None:
    line = build_command(["printf", "<%s>", value])
    out = subprocess.run(["/bin/sh", "-c", line], capture_output=True, check=True).stdout
    assert out == f"<{value}>".encode()


def test_metacharacters_arrive_on_the_node_as_literal_arguments(
    bed: SshTestBed, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    values = [
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"; touch {marker}",
        f"' ; touch {marker}; '",
        f'" ; touch {marker}; "',
        f"\ntouch {marker}\n",
        f"&& touch {marker} ||",
        "$HOME * ? [a] ~ \\ | > < #",
        "-n",
    ]
    with SshPool(bed.settings(tmp_path)) as pool:
        result = pool.run(bed.route("cn1"), build_command(["printf", "<%s>\\n", *values]))
    assert result.ok, result.stderr
    assert result.stdout.decode() == "".join(f"<{v}>\n" for v in values)
    assert not marker.exists()
    assert quote(values[0]) in build_command(["echo", values[0]])
