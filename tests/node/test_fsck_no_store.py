"""`senim fsck` of a data directory whose `chain.ldb` folder holds no store yet (emptied,
or left by a restore that copied nothing): it opened one there, which LevelDB made new,
and then called it damaged ("the genesis record is missing", exit 1), advising --resync
for what a starting node takes as a fresh store. Now it says there is none, exit 2 (not
checked), and leaves the folder as it found it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from node.config import render_config
from tests.node.node_folders import write_lone_validator


@pytest.mark.parametrize("left", [(), ("LOCK",), ("LOCK", "LOG")])
def test_fsck_of_a_folder_holding_no_store_makes_none(tmp_path: Path,
                                                      left: tuple[str, ...]) -> None:
    write_lone_validator(tmp_path)
    config = tmp_path / "node.toml"
    config.write_text(render_config("kaznu-1", "node.key", "genesis.json", "data",
                                    "127.0.0.1:0", "127.0.0.1:0", []))
    store = tmp_path / "data" / "chain.ldb"
    store.mkdir(parents=True)
    for name in left:  # what LevelDB leaves before it stores anything
        (store / name).write_text("")
    result = CliRunner().invoke(main, ["fsck", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert result.output == (f"error: no chain database at {store}: the folder holds none "
                             "(a node started on it makes a new one)\n")
    assert sorted(path.name for path in store.iterdir()) == sorted(left)
