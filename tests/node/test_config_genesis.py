"""Config and genesis files: every problem names the field at fault."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import ConfigError
from ledger.genesis import GENESIS_KIND, genesis_from_json
from ledger.identity import KeyPair
from node.config import load_config, log_settings_in, log_settings_of, parse_address
from node.files import load_genesis, load_key
from tests.node.conftest import make_consortium

GOOD = """
[node]
name = "kaznu-1"
key = "keys/node.key"
genesis = "genesis.json"
data_dir = "data"

[api]
listen = "127.0.0.1:8100"

[p2p]
listen = "0.0.0.0:9100"
peers = ["10.0.0.2:9100", "node3.edu.kz:9100"]

[consensus]
view_timeout_ms = 500

[mempool]
max_txs = 1000

[log]
level = "debug"
format = "json"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def field_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert info.value.field in str(info.value)
    return info.value.field


def test_good_config_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.name == "kaznu-1"
    assert config.key_file == tmp_path / "keys" / "node.key"
    assert config.data_dir == tmp_path / "data"
    assert (config.api.host, config.api.port) == ("127.0.0.1", 8100)
    assert [str(p) for p in config.peers] == ["10.0.0.2:9100", "node3.edu.kz:9100"]
    assert (config.view_timeout_ms, config.mempool_max_txs) == (500, 1000)
    assert (config.log_level, config.log_format) == ("debug", "json")
    assert config.max_block_txs == 5000  # default


def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    """Windows Notepad saves UTF-8 with a mark in front, invisible in any editor."""
    path = tmp_path / "node.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_config(path) == load_config(write(tmp_path, GOOD))


@pytest.mark.parametrize("name", ["kaznu-1\\nERROR forged line", "kaznu\\u0000-1",
                                  "kaznu\\u202e1-", "k" * 129])
def test_a_node_name_that_is_no_short_line_is_refused(tmp_path: Path, name: str) -> None:
    """The name is on every log line: a newline in it wrote a forged line of its own into
    a text log (and the refusal of a config was logged under it too)."""
    text = GOOD.replace('"kaznu-1"', f'"{name}"')
    assert field_of(tmp_path, text) == "node.name"
    assert log_settings_in(tomllib.loads(text))[1] is None
    assert load_config(write(tmp_path, GOOD.replace('"kaznu-1"', '"ЕНУ 100% ә"'))).name == \
        "ЕНУ 100% ә"


@pytest.mark.parametrize(("data", "said"), [
    ("\ufeff[node]\n".encode("utf-16-le"), "is saved as UTF-16 ('Unicode' in Notepad); save "
     "it as UTF-8"),
    ('[node]\nname = "Әл-Фараби"\n'.encode("utf-16-be").join([b"\xfe\xff", b""]),
     "is saved as UTF-16 ('Unicode' in Notepad); save it as UTF-8"),
    ('[node]\nname = "Сенім"\n'.encode("cp1251"), "is not UTF-8 text (byte 0xd1 on line 2: "
     "saved in another encoding, Windows-1251 say); save it as UTF-8"),
])
def test_a_config_saved_in_another_encoding_is_told_to_be_saved_as_utf8(
        tmp_path: Path, data: bytes, said: str) -> None:
    """Such a config was refused as "cannot parse: 'utf-8' codec can't decode byte 0xff in
    position 0", which named no cure."""
    path = tmp_path / "node.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match="save it as UTF-8") as refused:
        load_config(path)
    assert str(refused.value).endswith(f"{path} {said}"), str(refused.value)


@pytest.mark.parametrize(("text", "expected"), [
    ('[node]\nname = "kaznu-1"\npeers = [\n[log] # for the shipper\nformat = "json"\n',
     ("json", "kaznu-1")),
    ('log.format = "json"\nnode.name = "kaznu-1"\n[p2p\n', ("json", "kaznu-1")),
    # a top-level name, or a format under another table, is not the node's
    ('name = "kaznu-1"\nformat = "json"\n[[log]]\nformat = "json"\n[p2p\n', ("text", None)),
    ('[log]\nformat = "xml"\n[node]\nname = "a\\nb"\n[p2p\n', (None, None)),
])
def test_a_config_that_does_not_parse_still_gives_its_log_format_and_name(
        tmp_path: Path, text: str, expected: tuple[str | None, str | None]) -> None:
    """Its refusal is logged as its own lines say: a JSON line when `[log] format` asks."""
    path = tmp_path / "node.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(path)
    assert log_settings_of(path) == expected


def test_missing_node_name(tmp_path: Path) -> None:
    assert field_of(tmp_path, GOOD.replace('name = "kaznu-1"\n', "")) == "node.name"
    assert field_of(tmp_path, GOOD.replace('"kaznu-1"', '"   "')) == "node.name"
    assert field_of(tmp_path, GOOD.replace('"kaznu-1"', "7")) == "node.name"


@pytest.mark.parametrize("listen", ["127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000",
                                    ":8100", "[::1]8100", "::1:8100", "[localhost]:8100",
                                    "a:b:c", "127.0.0.1:-1"])
def test_bad_api_listen(tmp_path: Path, listen: str) -> None:
    text = GOOD.replace('listen = "127.0.0.1:8100"', f'listen = "{listen}"')
    assert field_of(tmp_path, text) == "api.listen"


def test_bad_api_listen_type(tmp_path: Path) -> None:
    assert field_of(tmp_path, GOOD.replace('"127.0.0.1:8100"', "8100")) == "api.listen"


def test_unknown_section(tmp_path: Path) -> None:
    assert field_of(tmp_path, GOOD + "\n[databse]\npath = 'x'\n") == "databse"


def message_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


@pytest.mark.parametrize("old,new,said", [
    ('peers = ["10.0.0.2:9100", "node3.edu.kz:9100"]', 'peer = ["10.0.0.2:9100"]',
     "p2p.peer: unknown key; did you mean 'peers'? (known in [p2p]: listen, observers, "
     "peers)"),
    ('key = "keys/node.key"', 'keyfile = "keys/node.key"',
     "node.keyfile: unknown key; did you mean 'key'?"),
    ('data_dir = "data"', 'data_dir = "data"\nlisten = "127.0.0.1:1"',
     "node.listen: unknown key; 'listen' belongs under [api] or [p2p]"),
    ("view_timeout_ms = 500", "view_timeout_ms = 500\n[p2p2]",
     "p2p2: unknown section; did you mean [p2p]?"),
    ('[mempool]\nmax_txs = 1000', '[mempool]\nmax_txs = 1000\nview_timeout = 3',
     "mempool.view_timeout: unknown key; did you mean 'view_timeout_ms' under [consensus]?"),
    ('\n[node]\nname = "kaznu-1"\n', 'name = "kaznu-1"\n[node]\n',
     "name: is outside any section: it belongs under [node]"),
])
def test_a_misspelt_or_misplaced_key_names_the_one_likely_meant(
        tmp_path: Path, old: str, new: str, said: str) -> None:
    assert old in GOOD
    assert said in message_of(tmp_path, GOOD.replace(old, new))


@pytest.mark.parametrize("level", ['"verbose"', '"INFO"', "3"])
def test_bad_log_level(tmp_path: Path, level: str) -> None:
    assert field_of(tmp_path, GOOD.replace('level = "debug"', f"level = {level}")) == \
        "log.level"


@pytest.mark.parametrize("old,new,field", [
    ('peers = ["10.0.0.2:9100", "node3.edu.kz:9100"]', 'peers = ["10.0.0.2"]', "p2p.peers[0]"),
    ('peers = ["10.0.0.2:9100", "node3.edu.kz:9100"]', 'peers = "x"', "p2p.peers"),
    ("view_timeout_ms = 500", "view_timeout_ms = 0", "consensus.view_timeout_ms"),
    ("view_timeout_ms = 500", "view_timeout_ms = true", "consensus.view_timeout_ms"),
    ("view_timeout_ms = 500", "block_interval_ms = 50", "consensus.block_interval_ms"),
    ('peers = ["10.0.0.2:9100", "node3.edu.kz:9100"]', 'peer = ["10.0.0.2:9100"]', "p2p.peer"),
    ('[log]\n', '[log]\nlevel_ = "info"\n', "log.level_"),
    ("max_txs = 1000", "max_txs = '1000'", "mempool.max_txs"),
    ('format = "json"', 'format = "xml"', "log.format"),
    ('key = "keys/node.key"\n', "", "node.key"),
    ('data_dir = "data"\n', "", "node.data_dir"),
    # an observer key that is not a whole public key would never match a peer
    ('peers = ["10.0.0.2:9100", "node3.edu.kz:9100"]', 'observers = ["abcd"]',
     "p2p.observers"),
    ('peers = ["10.0.0.2:9100", "node3.edu.kz:9100"]', f'observers = ["{"ab" * 33}"]',
     "p2p.observers"),
    # taken without a word: a peer on port 0 (dialled there), one peer named twice
    ('"node3.edu.kz:9100"', '"node3.edu.kz:0"', "p2p.peers[1]"),
    ('"node3.edu.kz:9100"', '"10.0.0.2:9100"', "p2p.peers[1]"),
])
def test_other_fields_named(tmp_path: Path, old: str, new: str, field: str) -> None:
    assert old in GOOD
    assert field_of(tmp_path, GOOD.replace(old, new)) == field


def test_a_path_from_the_home_folder_is_expanded(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a shell; kept as it was, it named a folder called "~" beside the config."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write(tmp_path, GOOD.replace('"data"', '"~/senim/data"')))
    assert config.data_dir == tmp_path / "home" / "senim" / "data"
    text = GOOD.replace('"data"', '"~no-such-user-here/data"')
    assert field_of(tmp_path, text) == "node.data_dir"


def test_a_path_holding_a_nul_is_named(tmp_path: Path) -> None:
    # data_dir's reached the node's first system call: "the node failed: ValueError"
    text = GOOD.replace('"data"', '"da\\u0000ta"')
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert info.value.field == "node.data_dir" and "NUL" in str(info.value)


def test_unparsable_and_missing_config(tmp_path: Path) -> None:
    assert field_of(tmp_path, "[node\nname=") == "config"
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert info.value.field == "config"


def test_parse_address_accepts_port_zero() -> None:
    assert parse_address("localhost:0", "x").port == 0


def test_an_ipv6_address_is_written_in_brackets_and_kept_in_one_form() -> None:
    for written in ("[::1]:9000", "[0:0:0:0:0:0:0:1]:9000"):
        address = parse_address(written, "p2p.listen")
        assert (address.host, address.port, str(address)) == ("::1", 9000, "[::1]:9000")
    assert str(parse_address("[::]:8100", "api.listen")) == "[::]:8100"
    assert str(parse_address("127.0.0.1:8100", "api.listen")) == "127.0.0.1:8100"
    refusals = {"::1:9000": "an IPv6 address goes in brackets before its port, e.g. "
                            "'[::1]:9000'",
                # a node's API URL copied in was told to put an IPv6 address in brackets
                "http://127.0.0.1:9101": "an address here is 'host:port' with no http:// "
                                         "before it, got 'http://127.0.0.1:9101'",
                "[::1]": "must be '[IPv6 address]:port'",
                "[::1]9000": "must be '[IPv6 address]:port'",
                "[127.0.0.1]:9000": "'127.0.0.1' in brackets is not an IPv6 address",
                "[::1]:70000": "with a port 0-65535",
                # str.isdigit takes both: int() raised on the first (a traceback, exit 1)
                # and read the second as port 19002
                "127.0.0.1:1900²": "with a port 0-65535",
                "127.0.0.1:" + "1" * 5_000: "with a port 0-65535",  # int() refuses > 4,300
                "127.0.0.1:١٩٠٠٢": "with a port 0-65535",
                "[fe80::1]:9000": "the link-local address fe80::1 is on every interface: "
                                  "name one, e.g. '[fe80::1%eth0]:9000'"}
    for written, said in refusals.items():
        with pytest.raises(ConfigError) as info:
            parse_address(written, "p2p.peers[0]")
        assert info.value.field == "p2p.peers[0]" and said in str(info.value), written


def test_a_config_of_ipv6_addresses_loads(tmp_path: Path) -> None:
    text = GOOD.replace('"127.0.0.1:8100"', '"[::1]:8100"').replace('"0.0.0.0:9100"',
                                                                   '"[::]:9100"')
    text = text.replace('"10.0.0.2:9100"', '"[fd00::2]:9100"')
    config = load_config(write(tmp_path, text))
    assert (str(config.api), str(config.p2p)) == ("[::1]:8100", "[::]:9100")
    assert [str(peer) for peer in config.peers] == ["[fd00::2]:9100", "node3.edu.kz:9100"]


# ---- genesis --------------------------------------------------------------------------

def good_genesis() -> dict[str, Any]:
    return make_consortium().genesis.to_json()


def genesis_field(document: Any) -> str:
    with pytest.raises(ConfigError) as info:
        genesis_from_json(document)
    return info.value.field


def test_genesis_json_round_trip(tmp_path: Path) -> None:
    original = make_consortium().genesis
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(original.to_json()))
    loaded = load_genesis(path)
    assert loaded == original
    assert loaded.genesis_hash == original.genesis_hash
    assert [v.name for v in loaded.validators] == ["Ministry of Science"]


def test_genesis_hash_covers_members_and_unknown_fields_are_refused() -> None:
    document = good_genesis()
    base = genesis_from_json(document).genesis_hash
    document["members"][1]["name"] = "KazNU (renamed)"
    assert genesis_from_json(document).genesis_hash != base
    document["members"][1]["api_adress"] = "10.1.1.1:8100"  # a typo, or a stale field
    assert genesis_field(document) == "members[1].api_adress"


def test_an_unknown_top_level_genesis_field_is_refused() -> None:
    """A misspelt "governance" was ignored, and the chain ran on the default policy."""
    document = good_genesis()
    document["governace"] = {"threshold": 1}
    assert genesis_field(document) == "genesis.governace"


def test_genesis_member_id_must_match_the_key() -> None:
    document = good_genesis()
    document["members"][1]["member_id"] = "00" * 20
    assert genesis_field(document) == "members[1].member_id"


def test_genesis_duplicate_keys_refused() -> None:
    document = good_genesis()
    twin = dict(document["members"][1], name="KazNU twin")
    document["members"].append(twin)
    assert genesis_field(document) == "genesis.members"


def test_genesis_without_validator_refused() -> None:
    document = good_genesis()
    for member in document["members"]:
        member["validator"] = False
    assert genesis_field(document) == "genesis.members"


@pytest.mark.parametrize("role", ["bank", "", None, "Ministry", 1])
def test_genesis_bad_role_refused(role: Any) -> None:
    document = good_genesis()
    document["members"][2]["role"] = role
    assert genesis_field(document) == "members[2].role"


@pytest.mark.parametrize("change,field", [
    ({"kind": "other"}, "genesis"),
    ({"chain_id": ""}, "genesis.chain_id"),
    ({"chain_id": "x" * 65}, "genesis.chain_id"),
    ({"genesis_time_ms": -1}, "genesis.genesis_time_ms"),
    ({"genesis_time_ms": "now"}, "genesis.genesis_time_ms"),
    ({"members": []}, "genesis.members"),
    ({"members": "all"}, "genesis.members"),
])
def test_genesis_top_level_fields(change: dict[str, Any], field: str) -> None:
    document = {**good_genesis(), **change}
    assert genesis_field(document) == field


@pytest.mark.parametrize("key,value,field", [
    ("name", "", "members[0].name"),
    ("public_key", "zz", "members[0].public_key"),
    # a byte short; fixed, since every pytest-xdist worker must collect the same tests
    ("public_key", KeyPair.from_seed(bytes(32)).public_key.hex()[:-2], "members[0].public_key"),
    ("validator", "yes", "members[0].validator"),
])
def test_genesis_member_fields(key: str, value: Any, field: str) -> None:
    document = good_genesis()
    document["members"][0][key] = value
    assert genesis_field(document) == field


def test_genesis_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_genesis(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError) as info:
        load_genesis(broken)
    assert info.value.field == "genesis"
    assert genesis_field([GENESIS_KIND]) == "genesis"


def test_a_toml_file_named_as_the_genesis_or_key_is_said_to_be_no_json(tmp_path: Path) -> None:
    """The node config or members file (TOML) named as the genesis or key file said only
    Python's 'cannot read node.toml: Expecting value: line 1 column 2 (char 1)'."""
    toml = tmp_path / "members.toml"
    toml.write_text('chain_id = "senim-pilot"\n')
    with pytest.raises(ConfigError) as genesis:
        load_genesis(toml)
    assert str(genesis.value) == (f"genesis: {toml} is not JSON (Expecting value, line 1 "
                                  "column 1): a genesis file is the JSON file `senim "
                                  "consortium create` writes")
    toml.chmod(0o600)
    with pytest.raises(ConfigError) as key:
        load_key(toml)
    assert str(key.value) == (f"{toml}: key file is not JSON (Expecting value, line 1 "
                              "column 1): a key file is the JSON file `senim keygen` writes")


def test_rate_exemption_defaults_to_the_nodes_own_host_and_can_be_emptied(
        tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD)).api_rate_exempt == ("127.0.0.1", "::1")
    behind_proxy = GOOD.replace('listen = "127.0.0.1:8100"',
                                'listen = "127.0.0.1:8100"\nrate_exempt = []')
    assert load_config(write(tmp_path, behind_proxy)).api_rate_exempt == ()


@pytest.mark.parametrize("value", ['"127.0.0.1"', '["localhost"]', "[1]", '["10.0.0.300"]'])
def test_rate_exemption_must_list_ip_addresses(tmp_path: Path, value: str) -> None:
    text = GOOD.replace('listen = "127.0.0.1:8100"',
                        f'listen = "127.0.0.1:8100"\nrate_exempt = {value}')
    assert field_of(tmp_path, text) == "api.rate_exempt"
