# shellcheck shell=bash
# Shared set-up for scripts/test and scripts/demo: source it, don't run it.
#
# Idempotent on a fresh Debian machine: installs the Debian packages the tests use (as root
# only), creates the venv .venv and installs snflow into it when pyproject.toml changed.
# Quiet on success (one line, "snflow: environment ready"), loud on failure: the output of a
# failed step is printed and the calling script stops.

set -euo pipefail

_SNFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages: the real daemons the tests run or check configurations with.
_SNFLOW_DEBIAN_PACKAGES=(
    postgresql openssh-server openssh-client isc-dhcp-server kea-dhcp4-server tftpd-hpa
    conserver-server rsync iproute2 busybox tftp-hpa
    chromium chromium-driver
)

# Init scripts a package of the list may have started, with the pid files they use.
declare -A _SNFLOW_SERVICES=(
    [postgresql]=postgresql
    [openssh-server]=ssh
    [isc-dhcp-server]=isc-dhcp-server
    [kea-dhcp4-server]=kea-dhcp4-server
    [tftpd-hpa]=tftpd-hpa
    [conserver-server]=conserver-server
    [rsync]=rsync
)
_SNFLOW_PIDFILES=(
    /run/sshd.pid /run/dhcpd.pid /var/run/dhcpd.pid /run/kea/kea-dhcp4.kea-dhcp4.pid
    /run/tftpd-hpa.pid /run/conserver.pid /var/run/conserver.pid /run/rsyncd.pid
)

_snflow_fail() {
    echo "snflow: $1" >&2
    if [[ -n "${2:-}" && -s "$2" ]]; then
        sed 's/^/    /' "$2" >&2
    fi
    return 1
}

# Run a command with its output sent to a log that is shown only if it fails.
_snflow_quiet() {
    local what="$1" log
    shift
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        _snflow_fail "$what failed: $*" "$log" || true
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

_snflow_missing_packages() {
    local pkg status
    for pkg in "${_SNFLOW_DEBIAN_PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
        if [[ "$status" != "install ok installed" ]]; then
            echo "$pkg"
        fi
    done
}

# Stop what the packages just installed may have started, though policy-rc.d forbade it.
_snflow_stop_services() {
    local pkg service pidfile pid
    for pkg in "$@"; do
        service="${_SNFLOW_SERVICES[$pkg]:-}"
        if [[ -n "$service" && -x "/etc/init.d/$service" ]]; then
            service "$service" stop >/dev/null 2>&1 || true
        fi
    done
    for pidfile in "${_SNFLOW_PIDFILES[@]}"; do
        [[ -s "$pidfile" ]] || continue
        pid="$(head -n1 "$pidfile" | tr -dc '0-9')"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
}

# Installs the missing packages in a subshell so that its trap (which puts policy-rc.d back
# as it was) does not leak into the calling script.
_snflow_install_packages() (
    local policy=/usr/sbin/policy-rc.d backup=""
    if [[ -e "$policy" ]]; then
        backup="$(mktemp /usr/sbin/policy-rc.d.snflow.XXXXXX)"
        cp -p "$policy" "$backup"
    fi
    # shellcheck disable=SC2317  # called by the trap
    restore_policy() {
        if [[ -n "$backup" ]]; then
            mv -f "$backup" "$policy"
        else
            rm -f "$policy"
        fi
    }
    trap restore_policy EXIT
    printf '#!/bin/sh\n# snflow bootstrap: start no service while installing.\nexit 101\n' \
        >"$policy"
    chmod 755 "$policy"

    export DEBIAN_FRONTEND=noninteractive
    local lock=(-o DPkg::Lock::Timeout=300)
    _snflow_quiet "apt-get update" apt-get "${lock[@]}" update
    _snflow_quiet "apt-get install" apt-get "${lock[@]}" install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
    _snflow_stop_services "$@"
)

_snflow_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "snflow: note: not a Debian system, system packages are not installed" \
            "(tests needing them will skip)"
        return 0
    fi
    local missing
    missing="$(_snflow_missing_packages)"
    [[ -n "$missing" ]] || return 0
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "snflow: note: not root, system packages are not installed" \
            "($(echo "$missing" | tr '\n' ' ' | sed 's/ $//'); tests needing them will skip)"
        return 0
    fi
    # shellcheck disable=SC2086  # one package name a word
    _snflow_install_packages $missing
    missing="$(_snflow_missing_packages)"
    if [[ -n "$missing" ]]; then
        _snflow_fail "still not installed after apt-get install: $(echo $missing)"
    fi
}

_snflow_python() {
    local candidate
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    _snflow_fail "no Python 3.11 or newer found (python3, python3.11 ... python3.13)"
}

_snflow_venv() {
    local venv="$_SNFLOW_ROOT/.venv" stamp="$_SNFLOW_ROOT/.venv/.snflow-installed" python
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c '' 2>/dev/null; then
        python="$(_snflow_python)"
        rm -rf "$venv"
        _snflow_quiet "creating the venv" "$python" -m venv "$venv"
        rm -f "$stamp"
    fi
    if [[ ! -e "$stamp" || "$_SNFLOW_ROOT/pyproject.toml" -nt "$stamp" ]]; then
        _snflow_quiet "installing snflow into .venv" env PIP_DISABLE_PIP_VERSION_CHECK=1 \
            "$venv/bin/pip" install -q -e "$_SNFLOW_ROOT[test]"
        touch "$stamp"
    fi
}

export DO_NOT_TRACK=1
export PREFECT_SERVER_ANALYTICS_ENABLED=false

_snflow_system_packages
_snflow_venv
echo "snflow: environment ready"
