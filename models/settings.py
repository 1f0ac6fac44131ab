"""snflow's settings: one tree, read from ``SNFLOW_*`` environment variables.

Nothing here opens a connection or a file; it only says where things are and how
long to wait. Read it through :func:`get_settings`; tests override it with
:func:`use_settings` (a context manager), never by mutating globals.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "SETTINGS_FILE",
    "HealthSettings",
    "PrefectSettings",
    "ServeSettings",
    "ServiceNodeSettings",
    "ServicesSettings",
    "Settings",
    "SshSettings",
    "get_settings",
    "use_settings",
]


class SshSettings(BaseSettings):
    """How snflow reaches service and compute nodes (``SNFLOW_SSH_*``)."""

    model_config = SettingsConfigDict(env_prefix="SNFLOW_SSH_", extra="ignore")

    user: str = Field(default="root", description="Remote user on every node.")
    identity: Path | None = Field(
        default=None,
        description="Private key file; default $SNFLOW_HOME/id_ed25519 when it exists.",
    )
    known_hosts: Path | None = Field(
        default=None, description="known_hosts file; default $SNFLOW_HOME/known_hosts."
    )
    accept_new_host_keys: bool = Field(
        default=False,
        description="Record the key of a host seen for the first time instead of refusing it. "
        "A changed key is always refused.",
    )
    port: int = Field(default=22, ge=1, le=65535, description="Default SSH port of a node.")
    connect_timeout: float = Field(default=10.0, gt=0, le=600, description="TCP connect, seconds.")
    banner_timeout: float = Field(default=15.0, gt=0, le=600, description="SSH banner, seconds.")
    auth_timeout: float = Field(default=15.0, gt=0, le=600, description="Authentication, seconds.")
    command_timeout: float = Field(
        default=600.0, gt=0, le=86400, description="Default limit for one remote command, seconds."
    )
    handshakes_per_host: int = Field(
        default=8, ge=1, le=10, description="Concurrent SSH handshakes towards one host."
    )
    retries: int = Field(default=3, ge=0, le=10, description="Retries on banner/reset errors.")


class HealthSettings(BaseSettings):
    """How the SN health flow probes service nodes (``SNFLOW_HEALTH_*``).

    ``checks`` maps a ``servicenode`` flag (dhcpserver, tftpserver, conserver) to a shell
    command run on every SN that has the flag set; exit 0 means the service is fine. On the
    virtual cluster they are data too (e.g. ``test -e "$NODEROOT/run/dhcpd.pid"``).
    """

    model_config = SettingsConfigDict(env_prefix="SNFLOW_HEALTH_", extra="ignore")

    checks: dict[str, str] = Field(
        default_factory=lambda: {
            "dhcpserver": "ss -Hlun 'sport = :67' | grep -q .",
            "tftpserver": "ss -Hlun 'sport = :69' | grep -q .",
            "conserver": "ss -Hltn 'sport = :782' | grep -q .",
        },
        description="Service check per servicenode flag: a shell command, exit 0 = healthy "
        "(JSON object in the environment; an empty command disables a check).",
    )
    interval: float = Field(
        default=300.0,
        ge=0,
        le=86400,
        description="Seconds between the probes that 'snflow serve' schedules; 0: none.",
    )
    takeover_after: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Opt-in automation: take over an SN's nodes (dry run off) once it was down "
        "for this many probes in a row. 0 (the default): never, the switch stays manual.",
    )


class ServeSettings(BaseSettings):
    """How ``snflow serve`` runs its deployments (``SNFLOW_SERVE_*``)."""

    model_config = SettingsConfigDict(env_prefix="SNFLOW_SERVE_", extra="ignore")

    limit: int = Field(
        default=8, ge=1, le=256, description="Flow runs that 'snflow serve' runs at once."
    )
    poll: float = Field(
        default=10.0, ge=0.5, le=300, description="Seconds between checks for runs to start."
    )
    windows: list[dict[str, object]] = Field(
        default_factory=list,
        description="Maintenance windows to schedule, a JSON list of objects: cron or rrule, "
        "timezone, and the maintenance-window request (README: maintenance windows).",
    )


class PrefectSettings(BaseSettings):
    """Where flow runs are recorded (``SNFLOW_PREFECT_*``)."""

    model_config = SettingsConfigDict(env_prefix="SNFLOW_PREFECT_", extra="ignore")

    api_url: str | None = Field(
        default=None,
        description="A Prefect server to use (http://host:port/api). Unset: snflow's local "
        "server, started on demand.",
    )
    host: str = Field(default="127.0.0.1", description="Address the local server listens on.")
    port: int = Field(default=4200, ge=1, le=65535, description="Port of the local server.")
    database_url: str | None = Field(
        default=None,
        description="The local server's database (postgresql+asyncpg://...); default SQLite "
        "in $SNFLOW_HOME/prefect.",
    )
    start_timeout: float = Field(
        default=90.0, gt=0, le=600, description="Seconds to wait for the local server to answer."
    )


class ServicesSettings(BaseSettings):
    """Where DHCP, TFTP and console files live on service hosts, and how their daemons
    pick up a change (``SNFLOW_SERVICES_*``). Commands run in the host's shell; an empty
    command means "nothing to run". Paths are absolute paths on the host."""

    model_config = SettingsConfigDict(env_prefix="SNFLOW_SERVICES_", extra="ignore")

    mn_root: str = Field(
        default="",
        description="Directory that stands for / when the management node's own files are "
        "written (empty on a real cluster; the virtual cluster's MN directory).",
    )
    dhcpd_include: str = Field(
        default="/etc/dhcp/snflow.conf", description="The ISC dhcpd include file snflow owns."
    )
    dhcpd_conf: str = Field(
        default="/etc/dhcp/dhcpd.conf",
        description="dhcpd's main file; created (including the snflow file) when absent.",
    )
    kea_conf: str = Field(
        default="/etc/kea/kea-dhcp4.conf", description="The kea-dhcp4 configuration snflow owns."
    )
    conserver_cf: str = Field(
        default="/etc/conserver.cf",
        description="conserver's configuration (Debian's conserver-server reads "
        "/etc/conserver/conserver.cf).",
    )
    dhcpd_reload: str = Field(
        default="systemctl restart isc-dhcp-server",
        description="Run on a host after its dhcpd file changed.",
    )
    kea_reload: str = Field(
        default="systemctl reload kea-dhcp4-server",
        description="Run on a host after its Kea configuration changed.",
    )
    conserver_reload: str = Field(
        default="systemctl reload conserver-server",
        description="Run on a host after its conserver.cf changed (conserver re-reads it on "
        "SIGHUP; open consoles stay up).",
    )
    conserver_stop: str = Field(
        default="systemctl stop conserver-server",
        description="Run on a host whose conserver.cf was left without any console "
        "(conserver refuses such a file).",
    )
    validate_on: Literal["auto", "mn", "target"] = Field(
        default="auto",
        description="Where generated files are checked (dhcpd -t, kea-dhcp4 -t, conserver -S): "
        "auto = on the management node when the checker is installed there, else on the target.",
    )
    command_timeout: float = Field(
        default=120.0, gt=0, le=3600, description="Limit for one check, install or reload, seconds."
    )


class ServiceNodeSettings(BaseSettings):
    """What service nodes run themselves to reach their compute nodes (``SNFLOW_SN_*``)."""

    model_config = SettingsConfigDict(env_prefix="SNFLOW_SN_", extra="ignore")

    ssh_command: str = Field(
        default="ssh -o BatchMode=yes",
        description="The ssh command a service node runs to reach its nodes (xdcp's SN-to-node "
        "hop): shell words, expanded on the SN. The virtual cluster sets "
        "'ssh -F ${NODEROOT:-}/root/.ssh/config'.",
    )


class Settings(BaseSettings):
    """The root of snflow's settings (``SNFLOW_*``)."""

    model_config = SettingsConfigDict(env_prefix="SNFLOW_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".snflow",
        description="snflow's own directory: database, keys, known_hosts, virtual cluster.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the cluster database; default SQLite in $SNFLOW_HOME. "
        "PostgreSQL: postgresql+psycopg://user:password@host/db",
    )
    health: HealthSettings = Field(default_factory=HealthSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    fanout: int = Field(
        default=64, ge=1, le=1024, description="Nodes worked on at once by a command."
    )
    ssh: SshSettings = Field(default_factory=SshSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    services: ServicesSettings = Field(default_factory=ServicesSettings)
    sn: ServiceNodeSettings = Field(default_factory=ServiceNodeSettings)

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the default SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'cluster.sqlite'}"


_override: ContextVar[Settings | None] = ContextVar("snflow_settings_override", default=None)


#: File under ``$SNFLOW_HOME`` with ``SNFLOW_*=value`` lines (written by ``snflow sim up``);
#: the environment wins over it.
SETTINGS_FILE = "settings.env"


def get_settings() -> Settings:
    """The settings in force: an override set by :func:`use_settings`, else the environment,
    then ``$SNFLOW_HOME/settings.env``."""
    override = _override.get()
    if override is not None:
        return override
    # One construction at a time: the file's values are put in os.environ for the moment
    # of construction, and a thread constructing meanwhile would see them vanish half-way
    # (seen as an SN task running with the default ssh command, or port, now and then).
    with _CONSTRUCTING:
        settings = Settings()
        env_file = settings.home / SETTINGS_FILE
        if not env_file.is_file():
            return settings
        values = _read_env_file(env_file)
        with _environ_defaults(values):
            return Settings()


_CONSTRUCTING = threading.Lock()


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.startswith("SNFLOW_") and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


@contextlib.contextmanager
def _environ_defaults(values: dict[str, str]) -> Iterator[None]:
    # Nested settings groups read os.environ themselves, so the file's values are put there
    # for the moment of construction, never overriding what the environment already has.
    added = [k for k in values if k not in os.environ]
    for key in added:
        os.environ[key] = values[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


@contextlib.contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` the ones :func:`get_settings` returns inside the block."""
    token = _override.set(settings)
    try:
        yield settings
    finally:
        _override.reset(token)
