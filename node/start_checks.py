"""What can refuse a node's start, checked before the node writes anything.

A start refused after the chain store was opened would leave a data directory and a store
behind (and a state-sync join may copy a whole snapshot first), only to fail on a port
that is taken or a token file that is missing. So the files the node reads and the
addresses it listens on are tried first, each failure naming its config field.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import shlex
import socket
import stat
from pathlib import Path

from ledger.errors import ConfigError
from ledger.identity import KeyPair
from node.config import Address, NodeConfig
from node.files import account, folder_open_to_others, load_genesis, load_key, user_name
from node.store_access import access_refused, check_store_access
from node.tls import server_context
from node.vc_api import load_vc_issuing
from storage.bounded_read import file_kind

log = logging.getLogger("senim.daemon")

STORE_NAME = "chain.ldb"  # the chain's LevelDB store, inside data_dir


def peers_configured(config: NodeConfig) -> str:
    """The peers a start line names: an operator whose node connects to no one checks
    them first."""
    if not config.peers:
        return "no peers configured (it waits for others to dial it)"
    listed = ", ".join(str(peer) for peer in config.peers)
    return f"{len(config.peers)} peer{'s' if len(config.peers) > 1 else ''} configured ({listed})"


def recovery_hint(config: NodeConfig) -> str:
    """What to do about a damaged store, naming the operator's own config file."""
    named = config.config_file or "<this config>"
    return (f"`senim fsck --config {named}` lists the damage; to recover, run "
            f"`senim node --config {named} --resync`: it moves {config.data_dir / STORE_NAME} "
            "aside (kept for diagnosis) and resyncs from peers")


def check_before_start(config: NodeConfig, resync: bool = False) -> KeyPair:
    """Raise ConfigError (AccessRefused for files of the store's) for the first thing that
    would stop the node from starting; the node's key, read. With `resync` the store is to
    be set aside, so its files need not be this user's to read, only the signed mark."""
    keys = load_key(config.key_file)
    load_genesis(config.genesis_file)
    check_data_dir(config.data_dir)
    if (config.data_dir / "CURRENT").is_file() and not (config.data_dir / STORE_NAME).exists():
        # a store named as the data dir (a restored backup, say): a new one would be made
        # inside it and filled from peers, the old one never read
        raise ConfigError("node.data_dir", f"{config.data_dir} is a chain store itself; "
                          f"data_dir is the folder that holds the store, as {STORE_NAME}")
    # before LevelDB's opening, which writes even when a file it then needs is refused
    check_store_access(config.data_dir, None if resync else config.data_dir / STORE_NAME)
    # before the ports: a node started twice is told that, not that its port is taken
    refuse_store_in_use(config.data_dir / STORE_NAME, "node.data_dir")
    if config.cpus is not None:
        check_cpus(config.cpus)
    load_vc_issuing(config.vc_issuer_key, config.vc_issue_token_file)
    if config.vc_tls_cert is not None and config.vc_tls_key is not None:
        server_context(config.vc_tls_cert, config.vc_tls_key)
    listening: dict[Address, str] = {}
    for field, address in (("api.listen", config.api), ("p2p.listen", config.p2p),
                           ("vc.https_listen", config.vc_https)):
        if address is None:
            continue
        taken = next((other for other in listening if listeners_clash(address, other)), None)
        if taken is not None:
            # each checked alone binds, and is let go: the clash showed only when all
            # three were bound, named as "api.listen/p2p.listen" whichever it was
            raise ConfigError(field, f"cannot listen on {address}: {listening[taken]} "
                              f"listens on {taken}, which takes that port too; give each its "
                              "own port")
        listening[address] = field
        check_can_listen(field, address)
    return keys


# The wildcard each family binds. asyncio binds an IPv6 socket IPv6-only, so "::" and
# "0.0.0.0" may each listen on one port; "" is both families' wildcard at once.
_WILDCARDS = {"0.0.0.0": frozenset({4}), "::": frozenset({6}), "": frozenset({4, 6})}


def _families(host: str) -> frozenset[int]:
    """The address families a listener on `host` binds (a name may resolve to both)."""
    if host in _WILDCARDS:
        return _WILDCARDS[host]
    try:
        return frozenset({ipaddress.ip_address(host).version})
    except ValueError:
        return frozenset({4, 6})


def _same_host(one: str, other: str) -> bool:
    try:
        return ipaddress.ip_address(one) == ipaddress.ip_address(other)
    except ValueError:
        return one == other


def listeners_clash(one: Address, other: Address) -> bool:
    """Whether two listeners would clash: one port (any but the system's choice, 0) on one
    host, or on a host and its family's every address (0.0.0.0 for IPv4, :: for IPv6)."""
    if not one.port or one.port != other.port or not _families(one.host) & _families(other.host):
        return False
    return (_same_host(one.host, other.host) or one.host in _WILDCARDS
            or other.host in _WILDCARDS)


def check_cpus(cpus: tuple[int, ...]) -> None:
    """`[node] cpus` must name CPUs this process may run on (its affinity, which a
    container's cpuset or taskset may have narrowed)."""
    allowed = os.sched_getaffinity(0)
    missing = [cpu for cpu in cpus if cpu not in allowed]
    if missing:
        shown = ", ".join(map(str, sorted(allowed)))
        raise ConfigError("node.cpus", f"this machine gives the node no CPU "
                          f"{', '.join(map(str, missing))}: it may run on {shown}",
                          "cpus_unavailable", missing=", ".join(map(str, missing)),
                          allowed=shown)


def pin_to_cpus(cpus: tuple[int, ...] | None) -> None:
    """Run this thread, and every thread and process it starts from now on (the node's
    event loop, engine, pools and signature workers), on `cpus` alone: for several nodes
    on one machine, each on CPUs of its own (what it gains and costs: BENCHMARKS.md,
    session 38)."""
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
        log.info("running on CPU %s", ", ".join(map(str, cpus)))


def check_data_dir(data_dir: Path) -> None:
    """A data directory that exists must be a folder this user may read and write: one it
    could not read (a folder of another account's, mode 0700) ended the start in a
    PermissionError traceback, one on a read-only disk in LevelDB's 'LOCK: No such file'.
    One that does not exist yet is made at start (and a refusal then names the folder)."""
    field = "node.data_dir"
    try:
        status: os.stat_result | None = os.stat(data_dir)
    except FileNotFoundError:
        status = None
    except OSError as exc:  # a folder above it this user may not search
        raise ConfigError(field, f"cannot use {data_dir}: {exc.strerror or exc}; the node "
                          "keeps its chain there") from exc
    # First: /dev/null (mode 0666) was called a folder every user may write, with
    # `chmod go-w /dev/null` as the fix, which breaks every other user's programs.
    if status is not None and not stat.S_ISDIR(status.st_mode):
        what = "a regular file" if stat.S_ISREG(status.st_mode) else file_kind(status.st_mode)
        raise ConfigError(field, f"{data_dir} is {what}, not a folder; data_dir is the folder "
                          "the node keeps its chain in")
    # Whoever may write a folder on the way to the store may put a store of their own in
    # its place, or an older copy of this one: one holding an earlier safety state, from
    # which this validator votes again at heights it has voted at, and is reported for
    # equivocation. A data dir in a folder every user may write (0777) was taken as it was.
    swappable = folder_open_to_others(data_dir / STORE_NAME)
    if swappable:
        raise ConfigError(field, f"the chain store (this node's votes with it) is kept under "
                          f"{swappable}")
    if status is None:
        return
    me, quoted = os.geteuid(), shlex.quote(str(data_dir))
    fix = (f"chmod u+rwx {quoted}" if status.st_uid == me else
           f"chown -R {user_name(me)} {quoted} (or run the node as {user_name(status.st_uid)})")
    whose = (f"{account(me)}, who runs the node, may not {{}} it (owner "
             f"{account(status.st_uid)}, mode {status.st_mode & 0o7777:04o}); the node "
             f"keeps its chain there: {fix}")
    if not os.access(data_dir, os.R_OK | os.X_OK):
        raise ConfigError(field, f"{data_dir}: " + whose.format("read"))
    if not os.access(data_dir, os.W_OK):
        if os.statvfs(data_dir).f_flag & os.ST_RDONLY:
            raise ConfigError(field, f"{data_dir} is on a read-only file system; the node "
                              "writes its chain there")
        raise ConfigError(field, f"{data_dir}: " + whose.format("write"))


def check_can_listen(field: str, address: Address) -> None:
    """Bind the address as the node's listeners will (address reuse on), then let it go."""
    try:
        found = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        for family, kind, proto, _, where in found:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:  # as asyncio's servers bind
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(where)
    except OSError as exc:
        raise ConfigError(field, f"cannot listen on {address}: "
                          f"{exc.strerror or exc}") from exc


def refuse_store_in_use(store: Path, field: str) -> None:
    """A running node holds LevelDB's lock (an fcntl lock on LOCK). Only for a process that
    has not opened this store: closing the probe drops any lock this process holds on LOCK.
    A lock file this user may not open is an AccessRefused (store_access.FileRefused)."""
    try:
        fd = os.open(store / "LOCK", os.O_RDWR)
    except (FileNotFoundError, NotADirectoryError):
        return  # no lock file: LevelDB never opened it, so nothing holds it
    except OSError as exc:  # a read-only disk, or a lock file not this user's or locked
        refused = access_refused(store / "LOCK", True, exc)
        if refused is not None:  # its owner and mode, as check_store_access says them
            raise refused from exc
        raise ConfigError(field, f"cannot use {store}: {store / 'LOCK'}: "
                          f"{exc.strerror or exc}; the node writes its chain there, so the "
                          "folder must be writable by the user running it") from exc
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        # "a node is running on it" was said of whatever held it: senim fsck, or a node
        # of another config with the same data_dir, left the operator looking for a node
        holder = lock_holder(store / "LOCK") or "a node running on it, or senim fsck"
        raise ConfigError(field, f"{store} is in use by {holder}; stop it first") from exc
    finally:
        os.close(fd)  # releases the lock just taken


KERNEL_LOCKS = Path("/proc/locks")  # Linux: every lock held, with its process and file
KERNEL_LOCKS_BYTES_MAX = 1 << 20
COMMAND_LINE_BYTES_MAX = 4096
COMMAND_SHOWN_MAX = 200  # characters of the holder's command line in a refusal


def lock_holder(path: Path) -> str:
    """Which process holds a POSIX lock on `path`, as 'process 4242 (senim fsck --config
    node.toml)', where the kernel tells (Linux); '' where it does not."""
    try:
        status = os.stat(path)
        with KERNEL_LOCKS.open("rb") as locks:
            listed = locks.read(KERNEL_LOCKS_BYTES_MAX).decode("ascii", "replace")
    except OSError:
        return ""
    where = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    for line in listed.splitlines():  # "1: POSIX  ADVISORY  WRITE 4242 08:01:1186 0 EOF"
        fields = line.split()
        if len(fields) > 5 and fields[1] == "POSIX" and fields[5] == where:
            return process_named(int(fields[4]))
    return ""


def process_named(pid: int) -> str:
    """'process 4242 (senim fsck --config node.toml)', or 'process 4242' where its command
    line cannot be read."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read(COMMAND_LINE_BYTES_MAX).split(b"\0")
    except OSError:
        return f"process {pid}"
    named = [word.decode(errors="replace") for word in words if word]
    if len(named) > 1 and Path(named[0]).name.startswith("python"):
        named = named[1:]  # the console script's interpreter says nothing
    said = " ".join(shlex.quote(word) for word in named)
    said = "".join(char if char.isprintable() else "?" for char in said)
    if len(said) > COMMAND_SHOWN_MAX:
        said = said[:COMMAND_SHOWN_MAX] + "…"
    return f"process {pid} ({said})" if said else f"process {pid}"
