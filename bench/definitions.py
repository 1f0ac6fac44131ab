"""Benchmark: the cluster database at 100,000 nodes, on SQLite and PostgreSQL.

For each backend it builds 100,000 nodes in 100 groups with one ``snflow mkdef -z`` (a
stanza on stdin, as an administrator would load a cluster), then times, as new
processes (Python start included, as a user sees it):

* ``snflow nodels 'cn[000001-100000]'`` and, for the ratio, the same on 10,000 nodes;
* ``snflow lsdef -i servicenode,xcatmaster`` on 10,000 nodes (one group range).

Targets (issue 2): nodels of 100k < 2 s, lsdef of 10k < 3 s, cost growing linearly.
Run: ``.venv/bin/python bench/definitions.py [--nodes N] [--runs 3]
[--backend sqlite|postgres|both]``; each read command's figure is the median of ``--runs``.
PostgreSQL uses a throw-away server from ``tests/pg.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNFLOW = str(Path(sys.executable).with_name("snflow"))


def stanza(nodes: int, groups: int) -> str:
    per_group = nodes // groups
    lines = ["# <xCAT data object stanza file>"]
    for i in range(1, nodes + 1):
        g = (i - 1) // per_group + 1
        sn = 2 * ((g - 1) % 2) + 1
        lines += [
            "",
            f"cn{i:06d}:",
            "    objtype=node",
            f"    groups=compute,g{g:03d}",
            f"    servicenode=sn{sn},sn{sn + 1}",
            f"    xcatmaster=sn{sn}-b",
        ]
    return "\n".join(lines) + "\n"


def timed(argv: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr[-2000:]}")
    return wall, proc.stdout


def median_of(runs: int, argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """The median wall time of ``runs`` runs of a read-only command (timings here vary by
    a fifth from run to run), and its output."""
    walls, out = [], ""
    for _ in range(runs):
        wall, out = timed(argv, env)
        walls.append(wall)
    return statistics.median(walls), out


def run_backend(name: str, url: str, home: Path, nodes: int, runs: int) -> dict[str, float]:
    env = {**os.environ, "SNFLOW_HOME": str(home), "SNFLOW_DATABASE_URL": url}
    create, _ = timed([SNFLOW, "mkdef", "-z"], env, stanza(nodes, 100))
    big = f"cn[000001-{nodes:06d}]"
    small_n = nodes // 10
    small = f"cn[000001-{small_n:06d}]"
    nodels_big, out = median_of(runs, [SNFLOW, "nodels", big], env)
    assert len(out.splitlines()) == nodes, "nodels printed the wrong number of nodes"
    nodels_small, _ = median_of(runs, [SNFLOW, "nodels", small], env)
    lsdef_small, out = median_of(
        runs, [SNFLOW, "lsdef", "-i", "servicenode,xcatmaster", small], env
    )
    assert out.count("servicenode=") == small_n
    lsdef_big, _ = median_of(runs, [SNFLOW, "lsdef", "-i", "servicenode,xcatmaster", big], env)
    figures = {
        "create": create,
        "nodels_big": nodels_big,
        "nodels_small": nodels_small,
        "lsdef_small": lsdef_small,
        "lsdef_big": lsdef_big,
    }
    print(f"\n== {name}: {nodes:,} nodes in 100 groups (reads: median of {runs} runs)")
    print(f"  bulk create (mkdef -z)               {create:7.2f} s")
    print(f"  nodels {big:<24}     {nodels_big:7.2f} s   (target < 2 s)")
    print(f"  nodels {small:<24}     {nodels_small:7.2f} s")
    print(f"  lsdef -i servicenode,xcatmaster {small_n:,}  {lsdef_small:7.2f} s   (target < 3 s)")
    print(f"  lsdef -i servicenode,xcatmaster {nodes:,} {lsdef_big:7.2f} s")
    print(
        f"  ratio nodels {nodes:,}/{small_n:,}: {nodels_big / nodels_small:5.2f}"
        f"   lsdef: {lsdef_big / lsdef_small:5.2f}   (10x the nodes; linear <= 10)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per read command (median)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snflow-bench-") as tmp:
        home = Path(tmp)
        if args.backend in ("sqlite", "both"):
            run_backend(
                "SQLite", f"sqlite:///{home}/bench.sqlite", home / "sqlite", args.nodes, args.runs
            )
        if args.backend in ("postgres", "both"):
            sys.path.insert(0, str(ROOT / "tests"))
            from pg import PostgresServer

            with PostgresServer() as server:
                url = server.create_database("bench")
                run_backend("PostgreSQL", url, home / "pg", args.nodes, args.runs)


if __name__ == "__main__":
    main()
