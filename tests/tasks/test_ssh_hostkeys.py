"""Host keys: known_hosts lookups (unit) and what a connection does with them (test bed)."""

from __future__ import annotations

import threading
from pathlib import Path

import paramiko
import pytest
from paramiko.hostkeys import HostKeys
from ssh_fixtures import SshTestBed, bed, ssh_bed

from snflow.tasks.ssh import HostKeyError, KnownHosts, SshPool
from snflow.tasks.ssh.hostkeys import host_pattern, known_hosts_line

__all__ = ["bed", "ssh_bed"]  # fixtures used by name

KEY = paramiko.RSAKey.generate(1024)
OTHER = paramiko.RSAKey.generate(1024)


def line(hosts: str, key: paramiko.PKey = KEY) -> str:
    return f"{hosts} {key.get_name()} {key.get_base64()}\n"


def known(tmp_path: Path, text: str, accept_new: bool = False) -> KnownHosts:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return KnownHosts(path, accept_new=accept_new)


# --- unit: lookups ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "port"),
    [
        ("[sn1]:2222", 2222),
        ("[sn1]:2222,[10.9.0.1]:2222", 2222),
        ("[10.9.0.1]:2222", 2222),  # by address when the name has no entry
        ("sn1", 22),
        ("10.9.0.1", 22),
    ],
)
def test_a_recorded_key_is_accepted(tmp_path: Path, entry: str, port: int) -> None:
    known(tmp_path, line(entry)).verify("sn1", "10.9.0.1", port, KEY)


def test_a_hashed_entry_matches(tmp_path: Path) -> None:
    hashed = HostKeys.hash_host("[sn1]:2222")
    known(tmp_path, line(hashed)).verify("sn1", "10.9.0.1", 2222, KEY)


def test_an_entry_for_another_port_does_not_count(tmp_path: Path) -> None:
    with pytest.raises(HostKeyError, match="is not known"):
        known(tmp_path, line("sn1")).verify("sn1", "10.9.0.1", 2222, KEY)


def test_an_unknown_host_is_refused_with_the_contract_message(tmp_path: Path) -> None:
    kh = known(tmp_path, line("[other]:22"))
    with pytest.raises(HostKeyError) as err:
        kh.verify("sn1", "10.9.0.1", 22, KEY)
    assert str(err.value) == (
        f"Host key for sn1 is not known (known_hosts: {kh.path}); "
        "add it or accept new keys explicitly"
    )
    assert err.value.host == "sn1"


def test_the_name_entry_wins_over_the_address_entry(tmp_path: Path) -> None:
    kh = known(tmp_path, line("[sn1]:2222", OTHER) + line("[10.9.0.1]:2222", KEY))
    with pytest.raises(HostKeyError, match=r"^HOST KEY CHANGED for sn1 .*refusing to connect$"):
        kh.verify("sn1", "10.9.0.1", 2222, KEY)


def test_a_revoked_key_is_refused_even_if_recorded(tmp_path: Path) -> None:
    kh = known(tmp_path, line("sn1") + "@revoked " + line("*"))
    with pytest.raises(HostKeyError, match="revoked"):
        kh.verify("sn1", "10.9.0.1", 22, KEY)


def test_bad_lines_are_skipped(tmp_path: Path) -> None:
    text = "# comment\n\nsn1 ssh-ed25519\ngarbage line here!\n@cert-authority * x y\n"
    known(tmp_path, text + line("sn1")).verify("sn1", "10.9.0.1", 22, KEY)


def test_accept_new_appends_one_line_in_the_contract_form(tmp_path: Path) -> None:
    kh = known(tmp_path, "existing ssh-rsa AAAA", accept_new=True)  # no final newline
    kh.verify("sn1", "10.9.0.1", 2222, KEY)
    kh.verify("sn1", "10.9.0.1", 2222, KEY)
    assert kh.path.read_text().splitlines() == [
        "existing ssh-rsa AAAA",
        f"[sn1]:2222,[10.9.0.1]:2222 ssh-rsa {KEY.get_base64()}",
    ]
    KnownHosts(kh.path).verify("sn1", "10.9.0.1", 2222, KEY)  # a new reader accepts it


def test_accept_new_from_many_threads_records_the_host_once(tmp_path: Path) -> None:
    kh = known(tmp_path, "", accept_new=True)
    threads = [
        threading.Thread(target=kh.verify, args=("sn1", "10.9.0.1", 22, KEY)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert kh.path.read_text() == f"sn1,10.9.0.1 ssh-rsa {KEY.get_base64()}\n"


def test_accept_new_never_accepts_a_changed_key(tmp_path: Path) -> None:
    kh = known(tmp_path, line("sn1", OTHER), accept_new=True)
    with pytest.raises(HostKeyError, match="HOST KEY CHANGED for sn1"):
        kh.verify("sn1", "10.9.0.1", 22, KEY)
    assert kh.path.read_text() == line("sn1", OTHER)


def test_known_types_are_asked_for_first(tmp_path: Path) -> None:
    kh = known(tmp_path, line("sn1"))
    assert kh.key_algorithms("sn1", "a", 22) == ["rsa-sha2-512", "rsa-sha2-256"]
    assert kh.key_algorithms("sn2", "b", 22) == []


def test_patterns_and_lines() -> None:
    assert host_pattern("sn1", 22) == "sn1"
    assert known_hosts_line("sn1", "sn1", 2222, KEY) == f"[sn1]:2222 ssh-rsa {KEY.get_base64()}"


# --- connections --------------------------------------------------------------------------
def test_a_connection_to_an_unknown_host_is_refused(bed: SshTestBed, tmp_path: Path) -> None:
    settings = bed.settings(tmp_path, known_hosts=bed.known_hosts_text(["sn2"]))
    with SshPool(settings) as pool, pytest.raises(HostKeyError) as err:
        pool.run(bed.route("sn1"), "true")
    assert str(err.value) == (
        f"Host key for sn1 is not known (known_hosts: {tmp_path / 'known_hosts'}); "
        "add it or accept new keys explicitly"
    )
    assert bed.hosts["sn1"].counters.commands == 0


def test_a_changed_host_key_is_refused_even_with_accept_new(
    bed: SshTestBed, tmp_path: Path
) -> None:
    forged = bed.known_hosts_text(["sn2"]).replace("[sn2]", "[sn1]").replace("127.31.0.2", "x")
    settings = bed.settings(tmp_path, known_hosts=forged, accept_new_host_keys=True)
    with SshPool(settings) as pool, pytest.raises(HostKeyError) as err:
        pool.run(bed.route("sn1"), "true")
    assert str(err.value).startswith("HOST KEY CHANGED for sn1 (127.31.0.1:")
    assert str(err.value).endswith("refusing to connect")
    assert (tmp_path / "known_hosts").read_text() == forged


def test_accept_new_records_the_key_then_it_is_simply_known(
    bed: SshTestBed, tmp_path: Path
) -> None:
    settings = bed.settings(tmp_path, known_hosts="", accept_new_host_keys=True)
    with SshPool(settings) as pool:
        assert pool.run(bed.route("cn3"), "echo ok").ok  # records sn1, then cn3
    recorded = (tmp_path / "known_hosts").read_text()
    assert recorded == bed.known_hosts_text(["sn1", "cn3"])
    strict = bed.settings(tmp_path, known_hosts=recorded)
    with SshPool(strict) as pool:
        assert pool.run(bed.route("cn3"), "echo ok").ok


def test_a_compute_node_known_by_address_only_is_accepted(bed: SshTestBed, tmp_path: Path) -> None:
    text = bed.known_hosts_text(["sn1"]) + bed.known_hosts_text(["cn2"], by="address")
    with SshPool(bed.settings(tmp_path, known_hosts=text)) as pool:
        assert pool.run(bed.route("cn2"), "true").ok


def test_a_compute_node_with_a_bad_key_is_not_retried_through_the_backup(
    bed: SshTestBed, tmp_path: Path
) -> None:
    text = bed.known_hosts_text(["sn1", "sn2"])  # cn1 unknown
    with SshPool(bed.settings(tmp_path, known_hosts=text)) as pool:
        with pytest.raises(HostKeyError, match="Host key for cn1 is not known"):
            pool.run(bed.route("cn1"), "true")
        with pytest.raises(HostKeyError):  # remembered for the run
            pool.run(bed.route("cn1"), "true")
    assert bed.hosts["sn2"].counters.accepted == 0
    assert bed.hosts["sn1"].counters.forwards == 1
