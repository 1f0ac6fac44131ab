"""xCAT object types and where their attributes are stored (``%defspec`` of Schema.pm).

A node attribute is a column of a node-keyed table (``servicenode`` → ``noderes.servicenode``);
a group has its own ``nodegroup`` attributes plus every node attribute (stored on rows keyed
by the group name and inherited by its members); a network maps onto ``networks`` by
``netname``; the site object ``clustersite`` holds any ``site`` key. Only the tables snflow
manages are covered.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = [
    "GROUP_OWN_ATTRS",
    "NETWORK_ATTRS",
    "NODE_ATTRS",
    "OBJECT_TYPES",
    "SITE_OBJECT",
    "Column",
    "ObjectType",
    "attribute_column",
    "attributes_of",
    "column_attribute",
]

ObjectType = Literal["node", "group", "network", "site"]
OBJECT_TYPES: tuple[ObjectType, ...] = ("node", "group", "network", "site")
#: The one site object's name, as xCAT's lsdef shows it.
SITE_OBJECT = "clustersite"


class Column(NamedTuple):
    """A database column as ``table.column``.

    A named tuple, not a dataclass: it keys the per-node attribute dicts (10k nodes ×
    several columns per read), and a tuple's hash is C code, a dataclass's is Python.
    """

    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


def _cols(spec: str) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for line in spec.split():
        attr, _, where = line.partition("=")
        table, _, column = where.partition(".")
        out[attr] = Column(table, column)
    return out


#: Node attribute -> column, in xCAT's order (nodelist first).
NODE_ATTRS: dict[str, Column] = _cols(
    """
    groups=nodelist.groups status=nodelist.status statustime=nodelist.statustime
    appstatus=nodelist.appstatus appstatustime=nodelist.appstatustime
    primarysn=nodelist.primarysn hidden=nodelist.hidden updatestatus=nodelist.updatestatus
    updatestatustime=nodelist.updatestatustime zonename=nodelist.zonename
    usercomment=nodelist.comments
    nodetype=nodetype.nodetype postscripts=postscripts.postscripts
    postbootscripts=postscripts.postbootscripts
    xcatmaster=noderes.xcatmaster servicenode=noderes.servicenode
    tftpserver=noderes.tftpserver tftpdir=noderes.tftpdir nfsserver=noderes.nfsserver
    nimserver=noderes.nimserver nfsdir=noderes.nfsdir monserver=noderes.monserver
    supportproxydhcp=noderes.proxydhcp primarynic=noderes.primarynic
    installnic=noderes.installnic netboot=noderes.netboot nameservers=noderes.nameservers
    routenames=noderes.routenames
    setupnameserver=servicenode.nameserver setupdhcp=servicenode.dhcpserver
    setuptftp=servicenode.tftpserver setupnfs=servicenode.nfsserver
    setupconserver=servicenode.conserver setupipforward=servicenode.ipforward
    setupproxydhcp=servicenode.proxydhcp setupldap=servicenode.ldapserver
    setupntp=servicenode.ntpserver setupftp=servicenode.ftpserver
    setupnim=servicenode.nimserver dhcpinterfaces=servicenode.dhcpinterfaces
    arch=nodetype.arch supportedarchs=nodetype.supportedarchs os=nodetype.os
    profile=nodetype.profile provmethod=nodetype.provmethod
    mgt=nodehm.mgt power=nodehm.power cons=nodehm.cons termserver=nodehm.termserver
    termport=nodehm.termport conserver=nodehm.conserver getmac=nodehm.getmac
    cmdmapping=nodehm.cmdmapping serialport=nodehm.serialport
    serialspeed=nodehm.serialspeed serialflow=nodehm.serialflow
    consoleondemand=nodehm.consoleondemand
    interface=mac.interface mac=mac.mac
    ip=hosts.ip hostnames=hosts.hostnames otherinterfaces=hosts.otherinterfaces
    """
)

#: A group's own attributes (``nodegroup``); a group also takes every node attribute but
#: those of ``nodelist`` (a group row there would mean nothing).
GROUP_OWN_ATTRS: dict[str, Column] = _cols(
    """
    grouptype=nodegroup.grouptype members=nodegroup.members
    membergroups=nodegroup.membergroups wherevals=nodegroup.wherevals
    usercomment=nodegroup.comments
    """
)

NETWORK_ATTRS: dict[str, Column] = _cols(
    """
    net=networks.net mask=networks.mask mgtifname=networks.mgtifname
    gateway=networks.gateway dhcpserver=networks.dhcpserver tftpserver=networks.tftpserver
    nameservers=networks.nameservers ntpservers=networks.ntpservers
    logservers=networks.logservers dynamicrange=networks.dynamicrange
    nodehostname=networks.nodehostname ddnsdomain=networks.ddnsdomain
    vlanid=networks.vlanid domain=networks.domain staticrange=networks.staticrange
    staticrangeincrement=networks.staticrangeincrement usercomment=networks.comments
    """
)

_GROUP_NODE_ATTRS = {a: c for a, c in NODE_ATTRS.items() if c.table != "nodelist"}
_BY_TYPE: dict[str, dict[str, Column]] = {
    "node": NODE_ATTRS,
    "group": {**GROUP_OWN_ATTRS, **_GROUP_NODE_ATTRS},
    "network": NETWORK_ATTRS,
}
_BY_COLUMN: dict[Column, str] = {c: a for a, c in NODE_ATTRS.items()}


def attribute_column(objtype: ObjectType, attr: str) -> Column | None:
    """Where attribute ``attr`` of an object of ``objtype`` is stored; ``None`` if unknown.

    Site attributes are ``site`` keys: any name made of letters, digits and ``_`` is one.
    """
    if objtype == "site":
        return Column("site", attr) if attr.replace("_", "").isalnum() else None
    return _BY_TYPE[objtype].get(attr)


def attributes_of(objtype: ObjectType) -> dict[str, Column]:
    """Every attribute of ``objtype`` (site: none fixed, its keys are free)."""
    return dict(_BY_TYPE.get(objtype, {}))


def column_attribute(column: Column) -> str | None:
    """The node attribute stored in ``column`` (``noderes.servicenode`` → ``servicenode``)."""
    return _BY_COLUMN.get(column)
