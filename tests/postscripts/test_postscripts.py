"""The node-side postscripts (``postscripts/``), run by real POSIX shells.

Every script runs with an environment built from nothing (as ``env -i``): ``PATH`` holds only a
directory of fakes (``systemctl``, ``service``, ``ip``, ``logger``, ... that record their calls)
and a directory of links to the few harmless tools the scripts need, so no command can change
this machine. ``NODEROOT`` is a temporary node root laid out like the virtual cluster's. Around
every run the whole test directory outside ``NODEROOT`` is snapshotted: a script must not write
anything outside ``NODEROOT``. Each test runs once per installed shell (``/bin/sh``, ``dash``,
``bash --posix``, ``busybox sh``).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "postscripts"
SCRIPTS = ("syslog", "mkresolvconf", "setupntp", "snflow-xcatinfo", "snflow-gateway")

#: What the scripts may run (linked into the tools directory); ``touch`` is there so that an
#: injected ``touch`` would leave evidence.
TOOLS = ("awk", "cat", "cmp", "chmod", "cp", "mkdir", "mktemp", "mv", "rm", "tr", "touch")
#: Commands that change a real system: faked, each call recorded.
FAKED = ("systemctl", "service", "logger", "rsyslogd", "chronyd", "hostname", "ip")
#: Directories of a simulated node's root (``sim/daemon.py``).
NODE_DIRS = ("etc", "opt/xcat", "var", "tftpboot", "tmp")
#: Paths of this machine that a broken script could write as root; must never change.
REAL_PATHS = (
    "/etc/rsyslog.conf",
    "/etc/rsyslog.d",
    "/etc/resolv.conf",
    "/etc/resolv.conf.bak",
    "/etc/chrony.conf",
    "/etc/chrony",
    "/opt/xcat",
    "/etc/snflow",
    "/var/lib/snflow",
    "/var/log/snflow-actions.log",
    "/tmp/pwned",
)

BLOCK_START = "# xCAT settings START"
BLOCK_INFO = (
    "# Entries between the START and END lines will be replaced on the next xCAT install or update"
)
BLOCK_END = "# xCAT settings END"


def xcat_block(target: str) -> str:
    return f"{BLOCK_START}\n{BLOCK_INFO}\n*.* {target}\n{BLOCK_END}\n"


def _shells() -> list[object]:
    candidates = [
        ("sh", ["/bin/sh"]),
        ("dash", ["dash"]),
        ("bash-posix", ["bash", "--posix"]),
        ("busybox-sh", ["busybox", "sh"]),
    ]
    seen: set[tuple[str, ...]] = set()
    params = []
    for name, argv in candidates:
        exe = shutil.which(argv[0])
        if exe is None:
            continue
        key = (os.path.realpath(exe), *argv[1:])
        if key in seen:
            continue
        if subprocess.run([exe, *argv[1:], "-c", "true"], check=False).returncode != 0:
            continue
        seen.add(key)
        real = Path(key[0]).name
        params.append(pytest.param([exe, *argv[1:]], id=name if real == name else f"{name}={real}"))
    return params


SHELLS = _shells()


# --- fixtures ---------------------------------------------------------------------------------


def _snapshot(top: Path, exclude: Path | None = None) -> dict[str, tuple[object, ...]]:
    """Every entry under ``top`` (not following links, skipping ``exclude``): type, mode, data."""
    out: dict[str, tuple[object, ...]] = {}
    if not top.exists() and not top.is_symlink():
        return out
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        if exclude is not None and (here == exclude or exclude in here.parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = here / name
            if exclude is not None and path == exclude:
                continue
            st = path.lstat()
            rel = str(path.relative_to(top))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", st.st_mode)
            else:
                out[rel] = ("file", st.st_mode, path.read_bytes())
    return out


def _real_state() -> dict[str, object]:
    state: dict[str, object] = {}
    for name in REAL_PATHS:
        path = Path(name)
        if path.is_dir() and not path.is_symlink():
            state[name] = _snapshot(path)
        elif path.exists() or path.is_symlink():
            st = path.lstat()
            state[name] = (st.st_mode, st.st_mtime_ns, st.st_size)
        else:
            state[name] = None
    return state


@pytest.fixture(scope="module", autouse=True)
def this_machine_is_untouched() -> Iterator[None]:
    before = _real_state()
    yield
    assert _real_state() == before, "a postscript changed this machine's own files"


@dataclass
class Box:
    """A test directory: ``node`` (NODEROOT) inside ``parent``, fakes, tools, an outside dir."""

    base: Path
    shell: list[str]

    @property
    def root(self) -> Path:
        return self.base / "parent" / "node"

    @property
    def outside(self) -> Path:
        return self.base / "parent" / "outside"

    @property
    def calls(self) -> Path:
        return self.base / "calls.log"

    @property
    def path(self) -> str:
        return f"{self.base / 'bin'}:{self.base / 'tools'}"

    def file(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return self.file(rel).read_text()

    def write(self, rel: str, text: str) -> Path:
        path = self.file(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def tree(self) -> dict[str, tuple[object, ...]]:
        return _snapshot(self.root)

    def calls_made(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def run(
        self,
        script: str,
        *args: str,
        noderoot: str | None = "",
        calls_allowed: bool = False,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``script`` with exactly PATH, NODEROOT (default: the node) and ``env``."""
        full = {"PATH": self.path, **env}
        if noderoot == "":
            full["NODEROOT"] = str(self.root)
        elif noderoot is not None:
            full["NODEROOT"] = noderoot
        outside_before = _snapshot(self.base, exclude=self.root)
        proc = subprocess.run(
            [*self.shell, str(SCRIPTS_DIR / script), *args],
            env=full,
            cwd=self.base / "cwd",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        outside_after = _snapshot(self.base, exclude=self.root)
        if calls_allowed:
            outside_before.pop("calls.log", None)
            outside_after.pop("calls.log", None)
        assert outside_after == outside_before, f"{script} wrote outside NODEROOT: {proc}"
        if not calls_allowed:
            assert self.calls_made() == [], f"{script} ran a system command: {proc}"
        return proc


def _fake(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture(params=SHELLS)
def box(request: pytest.FixtureRequest, tmp_path: Path) -> Box:
    b = Box(tmp_path, request.param)
    for sub in NODE_DIRS:
        (b.root / sub).mkdir(parents=True)
    b.outside.mkdir()
    (b.outside / "target").write_text("outside\n")
    (tmp_path / "cwd").mkdir()
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in TOOLS:
        found = shutil.which(name)
        assert found is not None, f"{name} is needed by the postscripts"
        (tools / name).symlink_to(found)
    fakes = tmp_path / "bin"
    fakes.mkdir()
    calls = b.calls
    for name in FAKED:
        if name == "ip":
            # `ip ... route show default` prints ip-routes; anything else is recorded and
            # fails when ip-fail exists.
            _fake(
                fakes / name,
                f'case "$*" in\n'
                f'  *"route show default") cat "{tmp_path}/ip-routes" ;;\n'
                f'  *) echo "ip $*" >>"{calls}"\n'
                f'     if [ -e "{tmp_path}/ip-fail" ]; then\n'
                f'       echo "RTNETLINK answers: Network is unreachable" >&2; exit 2\n'
                f"     fi ;;\n"
                f"esac\n",
            )
        else:
            _fake(fakes / name, f'echo "{name} $*" >>"{calls}"\n')
    return b


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc
    assert proc.stdout.count("\n") == 1 and proc.stdout.endswith("\n"), proc
    return proc.stdout.rstrip("\n")


def failed(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 1, proc
    assert proc.stdout == "", proc
    for word in words:
        assert word in proc.stderr, proc
    return proc.stderr


#: An environment (and arguments) with which each script succeeds.
GOOD: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "syslog": ((), {"MASTER": "127.20.0.2"}),
    "mkresolvconf": (
        (),
        {"MASTER": "127.20.0.2", "DOMAIN": "cluster.test", "NAMESERVERS": "<xcatmaster>"},
    ),
    "setupntp": ((), {"MASTER": "127.20.0.2"}),
    "snflow-xcatinfo": ((), {"MASTER": "127.20.0.2"}),
    "snflow-gateway": (("127.20.0.2", "eth0"), {}),
}


def moved(script: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """GOOD for ``script`` with the master moved to 127.20.0.3."""
    args, env = GOOD[script]
    return (
        tuple(a.replace("127.20.0.2", "127.20.0.3") for a in args),
        {k: v.replace("127.20.0.2", "127.20.0.3") for k, v in env.items()},
    )


# --- the scripts as files ---------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_posix_sh_with_a_header_and_strict_mode(script: str) -> None:
    text = (SCRIPTS_DIR / script).read_text()
    lines = text.splitlines()
    assert lines[0] == "#!/bin/sh"
    header = []
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        header.append(line)
    header_text = "\n".join(header)
    assert len(header) >= 10
    assert "Environment" in header_text
    assert "Writes" in header_text or "routes" in header_text
    assert "Prints one line" in header_text
    assert "set -eu" in lines
    code = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    # A few bashisms: `local`, `[[`, `function f {`, `$'...'`, `==` in tests, arrays, `source`.
    for pattern in (
        r"^\s*local\s",
        r"\[\[",
        r"^\s*function\s+\w+\s*(\(\))?\s*\{",
        r"\$'",
        r"\[ [^]]* == ",
        r"\w+=\(",
        r"^\s*source\s",
    ):
        assert not re.search(pattern, code, re.MULTILINE), pattern
    assert os.access(SCRIPTS_DIR / script, os.X_OK)


def _helpers(script: str) -> str:
    text = (SCRIPTS_DIR / script).read_text()
    start = text.index("# --- helpers")
    end = text.index(f"# --- {script} ")
    return text[start:end]


def test_helper_functions_are_the_same_in_every_script() -> None:
    first = _helpers(SCRIPTS[0])
    assert "check_noderoot()" in first
    for script in SCRIPTS[1:]:
        assert _helpers(script) == first, f"helpers of {script} differ from {SCRIPTS[0]}'s"


def test_postscripts_directory_is_a_package_for_the_data_files() -> None:
    assert (SCRIPTS_DIR / "__init__.py").is_file()


@pytest.mark.parametrize("script", SCRIPTS)
def test_shellcheck_finds_nothing(script: str) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    proc = subprocess.run(
        [shellcheck, "-s", "sh", str(SCRIPTS_DIR / script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_shell_parses_the_script(shell: list[str], script: str) -> None:
    proc = subprocess.run([*shell, "-n", str(SCRIPTS_DIR / script)], capture_output=True)
    assert proc.returncode == 0, proc.stderr


# --- what every script does -------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS)
def test_second_run_changes_nothing_and_says_so(box: Box, script: str) -> None:
    args, env = GOOD[script]
    first = one_line(box.run(script, *args, **env))
    assert first.startswith(f"{script}: ") and "(was " in first
    after_first = box.tree()
    second = one_line(box.run(script, *args, **env))
    assert second.endswith(", unchanged")
    assert box.tree() == after_first
    args, env = moved(script)
    third = one_line(box.run(script, *args, **env))
    assert "127.20.0.3" in third and "(was " in third and "127.20.0.2" in third
    assert box.tree() != after_first


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("noderoot", ["rel", "missing", "/", "//"])
def test_noderoot_must_be_an_absolute_directory_other_than_the_root(
    box: Box, script: str, noderoot: str
) -> None:
    (box.base / "cwd" / "rel" / "etc").mkdir(parents=True)
    if noderoot == "missing":
        noderoot = str(box.base / "missing")
    # Invalid values everywhere else: even a broken NODEROOT check could not write anything.
    args = ("x;y",) if script == "snflow-gateway" else ()
    proc = box.run(script, *args, noderoot=noderoot, MASTER="x;y", DOMAIN="x;y")
    failed(proc, "NODEROOT")


# --- refusing dangerous values ------------------------------------------------------------------

PAYLOADS = (
    "x;touch {pwn}",
    "$(touch {pwn})",
    "`touch {pwn}`",
    "x' ; touch {pwn} ; '",
    'x" ; touch {pwn} ; "',
    "x\ntouch {pwn}",
    "x|touch {pwn}",
    "x&&touch {pwn}",
    "x y",
    "-x",
    "../../outside",
    "x;touch /tmp/pwned",
)

#: (script, arguments, environment) with one value replaced by the payload ("@").
INJECTIONS = (
    ("syslog", (), {"MASTER": "@"}),
    ("mkresolvconf", (), {"MASTER": "127.20.0.2", "DOMAIN": "@"}),
    ("mkresolvconf", (), {"MASTER": "@", "DOMAIN": "cluster.test"}),
    ("mkresolvconf", (), {"MASTER_IP": "@", "MASTER": "sn1", "DOMAIN": "cluster.test"}),
    ("mkresolvconf", (), {"MASTER": "127.20.0.2", "DOMAIN": "c.test", "NAMESERVERS": "1.1.1.1,@"}),
    ("setupntp", (), {"MASTER": "@"}),
    ("setupntp", (), {"MASTER": "@", "NTPSERVERS": "<xcatmaster>"}),
    ("setupntp", (), {"MASTER": "127.20.0.2", "NTPSERVERS": "ntp.test,@"}),
    ("setupntp", ("@",), {"MASTER": "127.20.0.2"}),
    ("snflow-xcatinfo", (), {"MASTER": "@"}),
    ("snflow-gateway", ("@",), {}),
    ("snflow-gateway", ("127.20.0.2", "@"), {}),
    ("snflow-gateway", ("<xcatmaster>",), {"MASTER": "@"}),
)


def _injection_id(script: str, args: tuple[str, ...], env: dict[str, str]) -> str:
    where = [f"arg{i}" for i, a in enumerate(args, 1) if a == "@"]
    where += [k for k, v in env.items() if v == "@"]
    return f"{script}-{'-'.join(where)}"


@pytest.mark.parametrize(
    ("script", "args", "env"),
    INJECTIONS,
    ids=[_injection_id(*case) for case in INJECTIONS],
)
def test_shell_metacharacters_are_rejected_never_run(
    box: Box, script: str, args: tuple[str, ...], env: dict[str, str]
) -> None:
    if Path("/tmp/pwned").exists():
        pytest.skip("/tmp/pwned exists already")
    before = box.tree()
    pwn = box.base / "pwned"
    for payload in PAYLOADS:
        value = payload.format(pwn=pwn)
        proc = box.run(
            script,
            *(value if a == "@" else a for a in args),
            **{k: value if v == "@" else v for k, v in env.items()},
        )
        failed(proc, f"{script}: error:")
        rejected = re.search("not a valid|is not valid|not an IP address|unsupported", proc.stderr)
        assert rejected, proc
        assert not pwn.exists(), f"{payload!r} ran a command"
        assert not Path("/tmp/pwned").exists()
        assert box.tree() == before


# --- missing variables ------------------------------------------------------------------------

MISSING = (
    ("syslog", (), {}, "MASTER is not set"),
    ("syslog", (), {"MASTER": ""}, "MASTER is not set"),
    ("mkresolvconf", (), {"MASTER_IP": "127.20.0.2"}, "DOMAIN is not set"),
    ("mkresolvconf", (), {"DOMAIN": "cluster.test"}, "MASTER_IP and MASTER are not set"),
    ("mkresolvconf", (), {"DOMAIN": "c.test", "MASTER": "sn1b"}, "MASTER_IP is not set"),
    ("setupntp", (), {}, "MASTER is not set"),
    ("setupntp", (), {"NTPSERVERS": "ntp.test,<xcatmaster>"}, "MASTER is not set"),
    ("snflow-xcatinfo", (), {"NODE": "cn1"}, "MASTER is not set"),
    ("snflow-gateway", (), {}, "usage: snflow-gateway NEWGW [IFNAME]"),
    ("snflow-gateway", ("1.2.3.4", "eth0", "x"), {}, "usage:"),
    ("snflow-gateway", ("<xcatmaster>",), {}, "MASTER_IP and MASTER are not set"),
)


@pytest.mark.parametrize(("script", "args", "env", "message"), MISSING)
def test_missing_variables_fail_with_a_message_and_change_nothing(
    box: Box, script: str, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    before = box.tree()
    failed(box.run(script, *args, **env), f"{script}: error: {message}")
    assert box.tree() == before


# --- syslog -----------------------------------------------------------------------------------


def test_syslog_writes_xcats_forwarding_block_and_records_the_restart(box: Box) -> None:
    assert one_line(box.run("syslog", MASTER="127.20.0.2", NODE="cn001")) == (
        "syslog: forwarding to 127.20.0.2 (was not forwarding)"
    )
    assert box.read("etc/rsyslog.d/remote.conf") == xcat_block("@127.20.0.2")
    assert not box.file("etc/rsyslog.conf").exists()
    assert box.read("var/log/snflow-actions.log") == "syslog: restart rsyslog\n"
    assert one_line(box.run("syslog", MASTER="127.20.0.2")) == (
        "syslog: forwarding to 127.20.0.2, unchanged"
    )
    assert box.read("var/log/snflow-actions.log") == "syslog: restart rsyslog\n"
    assert one_line(box.run("syslog", MASTER="sn2b")) == (
        "syslog: forwarding to sn2b (was 127.20.0.2)"
    )
    assert box.read("etc/rsyslog.d/remote.conf") == xcat_block("@sn2b")
    assert box.read("var/log/snflow-actions.log") == "syslog: restart rsyslog\n" * 2


def test_syslog_replaces_old_xcat_blocks_and_keeps_everything_else(box: Box) -> None:
    conf = (
        'module(load="imuxsock")\n'
        "# xCAT settings\n"
        "*.* @10.0.0.1\n"
        "$IncludeConfig /etc/rsyslog.d/*.conf\n"
        f"{xcat_block('@10.0.0.1')}"
        "*.info;mail.none /var/log/messages\n"
    )
    remote = "# site rule\nlocal0.* @@loghost.test:10514\n" + xcat_block("@127.20.0.1")
    box.write("etc/rsyslog.conf", conf)
    box.write("etc/rsyslog.d/remote.conf", remote)
    assert one_line(box.run("syslog", MASTER="127.20.0.2")) == (
        "syslog: forwarding to 127.20.0.2 (was 127.20.0.1)"
    )
    assert box.read("etc/rsyslog.conf") == (
        'module(load="imuxsock")\n'
        "$IncludeConfig /etc/rsyslog.d/*.conf\n"
        "*.info;mail.none /var/log/messages\n"
    )
    assert box.read("etc/rsyslog.d/remote.conf") == (
        "# site rule\nlocal0.* @@loghost.test:10514\n" + xcat_block("@127.20.0.2")
    )
    assert box.read("etc/rsyslog.conf.XCATORIG") == conf
    assert box.read("etc/rsyslog.d/remote.conf.XCATORIG") == remote
    # The originals are kept once, not overwritten by later moves.
    assert one_line(box.run("syslog", MASTER="127.20.0.3")).endswith("(was 127.20.0.2)")
    assert box.read("etc/rsyslog.conf.XCATORIG") == conf
    assert box.read("etc/rsyslog.d/remote.conf.XCATORIG") == remote
    assert box.read("var/log/snflow-actions.log") == "syslog: restart rsyslog\n" * 2


def test_syslog_writes_an_ipv6_master_in_brackets(box: Box) -> None:
    assert one_line(box.run("syslog", MASTER="fd00::2")).startswith("syslog: forwarding to fd00")
    assert box.read("etc/rsyslog.d/remote.conf") == xcat_block("@[fd00::2]")
    assert one_line(box.run("syslog", MASTER="127.20.0.2")) == (
        "syslog: forwarding to 127.20.0.2 (was fd00::2)"
    )


def test_syslog_ignore_changes_nothing(box: Box) -> None:
    box.write("etc/rsyslog.d/remote.conf", xcat_block("@127.20.0.1"))
    before = box.tree()
    out = one_line(box.run("syslog", MASTER="127.20.0.2", SYSLOG="ignore"))
    assert out == "syslog: The value of syslog is 'ignore', nothing changed"
    assert box.tree() == before


@pytest.mark.parametrize("how", ["service-node-svloglocal", "management-node"])
def test_syslog_local_logging_stops_forwarding(box: Box, how: str) -> None:
    box.write("etc/rsyslog.d/remote.conf", "# mine\n" + xcat_block("@127.20.0.1"))
    env = {"MASTER": "127.20.0.2"}
    if how == "management-node":
        box.write("etc/xCATMN", "")
    else:
        env.update(NTYPE="service", SVLOGLOCAL="1")
    assert one_line(box.run("syslog", **env)) == (
        "syslog: local logging, no forwarding (was forwarding to 127.20.0.1)"
    )
    assert box.read("etc/rsyslog.d/remote.conf") == "# mine\n"
    assert one_line(box.run("syslog", **env)).endswith(", unchanged")


def test_syslog_service_node_without_svloglocal_forwards(box: Box) -> None:
    one_line(box.run("syslog", MASTER="10.0.0.1", NTYPE="service", SVLOGLOCAL="0"))
    assert box.read("etc/rsyslog.d/remote.conf") == xcat_block("@10.0.0.1")


def test_syslog_other_syslog_values_only_warn(box: Box) -> None:
    proc = box.run("syslog", MASTER="127.20.0.2", SYSLOG="remote")
    assert one_line(proc).startswith("syslog: forwarding to 127.20.0.2")
    assert "syslog: warning: SYSLOG='remote'" in proc.stderr


def test_syslog_replaces_a_symbolic_link_instead_of_writing_through_it(box: Box) -> None:
    link = box.file("etc/rsyslog.d/remote.conf")
    link.parent.mkdir()
    link.symlink_to(box.outside / "target")
    one_line(box.run("syslog", MASTER="127.20.0.2"))
    assert not link.is_symlink()
    # What the link showed is kept, like any other line of remote.conf.
    assert link.read_text() == "outside\n" + xcat_block("@127.20.0.2")
    assert (box.outside / "target").read_text() == "outside\n"


def test_syslog_leaves_a_linked_rsyslog_conf_without_xcat_blocks_alone(box: Box) -> None:
    (box.outside / "rsyslog.conf").write_text("$IncludeConfig /etc/rsyslog.d/*.conf\n")
    box.file("etc/rsyslog.conf").symlink_to(box.outside / "rsyslog.conf")
    one_line(box.run("syslog", MASTER="127.20.0.2"))
    assert box.file("etc/rsyslog.conf").is_symlink()
    assert not box.file("etc/rsyslog.conf.XCATORIG").exists()
    (box.outside / "rsyslog.conf").write_text("# xCAT settings\n*.* @10.0.0.1\nlocal\n")
    assert one_line(box.run("syslog", MASTER="127.20.0.2")).endswith("(was 127.20.0.2)")
    assert not box.file("etc/rsyslog.conf").is_symlink()
    assert box.read("etc/rsyslog.conf") == "local\n"
    assert (box.outside / "rsyslog.conf").read_text() == "# xCAT settings\n*.* @10.0.0.1\nlocal\n"


def test_syslog_local_logging_without_a_remote_conf_changes_nothing(box: Box) -> None:
    before = box.tree()
    out = one_line(box.run("syslog", MASTER="127.20.0.2", NTYPE="service", SVLOGLOCAL="1"))
    assert out == "syslog: local logging, no forwarding, unchanged"
    assert box.tree() == before


def test_syslog_refuses_a_directory_that_leads_out_of_noderoot(box: Box) -> None:
    box.file("etc/rsyslog.d").symlink_to(box.outside)
    failed(box.run("syslog", MASTER="127.20.0.2"), "outside NODEROOT")
    assert sorted(p.name for p in box.outside.iterdir()) == ["target"]


# --- mkresolvconf -----------------------------------------------------------------------------


def test_mkresolvconf_writes_search_and_nameservers(box: Box) -> None:
    env = {
        "MASTER": "sn1b",
        "MASTER_IP": "127.20.0.2",
        "DOMAIN": "cluster.test",
        "NAMESERVERS": "<xcatmaster>,8.8.8.8",
    }
    assert one_line(box.run("mkresolvconf", **env)) == (
        "mkresolvconf: search cluster.test, nameserver 127.20.0.2,8.8.8.8 (was absent)"
    )
    assert box.read("etc/resolv.conf") == (
        "search cluster.test\nnameserver 127.20.0.2\nnameserver 8.8.8.8\n"
    )
    assert not box.file("etc/resolv.conf.bak").exists()
    assert one_line(box.run("mkresolvconf", **env)) == (
        "mkresolvconf: search cluster.test, nameserver 127.20.0.2,8.8.8.8, unchanged"
    )
    assert not box.file("etc/resolv.conf.bak").exists()


def test_mkresolvconf_keeps_the_previous_file_as_bak(box: Box) -> None:
    old = "# from DHCP\nsearch old.test\nnameserver 127.20.0.1\n"
    box.write("etc/resolv.conf", old)
    out = one_line(box.run("mkresolvconf", MASTER="127.20.0.2", DOMAIN="cluster.test"))
    assert out == (
        "mkresolvconf: search cluster.test, nameserver 127.20.0.2 "
        "(was search old.test, nameserver 127.20.0.1)"
    )
    assert box.read("etc/resolv.conf") == "search cluster.test\nnameserver 127.20.0.2\n"
    assert box.read("etc/resolv.conf.bak") == old


@pytest.mark.parametrize(
    ("nameservers", "expected"),
    [
        ("", ["127.20.0.2"]),
        ("<xcatmaster>", ["127.20.0.2"]),
        ("&lt;xcatmaster&gt;", ["127.20.0.2"]),
        (" 10.1.1.1 , <xcatmaster>,,10.1.1.1, 127.20.0.2 ", ["10.1.1.1", "127.20.0.2"]),
        ("fd00::53,<xcatmaster>", ["fd00::53", "127.20.0.2"]),
    ],
)
def test_mkresolvconf_substitutes_xcatmaster_and_drops_duplicates(
    box: Box, nameservers: str, expected: list[str]
) -> None:
    one_line(box.run("mkresolvconf", MASTER="127.20.0.2", DOMAIN="c.test", NAMESERVERS=nameservers))
    lines = [f"nameserver {ns}" for ns in expected]
    assert box.read("etc/resolv.conf") == "search c.test\n" + "\n".join(lines) + "\n"


def test_mkresolvconf_master_ip_wins_over_master(box: Box) -> None:
    env = {"MASTER": "127.20.0.9", "MASTER_IP": "127.20.0.2", "DOMAIN": "c.test"}
    one_line(box.run("mkresolvconf", **env))
    assert box.read("etc/resolv.conf") == "search c.test\nnameserver 127.20.0.2\n"


@pytest.mark.parametrize("entry", ["ns1.test", "1.2.3", "1.2.3.256", "1.2.3.4.5", "01.2.3.4x"])
def test_mkresolvconf_refuses_nameservers_that_are_not_addresses(box: Box, entry: str) -> None:
    proc = box.run("mkresolvconf", MASTER="127.20.0.2", DOMAIN="c.test", NAMESERVERS=entry)
    failed(proc, f"NAMESERVERS entry '{entry}' is not an IP address")
    assert not box.file("etc/resolv.conf").exists()


def test_mkresolvconf_replaces_a_symlinked_resolv_conf(box: Box) -> None:
    box.file("etc/resolv.conf").symlink_to(box.outside / "target")
    one_line(box.run("mkresolvconf", MASTER="127.20.0.2", DOMAIN="c.test"))
    assert not box.file("etc/resolv.conf").is_symlink()
    assert box.read("etc/resolv.conf") == "search c.test\nnameserver 127.20.0.2\n"
    assert box.read("etc/resolv.conf.bak") == "outside\n"
    assert (box.outside / "target").read_text() == "outside\n"


# --- setupntp ---------------------------------------------------------------------------------


def _servers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("server ")]


def test_setupntp_points_chrony_at_the_master(box: Box) -> None:
    out = one_line(box.run("setupntp", MASTER="127.20.0.2"))
    assert out == "setupntp: /etc/chrony.conf: servers 127.20.0.2 (was no servers)"
    conf = box.read("etc/chrony.conf")
    assert _servers(conf) == ["server 127.20.0.2 iburst"]
    directives = [ln for ln in conf.splitlines() if ln and not ln.startswith("#")]
    assert directives == [
        "server 127.20.0.2 iburst",
        "driftfile /var/lib/chrony/drift",
        "makestep 1.0 3",
        "rtcsync",
        "allow",
        "local stratum 10",
        "keyfile /etc/chrony.keys",
        "leapsectz right/UTC",
        "logdir /var/log/chrony",
        "log measurements statistics tracking",
    ]
    assert conf.startswith("# This chrony configuration file is generated by xCAT")
    assert box.read("var/log/snflow-actions.log") == "setupntp: reload-or-restart chronyd\n"
    assert not box.file("etc/chrony.conf.xcatsave").exists()
    assert one_line(box.run("setupntp", MASTER="127.20.0.2")) == (
        "setupntp: /etc/chrony.conf: servers 127.20.0.2, unchanged"
    )
    assert box.read("var/log/snflow-actions.log") == "setupntp: reload-or-restart chronyd\n"
    out = one_line(box.run("setupntp", MASTER="127.20.0.3", NTPSERVERS="<xcatmaster>"))
    assert out == "setupntp: /etc/chrony.conf: servers 127.20.0.3 (was 127.20.0.2)"
    assert _servers(box.read("etc/chrony.conf.xcatsave")) == ["server 127.20.0.2 iburst"]
    assert box.read("var/log/snflow-actions.log").count("\n") == 2


@pytest.mark.parametrize(
    ("ntpservers", "args", "expected"),
    [
        ("&lt;xcatmaster&gt;", (), ["127.20.0.2"]),
        ("ntp1.test, <xcatmaster> ,ntp1.test", (), ["ntp1.test", "127.20.0.2"]),
        ("10.9.9.9", (), ["10.9.9.9"]),
        ("10.9.9.9", ("ntp2.test", "<xcatmaster>"), ["ntp2.test", "127.20.0.2"]),
    ],
)
def test_setupntp_servers_from_ntpservers_or_arguments(
    box: Box, ntpservers: str, args: tuple[str, ...], expected: list[str]
) -> None:
    out = one_line(box.run("setupntp", *args, MASTER="127.20.0.2", NTPSERVERS=ntpservers))
    assert out.startswith(f"setupntp: /etc/chrony.conf: servers {','.join(expected)} (was")
    assert _servers(box.read("etc/chrony.conf")) == [f"server {s} iburst" for s in expected]


def test_setupntp_needs_no_master_for_explicit_servers(box: Box) -> None:
    one_line(box.run("setupntp", NTPSERVERS="ntp1.test"))
    assert _servers(box.read("etc/chrony.conf")) == ["server ntp1.test iburst"]


def test_setupntp_uses_the_debian_layout_and_keeps_the_driftfile(box: Box) -> None:
    old = "pool 2.debian.pool.ntp.org iburst\ndriftfile /var/lib/chrony/chrony.drift.custom\n"
    box.write("etc/chrony/chrony.conf", old)
    out = one_line(box.run("setupntp", MASTER="127.20.0.2"))
    assert out == (
        "setupntp: /etc/chrony/chrony.conf: servers 127.20.0.2 (was 2.debian.pool.ntp.org)"
    )
    conf = box.read("etc/chrony/chrony.conf")
    assert "driftfile /var/lib/chrony/chrony.drift.custom\n" in conf
    assert "keyfile /etc/chrony/chrony.keys\n" in conf
    assert box.read("etc/chrony/chrony.conf.xcatsave") == old
    assert not box.file("etc/chrony.conf").exists()


def test_setupntp_does_not_copy_an_odd_driftfile(box: Box) -> None:
    box.write("etc/chrony.conf", "driftfile /x;rm -rf /\n")
    one_line(box.run("setupntp", MASTER="127.20.0.2"))
    assert "driftfile /var/lib/chrony/drift\n" in box.read("etc/chrony.conf")


def test_setupntp_refuses_options(box: Box) -> None:
    failed(box.run("setupntp", "--use-ntpd", MASTER="127.20.0.2"), "unsupported option")
    assert not box.file("etc/chrony.conf").exists()


# --- snflow-xcatinfo --------------------------------------------------------------------------


def test_xcatinfo_is_created_when_absent(box: Box) -> None:
    shutil.rmtree(box.file("opt"))
    assert one_line(box.run("snflow-xcatinfo", MASTER="127.20.0.2")) == (
        "snflow-xcatinfo: XCATSERVER=127.20.0.2 (was absent)"
    )
    assert box.read("opt/xcat/xcatinfo") == "XCATSERVER=127.20.0.2\n"
    assert one_line(box.run("snflow-xcatinfo", MASTER="127.20.0.2")) == (
        "snflow-xcatinfo: XCATSERVER=127.20.0.2, unchanged"
    )


def test_xcatinfo_replaces_xcatserver_in_place_and_keeps_other_lines(box: Box) -> None:
    box.write(
        "opt/xcat/xcatinfo",
        "XCATSERVER='127.20.0.1'\nINSTALLDIR=/install\nHTTPPORT=80\n"
        "MYXCATSERVER=keep\nXCATSERVER=stale\nREBOOT=TRUE",
    )
    assert one_line(box.run("snflow-xcatinfo", MASTER="sn2b")) == (
        "snflow-xcatinfo: XCATSERVER=sn2b (was 127.20.0.1)"
    )
    assert box.read("opt/xcat/xcatinfo") == (
        "XCATSERVER=sn2b\nINSTALLDIR=/install\nHTTPPORT=80\nMYXCATSERVER=keep\nREBOOT=TRUE\n"
    )


def test_xcatinfo_appends_xcatserver_when_missing(box: Box) -> None:
    box.write("opt/xcat/xcatinfo", "NODE=cn001\nUSEFLOWCONTROL=NO\n")
    assert one_line(box.run("snflow-xcatinfo", MASTER="fd00::2")) == (
        "snflow-xcatinfo: XCATSERVER=fd00::2 (was absent)"
    )
    assert box.read("opt/xcat/xcatinfo") == "NODE=cn001\nUSEFLOWCONTROL=NO\nXCATSERVER=fd00::2\n"


# --- snflow-gateway: virtual cluster ----------------------------------------------------------


def test_gateway_keeps_one_default_route_in_the_routes_file(box: Box) -> None:
    assert one_line(box.run("snflow-gateway", "127.20.0.2", "eth0")) == (
        "snflow-gateway: default via 127.20.0.2 dev eth0 (was none)"
    )
    assert box.read("etc/snflow/routes") == "default via 127.20.0.2 dev eth0\n"
    assert box.read("var/log/snflow-actions.log") == (
        "snflow-gateway: ip route replace default via 127.20.0.2 dev eth0\n"
    )
    # Without IFNAME the route keeps its interface: unchanged.
    assert one_line(box.run("snflow-gateway", "127.20.0.2")) == (
        "snflow-gateway: default via 127.20.0.2 dev eth0, unchanged"
    )
    assert one_line(box.run("snflow-gateway", "127.20.0.3")) == (
        "snflow-gateway: default via 127.20.0.3 dev eth0 (was default via 127.20.0.2 dev eth0)"
    )
    assert box.read("etc/snflow/routes") == "default via 127.20.0.3 dev eth0\n"
    assert box.read("var/log/snflow-actions.log").count("\n") == 2


def test_gateway_replaces_every_default_of_its_family_and_keeps_other_routes(box: Box) -> None:
    box.write(
        "etc/snflow/routes",
        "10.0.0.0/24 dev eth0\n"
        "default via 10.0.0.1 dev eth0\n"
        "default via fd00::1 dev eth0\n"
        "default via 10.0.0.254 dev eth1\n",
    )
    out = one_line(box.run("snflow-gateway", "<xcatmaster>", MASTER_IP="10.0.0.2", MASTER="sn2b"))
    assert out == (
        "snflow-gateway: default via 10.0.0.2 dev eth0 "
        "(was default via 10.0.0.1 dev eth0, default via 10.0.0.254 dev eth1)"
    )
    assert box.read("etc/snflow/routes") == (
        "10.0.0.0/24 dev eth0\ndefault via 10.0.0.2 dev eth0\ndefault via fd00::1 dev eth0\n"
    )
    out = one_line(box.run("snflow-gateway", "fd00::2", "eth1"))
    assert out == "snflow-gateway: default via fd00::2 dev eth1 (was default via fd00::1 dev eth0)"
    assert box.read("etc/snflow/routes") == (
        "10.0.0.0/24 dev eth0\ndefault via 10.0.0.2 dev eth0\ndefault via fd00::2 dev eth1\n"
    )


@pytest.mark.parametrize("ifname", ["eth0;x", "-v", "a" * 16, "e th0"])
def test_gateway_refuses_bad_interface_names(box: Box, ifname: str) -> None:
    failed(box.run("snflow-gateway", "10.0.0.2", ifname), "interface name")
    assert not box.file("etc/snflow/routes").exists()


@pytest.mark.parametrize("gateway", ["gw.test", "10.0.0", "10.0.0.300", "::g"])
def test_gateway_must_be_an_address(box: Box, gateway: str) -> None:
    failed(box.run("snflow-gateway", gateway), f"gateway '{gateway}' is not an IP address")


# --- snflow-gateway: real node (with a fake `ip`) ---------------------------------------------


def _real_gateway(box: Box, routes: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert shutil.which("ip", path=box.path) == str(box.base / "bin" / "ip")
    (box.base / "ip-routes").write_text(routes)
    return box.run("snflow-gateway", *args, noderoot=None, calls_allowed=True)


def test_real_gateway_replaces_the_first_default_and_deletes_the_others(box: Box) -> None:
    routes = (
        "default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.5 metric 100 \n"
        "default via 10.0.0.9 dev eth1 \n"
    )
    out = one_line(_real_gateway(box, routes, "10.0.0.2"))
    assert out == (
        "snflow-gateway: default via 10.0.0.2 "
        "(was default via 10.0.0.1 dev eth0 metric 100, default via 10.0.0.9 dev eth1)"
    )
    assert box.calls_made() == [
        "ip -4 route replace default via 10.0.0.2 metric 100",
        "ip -4 route del default via 10.0.0.9 dev eth1",
        f"logger -t xcat -p local4.info {out}",
    ]


def test_real_gateway_without_a_default_route_adds_one(box: Box) -> None:
    one_line(_real_gateway(box, "", "fd00::2", "eth1"))
    assert box.calls_made()[0] == "ip -6 route replace default via fd00::2 dev eth1"


def test_real_gateway_already_in_place_runs_nothing(box: Box) -> None:
    out = one_line(_real_gateway(box, "default via 10.0.0.2 dev eth0 metric 100\n", "10.0.0.2"))
    assert out == "snflow-gateway: default via 10.0.0.2, unchanged"
    assert [c for c in box.calls_made() if c.startswith("ip ")] == []


def test_real_gateway_on_another_interface_is_replaced(box: Box) -> None:
    one_line(_real_gateway(box, "default via 10.0.0.2 dev eth0\n", "10.0.0.2", "eth1"))
    assert box.calls_made()[0] == "ip -4 route replace default via 10.0.0.2 dev eth1"


def test_real_gateway_failure_removes_nothing(box: Box) -> None:
    (box.base / "ip-fail").write_text("")
    routes = "default via 10.0.0.1 dev eth0\ndefault via 10.0.0.9 dev eth1\n"
    proc = _real_gateway(box, routes, "10.0.0.2", "eth0")
    failed(proc, "RTNETLINK answers", "the default routes are unchanged")
    assert [c for c in box.calls_made() if c.startswith("ip ")] == [
        "ip -4 route replace default via 10.0.0.2 dev eth0"
    ]
    assert any(c.startswith("logger -t xcat -p local4.err") for c in box.calls_made())


def test_virtual_cluster_never_calls_system_commands(box: Box) -> None:
    for script in SCRIPTS:
        args, env = GOOD[script]
        one_line(box.run(script, *args, **env))
    assert box.calls_made() == []
    assert box.read("var/log/snflow-actions.log").splitlines() == [
        "syslog: restart rsyslog",
        "setupntp: reload-or-restart chronyd",
        "snflow-gateway: ip route replace default via 127.20.0.2 dev eth0",
    ]
