"""`senim ... | head -1`: a reader that closes the pipe early ends the command as it ends
git or grep, killed by SIGPIPE (141 in a shell), with nothing on stderr. Before, click
made it a silent exit 1, which `senim verify` uses for "refused", so a script reading
`senim verify F | head -1` under `set -o pipefail` took a cut-short check for a refusal.

The reading end is closed before the command starts, so its first write finds no reader
whatever the size of its output (`head` races the writer: a short output fits in the pipe)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Consortium, Member, NodeProcess
from tests.e2e.processes import senim_executable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
           *(Member(f"u{i}", f"University {i}", "university") for i in range(40))]
RUN_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    with Consortium(tmp_path_factory.mktemp("pipe"), MEMBERS, genesis_via_cli=False) as net:
        net.start("mshe")
        yield net
        assert net.node("mshe").stop() == 0


def _into_closed_pipe(args: list[str], node: NodeProcess, cwd: Path,
                      stderr_too: bool = False) -> tuple[int, bytes]:
    """Run `senim ARGS` with stdout (and stderr if `stderr_too`) the writing end of a pipe
    nobody reads any more; its exit status and what it wrote to stderr otherwise."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([senim_executable(), *args], cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=write_end,
                              stderr=write_end if stderr_too else subprocess.PIPE,
                              env=dict(os.environ, SENIM_NODE=node.url, NO_COLOR="1"),
                              timeout=RUN_TIMEOUT_S)
    finally:
        os.close(write_end)
    return done.returncode, done.stderr or b""


def _commands(net: Consortium) -> list[list[str]]:
    not_a_credential = net.root / "not-a-credential.json"
    not_a_credential.write_text('{"a": 1}')
    return [["--help"], ["--version"], ["verify", "--help"], ["members"],
            ["governance", "list"], ["status"], ["verify", str(not_a_credential)],
            ["consortium", "fingerprint", str(net.genesis_path)]]


def test_a_reader_gone_ends_each_command_as_sigpipe_with_nothing_on_stderr(
        net: Consortium) -> None:
    node = net.node("mshe")
    for args in _commands(net):
        code, stderr = _into_closed_pipe(args, node, net.root)
        # killed by SIGPIPE, as git and grep are: not 1 (verify's "refused") nor 0
        assert (code, stderr) == (-signal.SIGPIPE, b""), args


def test_stderr_into_the_same_closed_pipe_ends_the_same(net: Consortium) -> None:
    """`senim ... 2>&1 | head -1`, and an error (a usage error, a node down) said to it."""
    node = net.node("mshe")
    for args in [["members"], ["nosuch"], ["status", "--node", "http://127.0.0.1:9"]]:
        code, _ = _into_closed_pipe(args, node, net.root, stderr_too=True)
        assert code == -signal.SIGPIPE, args


def test_a_broken_pipe_elsewhere_is_not_taken_for_a_reader_gone() -> None:
    """Only stdout and stderr count: a BrokenPipeError from a node's socket goes on up."""
    from cli.closed_pipe import quiet_when_reader_gone

    with pytest.raises(BrokenPipeError), quiet_when_reader_gone():
        raise BrokenPipeError("a node's socket")
