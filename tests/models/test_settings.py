"""Settings from ``$SNFLOW_HOME/settings.env`` hold in every thread of a run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from snflow.models.settings import get_settings


def test_the_settings_file_holds_in_every_thread_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks of one flow run read the settings side by side; each must see the file's
    values (an SN task once ran with the default ssh command while another thread's
    construction had put the file's values in the environment and taken them away)."""
    for name in ("SNFLOW_SN_SSH_COMMAND", "SNFLOW_SSH_PORT", "SNFLOW_FANOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SNFLOW_HOME", str(tmp_path))
    (tmp_path / "settings.env").write_text(
        "SNFLOW_SN_SSH_COMMAND=ssh -F /x/config\nSNFLOW_SSH_PORT=2222\nSNFLOW_FANOUT=7\n"
    )
    seen: list[tuple[str, int, int]] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        for _ in range(8):
            s = get_settings()
            seen.append((s.sn.ssh_command, s.ssh.port, s.fanout))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 64
    assert set(seen) == {("ssh -F /x/config", 2222, 7)}
