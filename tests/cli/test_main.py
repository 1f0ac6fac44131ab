"""``snflow CMD`` loads only CMD's module: every command must be found that way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer.main

from snflow.cli.main import MODULE_OF, command_modules, new_app

SNFLOW = str(Path(sys.executable).with_name("snflow"))


def _commands(app: typer.Typer) -> set[str]:
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_is_registered_by_the_module_main_loads_for_it() -> None:
    everything = _commands(new_app())
    assert {"nodels", "mkdef", "lsdef", "snmove", "xdcp", "sim", "server"} <= everything
    for command in everything:
        module = MODULE_OF.get(command, command)
        assert module in command_modules(), command
        assert command in _commands(new_app([module])), command


def test_a_command_alone_still_takes_its_own_arguments(tmp_path: Path) -> None:
    env = {"SNFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [SNFLOW, "nodels", "nosuchnode"], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 1
    assert run.stderr.strip() == "Error: Invalid nodes and/or groups in noderange: nosuchnode"
    unknown = subprocess.run([SNFLOW, "bogus"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "No such command 'bogus'" in unknown.stderr
