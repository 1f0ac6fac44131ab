#!/usr/bin/env python3
"""Bring the namespace cluster up and down by hand (root), to look around or debug a test.

    sudo .venv/bin/python tests/system/bed.py up [--service-nodes 2] [--nodes 8] [--no-prefect]
    sudo .venv/bin/python tests/system/bed.py status
    sudo .venv/bin/python tests/system/bed.py mn -- snflow xdsh compute hostname
    sudo .venv/bin/python tests/system/bed.py on cn001 -- cat /etc/resolv.conf
    sudo .venv/bin/python tests/system/bed.py link sn1 b down
    sudo .venv/bin/python tests/system/bed.py down [BED_ID]
    sudo .venv/bin/python tests/system/bed.py clean [--all]

``mn`` runs a command on the management node (its namespaces, the bed's ``SNFLOW_HOME``),
``on`` on any host (its private files too). With one bed up, commands use it (or the only
one brought up by hand); else name one with ``--bed ID``. ``clean`` removes beds whose owner
died (a test run that was killed); ``--all`` every bed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nsbed import Bed, BedError, cleanup_stale, list_beds


def _one_bed(bed_id: str | None) -> Bed:
    if bed_id:
        return Bed.attach(bed_id)
    beds = list_beds()
    if len(beds) > 1:  # test runs have their own beds: prefer the one brought up by hand
        beds = [b for b in beds if not b.state.get("owner")] or beds
    if len(beds) != 1:
        ids = ", ".join(b.bed_id for b in beds) or "none"
        raise BedError(f"{len(beds)} beds are up ({ids}): name one with --bed ID")
    return beds[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bed", help="bed id (default: the only bed up)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build and start a bed (kept until 'down')")
    up.add_argument("--service-nodes", type=int, default=2)
    up.add_argument("--nodes", type=int, default=8)
    up.add_argument("--no-prefect", action="store_true", help="no Prefect server on the MN")
    sub.add_parser("status", help="list the beds")
    down = sub.add_parser("down", help="take a bed down")
    down.add_argument("bed_id", nargs="?")
    clean = sub.add_parser("clean", help="take down beds whose owner died")
    clean.add_argument("--all", action="store_true", help="every bed")
    mn = sub.add_parser("mn", help="run a command on the MN")
    mn.add_argument("argv", nargs=argparse.REMAINDER)
    on = sub.add_parser("on", help="run a command on a host")
    on.add_argument("host")
    on.add_argument("argv", nargs=argparse.REMAINDER)
    link = sub.add_parser("link", help="take a host's link down or up")
    link.add_argument("host")
    link.add_argument("network", choices=["a", "b"])
    link.add_argument("state", choices=["up", "down"])
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            started = time.monotonic()
            bed = Bed.up(
                service_nodes=args.service_nodes,
                nodes=args.nodes,
                owner=0,
                prefect=not args.no_prefect,
            )
            print(f"bed {bed.bed_id} up in {time.monotonic() - started:.1f} s: {bed.root}")
            print(f"  MN namespace {bed.plan.mn.netns}, SNFLOW_HOME={bed.home}")
            print(f"  try: {sys.argv[0]} mn -- snflow xdsh compute hostname")
            return 0
        if args.command == "status":
            for bed in list_beds():
                owner = bed.state.get("owner") or "none (by hand)"
                alive = "" if bed.owner_alive() else " (stale: owner gone)"
                hosts = ", ".join(h.name for h in bed.plan.hosts)
                print(f"{bed.bed_id}: owner {owner}{alive}; {hosts}")
            return 0
        if args.command == "down":
            bed = _one_bed(args.bed_id or args.bed)
            started = time.monotonic()
            bed.down()
            print(f"bed {bed.bed_id} down in {time.monotonic() - started:.1f} s")
            return 0
        if args.command == "clean":
            for name in cleanup_stale(everything=args.all):
                print(f"removed {name}")
            return 0
        bed = _one_bed(args.bed)
        if args.command == "link":
            bed.set_link(args.host, args.network, args.state == "up")
            return 0
        command = args.argv[1:] if args.argv[:1] == ["--"] else list(args.argv)
        if args.command == "mn":
            return bed.mn_run(command or ["sh"], capture=False, timeout=None).returncode
        return bed.host_run(args.host, command or ["sh"], capture=False, timeout=None).returncode
    except BedError as exc:
        print(f"bed: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
