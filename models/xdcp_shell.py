"""The shell that ``xdcp`` runs on service nodes and compute nodes: pure text building.

Everything runs with standard tools only (POSIX ``sh``, GNU ``tar`` on the SN, ``tar`` on the
nodes, ``mktemp``, ``xargs -P``, ``timeout``, ``cksum``, and the SN's own ``ssh``), so a
service node needs nothing from snflow:

* :func:`stage_command` (on an SN, stdin a tar of the sources): unpack them under the
  staging directory (``site.SNsyncfiledir``), at their source paths.
* :func:`deliver_command` (on an SN, stdin a small control tar): unpack the control files
  in a temporary directory beside the staged files and run :data:`DELIVER_SCRIPT`, which
  for each group of nodes tars the group's *view* (relative symlinks into the staged tree,
  named as the files land on the node) once, then, ``fanout`` at a time, pipes it through
  the SN's own ssh into each node's :func:`push_command`. The file crosses the MN's link
  once per SN; the SN-to-node hop runs on the SN. Each node's output and exit status come
  back between marker lines, read by :func:`parse_deliveries`.
* :func:`push_command` (on a node, stdin a tar): unpack where it belongs. Node paths are
  relative to ``${NODEROOT:-}/`` (empty on a real node; the host's root on the virtual
  cluster), so nothing lands outside a simulated host.

Not here: which files go where (:mod:`snflow.models.xdcp`), building tar archives and
running anything (``snflow.tasks.xdcp``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

__all__ = [
    "DELIVER_SCRIPT",
    "ONE_SCRIPT",
    "Delivery",
    "config_text",
    "deliver_command",
    "from_file",
    "parse_deliveries",
    "plain_push_command",
    "pull_command",
    "rel",
    "stage_command",
    "sync_push_command",
]

_ROOT = '"${NODEROOT:-}"'

#: Runs on the SN in the run directory: ``sh ./deliver RUNDIR``.
DELIVER_SCRIPT = r"""# snflow xdcp: from this service node to its nodes (standard tools only).
r=$1
. "$r/config" || exit 1
mkdir -p "$r/out" || exit 1
if [ "$mode" = pull ] && [ ! -d "${NODEROOT:-}$pull_dir" ]; then
    echo "Cannot copy to target $pull_dir. Directory does not exist." >&2
    exit 3
fi
for g in "$r"/g*; do
    [ -d "$g" ] || continue
    if [ "$mode" = push ] && ! (cd "$g/view" &&
            tar -ch --hard-dereference -f ../payload.tar -T ../members) 2>"$g/error"; then
        while read -r n; do
            { printf '%s begin %s\n' "$marker" "$n"; cat "$g/error"
              printf '\n%s end %s 1\n' "$marker" "$n"; } > "$r/out/$n"
        done < "$g/nodes"
        continue
    fi
    xargs -P "$fanout" -n 1 sh "$r/one" "$r" "$g" < "$g/nodes"
done
set -- "$r"/out/*
[ -f "$1" ] && cat "$@"
exit 0
"""

#: Runs on the SN once per node: ``sh ./one RUNDIR GROUPDIR NODE``.
ONE_SCRIPT = r"""r=$1 g=$2 n=$3
. "$r/config"
. "$g/command"
eval "set -- $ssh_command $ssh_options"
[ -n "$limit" ] && set -- timeout "$limit" "$@"
o="$r/out/$n"
printf '%s begin %s\n' "$marker" "$n" > "$o"
if [ "$mode" = push ]; then
    "$@" "$n" "$node_command" < "$g/payload.tar" >> "$o" 2>&1
else
    x="$r/x.$n"
    mkdir "$x" && "$@" "$n" "$node_command" > "$x.tar" 2>> "$o" &&
        tar -C "$x" -xf "$x.tar" 2>> "$o" &&
        mv -f "$x/$pull_member" "${NODEROOT:-}$pull_dir/$pull_name._$n" 2>> "$o"
fi
printf '\n%s end %s %s\n' "$marker" "$n" "$?" >> "$o"
"""


def rel(path: str) -> str:
    """An absolute node path as a path relative to the node's root (``/`` is ``.``).

    >>> rel("/etc/hosts"), rel("/"), rel("/tmp/")
    ('etc/hosts', '.', 'tmp')
    """
    return path.strip("/") or "."


def _q(text: str) -> str:
    return shlex.quote(text)


def stage_command(syncdir: str) -> str:
    """On an SN: unpack the tar on stdin under ``${NODEROOT:-}<syncdir>`` (modes and times kept).

    >>> stage_command("/var/xcat/syncfiles")
    'd="${NODEROOT:-}"/var/xcat/syncfiles && mkdir -p "$d" && cd "$d" && tar -xpf -'
    """
    return f'd={_ROOT}{_q(syncdir.rstrip("/"))} && mkdir -p "$d" && cd "$d" && tar -xpf -'


def from_file(command: str, path: str) -> str:
    """``command`` with its stdin from the file ``path`` (a node path), removed afterwards:
    large archives are uploaded with SFTP, which is far faster than a command's stdin.

    >>> print(from_file("cat", "/tmp/a"))
    ( cat
    ) < "${NODEROOT:-}"/tmp/a; rc=$?; rm -f "${NODEROOT:-}"/tmp/a; exit $rc
    """
    where = f"{_ROOT}{_q(path)}"
    return f"( {command}\n) < {where}; rc=$?; rm -f {where}; exit $rc"


def deliver_command(syncdir: str) -> str:
    """On an SN: unpack the control tar on stdin into a new directory under the staging
    directory, run the delivery script there, remove it; exit with its status."""
    return (
        f'd={_ROOT}{_q(syncdir.rstrip("/"))}; mkdir -p "$d" && '
        'r=$(mktemp -d "$d/.snflow-xdcp.XXXXXX") || exit 1; '
        'cd "$r" && tar -xf - && sh ./deliver "$r"; rc=$?; rm -rf "$r"; exit $rc'
    )


def config_text(values: Mapping[str, str]) -> str:
    """``name=value`` lines (each value quoted) that the SN scripts source.

    >>> print(config_text({"mode": "push", "marker": "m x"}), end="")
    mode=push
    marker='m x'
    """
    return "".join(f"{name}={_q(value)}\n" for name, value in values.items())


def _extract(preserve: bool) -> str:
    return "tar -xpf -" if preserve else "tar -xpmf -"


def plain_push_command(target: str, names: Sequence[str], preserve: bool) -> str:
    """On a node: put the payload's ``names`` (the sources' base names) at ``target``, as
    ``scp``/``rsync`` would: into it when it is a directory (several sources: it must be),
    else, one source, as the file or directory ``target`` (renamed when the names differ).
    """
    extract = _extract(preserve)
    t = rel(target)
    into = f"if [ -d {_q(t)} ]; then cd {_q(t)} && exec {extract}; fi"
    lines = [f"cd {_ROOT}/ || exit 1", into]
    if len(names) != 1 or target.endswith("/"):
        lines.append(f"echo {_q(f'{target}: Not a directory')} >&2; exit 1")
        return "\n".join(lines)
    parent, _, base = target.rstrip("/").rpartition("/")
    shown = parent or "/"
    lines.append(
        f"[ -d {_q(rel(parent))} ] || {{ echo {_q(f'{shown}: No such directory')} >&2; exit 1; }}"
    )
    lines.append(f"cd {_q(rel(parent))} || exit 1")
    if base == names[0]:
        lines.append(f"exec {extract}")
    else:
        lines.append(
            "t=$(mktemp -d ./.snflow-xdcp.XXXXXX) || exit 1; "
            f'(cd "$t" && {extract}) && mv -f "$t"/{_q(names[0])} {_q(base)}; '
            'rc=$?; rm -rf "$t"; exit $rc'
        )
    return "\n".join(lines)


_APPEND = r"""snflow_append() {  # control file, node file, original copy
    mkdir -p "${3%/*}" "${2%/*}" || return 1
    if [ ! -f "$3" ]; then if [ -f "$2" ]; then cp -p "$2" "$3"; else : > "$3"; fi || return 1; fi
    cp -p "$3" "$2.snflow-new" && cat "$1" >> "$2.snflow-new" && mv -f "$2.snflow-new" "$2"
}"""
_MERGE = r"""snflow_merge() {  # control file, node file, original copy
    mkdir -p "${3%/*}" || return 1
    if [ ! -f "$3" ]; then if [ -f "$2" ]; then cp -p "$2" "$3"; else : > "$3"; fi || return 1; fi
    cp -p "$3" "$2.snflow-new" && awk -F: '
        NR == FNR { if ($1 != "") { if (!($1 in m)) k[++n] = $1; m[$1] = $0 }; next }
        ($1 in m) { if (!($1 in done)) print m[$1]; done[$1] = 1; next }
        { print }
        END { for (i = 1; i <= n; i++) if (!(k[i] in done)) print m[k[i]] }
    ' "$1" "$3" > "$2.snflow-new" && mv -f "$2.snflow-new" "$2"
}"""


def sync_push_command(
    *,
    control: str,
    appends: Sequence[tuple[str, str, str]] = (),
    merges: Sequence[tuple[str, str, str]] = (),
    execute: Sequence[tuple[str, str]] = (),
    always: Sequence[str] = (),
    preserve: bool = True,
) -> str:
    """On a node, for a synclist: unpack the payload (named by node path) at the root, then
    APPEND (``(control member, node file, original copy)``), MERGE (same), EXECUTE
    (``(control member, watched node file)``: run when the file changed) and EXECUTEALWAYS
    (control members), then remove the control directory. Exit 1 if anything failed."""
    extract = _extract(preserve)
    lines = [f"cd {_ROOT}/ || exit 1"]
    if not (appends or merges or execute or always):
        lines.append(f"exec {extract}")
        return "\n".join(lines)
    lines += [_APPEND] if appends else []
    lines += [_MERGE] if merges else []
    for i, (_, watched) in enumerate(execute):
        lines.append(f"w{i}=$({{ cksum < {_q(rel(watched))}; }} 2>/dev/null)")
    lines += [f"c={_q(rel(control))}", f'{extract} || {{ rc=$?; rm -rf "$c"; exit $rc; }}', "rc=0"]
    for member, dest, org in appends:
        lines.append(f"snflow_append {_q(rel(member))} {_q(rel(dest))} {_q(rel(org))} || rc=1")
    for member, dest, org in merges:
        lines.append(f"snflow_merge {_q(rel(member))} {_q(rel(dest))} {_q(rel(org))} || rc=1")
    for i, (member, watched) in enumerate(execute):
        run = f"./{rel(member)}"
        lines.append(
            f'if [ "$w{i}" != "$({{ cksum < {_q(rel(watched))}; }} 2>/dev/null)" ]; then '
            f"chmod 700 {_q(run)} && {_q(run)} || rc=1; fi"
        )
    for member in always:
        run = f"./{rel(member)}"
        lines.append(f"chmod 700 {_q(run)} && {_q(run)} || rc=1")
    lines += ['rm -rf "$c"', "exit $rc"]
    return "\n".join(lines)


def pull_command(source: str) -> str:
    """On a node: a tar of ``source`` (symbolic links followed) on stdout.

    >>> pull_command("/var/log/messages")
    'cd "${NODEROOT:-}"/ && exec tar -chf - ./var/log/messages'
    """
    return f"cd {_ROOT}/ && exec tar -chf - {_q('./' + rel(source))}"


class Delivery(BaseModel):
    """What one node's delivery did on the SN: its exit status and output."""

    model_config = ConfigDict(frozen=True)

    node: str
    status: int
    output: str


def parse_deliveries(text: str, marker: str) -> dict[str, Delivery]:
    """The per-node results in the delivery script's output (``marker`` lines around each).

    >>> out = "m begin cn1\\nok\\n\\nm end cn1 0\\nm begin cn2\\n\\nm end cn2 255\\n"
    >>> parse_deliveries(out, "m")  # doctest: +NORMALIZE_WHITESPACE
    {'cn1': Delivery(node='cn1', status=0, output='ok\\n'),
     'cn2': Delivery(node='cn2', status=255, output='')}
    """
    found: dict[str, Delivery] = {}
    begin = f"{marker} begin "
    chunks = text.split(begin)
    for chunk in chunks[1:]:
        node, _, rest = chunk.partition("\n")
        body, sep, tail = rest.rpartition(f"\n{marker} end {node} ")
        if not sep:
            continue
        status = tail.split("\n", 1)[0].strip()
        if status.lstrip("-").isdigit():
            found[node] = Delivery(node=node, status=int(status), output=body)
    return found
