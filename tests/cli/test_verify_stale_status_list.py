"""`senim verify` of a W3C VC whose issuer's status list, fetched from the address the VC
names, is outside its validity period: an old list replayed (signed before a revocation,
expired since), or one not valid yet. Kazakh and Russian said "unknown to this network:
never issued on the Senim network this node belongs to", of a credential no chain was
asked about, and its check "failed: the reason is given above"; English said only that
the list was outside its validity period. Each now says that the revocation status is
not confirmed, since when the list is out of date (or from when it is valid), and not to
rely on the credential until a current list is available; the status stays "unknown",
exit 1, with the list's bound in `facts`."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.language import Words
from cli.main import main
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.status import status_entry, status_list_credential
from tests.cli.test_verifier_lines_translated import english_in
from tests.e2e.processes import PORTS_ENV, free_port

ISSUER = KeyPair.from_seed(b"\x47" * 32)
DOWN = "http://127.0.0.1:1"  # a foreign VC asks no node: nothing need listen
# (list path, validFrom, validUntil, the facts' bound key, its value as the verdict says it)
LISTS = {
    "expired": ("/lists/old", "2025-01-01T00:00:00Z", "2025-01-01T00:15:00Z",
                "status_list_valid_until", "2025-01-01 00:15:00 UTC"),
    "not_yet_valid": ("/lists/early", "2099-01-01T00:00:00Z", "2099-01-01T00:15:00Z",
                      "status_list_valid_from", "2099-01-01 00:00:00 UTC"),
}
# What each language said of it before: a credential never issued on this network.
NEVER_ISSUED = {"kk": "ешқашан берілмеген", "ru": "никогда не выдавался",
                "en": "never issued"}


class ListServer(ThreadingHTTPServer):
    """Serves signed status lists by path, as an issuer's host (or a replayer) would."""

    def __init__(self) -> None:
        # the range of ports the tests are given, when one is (tests.e2e.processes)
        super().__init__(("127.0.0.1", free_port() if os.environ.get(PORTS_ENV) else 0),
                         _ListHandler)
        self.lists: dict[str, dict[str, Any]] = {}
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _ListHandler(BaseHTTPRequestHandler):
    server: ListServer

    def do_GET(self) -> None:
        listed = self.server.lists.get(self.path)
        body = json.dumps(listed).encode()
        self.send_response(200 if listed is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def lists() -> Iterator[ListServer]:
    server = ListServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def foreign_vc(server: ListServer, tmp_path: Path, case: str) -> Path:
    """A VC the issuer's did:key signed, its status entry naming a list the same key
    signed, but outside that list's validity period now."""
    path, valid_from, valid_until, _key, _said = LISTS[case]
    issuer, url = did_key(ISSUER.public_key), server.url + path
    server.lists[path] = add_proof(status_list_credential(
        url, issuer, valid_from, [], 16, valid_until=valid_until), ISSUER, valid_from)
    vc = add_proof({
        "@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"], "issuer": issuer,
        "validFrom": "2024-06-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:graduate", "name": "A. Graduate"},
        "credentialStatus": status_entry(url, 3)}, ISSUER, "2024-06-01T00:00:00Z")
    file = tmp_path / f"{case}.vc.json"
    file.write_text(json.dumps(vc), encoding="utf-8")
    return file


def verify(file: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["verify", str(file), "--node", DOWN, *args],
                                prog_name="senim")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("case", LISTS)
def test_the_json_verdict_names_the_lists_bound_under_the_same_status(
        lists: ListServer, tmp_path: Path, case: str) -> None:
    result = verify(foreign_vc(lists, tmp_path, case), "--json")
    verdict = json.loads(result.output)
    _path, _from, _until, key, said = LISTS[case]
    assert result.exit_code == 1 and (verdict["valid"], verdict["status"]) == (
        False, "unknown"), verdict
    assert verdict["facts"] == {"status_list_validity": case, key: said}, verdict
    failed = [check for check in verdict["checks"] if not check["ok"]]
    assert [check["check"] for check in failed] == ["status"], verdict
    assert said in verdict["reason"] and "could not be confirmed" in verdict["reason"]
    assert "do not rely on the credential" in verdict["reason"]


@pytest.mark.parametrize("case", LISTS)
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_officer_reads_that_no_revocation_status_was_confirmed(
        lists: ListServer, tmp_path: Path, case: str, lang: str) -> None:
    result = verify(foreign_vc(lists, tmp_path, case), "--lang", lang)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    headline, status_line = lines[0], next(line for line in lines if "✘" in line)
    assert NEVER_ISSUED[lang] not in result.output, result.output
    words = Words(lang)
    moment = words.datetime(LISTS[case][4])
    if lang == "en":  # English says the ledger's own words
        bound = "expired at" if case == "expired" else "not valid before"
        assert headline.startswith("UNKNOWN: the revocation status could not be confirmed"), \
            headline
        assert f"{bound} {LISTS[case][4]}" in headline and "do not rely" in headline
        return
    assert headline == words.t(f"cli.status.status_list_{case}", when=moment), headline
    assert status_line.endswith(words.t("check.status") + ": " + words.t(
        f"cli.detail.status_list_{case}", when=moment)), status_line
    assert not english_in(result.output), result.output


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_list_whose_signature_fails_is_no_never_issued_either(
        lists: ListServer, tmp_path: Path, lang: str) -> None:
    """A list changed after its issuer signed it (a revocation's bit cleared, say): its
    proof fails, the status is "unknown", and kk and ru said the credential was never
    issued on this network, of one no chain was asked about."""
    file = foreign_vc(lists, tmp_path, "expired")
    path = LISTS["expired"][0]
    changed = dict(lists.lists[path], validUntil="2099-01-01T00:00:00Z")  # proof no longer holds
    lists.lists[path] = changed
    result = verify(file, "--lang", lang)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    headline, status_line = lines[0], next(line for line in lines if "✘" in line)
    assert NEVER_ISSUED[lang] not in result.output, result.output
    if lang == "en":
        assert headline.startswith("UNKNOWN: the revocation status could not be confirmed: "
                                   "the status list offered does not verify"), headline
        return
    words = Words(lang)
    assert headline == words.t("cli.status.status_list_unverified"), headline
    assert status_line.endswith(words.t("check.status") + ": "
                                + words.t("cli.detail.status_list_unverified")), status_line
    assert not english_in(result.output), result.output
