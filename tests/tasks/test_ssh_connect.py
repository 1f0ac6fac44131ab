"""connect(): bounded handshakes, retries with backoff, TCP_NODELAY, clear errors."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from unittest import mock

import pytest
from ssh_fixtures import DEAD, SshTestBed, bed, ssh_bed

from snflow.models.routes import Endpoint
from snflow.tasks.ssh import ConnectError, HandshakeLimiter, SshPool, connect, shared_limiter
from snflow.tasks.ssh.connect import load_identity, open_socket
from snflow.tasks.ssh.hostkeys import KnownHosts

__all__ = ["bed", "ssh_bed"]  # fixtures used by name


def _connect_from_threads(settings_pool: list[SshPool], bed: SshTestBed, node: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(len(settings_pool))

    def one(pool: SshPool) -> None:
        start.wait()
        try:
            pool.connect(bed.route(node))
        except BaseException as exc:
            errors.append(exc)
        finally:
            pool.close()

    threads = [threading.Thread(target=one, args=(p,)) for p in settings_pool]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_concurrent_handshakes_to_one_host_stay_within_the_bound(
    bed: SshTestBed, tmp_path: Path
) -> None:
    bed.set_host("sn2", auth_delay=0.1)  # a slow sshd: handshakes overlap
    limiter = HandshakeLimiter(2)
    settings = bed.settings(tmp_path)
    _connect_from_threads([SshPool(settings, limiter=limiter) for _ in range(8)], bed, "sn2")
    counters = bed.hosts["sn2"].counters
    assert counters.accepted == 8
    assert counters.max_unauthenticated == 2


def test_the_shared_bound_comes_from_the_settings(bed: SshTestBed, tmp_path: Path) -> None:
    bed.set_host("sn1", auth_delay=0.1)
    settings = bed.settings(tmp_path, handshakes_per_host=3)
    _connect_from_threads([SshPool(settings) for _ in range(9)], bed, "sn1")
    assert shared_limiter(3).limit == 3
    assert 2 <= bed.hosts["sn1"].counters.max_unauthenticated <= 3


def test_dropped_handshakes_are_retried(bed: SshTestBed, tmp_path: Path) -> None:
    bed.set_host("sn1", drop_next=2)
    with SshPool(bed.settings(tmp_path, retries=2)) as pool:
        assert pool.run(bed.route("sn1"), "echo ok").ok
    assert bed.hosts["sn1"].counters.accepted == 1  # the third attempt


def test_retries_are_bounded_and_the_error_says_so(bed: SshTestBed, tmp_path: Path) -> None:
    bed.set_host("sn1", drop_next=5)
    with SshPool(bed.settings(tmp_path, retries=1)) as pool, pytest.raises(ConnectError) as err:
        pool.run(bed.route("sn1"), "true")
    message = str(err.value)
    assert message.startswith("SSH handshake with sn1 (127.31.0.1:")
    assert "failed after 2 attempt(s)" in message


def test_a_refused_connection_is_not_retried(bed: SshTestBed, tmp_path: Path) -> None:
    settings = bed.settings(tmp_path, retries=5)
    endpoint = Endpoint(name=DEAD[0], address=DEAD[1], port=bed.port)
    refused = r"^cannot connect to deadsn \(127.31.0.9:\d+\): "
    with (
        mock.patch("snflow.tasks.ssh.connect.time.sleep") as sleep,
        pytest.raises(ConnectError, match=refused),
    ):
        connect(
            endpoint,
            ssh=settings.ssh,
            pkey=load_identity(bed.client_key_path),
            known_hosts=KnownHosts(tmp_path / "known_hosts"),
        )
    sleep.assert_not_called()


def test_sockets_have_tcp_nodelay(bed: SshTestBed) -> None:
    sock = open_socket(Endpoint(name="sn1", address="127.31.0.1", port=bed.port), 3.0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()


def test_a_limiter_needs_a_positive_bound() -> None:
    with pytest.raises(ValueError):
        HandshakeLimiter(0)
