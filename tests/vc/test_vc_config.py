"""The [vc] section of a node config."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ConfigError
from node.config import ConfigValue, load_config, render_config


def write(tmp_path: Path, vc: dict[str, ConfigValue]) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(render_config("n1", "key.json", "genesis.json", "data", "127.0.0.1:8100",
                                  "127.0.0.1:9100", [], overrides={"vc": vc}))
    return path


def test_vc_section_is_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {
        "issuer_key": "issuer.json", "issue_token_file": "token",
        "public_url": "https://node1.senim.kz", "https_listen": "127.0.0.1:8443",
        "tls_cert": "node.crt", "tls_key": "node.key"}))
    assert config.vc_issuer_key == tmp_path / "issuer.json"
    assert config.vc_issue_token_file == tmp_path / "token"
    assert config.vc_public_url == "https://node1.senim.kz"
    assert config.vc_https is not None and config.vc_https.port == 8443
    assert config.vc_tls_key == tmp_path / "node.key"
    plain = load_config(write(tmp_path, {}))
    assert plain.vc_issuer_key is None and plain.vc_https is None


@pytest.mark.parametrize(("vc", "field"), [
    ({"issuer_keys": "x"}, "vc.issuer_keys"),
    ({"public_url": "ftp://x"}, "vc.public_url"),
    ({"https_listen": "127.0.0.1:8443"}, "vc.https_listen"),
    ({"https_listen": "nonsense", "tls_cert": "c", "tls_key": "k"}, "vc.https_listen"),
    # the token alone turned nothing on, and nothing said so
    ({"issue_token_file": "token"}, "vc.issue_token_file"),
])
def test_bad_vc_settings_are_refused_by_name(tmp_path: Path, vc: dict[str, ConfigValue],
                                             field: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, vc))
    assert refused.value.field == field
