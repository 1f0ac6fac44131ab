"""What runs on a moved node, as one shell program fed to ``sh -s``: built and read back here.

A node's work (:class:`~snflow.models.journal.NodeWork`) becomes ordered steps:
``xcatinfo`` (``/opt/xcat/xcatinfo`` names the new master, decision 12), ``gateway`` when the
node's network has ``gateway=<xcatmaster>`` (decision 5), then the postscripts (``syslog``
always, ``setupntp``/``mkresolvconf`` when listed, then ``-P``). :func:`runner_script`
writes one POSIX shell program that copies the scripts into a private directory on the
node (under ``${NODEROOT:-}``), exports xCAT's postscript environment
(:func:`postscript_env`: ``MASTER``, ``MASTER_IP``, ``NODE``, ``SITEMASTER``, site keys, ...),
runs each step with its output captured and ends each with a marker line carrying its exit
status; :func:`parse_runner_output` turns the output back into per-step results. One SSH
command per node does everything, so a node costs one channel, whatever the number of steps.

Pure: strings and bytes only; every value goes through :func:`~snflow.tasks.ssh.quote` rules
(``shlex.quote``), script bodies through quoted here-documents (never expanded).
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from snflow.models.journal import NodeWork
from snflow.models.snmove_interfaces import is_ip
from snflow.models.snmove_read import NodeEnvironment

__all__ = [
    "GATEWAY_SCRIPT",
    "RUNNER_COMMAND",
    "XCATINFO_SCRIPT",
    "RunnerStep",
    "StepResult",
    "node_steps",
    "parse_runner_output",
    "postscript_env",
    "runner_script",
    "valid_script_name",
]

XCATINFO_SCRIPT = "snflow-xcatinfo"
GATEWAY_SCRIPT = "snflow-gateway"
#: The command line run on the node; the program comes on its standard input.
RUNNER_COMMAND = "/bin/sh -s"

_SCRIPT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
#: Never set from the site table: they would change how the node's shell behaves.
_RESERVED_ENV = frozenset(
    {"PATH", "HOME", "NODEROOT", "IFS", "ENV", "BASH_ENV", "SHELL", "CDPATH", "PWD", "OLDPWD",
     "USER", "LOGNAME", "TMPDIR", "PS1", "PS2", "PS4", "LANG", "LC_ALL", "MASTER"}
)  # fmt: skip
_OUTPUT_LIMIT = 4000


def valid_script_name(name: str) -> bool:
    """A postscript name is a plain file name: letters, digits, ``_ . + -``."""
    return bool(_SCRIPT_NAME.fullmatch(name)) and name not in (".", "..")


class RunnerStep(BaseModel):
    """One step on the node: ``name`` (as reported) runs ``script`` with ``args``."""

    model_config = ConfigDict(frozen=True)

    name: str
    script: str
    args: tuple[str, ...] = ()
    #: Environment of this step only, over the node's (``NAME``, value) pairs.
    env: tuple[tuple[str, str], ...] = ()


class StepResult(BaseModel):
    """What one step did: its exit status (``None``: it never ran) and output."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: int | None
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0


def node_steps(work: NodeWork) -> list[RunnerStep]:
    """The steps of ``work`` in order (none with ``-i``)."""
    if not work.run_on_node:
        return []
    # updatenode -s writes the master's address (xcatdsklspost -M <IP>), not its name.
    server = (("MASTER", work.master_ip),) if work.master_ip else ()
    steps = [RunnerStep(name="xcatinfo", script=XCATINFO_SCRIPT, env=server)]
    if work.gateway:
        steps.append(RunnerStep(name="gateway", script=GATEWAY_SCRIPT, args=(work.gateway,)))
    steps += [RunnerStep(name=s, script=s) for s in work.scripts]
    return steps


def _ntype(env: NodeEnvironment, node: str) -> str:
    if node == env.site.get("master"):
        return "MN"
    return "service" if node in env.service_nodes else "compute"


def postscript_env(env: NodeEnvironment, work: NodeWork) -> dict[str, str]:
    """xCAT's postscript environment for ``work.node`` (boot-and-postscripts.md §4).

    Every ``site`` key upper-cased (``site.master`` as ``SITEMASTER``, never ``MASTER``),
    then the node's: ``MASTER`` (its xcatmaster as stored), ``MASTER_IP``, ``NODE``,
    ``IPADDR``, ``NTYPE``, ``SERVICEGROUP``, ``NFSSERVER``, ``OSVER``, ``ARCH``, ``PROFILE``,
    ``PROVMETHOD``, ``INSTALLNIC``, ``PRIMARYNIC``, ``UPDATENODE=1``, ``LOGLABEL``.
    """
    attrs = env.nodes.get(work.node, {})
    out: dict[str, str] = {}
    for key, value in sorted(env.site.items()):
        name = key.upper()
        if _ENV_NAME.fullmatch(name) and name not in _RESERVED_ENV:
            out[name] = value
    out["SITEMASTER"] = env.site.get("master", "")
    master = attrs.get("xcatmaster") or work.new_master
    master_ip = work.master_ip or env.addresses.get(master) or (master if is_ip(master) else "")
    out.update(
        NODE=work.node,
        MASTER=master,
        MASTER_IP=master_ip,
        IPADDR=attrs.get("ip", ""),
        NTYPE=_ntype(env, work.node),
        SERVICEGROUP=attrs.get("servicenode", ""),
        NFSSERVER=attrs.get("nfsserver") or master,
        OSVER=attrs.get("os", ""),
        ARCH=attrs.get("arch", ""),
        PROFILE=attrs.get("profile", ""),
        PROVMETHOD=attrs.get("provmethod", ""),
        INSTALLNIC=attrs.get("installnic", ""),
        PRIMARYNIC=attrs.get("primarynic", ""),
        UPDATENODE="1",
        LOGLABEL="xcat",
    )
    return out


def _token(bodies: Sequence[bytes]) -> str:
    while True:
        token = "SNFLOW_" + secrets.token_hex(8).upper()
        if not any(token.encode() in body for body in bodies):
            return token


def runner_script(
    steps: Sequence[RunnerStep],
    scripts: Mapping[str, bytes],
    env: Mapping[str, str],
    token: str | None = None,
) -> tuple[bytes, str]:
    """The program for ``sh -s`` and the marker token its output uses.

    :param scripts: script name -> body, for every ``step.script``.
    :raises ValueError: a step's script is missing or has an invalid name, or an invalid
        environment variable name.
    """
    names = list(dict.fromkeys(s.script for s in steps))
    for name in names:
        if not valid_script_name(name) or name not in scripts:
            raise ValueError(f"no postscript called {name!r}")
    token = token or _token([scripts[n] for n in names])
    marker = "@@" + token
    lines = [
        "set -u",
        "umask 077",
        'snflow_base="${NODEROOT:-}/var/lib/snflow/run"',
        f'mkdir -p "$snflow_base" || {{ echo "{marker} setup 97"; exit 97; }}',
        'snflow_d=$(mktemp -d "$snflow_base/move.XXXXXX")'
        f' || {{ echo "{marker} setup 97"; exit 97; }}',
        "trap 'rm -rf \"$snflow_d\"' EXIT",
    ]
    body = "\n".join(lines).encode() + b"\n"
    for name in names:
        content = scripts[name]
        if not content.endswith(b"\n"):
            content += b"\n"
        body += f"cat >\"$snflow_d/{name}\" <<'{token}'\n".encode() + content
        body += f"{token}\n".encode()
        body += f'chmod 0700 "$snflow_d/{name}"\n'.encode()
    for key, value in env.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"invalid environment variable name: {key!r}")
        body += f"{key}={shlex.quote(value)}; export {key}\n".encode()
    body += (
        "snflow_failed=0\n"
        "snflow_step() {\n"
        "    snflow_name=$1; shift\n"
        '    "$@" </dev/null 2>&1\n'
        "    snflow_rc=$?\n"
        '    [ "$snflow_rc" -eq 0 ] || snflow_failed=1\n'
        f'    printf \'\\n{marker} %s %s\\n\' "$snflow_name" "$snflow_rc"\n'
        "}\n"
    ).encode()
    for step in steps:
        words = " ".join(shlex.quote(a) for a in step.args)
        assign = " ".join(f"{k}={shlex.quote(v)}" for k, v in step.env if _ENV_NAME.fullmatch(k))
        call = f'"$snflow_d/{step.script}"' + (f" {words}" if words else "")
        call = f"env {assign} {call}" if assign else call
        body += f"snflow_step {shlex.quote(step.name)} {call}\n".encode()
    body += b'exit "$snflow_failed"\n'
    return body, token


def parse_runner_output(stdout: str, token: str, steps: Sequence[RunnerStep]) -> list[StepResult]:
    """Per-step results from the runner's output (steps without a marker: ``status None``).

    A step's output is what it printed before its marker (trimmed, at most 4,000 chars).
    """
    marker = "@@" + token
    found: dict[str, StepResult] = {}
    chunk: list[str] = []
    for line in stdout.splitlines():
        if line.startswith(marker + " "):
            parts = line[len(marker) + 1 :].rsplit(" ", 1)
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                text = "\n".join(chunk).strip()[-_OUTPUT_LIMIT:]
                found[parts[0]] = StepResult(name=parts[0], status=int(parts[1]), output=text)
                chunk = []
                continue
        chunk.append(line)
    return [found.get(s.name) or StepResult(name=s.name, status=None) for s in steps]
