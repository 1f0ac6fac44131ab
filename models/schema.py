"""The xCAT tables snflow reads and writes, with xCAT's own table and column names.

Column lists and keys follow ``perl-xCAT/xCAT/Schema.pm`` (``%tabspec``), so snflow can be
pointed at an existing xCAT database. Every column is text, as in xCAT; every table has
``comments`` and ``disable`` (a row whose ``disable`` is set and not ``0``/``no`` is ignored).
This module only declares; reading with inheritance lives in :mod:`snflow.models.attributes`.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa

__all__ = [
    "NODE_KEYED_TABLES",
    "TABLES",
    "metadata",
    "row_is_disabled",
    "table_keys",
]

metadata = sa.MetaData()

_KEY = sa.String(128)


def _table(name: str, keys: tuple[str, ...], columns: tuple[str, ...]) -> sa.Table:
    cols = [sa.Column(k, _KEY, primary_key=True, nullable=False) for k in keys]
    cols += [sa.Column(c, sa.Text) for c in columns if c not in keys]
    cols += [sa.Column("comments", sa.Text), sa.Column("disable", sa.Text)]
    return sa.Table(name, metadata, *cols)


site = _table("site", ("key",), ("value",))
nodelist = _table(
    "nodelist",
    ("node",),
    (
        "groups",
        "status",
        "statustime",
        "appstatus",
        "appstatustime",
        "primarysn",
        "hidden",
        "updatestatus",
        "updatestatustime",
        "zonename",
    ),
)
noderes = _table(
    "noderes",
    ("node",),
    (
        "servicenode",
        "netboot",
        "tftpserver",
        "tftpdir",
        "nfsserver",
        "monserver",
        "nfsdir",
        "installnic",
        "primarynic",
        "discoverynics",
        "cmdinterface",
        "xcatmaster",
        "current_osimage",
        "next_osimage",
        "nimserver",
        "routenames",
        "nameservers",
        "proxydhcp",
    ),
)
nodehm = _table(
    "nodehm",
    ("node",),
    (
        "power",
        "mgt",
        "cons",
        "termserver",
        "termport",
        "conserver",
        "serialport",
        "serialspeed",
        "serialflow",
        "getmac",
        "cmdmapping",
        "consoleondemand",
    ),
)
nodetype = _table(
    "nodetype",
    ("node",),
    ("os", "arch", "profile", "provmethod", "supportedarchs", "nodetype"),
)
postscripts = _table("postscripts", ("node",), ("postscripts", "postbootscripts"))
networks = _table(
    "networks",
    ("net", "mask"),
    (
        "netname",
        "mgtifname",
        "gateway",
        "dhcpserver",
        "tftpserver",
        "nameservers",
        "ntpservers",
        "logservers",
        "dynamicrange",
        "staticrange",
        "staticrangeincrement",
        "nodehostname",
        "ddnsdomain",
        "vlanid",
        "domain",
        "mtu",
    ),
)
hosts = _table("hosts", ("node",), ("ip", "hostnames", "otherinterfaces"))
mac = _table("mac", ("node",), ("interface", "mac"))
servicenode = _table(
    "servicenode",
    ("node",),
    (
        "nameserver",
        "dhcpserver",
        "tftpserver",
        "nfsserver",
        "conserver",
        "monserver",
        "ldapserver",
        "ntpserver",
        "ftpserver",
        "nimserver",
        "ipforward",
        "dhcpinterfaces",
        "proxydhcp",
    ),
)
nodegroup = _table(
    "nodegroup", ("groupname",), ("grouptype", "members", "membergroups", "wherevals")
)

#: Every table snflow manages, by xCAT name.
TABLES: dict[str, sa.Table] = {t.name: t for t in metadata.sorted_tables}

#: Tables keyed by node name whose rows may also be keyed by a group name (inherited).
NODE_KEYED_TABLES: tuple[str, ...] = (
    "noderes",
    "nodehm",
    "nodetype",
    "postscripts",
    "hosts",
    "mac",
    "servicenode",
)

_ENABLED = frozenset({"", "0", "no"})


def row_is_disabled(disable: str | None) -> bool:
    """xCAT ignores a row whose ``disable`` is set to anything but ``0`` or ``no`` (any case)."""
    return disable is not None and disable.strip().lower() not in _ENABLED


@functools.cache  # the schema is fixed; this is asked per row of bulk changes
def table_keys(name: str) -> tuple[str, ...]:
    """The key columns of table ``name``."""
    return tuple(c.name for c in TABLES[name].primary_key.columns)
