"""Node configuration: one TOML file, read once into frozen values.

Every problem names the field at fault, so an operator knows what to fix.
Relative paths are relative to the config file's folder; a leading ~ is the home folder.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError
from ledger.identity import PUBLIC_KEY_BYTES
from node.client_limits import RATE_EXEMPT_ADDRESSES
from node.config_document import LOG_FORMATS, name_fault
from node.config_document import log_settings_in as log_settings_in
from node.config_document import log_settings_of as log_settings_of
from node.config_document import read_config_document as read_config_document
from storage.kv import LevelDBStore
from storage.state_tree import STATE_NODES_CACHED_MAX


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NodeConfig:
    name: str
    key_file: Path
    genesis_file: Path
    data_dir: Path
    api: Address
    p2p: Address
    peers: tuple[Address, ...]
    observers: tuple[bytes, ...]
    max_block_txs: int
    view_timeout_ms: int
    mempool_max_txs: int
    mempool_max_bytes: int
    mempool_max_per_sender: int
    log_level: str
    log_format: str
    # Client addresses the per-address rates do not apply to (the node's own host
    # by default); behind a reverse proxy set it to [] or every client shares one rate.
    api_rate_exempt: tuple[str, ...] = tuple(sorted(RATE_EXEMPT_ADDRESSES))
    vc_issuer_key: Path | None = None  # [vc]: issuing over the VC-API, when set
    vc_issue_token_file: Path | None = None
    vc_public_url: str | None = None  # base URL of this node in status list ids
    vc_https: Address | None = None  # the API over TLS too (W3C verifiers want https)
    vc_tls_cert: Path | None = None
    vc_tls_key: Path | None = None
    state_sync: bool = False  # [sync]: an empty data dir joins from a peer's snapshot
    # [storage]: memory the store may keep (defaults: storage.kv, storage.state_tree)
    block_cache_mb: int = LevelDBStore.BLOCK_CACHE_BYTES >> 20
    write_buffer_mb: int = LevelDBStore.WRITE_BUFFER_BYTES >> 20
    state_nodes_cached: int = STATE_NODES_CACHED_MAX
    config_file: Path | None = None  # the file this was read from, for advice that names it
    # [node] cpus: the CPUs the node and its signature workers run on (None: all it may).
    cpus: tuple[int, ...] | None = None


# Every key a node config may hold: anything else is a typo, refused by name (a
# misspelt `peers` would otherwise start a node that talks to nobody).
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "node": frozenset({"name", "key", "genesis", "data_dir", "cpus"}),
    "api": frozenset({"listen", "rate_exempt"}),
    "p2p": frozenset({"listen", "peers", "observers"}),
    "consensus": frozenset({"max_block_txs", "view_timeout_ms"}),
    "mempool": frozenset({"max_txs", "max_bytes", "max_per_sender"}),
    "log": frozenset({"level", "format"}),
    "sync": frozenset({"state_sync"}),
    "storage": frozenset({"block_cache_mb", "write_buffer_mb", "state_nodes_cached"}),
    "vc": frozenset({"issuer_key", "issue_token_file", "public_url", "https_listen",
                     "tls_cert", "tls_key"}),
}

ConfigValue = str | int | bool | list[str] | list[int]


def render_config(name: str, key: str, genesis: str, data_dir: str, api_listen: str,
                  p2p_listen: str, peers: list[str], log_level: str = "info",
                  overrides: dict[str, dict[str, ConfigValue]] | None = None) -> str:
    """The text of a node config: the one writer used by the testnet, tests and bench."""
    sections: dict[str, dict[str, ConfigValue]] = {
        "node": {"name": name, "key": key, "genesis": genesis, "data_dir": data_dir},
        "api": {"listen": api_listen},
        "p2p": {"listen": p2p_listen, "peers": peers},
        "log": {"level": log_level},
    }
    for section, values in (overrides or {}).items():
        sections.setdefault(section, {}).update(values)
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def parse_address(value: Any, field: str) -> Address:
    """'host:port', or '[IPv6 address]:port' (the host kept in its compressed form, so
    one address is not taken for two)."""
    if not isinstance(value, str):
        raise ConfigError(field, f"must be 'host:port' (an IPv6 address in brackets, "
                          f"'[::1]:9000'), got {value!r}", "address", got=repr(value)[:80])
    scheme, slashes, _ = value.partition("://")
    if slashes:  # a node's API URL copied in: its "http:" read as an IPv6 address's colon
        raise ConfigError(field, f"an address here is 'host:port' with no {scheme}:// before "
                          f"it, got {value!r}", "address_scheme", scheme=scheme[:20],
                          got=value)
    if value.startswith("["):
        inside, bracket, port_text = value[1:].partition("]:")
        try:
            address = ipaddress.IPv6Address(inside) if bracket else None
        except ValueError:
            raise ConfigError(field, f"{inside!r} in brackets is not an IPv6 address, in "
                              f"{value!r}", "address_ipv6", inside=inside,
                              got=value) from None
        if address is not None and address.is_link_local and not address.scope_id:
            raise ConfigError(field, f"the link-local address {inside} is on every "
                              f"interface: name one, e.g. '[{inside}%eth0]:{port_text}'",
                              "address_link_local", inside=inside,
                              example=f"[{inside}%eth0]:{port_text}")
        host = address.compressed if address is not None else ""
        if not host:
            raise ConfigError(field, f"must be '[IPv6 address]:port', e.g. '[::1]:9000', "
                              f"got {value!r}", "address_bracketed", got=value)
    elif value.count(":") > 1:
        raise ConfigError(field, f"an IPv6 address goes in brackets before its port, e.g. "
                          f"'[::1]:9000', got {value!r}", "address_unbracketed", got=value)
    else:
        host, _, port_text = value.partition(":")
    # ASCII digits alone: str.isdigit takes "²" (which int() refuses) and "١٩" (which it
    # reads as 19)
    if (not host or not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5
            or not 0 <= int(port_text) <= 65535):
        raise ConfigError(field, f"must be 'host:port' with a port 0-65535, got {value!r}",
                          "address_port", got=value)
    return Address(host, int(port_text))


def _peers(values: list[Any]) -> tuple[Address, ...]:
    """The peers to dial: a peer listens on a port of its own (0 is "any" only to a
    listener), and one named twice is dialled once; both were taken without a word."""
    peers: list[Address] = []
    for index, value in enumerate(values):
        field = f"p2p.peers[{index}]"
        peer = parse_address(value, field)
        if peer.port == 0:
            raise ConfigError(field, f"a peer's port is the one it listens on, never 0 (got "
                              f"{value!r})", "peer_port_zero", got=value)
        if peer in peers:
            first = peers.index(peer)
            raise ConfigError(field, f"{value!r} is p2p.peers[{first}] again", "peer_twice",
                              got=value, first=first)
        peers.append(peer)
    return tuple(peers)


def _table(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(name, "must be a table", "table")
    return value


def _int(table: dict[str, Any], section: str, key: str, default: int, low: int,
         high: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{section}.{key}", f"must be an integer in [{low}, {high}]",
                          "integer", low=low, high=high)
    return value


CPU_NUMBER_MAX = 4095  # Linux's own ceiling (CONFIG_NR_CPUS) is 8,192 at most


def _cpus(node: dict[str, Any]) -> tuple[int, ...] | None:
    """`[node] cpus`: a list of CPU numbers, each once (whether this machine has them is
    checked at start, `node.start_checks`)."""
    value = node.get("cpus")
    if value is None:
        return None
    if (not isinstance(value, list) or not value or len(set(map(repr, value))) != len(value)
            or not all(isinstance(cpu, int) and not isinstance(cpu, bool)
                       and 0 <= cpu <= CPU_NUMBER_MAX for cpu in value)):
        raise ConfigError("node.cpus", f"must be a list of CPU numbers, each once, from 0 to "
                          f"{CPU_NUMBER_MAX}, e.g. [0] or [2, 3]", "cpus",
                          got=repr(value)[:80], high=CPU_NUMBER_MAX)
    return tuple(sorted(value))


def _path(table: dict[str, Any], section: str, key: str, base: Path) -> Path:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{section}.{key}", "is required (a file or folder path)",
                          "required")
    if "\x00" in value:  # refused by every system call: a traceback at the first
        raise ConfigError(f"{section}.{key}", "holds a NUL character, which no path may",
                          "path_nul")
    path = Path(value)
    if value.startswith("~"):  # as a shell would: else a folder named "~" appears here
        try:
            path = path.expanduser()
        except RuntimeError as exc:
            raise ConfigError(f"{section}.{key}", f"cannot find the home folder in "
                              f"{value!r}: give the full path", "home", value=value) from exc
    return path if path.is_absolute() else base / path


def load_config(path: Path) -> NodeConfig:
    return config_from_document(read_config_document(path), path)


def config_from_document(document: dict[str, Any], path: Path) -> NodeConfig:
    """The checked config of a document read from `path` (its folder anchors paths)."""
    unknown = sorted(set(document) - set(KNOWN_KEYS))
    if unknown:
        message, code, params = _unknown_section(unknown[0], document[unknown[0]])
        raise ConfigError(unknown[0], message, code, **params)
    for section, keys in KNOWN_KEYS.items():
        for key in _table(document, section):
            if key not in keys:
                likely, code, params = _likely(key, section)
                known = ", ".join(sorted(keys))
                raise ConfigError(f"{section}.{key}", f"unknown key{likely} (known in "
                                  f"[{section}]: {known})", code, section=section,
                                  known=known, **params)
    base = path.parent
    node, api, p2p = _table(document, "node"), _table(document, "api"), _table(document, "p2p")
    consensus, mempool = _table(document, "consensus"), _table(document, "mempool")
    log, storage = _table(document, "log"), _table(document, "storage")
    name = node.get("name")
    fault = name_fault(name)
    if fault:
        raise fault
    assert isinstance(name, str)  # name_fault says so
    peers = p2p.get("peers", [])
    if not isinstance(peers, list):
        raise ConfigError("p2p.peers", "must be a list of 'host:port'", "peers")
    observers = p2p.get("observers", [])
    if not isinstance(observers, list):
        raise ConfigError("p2p.observers", "must be a list of hex public keys", "observers")
    try:
        observer_keys = tuple(bytes.fromhex(k) for k in observers)
    except (TypeError, ValueError) as exc:
        raise ConfigError("p2p.observers", "must be a list of hex public keys",
                          "observers") from exc
    if any(len(k) != PUBLIC_KEY_BYTES for k in observer_keys):
        raise ConfigError("p2p.observers", f"each must be a public key of {PUBLIC_KEY_BYTES} "
                          f"bytes ({2 * PUBLIC_KEY_BYTES} hex digits)", "observer_length",
                          digits=2 * PUBLIC_KEY_BYTES)
    rate_exempt = api.get("rate_exempt", sorted(RATE_EXEMPT_ADDRESSES))
    if not isinstance(rate_exempt, list) or not all(
            isinstance(a, str) and _is_ip(a) for a in rate_exempt):
        raise ConfigError("api.rate_exempt", "must be a list of IP addresses, e.g. "
                          "[\"127.0.0.1\"] or []", "rate_exempt")
    level = log.get("level", "info")
    if level not in ("debug", "info", "warning", "error"):
        raise ConfigError("log.level", "must be debug, info, warning or error", "log_level",
                          got=repr(level)[:80])
    state_sync = _table(document, "sync").get("state_sync", False)
    if not isinstance(state_sync, bool):
        raise ConfigError("sync.state_sync", "must be true or false", "boolean")
    log_format = log.get("format", "text")
    if log_format not in LOG_FORMATS:
        raise ConfigError("log.format", "must be text or json", "log_format",
                          got=repr(log_format)[:80])
    return NodeConfig(
        name=name,
        key_file=_path(node, "node", "key", base),
        genesis_file=_path(node, "node", "genesis", base),
        data_dir=_path(node, "node", "data_dir", base),
        api=parse_address(api.get("listen", "127.0.0.1:8100"), "api.listen"),
        p2p=parse_address(p2p.get("listen", "127.0.0.1:9100"), "p2p.listen"),
        peers=_peers(peers),
        observers=observer_keys,
        max_block_txs=_int(consensus, "consensus", "max_block_txs", 5000, 1, 20_000),
        view_timeout_ms=_int(consensus, "consensus", "view_timeout_ms", 1000, 50, 600_000),
        mempool_max_txs=_int(mempool, "mempool", "max_txs", 100_000, 1, 10_000_000),
        mempool_max_bytes=_int(mempool, "mempool", "max_bytes", 256 << 20, 1024, 1 << 34),
        mempool_max_per_sender=_int(mempool, "mempool", "max_per_sender", 50_000, 1,
                                    10_000_000),
        log_level=level,
        log_format=log_format,
        api_rate_exempt=tuple(rate_exempt),
        state_sync=state_sync,
        # The floors are LevelDB's own defaults (8 MiB of cache, a 4 MiB memtable): less
        # is untried here. LevelDB clips a memtable to 1 GiB, hence that ceiling. The
        # tree's node cache holds about 230 bytes a node (storage.state_tree): ~23 GB.
        block_cache_mb=_int(storage, "storage", "block_cache_mb", NodeConfig.block_cache_mb,
                            8, 65_536),
        write_buffer_mb=_int(storage, "storage", "write_buffer_mb",
                             NodeConfig.write_buffer_mb, 4, 1_024),
        state_nodes_cached=_int(storage, "storage", "state_nodes_cached",
                                NodeConfig.state_nodes_cached, 10_000, 100_000_000),
        config_file=path,
        cpus=_cpus(node),
        **_vc_settings(_table(document, "vc"), base),
    )


# What is wrong, its code and the params its sentence names (ledger.errors.ConfigError).
Refusal = tuple[str, str, dict[str, str | int]]


def _unknown_section(name: str, value: Any) -> Refusal:
    if not isinstance(value, dict):  # written above the first [section] header
        homes = " or ".join(f"[{section}]" for section, keys in KNOWN_KEYS.items()
                            if name in keys)
        if homes:
            return f"is outside any section: it belongs under {homes}", "outside", {
                "homes": homes}
        return "is outside any section: no section has such a key", "outside_unknown", {}
    close = difflib.get_close_matches(name, KNOWN_KEYS, n=1)
    known = ", ".join(sorted(KNOWN_KEYS))
    if close:
        return (f"unknown section; did you mean [{close[0]}]? (known: {known})",
                "unknown_section_close", {"likely": close[0], "known": known})
    return f"unknown section (known: {known})", "unknown_section", {"known": known}


def _likely(key: str, section: str) -> Refusal:
    """What a key unknown in `section` was likely meant to be: a near spelling of one of
    its keys, or the section that has it ('' if none), with its code and params."""
    close = difflib.get_close_matches(key, KNOWN_KEYS[section], n=1)
    if close:
        return f"; did you mean {close[0]!r}?", "unknown_key_close", {"likely": close[0]}
    homes = " or ".join(f"[{other}]" for other, keys in KNOWN_KEYS.items() if key in keys)
    if homes:
        return f"; {key!r} belongs under {homes}", "unknown_key_home", {"homes": homes}
    elsewhere = {other_key: other for other, keys in KNOWN_KEYS.items() for other_key in keys}
    close = difflib.get_close_matches(key, elsewhere, n=1)
    if close:
        return (f"; did you mean {close[0]!r} under [{elsewhere[close[0]]}]?",
                "unknown_key_elsewhere", {"likely": close[0], "home": elsewhere[close[0]]})
    return "", "unknown_key", {}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _vc_settings(vc: dict[str, Any], base: Path) -> dict[str, Any]:
    public_url = vc.get("public_url")
    if public_url is not None and not (isinstance(public_url, str) and public_url.startswith(
            ("http://", "https://"))):
        raise ConfigError("vc.public_url", "must be an http(s) URL", "url")
    paths = {key: _path(vc, "vc", key, base) if key in vc else None
             for key in ("issuer_key", "issue_token_file", "tls_cert", "tls_key")}
    if paths["issue_token_file"] is not None and paths["issuer_key"] is None:
        # Only an issuer key turns issuing on: the token alone was ignored without a word.
        raise ConfigError("vc.issue_token_file", "needs vc.issuer_key (issuing over the "
                          "VC-API is on only with an issuer key)", "token_without_key")
    https = vc.get("https_listen")
    if https is not None and (paths["tls_cert"] is None or paths["tls_key"] is None):
        raise ConfigError("vc.https_listen", "needs vc.tls_cert and vc.tls_key", "https_tls")
    return {"vc_issuer_key": paths["issuer_key"],
            "vc_issue_token_file": paths["issue_token_file"], "vc_public_url": public_url,
            "vc_https": None if https is None else parse_address(https, "vc.https_listen"),
            "vc_tls_cert": paths["tls_cert"], "vc_tls_key": paths["tls_key"]}
