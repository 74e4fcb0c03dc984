"""`senim fsck` on a disk really full: run by tests/cli/test_fsck_disk_refused.py as
`unshare --mount --propagation private python -m tests.cli.full_disk_fsck FOLDER`, so the
1 MB tmpfs it mounts at FOLDER is in a mount namespace of its own. No other process sees
it, and it goes with this process, however this ends (an assertion failed, a file left
open, the run killed): an unmount that failed as busy had buried the failure and left the
mount behind, system-wide. Exit 0 once it holds, CANNOT_MOUNT where no tmpfs can be made."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from tests.cli.test_fsck_disk_refused import CANNOT_MOUNT, fsck, stopped_node
from tests.cli.test_ministry_languages import said_in


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, bytes(64 * 1024))
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)


def _stored(store: Path) -> dict[str, str]:
    """What the store holds, file by file (LevelDB's own text log aside: it starts a new
    one at each opening)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in
            sorted(store.iterdir()) if path.name not in ("LOG", "LOG.old")}


def check(root: Path) -> None:
    """A full disk leaves the store's files as they were, and fsck checks it once space is
    freed."""
    config, store = stopped_node(root)
    before = _stored(store)
    _fill(root / "filler")
    runs = fsck(config)
    assert runs["en"].exit_code == 2, runs["en"].output
    assert "No space left on device; that damages nothing, but nothing was checked: " \
        "free space on that disk" in runs["en"].output, runs["en"].output
    assert "(дискіде бос орын қалмады)" in said_in("kk", runs["kk"], 2)
    assert "(на диске не осталось места)" in said_in("ru", runs["ru"], 2)
    assert _stored(store) == before

    (root / "filler").unlink()
    checked = CliRunner().invoke(main, ["fsck", "--config", str(config)])
    assert checked.exit_code == 0, checked.output
    assert checked.output.endswith(f"in {store}: no damage found\n"), checked.output


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:  # a container without the right to mount
        print(mounted.stderr)
        sys.exit(CANNOT_MOUNT)
    check(folder)
