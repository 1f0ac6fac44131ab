"""Processes of a bed: one holder per host, the daemons started inside it, their stop.

A host's *holder* is ``ip netns exec NS unshare --mount --uts --propagation private`` running
a shell that bind-mounts the host's directories over ``/etc``, ``/var``, ``/opt/xcat``,
``/tftpboot`` and ``/tmp``, sets the host name and IP forwarding off, says ``ready`` and
becomes ``sleep infinity``: it keeps the host's mount and UTS namespaces alive. Daemons join
them with ``nsenter --target HOLDER --mount --net --uts`` (which execs, so the PID the bed
records is the daemon's own). Readiness is read from the namespace's socket tables
(``/proc/PID/net/tcp|udp``), not guessed with sleeps.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .netns import BedError, pid_netns_inode

__all__ = [
    "alive",
    "holder_argv",
    "listening",
    "start_daemon",
    "start_holders",
    "stop_pids",
    "wait_listening",
]

_TCP_LISTEN = "0A"
_UDP_UNCONNECTED = "07"


def holder_argv(
    netns: str,
    hostname: str,
    mounts: Mapping[str, Path],
    keep: Mapping[Path, Path] | None = None,
) -> list[str]:
    """The holder of one host: private mounts of ``mounts`` (mount point -> directory).

    ``keep`` (machine path -> where it goes inside one of those directories) binds paths of
    the machine that a private mount would hide back into view (the MN's snflow checkout
    and venv when they live under ``/tmp``, say), before the private mounts are made.
    """
    steps = ["set -e"]
    for path, inside in (keep or {}).items():
        steps.append(f"mount --bind {shlex.quote(str(path))} {shlex.quote(str(inside))}")
    for point, source in mounts.items():
        steps.append(f"mount --rbind {shlex.quote(str(source))} {shlex.quote(point)}")
    steps += [
        f"hostname {shlex.quote(hostname)}",
        "echo 0 > /proc/sys/net/ipv4/ip_forward",
        "echo ready",
        "exec sleep infinity >/dev/null",
    ]
    script = "; ".join(steps)
    return [
        "ip", "netns", "exec", netns,
        "unshare", "--mount", "--uts", "--propagation", "private",
        "/bin/sh", "-c", script,
    ]  # fmt: skip


def start_holders(argvs: Mapping[str, Sequence[str]], logdir: Path) -> dict[str, int]:
    """Start every holder at once, wait for each to say ``ready``; host -> holder PID."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, argv in argvs.items():
            with open(logdir / f"{name}-holder.log", "ab") as log:
                procs[name] = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,
                )
        for name, proc in procs.items():
            assert proc.stdout is not None
            line = proc.stdout.readline()
            proc.stdout.close()
            if line.strip() != b"ready":
                log = (logdir / f"{name}-holder.log").read_text(errors="replace")
                raise BedError(f"host {name} did not start: {log.strip()}")
    except BaseException:
        stop_pids([p.pid for p in procs.values()])
        raise
    return {name: proc.pid for name, proc in procs.items()}


def start_daemon(holder: int, daemon: Sequence[str], log: Path) -> int:
    """Start ``daemon`` (argv, in the foreground) inside the namespaces of ``holder``; its PID."""
    argv = ["nsenter", f"--target={holder}", "--mount", "--net", "--uts", "--wd=/", *daemon]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def _hex_address(address: str) -> str:
    """``198.19.0.1`` as /proc/net/udp writes it (host byte order, little endian)."""
    return "".join(f"{int(b):02X}" for b in reversed(address.split(".")))


def listening(pid: int, proto: str) -> set[tuple[str, int]]:
    """(hex address, port) of the sockets listening (tcp) or bound (udp) in ``pid``'s
    network namespace."""
    state = _TCP_LISTEN if proto == "tcp" else _UDP_UNCONNECTED
    found = set()
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == state:
                address, port = fields[1].split(":")
                found.add((address, int(port, 16)))
    return found


def wait_listening(
    waits: Iterable[tuple[str, int, tuple[str, str, int]]],
    logs: Mapping[str, Path],
    timeout: float = 15.0,
) -> None:
    """Wait until each (label, PID, (proto, address, port)) listens there; :class:`BedError`
    naming the first that exited or did not within ``timeout`` seconds."""
    pending = list(waits)
    deadline = time.monotonic() + timeout
    while pending:
        still = []
        for label, pid, (proto, address, port) in pending:
            if (_hex_address(address), port) in listening(pid, proto):
                continue
            if pid_netns_inode(pid) is None or _is_zombie(pid):
                raise BedError(f"{label} exited at start: {_tail(logs[label])}")
            still.append((label, pid, (proto, address, port)))
        pending = still
        if pending and time.monotonic() > deadline:
            label = pending[0][0]
            raise BedError(f"{label} does not listen after {timeout:.0f} s: {_tail(logs[label])}")
        if pending:
            time.sleep(0.01)  # polling the kernel's socket table, bounded by the deadline


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-800:].strip()
    except OSError:
        return "(no log)"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    _reap(pid)
    return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)


def stop_pids(
    pids: Iterable[int],
    netns: Mapping[int, tuple[int, int] | None] | None = None,
    grace: float = 5.0,
) -> list[int]:
    """Stop each PID: SIGTERM, then SIGKILL after ``grace`` seconds; return those that were
    signalled. With ``netns`` (PID -> namespace identity), a PID whose process is no longer
    in that namespace is someone else's (the number was reused) and is left alone."""
    targets = []
    for pid in dict.fromkeys(pids):
        if netns is not None and pid_netns_inode(pid) != netns.get(pid):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            targets.append(pid)
    deadline = time.monotonic() + grace
    while any(alive(p) for p in targets) and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for processes to exit, bounded by the grace period
    for pid in targets:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while any(alive(p) for p in targets) and time.monotonic() < deadline:
        time.sleep(0.01)
    left = [p for p in targets if alive(p)]
    if left:
        raise BedError(f"processes did not stop: {left}")
    return targets
