"""mkdef, chdef, rmdef and noderm: object definitions changed in one transaction.

Every command reads what it needs through a :class:`ClusterView`, validates the whole
request (names, attributes, flags) before it stages anything, stages the wanted rows in a
:class:`~snflow.models.changes.Staging`, and returns the change set with xCAT's messages.
Nothing is written when any error was found (design decision 7, applied to definitions);
the caller applies the change set in the same transaction it read in.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from snflow.models import stanza as _stanza
from snflow.models.changes import ChangeSet, Staging
from snflow.models.cluster import ClusterView
from snflow.models.defspec import OBJECT_TYPES, SITE_OBJECT, attribute_column
from snflow.models.errors import DefinitionError, SnflowError
from snflow.models.names import check_object_name, has_capitals
from snflow.models.noderange import fold
from snflow.models.objects import ObjectWriter, Target
from snflow.models.report import CommandReport

__all__ = ["DefineRequest", "RemoveRequest", "define", "remove", "remove_nodes"]


class DefineRequest(BaseModel):
    """An ``mkdef`` or ``chdef`` command line, or its stanza input."""

    model_config = ConfigDict(frozen=True)

    command: Literal["mkdef", "chdef"]
    objtype: str | None = Field(default=None, description="-t; node when not given.")
    objects: str | None = Field(default=None, description="Noderange or names (-o or positional).")
    assignments: tuple[tuple[str, str], ...] = ()
    plus: bool = False
    minus: bool = False
    force: bool = False
    dynamic: bool = False
    where: tuple[str, ...] = ()
    newname: str | None = None
    stanza: str | None = Field(default=None, description="Stanza text (-z).")


class RemoveRequest(BaseModel):
    """An ``rmdef`` command line."""

    model_config = ConfigDict(frozen=True)

    objtype: str | None = None
    objects: str | None = None


def _check_flags(req: DefineRequest) -> None:
    if req.command == "chdef" and req.force:
        raise DefinitionError("The '-f' option is not valid for the chdef command.")
    if req.plus and req.minus:
        raise DefinitionError("The flags '-p' and '-m' cannot be used together.")
    if req.newname is not None:
        if req.command != "chdef":
            raise DefinitionError("The '-n' option is only valid for the chdef command.")
        if req.plus or req.minus or req.dynamic or req.stanza is not None or req.where:
            raise DefinitionError("Cannot combine '-n' and '-d','-p','-m','-z','-w' options.")
    if req.stanza is not None and (req.objects or req.assignments):
        raise DefinitionError("Cannot use '-z' with '-o' or a noderange.")
    if req.where and not req.dynamic:
        raise DefinitionError("The '-w' option is only valid with '-d' (dynamic groups).")
    if req.objtype is not None and "," in req.objtype and req.assignments:
        raise DefinitionError(
            "Cannot combine multiple types with 'att=val' pairs on the command line."
        )


def _objtype(value: str | None) -> str:
    objtype = value or "node"
    if objtype not in OBJECT_TYPES:
        raise DefinitionError(f"Type '{objtype}' is not a valid xCAT object type.")
    return objtype


def _targets(view: ClusterView, req: DefineRequest) -> list[Target]:
    """The objects a define request names, with their assignments, validated."""
    if req.stanza is not None:
        objects = _stanza.parse(req.stanza)
        if not objects:
            raise DefinitionError("No object definitions were found in the stanza input.")
        return [Target(objtype=_objtype(o.objtype), name=o.name, attrs=o.attrs) for o in objects]
    objtype = _objtype(req.objtype)
    names = object_names(view, objtype, req.objects, regex_verify=req.command == "chdef")
    if not names:
        raise DefinitionError("No object names were provided.")
    return [Target(objtype=objtype, name=n, attrs=req.assignments) for n in names]


def object_names(
    view: ClusterView, objtype: str, objects: str | None, *, regex_verify: bool
) -> list[str]:
    """Names a command line gives: a noderange for nodes, a comma list otherwise."""
    if objtype == "site":
        return [SITE_OBJECT] if not objects else objects.split(",")
    if not objects:
        return []
    if objtype != "node":
        return [n for n in objects.split(",") if n]
    if objects.startswith("/") and regex_verify:
        nodes = list(view.expand(objects, verify=True).nodes)
    else:
        nodes = list(view.expand(objects, verify=False).nodes)
    if not nodes:
        raise DefinitionError(f"No node in '{objects}', check the noderange syntax.")
    return nodes


def _validate(targets: list[Target], report: CommandReport) -> None:
    seen_capitals = False
    for target in targets:
        if target.objtype in ("node", "group"):
            try:
                check_object_name(target.name)
            except SnflowError as exc:
                report.error(str(exc))
                continue
            if target.objtype == "node" and has_capitals(target.name) and not seen_capitals:
                seen_capitals = True
                report.warning(
                    f"The node name '{target.name}' contains capital letters which may not "
                    "be resolved correctly by the dns server."
                )
        elif target.objtype == "site" and target.name != SITE_OBJECT:
            report.error(f"The site object is named '{SITE_OBJECT}', not '{target.name}'.")
        for attr, _value in target.attrs:
            if attr == "objtype":
                continue
            if attribute_column(target.objtype, attr) is None:  # type: ignore[arg-type]
                report.error(
                    f"'{attr}' is not a valid attribute name for an object type of "
                    f"'{target.objtype}'."
                )


def define(view: ClusterView, req: DefineRequest) -> tuple[CommandReport, ChangeSet]:
    """mkdef/chdef: the report and the change set (empty when anything failed)."""
    report = CommandReport()
    _check_flags(req)
    writer = ObjectWriter(view, Staging(view.conn), report)
    if req.newname is not None:
        objtype = _objtype(req.objtype)
        names = object_names(view, objtype, req.objects, regex_verify=True)
        if len(names) != 1:
            raise DefinitionError(
                "The '-n' option (changing object name) can only work on one object."
            )
        check_object_name(req.newname)
        writer.rename(objtype, names[0], req.newname)
        if report.failed:
            return report, ChangeSet()
        report.info(f"Changed the object name from {names[0]} to {req.newname}.")
        report.changed = True
        return report, writer.stage.changes()
    targets = _targets(view, req)
    _validate(targets, report)
    if report.failed:
        return report, ChangeSet()
    if not any(t.attrs for t in targets) and not req.dynamic and req.stanza is None:
        what = (
            " The 'groups' attribute is required when creating node definitions."
            if (targets[0].objtype == "node")
            else ""
        )
        raise DefinitionError(
            "No object definitions have been created or modified: no attributes were "
            f"specified.{what}"
        )
    mode: Literal["replace", "plus", "minus"] = (
        "plus" if req.plus else "minus" if req.minus else "replace"
    )
    writer.prefetch(targets)
    touched, created = writer.write(
        targets,
        mode=mode,
        create_only=req.command == "mkdef",
        force=req.force,
        dynamic=req.dynamic,
        where=list(req.where),
    )
    if report.failed:
        report.error(
            "One or more errors occured when attempting to create or modify xCAT object "
            "definitions."
        )
        return report, ChangeSet()
    changes = writer.stage.changes()
    if not touched:
        # Every object was skipped (mkdef of existing objects): xCAT treats that as a failure.
        report.error("No object definitions have been created or modified.")
        return report, changes
    if not changes and req.command == "chdef":
        report.info("No object definitions have been created or modified.")
        return report, changes
    report.changed = bool(changes)
    report.info(f"{len(touched)} object definitions have been created or modified.")
    if created and req.command == "chdef":
        report.info(f"New object definitions '{fold(created)}' have been created.")
    return report, changes


def remove(view: ClusterView, req: RemoveRequest) -> tuple[CommandReport, ChangeSet]:
    """rmdef: remove object definitions (all-or-nothing)."""
    report = CommandReport()
    objtype = _objtype(req.objtype)
    names = object_names(view, objtype, req.objects, regex_verify=True)
    if not names:
        raise DefinitionError("No object names were provided.")
    writer = ObjectWriter(view, Staging(view.conn), report)
    writer.remove(objtype, names)
    if report.failed:
        return report, ChangeSet()
    report.changed = True
    report.info(f"{len(names)} object definitions have been removed.")
    return report, writer.stage.changes()


def remove_nodes(view: ClusterView, noderange: str) -> tuple[CommandReport, ChangeSet]:
    """noderm: remove the nodes of a noderange (every name must exist)."""
    report = CommandReport()
    nodes = list(view.expand_or_raise(noderange))
    writer = ObjectWriter(view, Staging(view.conn), report)
    writer.remove("node", nodes)
    report.changed = bool(nodes)
    return report, writer.stage.changes()
