"""A throw-away PostgreSQL server for the test session.

:class:`PostgresServer` runs ``initdb`` in a temporary directory, starts the server on
127.0.0.1 only (a free TCP port, and a unix socket in the same temporary directory), waits
until it accepts connections, and on :meth:`PostgresServer.stop` shuts it down by its PID and
removes the directory. PostgreSQL refuses to run as root: as root, the directory belongs to
the ``postgres`` system user (created as ``snflow-pg`` if there is no ``postgres``) and
``initdb``/``pg_ctl`` run through ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

__all__ = ["PostgresServer", "PostgresUnavailable", "find_bindir", "pid_alive"]

#: The superuser that ``initdb`` creates; tests connect as this role with trust auth.
SUPERUSER = "snflow"
#: OS user that runs the server when the tests run as root.
SYSTEM_USER = "postgres"
FALLBACK_SYSTEM_USER = "snflow-pg"
_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not on this machine."""


def _version_key(bindir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin, versions like "15" or "9.6".
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``.

    ``PATH`` first (all three must be found there, resolved to one directory), then the
    newest ``/usr/lib/postgresql/*/bin`` (Debian's layout).
    """
    found = [shutil.which(name) for name in _BINARIES]
    if all(found):
        dirs = {Path(path).resolve().parent for path in found if path}
        if len(dirs) == 1:
            return dirs.pop()
    candidates = [
        path
        for path in Path("/usr/lib/postgresql").glob("*/bin")
        if all(os.access(path / name, os.X_OK) for name in _BINARIES)
    ]
    if not candidates:
        return None
    return max(candidates, key=_version_key)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs; a zombie (exited, not yet reaped by init) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc: kill(0) answered
    # "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ")".
    return stat[stat.rindex(")") + 2 :][:1] not in ("Z", "X")


def _system_user() -> pwd.struct_passwd:
    """The OS user that runs the server when we are root (created if need be)."""
    for name in (SYSTEM_USER, FALLBACK_SYSTEM_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_SYSTEM_USER,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return pwd.getpwnam(FALLBACK_SYSTEM_USER)


class PostgresServer:
    """One PostgreSQL server in a temporary directory, listening on 127.0.0.1 only.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    host = "127.0.0.1"

    def __init__(self, bindir: Path | None = None, start_timeout: float = 60.0) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.bindir = found
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.pid: int | None = None
        self.tmpdir: Path | None = None
        #: Seconds the last :meth:`start` took (initdb + server start until it accepts).
        self.startup_seconds: float | None = None
        self._as_root = os.geteuid() == 0
        self._user: pwd.struct_passwd | None = None
        self._log_offset = 0

    # -- paths -----------------------------------------------------------------------------
    @property
    def datadir(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "sock"

    @property
    def logfile(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string of database ``dbname`` (for psycopg)."""
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={dbname}"

    # -- life cycle ------------------------------------------------------------------------
    def _run(self, argv: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program as the server's OS user; raise with its output on error."""
        if self._as_root:
            assert self._user is not None
            argv = ["runuser", "-u", self._user.pw_name, "--", *argv]
        proc = subprocess.run(
            argv,
            cwd=self.tmpdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        return proc

    def start(self) -> PostgresServer:
        """Create the cluster and start the server; return once it accepts connections."""
        if self.pid is not None:
            raise RuntimeError("server already started")
        began = time.monotonic()
        if self._as_root:
            self._user = _system_user()
            base: str | None = "/tmp"  # reachable by the server's user, unlike /root/...
        else:
            base = None
        self.tmpdir = Path(tempfile.mkdtemp(prefix="snflow-pg-", dir=base))
        atexit.register(self.stop)
        try:
            self.socket_dir.mkdir()
            if self._user is not None:
                for path in (self.tmpdir, self.socket_dir):
                    os.chown(path, self._user.pw_uid, self._user.pw_gid)
            self._run(
                [
                    str(self.bindir / "initdb"),
                    "--pgdata",
                    str(self.datadir),
                    "--auth",
                    "trust",
                    "--username",
                    SUPERUSER,
                    "--encoding",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                timeout=120,
            )
            self._write_config()
            last_error: Exception | None = None
            for _attempt in range(3):  # the free port can be taken before the server binds it
                self.port = _free_port()
                try:
                    self._start_server()
                    break
                except _PortTaken as exc:
                    last_error = exc
            else:
                raise RuntimeError(f"PostgreSQL did not start: {last_error}")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _write_config(self) -> None:
        # Settings for a disposable test server: loopback only, no durability.
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "200",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "logging_collector": "off",
        }
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# snflow tests\n" + lines)

    def _start_server(self) -> None:
        # Only what this attempt logs counts (pg_ctl appends to the log file).
        self._log_offset = self.logfile.stat().st_size if self.logfile.exists() else 0
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "--no-wait",
                "--pgdata",
                str(self.datadir),
                "--log",
                str(self.logfile),
                "--options",
                f"-p {self.port}",
            ],
            timeout=60,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.pid is None:
                self.pid = self._read_pid()
            if self.pid is None or not pid_alive(self.pid):
                # Not up yet, or gone: a FATAL line in the log says it failed.
                log = self._log()
                if (self.pid is not None) or "FATAL" in log:
                    self.pid = None
                    if "Address already in use" in log or "could not bind" in log:
                        raise _PortTaken(log)
                    raise RuntimeError(f"PostgreSQL exited during start-up:\n{log}")
            elif self._accepts_connections():
                return
            time.sleep(0.02)
        raise RuntimeError(
            f"PostgreSQL did not accept connections within {self.start_timeout} s:\n{self._log()}"
        )

    def _read_pid(self) -> int | None:
        # postmaster.pid's first line is the postmaster's PID.
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int((self.datadir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def _accepts_connections(self) -> bool:
        try:
            with psycopg.connect(self.conninfo(), connect_timeout=2) as conn:
                conn.execute("select 1")
        except psycopg.OperationalError:
            return False
        return True

    def _log(self) -> str:
        try:
            with self.logfile.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")[-4000:]
        except OSError as exc:
            return f"(no server log: {exc})"

    def stop(self) -> None:
        """Stop the server by its PID and remove the temporary directory. Idempotent."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        pid = self.pid or (self._read_pid() if self.tmpdir is not None else None)
        if pid is not None and pid_alive(pid):
            with contextlib.suppress(Exception):
                self._run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "stop",
                        "--pgdata",
                        str(self.datadir),
                        "--mode",
                        "fast",
                        "--wait",
                        "--timeout",
                        "30",
                    ],
                    timeout=40,
                )
            # If pg_ctl could not stop it: immediate shutdown, then kill.
            for sig, grace in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
                if not pid_alive(pid):
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + grace
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
        self.pid = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- databases -------------------------------------------------------------------------
    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; return its SQLAlchemy URL."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing any connection still open to it."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class _PortTaken(RuntimeError):
    """The server could not bind its port (taken between choosing and binding it)."""
