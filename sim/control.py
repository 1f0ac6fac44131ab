"""Talking to the virtual cluster's daemon from outside: start it, ask it, wait for it to go.

* :func:`start_daemon` launches ``python -m snflow.sim.daemon`` detached (own session,
  output to ``sim/daemon.log``) and waits for its readiness line on a pipe, with a deadline.
* :func:`request` sends one JSON line on ``sim/control.sock`` and returns the reply.
* :func:`wait_exit` waits for a PID to go (a pidfd where the kernel has them);
  :func:`is_daemon` checks a PID still is the daemon before anything signals it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from snflow.sim import paths
from snflow.sim.errors import SimError

__all__ = [
    "DaemonStarted",
    "NotRunningError",
    "is_daemon",
    "process_alive",
    "request",
    "start_daemon",
    "wait_exit",
]

_MODULE = "snflow.sim.daemon"
_POLL = 0.02
_LAUNCH_TIMEOUT = 30.0


class NotRunningError(SimError):
    """No daemon answers on the control socket."""


def request(home: Path, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Send ``message`` to the daemon of ``home``; its reply (``SimError`` if it refuses)."""
    path = paths.control_socket(home)
    with (
        paths.unix_address(path) as address,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
    ):
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunningError("no virtual cluster is running") from None
        try:
            sock.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        except OSError as exc:
            raise SimError(f"the virtual cluster does not answer: {exc}") from None
    if not data:
        raise SimError("the virtual cluster closed the control connection")
    reply: dict[str, Any] = json.loads(data)
    if not reply.get("ok"):
        raise SimError(str(reply.get("error", "request failed")), host=message.get("host", ""))
    return reply


class DaemonStarted:
    """What a started daemon reported: its PID and the port every host listens on."""

    def __init__(self, pid: int, port: int) -> None:
        self.pid = pid
        self.port = port


def _log_tail(home: Path, lines: int = 5) -> str:
    try:
        text = paths.log_file(home).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = text.strip().splitlines()[-lines:]
    return ("\n" + "\n".join(tail)) if tail else ""


def _read_lines(fd: int, deadline: float) -> Any:
    """Yield the JSON lines written on ``fd`` until EOF or the deadline."""
    buffer = b""
    while True:
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk


def _spawn(home: Path, port: int | None, ready_fd: int) -> None:
    """Run the daemon's launcher; it forks the daemon and exits at once."""
    argv = [sys.executable, "-m", _MODULE, "--home", str(home), "--port", str(port or 0)]
    with open(paths.log_file(home), "wb") as log:
        launcher = subprocess.Popen(
            [*argv, "--ready-fd", str(ready_fd)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(ready_fd,),
            start_new_session=True,
            cwd=paths.sim_dir(home),
        )
    try:
        launcher.wait(_LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait()
        raise SimError("the virtual cluster's process did not detach") from None


def start_daemon(home: Path, port: int | None, timeout: float = 60.0) -> DaemonStarted:
    """Start the daemon for ``home`` and wait until every host listens."""
    paths.sim_dir(home).mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    try:
        try:
            _spawn(home, port, write_fd)
        finally:
            os.close(write_fd)  # only the daemon holds it now: EOF when it dies
        pid = None
        try:
            for message in _read_lines(read_fd, time.monotonic() + timeout):
                pid = message.get("pid", pid)
                if message.get("ok"):
                    return DaemonStarted(int(message["pid"]), int(message["port"]))
                if "error" in message:
                    raise SimError(f"the virtual cluster did not start: {message['error']}")
        except TimeoutError:
            if pid is not None and is_daemon(pid):
                os.kill(pid, signal.SIGKILL)
            raise SimError(
                f"the virtual cluster did not start within {timeout:g} s" + _log_tail(home)
            ) from None
        raise SimError("the virtual cluster exited while starting" + _log_tail(home))
    finally:
        os.close(read_fd)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def is_daemon(pid: int) -> bool:
    """Whether ``pid`` is alive and is a virtual-cluster daemon (so it may be signalled)."""
    if not process_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return _MODULE.encode() in cmdline


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit; whether it did."""
    deadline = time.monotonic() + timeout
    pidfd = None
    with contextlib.suppress(AttributeError, OSError):
        pidfd = os.pidfd_open(pid)
    if pidfd is None:
        while process_alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
        return True
    try:
        select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
    finally:
        os.close(pidfd)
    return not process_alive(pid)
