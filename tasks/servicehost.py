"""Commands and files on one service host: a service node over SSH, or this machine.

A :class:`ServiceTarget` names a host and how to reach it: a route (the run's SSH pool,
:mod:`snflow.tasks.runtime`) or, for the management node, this machine, where commands run
in a local ``/bin/sh`` with ``NODEROOT`` set to the configured root
(``services.mn_root``; empty on a real cluster). Both run the same scripts
(:mod:`snflow.tasks.hostscripts`), so nothing here knows whether it talks to the virtual
cluster or a real one.

Offline checks (``dhcpd -t``, ``kea-dhcp4 -t``, ``conserver -S``) run here when the checker
is installed on the management node, else inside the install command on the target.
Errors are :class:`ServiceHostError` (the host could not do it) and :class:`CheckRejected`
(the daemon's own check refused the file: nothing was installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from snflow.models.errors import SnflowError
from snflow.models.routes import Route
from snflow.models.settings import ServicesSettings
from snflow.tasks.hostscripts import (
    CHECK_FAILED,
    fetch_script,
    install_script,
    pack_files,
    unpack_fetched,
)
from snflow.tasks.runtime import run_resources
from snflow.tasks.ssh import CommandResult, SshError

__all__ = [
    "CHECKERS",
    "CheckRejected",
    "Checker",
    "ServiceHostError",
    "ServiceTarget",
    "check_locally",
    "check_place",
    "fetch_files",
    "fetch_paths",
    "install_files",
    "install_paths",
    "run_on",
]

Checker = Literal["dhcpd", "kea", "conserver"]
#: The offline check of each daemon: argv with ``{file}`` for the file to check.
CHECKERS: dict[Checker, tuple[str, ...]] = {
    "dhcpd": ("dhcpd", "-t", "-cf", "{file}"),
    "kea": ("kea-dhcp4", "-t", "{file}"),
    "conserver": ("conserver", "-S", "-C", "{file}"),
}
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
#: ``PATH`` of commands run on the management node (a fixed environment, like a node's).
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_OUTPUT = 2000  # characters of a failing command's output kept in a message
#: Seconds a configuration check on the management node may take: a checker stuck on
#: name lookups must not hold a takeover forever.
_CHECK_TIMEOUT = 120.0


class ServiceHostError(SnflowError, RuntimeError):
    """``host`` could not be read, written or reloaded; the message says what and why."""

    def __init__(self, message: str, host: str) -> None:
        super().__init__(message)
        self.host = host


class CheckRejected(ServiceHostError):
    """The daemon's offline check refused the file for ``host``; nothing was installed."""


class ServiceTarget(BaseModel):
    """A service host and how to reach it: ``route``, or this machine when it is None."""

    model_config = ConfigDict(frozen=True)

    name: str
    route: Route | None = None
    root: str = ""
    fanout: int = 64  # the run's SSH fanout (the pool is shared with the run's other tasks)

    @property
    def local(self) -> bool:
        return self.route is None


def run_on(
    target: ServiceTarget, command: str, *, stdin: bytes | None = None, timeout: float
) -> CommandResult:
    """Run ``command`` on the target; a failure to reach it raises :class:`ServiceHostError`."""
    if target.route is not None:
        pool = run_resources(target.fanout).pool
        try:
            return pool.run(target.route, command, timeout=timeout, stdin=stdin)
        except SshError as exc:
            raise ServiceHostError(str(exc), target.name) from None
    env = {"PATH": _PATH, "HOME": os.environ.get("HOME", "/"), "NODEROOT": target.root}
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            input=stdin or b"",
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceHostError(
            f"command on {target.name} timed out after {timeout:g} s", target.name
        ) from None
    return CommandResult(
        node=target.name,
        outcome="ok" if done.returncode == 0 else "failed",
        exit_status=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        message="" if done.returncode == 0 else f"exit status {done.returncode}",
    )


def _output(result: CommandResult) -> str:
    text = (result.stderr_text + result.stdout_text).strip()
    return text if len(text) <= _OUTPUT else text[-_OUTPUT:]


def fetch_files(
    target: ServiceTarget, directory: str, paths: Sequence[str], *, timeout: float
) -> dict[str, str | None]:
    """The current text of each of ``paths`` (relative to ``directory``) on the target;
    ``None`` for a missing file, ``->target`` for a symlink."""
    manifest = "".join(f"{p}\n" for p in paths).encode()
    result = run_on(target, fetch_script(directory), stdin=manifest, timeout=timeout)
    if not result.ok:
        raise ServiceHostError(
            f"cannot read {directory} on {target.name}: {_output(result) or result.message}",
            target.name,
        )
    return unpack_fetched(result.stdout, paths)


def install_files(
    target: ServiceTarget,
    directory: str,
    files: Mapping[str, str],
    links: Mapping[str, str] | None = None,
    *,
    check: tuple[Checker, str, str] | None = None,
    timeout: float,
) -> None:
    """Install ``files`` (and ``links``) under ``directory`` on the target, each renamed
    into place. ``check`` is ``(checker, name, text)``: the daemon's check runs on the
    target before anything moves (:class:`CheckRejected` if it refuses)."""
    spec = None
    packed_check = None
    if check is not None:
        checker, name, text = check
        spec = (name, CHECKERS[checker])
        packed_check = (name, text)
    data = pack_files(files, links, packed_check)
    result = run_on(target, install_script(directory, spec), stdin=data, timeout=timeout)
    if result.exit_status == CHECK_FAILED:
        raise CheckRejected(
            f"{check[0] if check else 'check'} on {target.name} refused the new file: "
            f"{_output(result)}",
            target.name,
        )
    if not result.ok:
        raise ServiceHostError(
            f"cannot install files in {directory} on {target.name}: "
            f"{_output(result) or result.message}",
            target.name,
        )


def _split(path: str) -> tuple[str, str]:
    directory, _, name = path.rpartition("/")
    if not path.startswith("/") or not name:
        raise ValueError(f"not an absolute file path: {path!r}")
    return directory or "/", name


def fetch_paths(
    target: ServiceTarget, paths: Sequence[str], *, timeout: float
) -> dict[str, str | None]:
    """Like :func:`fetch_files` for absolute paths (one command per directory)."""
    by_dir: dict[str, list[str]] = {}
    for path in paths:
        directory, name = _split(path)
        by_dir.setdefault(directory, []).append(name)
    found: dict[str, str | None] = {}
    for directory, names in by_dir.items():
        for name, text in fetch_files(target, directory, names, timeout=timeout).items():
            found[f"{directory.rstrip('/')}/{name}"] = text
    return found


def install_paths(
    target: ServiceTarget,
    files: Mapping[str, str],
    *,
    check: tuple[Checker, str, str] | None = None,
    timeout: float,
) -> None:
    """Like :func:`install_files` for absolute paths (one command per directory).
    ``check`` is ``(checker, path, text)``: ``text`` (the file at ``path``, or a variant
    of it for the checker) is checked on the target before any of its directory's
    files move."""
    by_dir: dict[str, dict[str, str]] = {}
    for path, text in files.items():
        directory, name = _split(path)
        by_dir.setdefault(directory, {})[name] = text
    for directory, group in by_dir.items():
        spec = None
        if check is not None and _split(check[1])[0] == directory:
            name = _split(check[1])[1]
            spec = (check[0], name, check[2])
        install_files(target, directory, group, check=spec, timeout=timeout)


def _local_binary(checker: Checker) -> str | None:
    name = CHECKERS[checker][0]
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{_SBIN}")


def check_place(checker: Checker, settings: ServicesSettings) -> Literal["mn", "target"]:
    """Where ``checker`` runs under ``settings.validate_on`` (auto: here when installed)."""
    if settings.validate_on == "auto":
        return "mn" if _local_binary(checker) else "target"
    return settings.validate_on


def check_locally(checker: Checker, text: str, host: str, suffix: str = ".conf") -> None:
    """Run ``checker`` on ``text`` on this machine; :class:`CheckRejected` naming ``host``
    when it refuses, :class:`ServiceHostError` when the checker is not installed here."""
    binary = _local_binary(checker)
    if binary is None:
        raise ServiceHostError(
            f"{CHECKERS[checker][0]} is not installed on the management node "
            "(services.validate_on=mn)",
            host,
        )
    with tempfile.TemporaryDirectory(prefix="snflow-check-") as tmp:
        path = Path(tmp) / f"checked{suffix}"
        path.write_text(text, encoding="utf-8")
        argv = [binary, *(str(path) if a == "{file}" else a for a in CHECKERS[checker][1:])]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, check=False, cwd=tmp, timeout=_CHECK_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise ServiceHostError(
                f"{CHECKERS[checker][0]} did not finish checking the new file for {host} in "
                f"{_CHECK_TIMEOUT:g} s (name lookups that hang?); nothing was installed",
                host,
            ) from None
    if done.returncode != 0:
        output = (done.stderr + done.stdout).strip()
        raise CheckRejected(
            f"{CHECKERS[checker][0]} refused the new file for {host} "
            f"(exit {done.returncode}): {output[-_OUTPUT:]}",
            host,
        )
