"""Commands on a simulated host: the real ``/bin/sh``, in the host's own environment.

Each exec (or shell) request runs ``/bin/sh -c <command>`` in a new session (its own
process group), environment exactly ``NODEROOT``, ``NODE``, ``HOME`` and ``PATH`` (no rc
files, nothing from the daemon), cwd ``NODEROOT``, in the host's private mount namespace
when the machine allows one (:mod:`snflow.sim.nodeenv`: its ``/tmp``, its ``ip``). stdin,
stdout, stderr and the exit status are relayed faithfully (output is flushed before the
exit status is sent); a channel closed by the client, or a dropped connection, kills the
process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncssh

from snflow.sim.nodeenv import HostEnv

__all__ = ["NodeContext", "kill_group", "run_command"]

_CHUNK = 65536
_KILL_WAIT = 5.0
_log = logging.getLogger("snflow.sim")


@dataclass
class NodeContext:
    """What a command needs of its host."""

    env: HostEnv
    #: Called once per command started (the host's counter).
    on_command: Callable[[], None] = lambda: None
    #: Process groups of the commands running now (killed when the host goes away).
    running: set[int] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.env.name


def kill_group(pgid: int) -> None:
    """SIGKILL the process group ``pgid`` (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def _feed(source: asyncssh.SSHReader[bytes], sink: asyncio.StreamWriter) -> None:
    """Client's stdin -> the process, then EOF."""
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
    except (OSError, asyncssh.Error):
        pass
    finally:
        sink.close()


async def _relay(source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
    """The process's stdout or stderr -> the channel, until the process closes it."""
    writing = True
    while data := await source.read(_CHUNK):
        if not writing:
            continue  # the channel is gone: keep the pipe drained until the kill lands
        try:
            sink.write(data)
            await sink.drain()
        except (OSError, asyncssh.Error):
            writing = False


async def _finished(
    proc: asyncio.subprocess.Process, relays: tuple[asyncio.Task[None], ...]
) -> int:
    await asyncio.gather(*relays)
    return await proc.wait()


async def run_command(ctx: NodeContext, process: asyncssh.SSHServerProcess[bytes]) -> None:
    """Run the exec/shell request of ``process`` on host ``ctx`` (asyncssh process handler)."""
    ctx.on_command()
    try:
        await _run(ctx, process)
    except Exception:
        _log.exception("%s: command failed: %r", ctx.name, process.command)
        with contextlib.suppress(OSError, asyncssh.Error):
            process.stderr.write(b"snflow sim: internal error, see daemon.log\n")
            process.exit(255)


async def _run(ctx: NodeContext, process: asyncssh.SSHServerProcess[bytes]) -> None:
    try:
        argv = ctx.env.argv(process.command)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ctx.env.root,
            env=ctx.env.environ,
            start_new_session=True,
        )
    except OSError as exc:
        process.stderr.write(f"snflow sim: cannot run {argv[0]}: {exc}\n".encode())
        process.exit(127)
        return
    assert proc.stdin and proc.stdout and proc.stderr
    ctx.running.add(proc.pid)
    feeder = asyncio.create_task(_feed(process.stdin, proc.stdin))
    relays = (
        asyncio.create_task(_relay(proc.stdout, process.stdout)),
        asyncio.create_task(_relay(proc.stderr, process.stderr)),
    )
    finished = asyncio.create_task(_finished(proc, relays))
    closed = asyncio.create_task(process.wait_closed())
    try:
        await asyncio.wait({finished, closed}, return_when=asyncio.FIRST_COMPLETED)
        if not finished.done():
            kill_group(proc.pid)
            # A process that left the group may keep the pipes open: do not wait for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(finished), _KILL_WAIT)
            return
        status = finished.result()
        # Everything written must leave before the exit status: wait for an empty buffer.
        process.channel.set_write_buffer_limits(high=0, low=0)
        with contextlib.suppress(OSError, asyncssh.Error):
            await process.stdout.drain()
        if status >= 0:
            process.exit(status)
        else:
            process.exit_with_signal(signal.Signals(-status).name.removeprefix("SIG"))
    finally:
        ctx.running.discard(proc.pid)
        for task in (feeder, closed, finished, *relays):
            task.cancel()
        if proc.returncode is None:
            kill_group(proc.pid)
